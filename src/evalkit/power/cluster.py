"""Design effects and power for designs that sample residents within communities.

Owns the formulas that turn an intra-class correlation (ICC, from
:func:`evalkit.survey.icc`) and a cluster size into a design effect, an effective sample
size, and the power, minimum detectable effect (MDE) or number of communities of a
comparison of pilot and comparison communities.

Design effect
    ``deff = 1 + ((1 + cv²)·m − 1)·ICC`` for mean cluster size m whose sizes vary with
    coefficient of variation cv (Kish 1965; Eldridge, Ashby & Kerry 2006, eq. 3); cv = 0
    gives the familiar 1 + (m − 1)·ICC (Donner & Klar 2000, §2.2). Unequal survey weights
    multiply it by Kish's weighting design effect (``weights=``, computed by
    :func:`evalkit.weighting.kish_deff`; Gabler, Häder & Lahiri 1999).

Cluster comparison (Bloom 2005; Raudenbush 1997; Dong & Maynard 2013, "CRA2_2r")
    With J communities, a share P of them pilots, m residents per community and wave,
    covariates explaining R²_c of the between-community and R²_i of the within-community
    variance, the standard error of the impact in standard-deviation units is

    * one follow-up wave (``waves_pre = 0``, ``waves_post = 1``)::

          SE² = [ICC·(1 − R²_c) + (1 − ICC)·(1 − R²_i)/m] / (P·(1 − P)·J)

      which is Bloom's (2005, eq. 4.13) and PowerUpR's ``mdes.cra2r2``;
    * repeated cross-sections, T0 waves before and T1 after the pilot start, compared as a
      difference in differences of community means (Hooper, Teerenstra, de Hoop & Eldridge
      2016, with "cluster autocorrelation" r: the correlation of a community's effects
      between waves; r = 1 means a stable community effect)::

          SE² = (1/T0 + 1/T1)·[ICC·(1 − R²_c)·(1 − r) + (1 − ICC)·(1 − R²_i)/m] / (P·(1 − P)·J)

      and, with no baseline (T0 = 0) but T1 follow-up waves averaged,
      ``SE² = [ICC·(1 − R²_c)·(r + (1 − r)/T1) + (1 − ICC)·(1 − R²_i)/(m·T1)] / (P(1 − P)J)``.

    The test is a t test on J − K − 2 degrees of freedom (K community-level covariates).
    The MDE is ``M·SE`` with Bloom's multiplier ``M = t(1 − α/2) + t(power)`` (one-tailed:
    ``t(1 − α)``); power at a given effect uses the noncentral t distribution, as PowerUpR
    does. The number of communities needed is the smallest whole J whose MDE is at most the
    target (PowerUpR's ``mrss.cra2r2`` iterates to a rounded fixed point and can differ by 1).

References
----------
Bloom, H. S. (1995). Minimum detectable effects: a simple way to report the statistical
power of experimental designs. *Evaluation Review* 19(5), 547–556 (Table 1: multipliers
2.49 / 2.80 / 2.93 / 3.24 for large df).
Bloom, H. S. (2005). Randomizing groups to evaluate place-based programs. In *Learning More
from Social Experiments*, ch. 4. Russell Sage.
Donner, A. & Klar, N. (2000). *Design and Analysis of Cluster Randomization Trials in Health
Research*. Arnold.
Dong, N. & Maynard, R. (2013). PowerUp!: a tool for calculating minimum detectable effect
sizes and minimum required sample sizes. *JREE* 6(1), 24–67.
Eldridge, S. M., Ashby, D. & Kerry, S. (2006). Sample size for cluster randomized trials:
effect of coefficient of variation of cluster size. *Int J Epidemiol* 35, 1292–1300.
Hooper, R., Teerenstra, S., de Hoop, E. & Eldridge, S. (2016). Sample size calculation for
stepped wedge and other longitudinal cluster randomised trials. *Stat Med* 35, 4718–4728.
Raudenbush, S. W. (1997). Statistical analysis and optimal design for cluster randomized
trials. *Psychological Methods* 2(2), 173–185.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit._checks import check_choice
from evalkit.power._grid import Number, check_range, exactly_one_missing, scenarios
from evalkit.power.results import PowerResult
from evalkit.results import Provenance
from evalkit.weighting.diagnostics import kish_deff

__all__ = ["design_effect", "effective_sample_size", "mde_multiplier", "power_cluster"]

Tails = Literal["two-sided", "one-sided"]
OutcomeType = Literal["mean", "proportion"]


def design_effect(*, icc: float, cluster_size: float, cv_cluster_size: float = 0.0,
                  weights: Sequence[float] | np.ndarray | pd.Series | None = None) -> float:
    """Design effect of sampling ``cluster_size`` residents per community with intra-class correlation ``icc``.

    ``1 + ((1 + cv²)·m − 1)·icc`` (Eldridge et al. 2006), times Kish's weighting design effect
    when ``weights`` are given. A negative ICC estimate counts as 0.

    Examples
    --------
    >>> design_effect(icc=0.05, cluster_size=21)          # Donner & Klar (2000): 1 + (m − 1)ρ
    2.0
    """
    check_range("cluster_size", cluster_size, low=1, high=math.inf, low_open=False)
    check_range("icc", icc, low=-1, high=1, high_open=False)
    check_range("cv_cluster_size", cv_cluster_size, low=0, high=math.inf, low_open=False)
    deff = 1 + ((1 + cv_cluster_size**2) * cluster_size - 1) * max(icc, 0.0)
    if weights is not None:
        deff *= kish_deff(weights)
    return float(deff)


def effective_sample_size(*, n: float, icc: float, cluster_size: float, cv_cluster_size: float = 0.0,
                          weights: Sequence[float] | np.ndarray | pd.Series | None = None) -> float:
    """``n`` residents sampled in communities of ``cluster_size`` are worth ``n / deff`` independent ones."""
    check_range("n", n, low=0, high=math.inf)
    return float(n / design_effect(icc=icc, cluster_size=cluster_size, cv_cluster_size=cv_cluster_size,
                                   weights=weights))


def mde_multiplier(*, df: float, alpha: float = 0.05, power: float = 0.80, tails: Tails = "two-sided") -> float:
    """Bloom's MDE multiplier ``t(1 − α/2; df) + t(power; df)`` (``t(1 − α)`` one-sided).

    Examples
    --------
    >>> round(mde_multiplier(df=1e9), 2)                   # Bloom (1995), Table 1
    2.8
    """
    check_choice("tails", tails, ("two-sided", "one-sided"))
    check_range("df", df, low=0, high=math.inf)
    t1 = stats.t.ppf(1 - (alpha / 2 if tails == "two-sided" else alpha), df)
    t2 = stats.t.ppf(power, df)
    return float(t1 + t2)


def _variance_unit(*, icc: float, cluster_size: float, r2_cluster: float, r2_individual: float,
                   waves_pre: int, waves_post: int, autocorrelation: float) -> float:
    """Variance of a community's contrast, in units of the total outcome variance."""
    between = icc * (1 - r2_cluster)
    within = (1 - icc) * (1 - r2_individual) / cluster_size
    if waves_pre == 0:
        return between * (autocorrelation + (1 - autocorrelation) / waves_post) + within / waves_post
    return (1 / waves_pre + 1 / waves_post) * (between * (1 - autocorrelation) + within)


def _power_t(es: float, se: float, df: float, alpha: float, tails: str) -> float:
    ncp = es / se
    if tails == "one-sided":
        return float(stats.nct.sf(stats.t.isf(alpha, df), df, ncp))
    crit = stats.t.isf(alpha / 2, df)
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def power_cluster(
    *,
    effect: Number | None = None,
    n_clusters: Number | None = None,
    power: Number | None = None,
    cluster_size: Number,
    icc: Number,
    sd: Number = 1.0,
    p_control: Number | None = None,
    outcome_type: OutcomeType = "mean",
    r2_cluster: Number = 0.0,
    r2_individual: Number = 0.0,
    n_cluster_covariates: int = 0,
    treated_share: Number = 0.5,
    waves_pre: int = 0,
    waves_post: int = 1,
    autocorrelation: Number = 1.0,
    alpha: Number = 0.05,
    tails: Tails = "two-sided",
) -> PowerResult:
    """Power, communities needed or MDE when pilots are whole communities.

    Leave exactly one of ``effect``, ``n_clusters`` and ``power`` as ``None``: that is the
    quantity solved for. Numeric inputs may be sequences; every combination is a scenario.

    Parameters
    ----------
    effect
        True impact in outcome units (the MDE when solved for). For proportions, in
        proportion units (0.05 = five percentage points).
    n_clusters
        Communities in total (pilots and comparison). When solved for: the smallest whole
        number with MDE ≤ ``effect``.
    power
        Probability of detecting ``effect``.
    cluster_size
        Residents surveyed per community and wave (harmonic mean if sizes vary).
    icc
        Intra-class correlation of the outcome (see :func:`evalkit.survey.icc`).
    sd
        Outcome standard deviation (for ``outcome_type="mean"``); effects are divided by it.
    p_control
        Comparison-group proportion (``outcome_type="proportion"``); then sd = √(p(1 − p))
        (normal approximation, Donner & Klar 2000, §5.2).
    outcome_type
        ``"mean"`` or ``"proportion"``.
    r2_cluster, r2_individual
        Share of the between- and within-community variance explained by covariates
        (e.g. the baseline community mean; resident characteristics).
    n_cluster_covariates
        Number of community-level covariates (each costs a degree of freedom).
    treated_share
        Share of communities that are pilots.
    waves_pre, waves_post
        Survey waves before and after the pilot start (repeated cross-sections of
        ``cluster_size`` residents each). ``waves_pre = 0`` compares follow-up waves only.
    autocorrelation
        Correlation of a community's effects between waves (1 = stable community effects;
        Hooper et al. 2016 report 0.6–0.9 in community surveys). Only used with several waves.
    alpha, tails
        Significance level and ``"two-sided"`` or ``"one-sided"`` test.

    Returns
    -------
    PowerResult
        Columns: the inputs, ``effect`` and ``effect_size`` (SD units), ``n_clusters``,
        ``n_treated_clusters``, ``power``, ``se_effect_size``, ``df``, ``multiplier``,
        ``design_effect`` (per wave), ``n_residents`` and ``n_effective``.

    Examples
    --------
    >>> r = power_cluster(n_clusters=20, cluster_size=15, icc=0.17, power=0.80)
    >>> round(r.value, 3)          # R: PowerUpR::mdes.cra2(rho2 = .17, n = 15, J = 20)
    0.629
    """
    check_choice("tails", tails, ("two-sided", "one-sided"))
    check_choice("outcome_type", outcome_type, ("mean", "proportion"))
    solved = exactly_one_missing({"effect": effect, "n_clusters": n_clusters, "power": power},
                                 what="power_cluster")
    if outcome_type == "proportion" and p_control is None:
        msg = "power_cluster: outcome_type='proportion' needs p_control (the comparison-group proportion)."
        raise ValueError(msg)
    if int(waves_post) < 1 or int(waves_pre) < 0:
        msg = f"power_cluster: waves_post={waves_post!r} must be ≥ 1 and waves_pre={waves_pre!r} ≥ 0."
        raise ValueError(msg)
    rows = []
    grid = {"effect": effect, "n_clusters": n_clusters, "power": power, "cluster_size": cluster_size,
            "icc": icc, "sd": None if outcome_type == "proportion" else sd, "p_control": p_control,
            "r2_cluster": r2_cluster, "r2_individual": r2_individual, "treated_share": treated_share,
            "autocorrelation": autocorrelation, "alpha": alpha}
    for s in scenarios(grid):
        for name in ("icc", "r2_cluster", "r2_individual"):
            check_range(name, s[name], low=0, high=1, low_open=False)
        check_range("autocorrelation", s["autocorrelation"], low=0, high=1, low_open=False, high_open=False)
        check_range("treated_share", s["treated_share"], low=0, high=1)
        check_range("alpha", s["alpha"], low=0, high=1)
        check_range("power", s["power"], low=0, high=1)
        check_range("cluster_size", s["cluster_size"], low=1, high=math.inf, low_open=False)
        if outcome_type == "proportion":
            check_range("p_control", s["p_control"], low=0, high=1)
            s["sd"] = math.sqrt(s["p_control"] * (1 - s["p_control"]))
        check_range("sd", s["sd"], low=0, high=math.inf)
        pq = s["treated_share"] * (1 - s["treated_share"])
        unit_var = _variance_unit(icc=s["icc"], cluster_size=s["cluster_size"], r2_cluster=s["r2_cluster"],
                                  r2_individual=s["r2_individual"], waves_pre=int(waves_pre),
                                  waves_post=int(waves_post), autocorrelation=s["autocorrelation"])

        def se_at(j: float) -> float:
            return math.sqrt(unit_var / (pq * j))  # noqa: B023 - evaluated inside this iteration

        def mde_at(j: float) -> float:
            return mde_multiplier(df=j - n_cluster_covariates - 2, alpha=s["alpha"],  # noqa: B023
                                  power=s["power"], tails=tails) * se_at(j)

        if solved == "n_clusters":
            es = abs(s["effect"]) / s["sd"]
            if es == 0:
                msg = "power_cluster: effect=0 cannot be detected with any number of communities."
                raise ValueError(msg)
            lo = n_cluster_covariates + 3  # smallest J with df ≥ 1
            hi = lo
            while mde_at(hi) > es:  # MDE falls monotonically in J: double, then bisect
                lo, hi = hi, hi * 2
                if hi > 2_000_000:
                    msg = "power_cluster: more than a million communities needed; check effect, icc and sd."
                    raise ValueError(msg)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if mde_at(mid) <= es else (mid, hi)
            j = lo if mde_at(lo) <= es else hi
            s["n_clusters"] = float(j)
        check_range("n_clusters", s["n_clusters"], low=n_cluster_covariates + 2, high=math.inf,
                    fix="The t test needs more communities than community covariates + 2.")
        j = s["n_clusters"]
        df = j - n_cluster_covariates - 2
        se = se_at(j)
        if solved == "effect":
            s["effect"] = mde_at(j) * s["sd"]
        if solved == "power":
            s["power"] = _power_t(abs(s["effect"]) / s["sd"], se, df, s["alpha"], tails)
        deff = design_effect(icc=s["icc"], cluster_size=s["cluster_size"])
        n_res = j * s["cluster_size"] * (int(waves_pre) + int(waves_post))
        rows.append({
            "effect": s["effect"], "effect_size": s["effect"] / s["sd"], "sd": s["sd"], "p_control": s["p_control"],
            "n_clusters": j, "n_treated_clusters": j * s["treated_share"], "cluster_size": s["cluster_size"],
            "icc": s["icc"], "r2_cluster": s["r2_cluster"], "r2_individual": s["r2_individual"],
            "treated_share": s["treated_share"], "waves_pre": int(waves_pre), "waves_post": int(waves_post),
            "autocorrelation": s["autocorrelation"], "alpha": s["alpha"], "power": s["power"],
            "se_effect_size": se, "df": df,
            "multiplier": mde_multiplier(df=df, alpha=s["alpha"], power=s["power"], tails=tails),
            "design_effect": deff, "n_residents": n_res, "n_effective": n_res / deff,
        })
    est = pd.DataFrame(rows)
    if outcome_type == "mean":
        est = est.drop(columns="p_control")
    return PowerResult(estimates=est, design="cluster", solved_for=solved,
                       options={"outcome_type": outcome_type, "tails": tails,
                                "n_cluster_covariates": int(n_cluster_covariates),
                                "waves_pre": int(waves_pre), "waves_post": int(waves_post)},
                       provenance=Provenance.current())
