"""Power, sample size and minimum detectable effect for individually sampled comparisons.

Two independent groups (pilot vs comparison residents, or two survey rounds) compared on a
mean or on a proportion. The formulas are statsmodels' (:class:`~statsmodels.stats.power.
TTestIndPower`, the noncentral-t power of the two-sample t test, and :class:`~statsmodels.
stats.power.NormalIndPower` with Cohen's arcsine effect size *h* for proportions); evalkit
only adds the scenario grid, the units (effects in outcome units as well as standardised)
and the result object.

The numbers agree with R ``pwr`` (``pwr.t.test``, ``pwr.t2n.test``, ``pwr.2p.test``,
``pwr.2p2n.test``; Champely 2020): see ``tests/reference/power/pwr_reference.R``.

References
----------
Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences* (2nd ed.),
chapters 2 and 6. Lawrence Erlbaum.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from evalkit._checks import check_choice
from evalkit.power._grid import Number, check_range, exactly_one_missing, scenarios
from evalkit.power.results import PowerResult
from evalkit.results import Provenance

__all__ = ["power_two_means", "power_two_proportions", "cohens_h"]

Alternative = Literal["two-sided", "larger", "smaller"]
_ALTERNATIVES = ("two-sided", "larger", "smaller")


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's effect size for two proportions, h = 2·asin(√p2) − 2·asin(√p1)."""
    return 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))


def _p2_from_h(p1: float, h: float) -> float:
    angle = math.asin(math.sqrt(p1)) + h / 2
    angle = min(max(angle, 0.0), math.pi / 2)
    return math.sin(angle) ** 2


def _solve(engine: TTestIndPower | NormalIndPower, *, effect_size: float | None, n1: float | None,
           power: float | None, alpha: float, ratio: float, alternative: str) -> float:
    value = engine.solve_power(effect_size=effect_size, nobs1=n1, alpha=alpha, power=power,
                               ratio=ratio, alternative=alternative)
    return float(np.asarray(value).ravel()[0])


def power_two_means(
    *,
    effect: Number | None = None,
    sd: Number = 1.0,
    n_per_group: Number | None = None,
    power: Number | None = None,
    alpha: Number = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> PowerResult:
    """Power, group size or minimum detectable difference for two means (two-sample t test).

    Leave exactly one of ``effect``, ``n_per_group`` and ``power`` as ``None``: that is the
    quantity solved for. Numeric inputs may be sequences; every combination is a scenario.

    Parameters
    ----------
    effect
        True difference in means, in outcome units (the MDE when solved for).
    sd
        Outcome standard deviation (common to both groups); ``effect / sd`` is Cohen's d.
    n_per_group
        Size of the first group (pilot residents); the second has ``ratio × n_per_group``.
        Solved sizes are not rounded (``n_per_group_ceil`` gives the whole number to plan).
    power
        Probability of rejecting H0 when the difference is ``effect``.
    alpha
        Significance level.
    ratio
        Second group's size relative to the first.
    alternative
        ``"two-sided"``, ``"larger"`` or ``"smaller"`` (as statsmodels).

    Returns
    -------
    PowerResult
        Columns ``effect, sd, effect_size, n_per_group, n_per_group_ceil, n_total, ratio,
        alpha, power, alternative``.

    Examples
    --------
    >>> r = power_two_means(effect=0.5, sd=1.0, power=0.8)
    >>> round(r.value, 2)        # R: pwr::pwr.t.test(d = 0.5, power = 0.8)$n
    63.77
    """
    check_choice("alternative", alternative, _ALTERNATIVES)
    solved = exactly_one_missing({"effect": effect, "n_per_group": n_per_group, "power": power},
                                 what="power_two_means")
    check_range("ratio", ratio, low=0, high=math.inf)
    engine = TTestIndPower()
    rows = []
    for s in scenarios({"effect": effect, "sd": sd, "n_per_group": n_per_group, "power": power,
                        "alpha": alpha}):
        check_range("sd", s["sd"], low=0, high=math.inf)
        check_range("alpha", s["alpha"], low=0, high=1)
        check_range("power", s["power"], low=0, high=1)
        check_range("n_per_group", s["n_per_group"], low=1, high=math.inf,
                    fix="Each group needs at least 2 residents.")
        d = None if s["effect"] is None else s["effect"] / s["sd"]
        if d is not None and d == 0 and solved == "n_per_group":
            msg = "power_two_means: effect=0 cannot be detected with any sample size; give a non-zero effect."
            raise ValueError(msg)
        value = _solve(engine, effect_size=d, n1=s["n_per_group"], power=s["power"], alpha=s["alpha"],
                       ratio=ratio, alternative=alternative)
        s[solved] = value * s["sd"] if solved == "effect" else value
        d = s["effect"] / s["sd"]
        n1 = s["n_per_group"]
        rows.append({"effect": s["effect"], "sd": s["sd"], "effect_size": d, "n_per_group": n1,
                     "n_per_group_ceil": math.ceil(n1 - 1e-9), "n_total": n1 * (1 + ratio), "ratio": ratio,
                     "alpha": s["alpha"], "power": s["power"], "alternative": alternative})
    return PowerResult(estimates=pd.DataFrame(rows), design="two_means", solved_for=solved,
                       options={"alternative": alternative, "ratio": ratio, "engine": "statsmodels.TTestIndPower"},
                       provenance=Provenance.current())


def power_two_proportions(
    *,
    p1: Number,
    p2: Number | None = None,
    n_per_group: Number | None = None,
    power: Number | None = None,
    alpha: Number = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> PowerResult:
    """Power, group size or minimum detectable proportion for two proportions (Cohen's *h*).

    Leave exactly one of ``p2``, ``n_per_group`` and ``power`` as ``None``. When ``p2`` is
    solved for, it is the smallest proportion above ``p1`` that is detected (below ``p1``
    for ``alternative="smaller"``), and ``effect = p2 − p1`` is the MDE in proportion units.

    Parameters
    ----------
    p1
        Proportion in the comparison group (e.g. share satisfied at baseline).
    p2
        Proportion in the pilot group.
    n_per_group, power, alpha, ratio, alternative
        As in :func:`power_two_means`.

    Returns
    -------
    PowerResult
        Columns ``p1, p2, effect, effect_size (h), n_per_group, n_per_group_ceil, n_total,
        ratio, alpha, power, alternative``.

    Examples
    --------
    >>> r = power_two_proportions(p1=0.5, p2=0.6, power=0.8)
    >>> round(r.value, 2)        # R: pwr::pwr.2p.test(h = ES.h(0.6, 0.5), power = 0.8)$n
    387.17
    """
    check_choice("alternative", alternative, _ALTERNATIVES)
    solved = exactly_one_missing({"p2": p2, "n_per_group": n_per_group, "power": power},
                                 what="power_two_proportions")
    check_range("ratio", ratio, low=0, high=math.inf)
    engine = NormalIndPower()
    rows = []
    for s in scenarios({"p1": p1, "p2": p2, "n_per_group": n_per_group, "power": power, "alpha": alpha}):
        check_range("p1", s["p1"], low=0, high=1)
        check_range("p2", s["p2"], low=0, high=1)
        check_range("alpha", s["alpha"], low=0, high=1)
        check_range("power", s["power"], low=0, high=1)
        check_range("n_per_group", s["n_per_group"], low=0, high=math.inf)
        h = None if s["p2"] is None else cohens_h(s["p1"], s["p2"])
        if h == 0 and solved == "n_per_group":
            msg = "power_two_proportions: p2 equals p1; no sample size detects a zero difference."
            raise ValueError(msg)
        value = _solve(engine, effect_size=h, n1=s["n_per_group"], power=s["power"], alpha=s["alpha"],
                       ratio=ratio, alternative=alternative)
        if solved == "p2":
            h = -abs(value) if alternative == "smaller" else abs(value)
            s["p2"] = _p2_from_h(s["p1"], h)
        else:
            s[solved] = value
        n1 = s["n_per_group"]
        rows.append({"p1": s["p1"], "p2": s["p2"], "effect": s["p2"] - s["p1"], "effect_size": h,
                     "n_per_group": n1, "n_per_group_ceil": math.ceil(n1 - 1e-9), "n_total": n1 * (1 + ratio),
                     "ratio": ratio, "alpha": s["alpha"], "power": s["power"], "alternative": alternative})
    return PowerResult(estimates=pd.DataFrame(rows), design="two_proportions",
                       solved_for="effect" if solved == "p2" else solved,
                       options={"alternative": alternative, "ratio": ratio, "engine": "statsmodels.NormalIndPower"},
                       provenance=Provenance.current())
