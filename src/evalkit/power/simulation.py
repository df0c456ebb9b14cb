"""Power of the staggered DiD estimator by simulation on the study's own data.

Analytic formulas assume a design; a study's own data already hold its ICC, its serial
correlation, its unequal community sizes and its number of waves. Following Bertrand,
Duflo & Mullainathan (2004, §IV) and the placebo simulations of Arkhangelsky et al. (2021,
§3), each draw picks ``n_pilots`` communities at random from data in which nobody was
treated, gives them placebo pilot start dates, adds a known ``effect`` to their outcomes
from the start date on, and runs :func:`evalkit.estimators.did_staggered` exactly as the
report does. The share of draws that reject H0 at ``alpha`` is the power; at
``effect = 0`` it is the test's actual size on these data.

Untreated data come from one of two pools (``pool=``):

* ``"comparison"`` – every period of the never-treated communities (the real pilots are
  left out);
* ``"pre_period"`` – every community, only the periods before the first real pilot start
  (useful when there are few comparison communities).

The same placebo assignments are reused for every effect (common random numbers), so the
power curve is monotone up to Monte Carlo error and its points are comparable.

References
----------
Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
differences-in-differences estimates? *QJE* 119(1), 249–275.
Arkhangelsky, D., Athey, S., Hirshberg, D., Imbens, G. & Wager, S. (2021). Synthetic
difference-in-differences. *AER* 111(12), 4088–4118.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from evalkit._checks import check_choice, require_columns
from evalkit.errors import EstimationError, NotIdentifiedError
from evalkit.power.results import PowerSimulationResult
from evalkit.results import Provenance

__all__ = ["simulate_power_staggered"]

Pool = Literal["comparison", "pre_period"]


def _never(cohort: pd.Series) -> pd.Series:
    c = pd.to_numeric(cohort, errors="coerce")
    return c.isna() | (c == 0) | np.isinf(c)


def simulate_power_staggered(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    effects: Sequence[float] = (0.0,),
    n_pilots: int | None = None,
    start_periods: Sequence[int] | None = None,
    pool: Pool = "comparison",
    panel: bool = True,
    cluster: str | None = None,
    draws: int = 100,
    alpha: float = 0.05,
    inference: str = "auto",
    inference_draws: int = 199,
    seed: int = 0,
) -> PowerSimulationResult:
    """Simulated power of :func:`~evalkit.estimators.did_staggered` on re-assigned placebo pilots.

    Parameters
    ----------
    data
        The study's long data (community × wave panel, or residents with ``panel=False``).
    outcome, unit, time, cohort
        Columns as for :func:`~evalkit.estimators.did_staggered`; ``cohort`` is the real
        first pilot period (0 / NaN for comparison communities).
    effects
        True effects (outcome units) added to placebo pilots' outcomes from their start on.
        Include 0 to see the test's size on these data.
    n_pilots
        Placebo pilots per draw; default: as many as the real pilots, at most half the pool
        (at least 1).
    start_periods
        Start periods given to the placebo pilots (cycled over them); default: the real
        pilots' start periods that fall inside the pool (with ``pool="pre_period"``: the last
        period before the first real start).
    pool
        ``"comparison"`` or ``"pre_period"`` (see the module notes).
    panel, cluster, inference
        Passed to :func:`~evalkit.estimators.did_staggered`.
    draws
        Placebo assignments (Monte Carlo error of a power p is √(p(1 − p)/draws)).
    alpha
        Significance level.
    inference_draws
        Resampling draws inside each estimate (wild bootstrap or randomisation inference).
    seed
        Seed of the assignments and of the estimator's resampling.

    Returns
    -------
    PowerSimulationResult

    Raises
    ------
    NotIdentifiedError
        If the pool leaves fewer than two units or no pre-period before a start date.
    """
    from evalkit.estimators import did_staggered

    check_choice("pool", pool, ("comparison", "pre_period"))
    require_columns(data, [outcome, unit, time, cohort] + ([cluster] if cluster else []),
                    what="simulate_power_staggered")
    if not 0 < alpha < 1:
        msg = f"simulate_power_staggered: alpha={alpha!r} must lie in (0, 1)."
        raise ValueError(msg)
    never = _never(data[cohort])
    real_starts = sorted(pd.to_numeric(data.loc[~never, cohort]).unique().tolist())
    if pool == "comparison":
        base = data.loc[never].copy()
    else:
        if not real_starts:
            msg = "simulate_power_staggered: pool='pre_period' needs real pilots to define the pre-period."
            raise NotIdentifiedError(msg)
        base = data.loc[data[time] < real_starts[0]].copy()
    periods = np.sort(base[time].unique())
    if start_periods is None:
        inside = [s for s in real_starts if periods.min() < s <= periods.max()]
        start_periods = inside or [int(periods.max())]
    start_periods = [int(s) for s in start_periods]
    if any(s <= periods.min() or s > periods.max() for s in start_periods):
        msg = (f"simulate_power_staggered: start periods {start_periods} must lie after the first and not after "
               f"the last period of the pool ({periods.min()}–{periods.max()}); pass start_periods=.")
        raise NotIdentifiedError(msg)
    units = np.sort(base[unit].unique())
    n_real = int(data.loc[~never, unit].nunique())
    if n_pilots is None:  # as many as the real pilots, but leave at least half the pool as comparisons
        n_pilots = max(1, min(n_real, len(units) // 2))
    n_pilots = int(n_pilots)
    if not 1 <= n_pilots < len(units):
        msg = (f"simulate_power_staggered: n_pilots={n_pilots} must be at least 1 and below the {len(units)} "
               f"units in the pool '{pool}'.")
        raise NotIdentifiedError(msg)
    rng = np.random.default_rng(seed)
    unit_codes = base[unit].to_numpy()
    times = base[time].to_numpy()
    y0 = pd.to_numeric(base[outcome], errors="coerce").to_numpy(dtype=float)
    rows = []
    for b in range(int(draws)):
        chosen = rng.choice(units, size=n_pilots, replace=False)
        starts = {u: start_periods[k % len(start_periods)] for k, u in enumerate(rng.permutation(chosen))}
        start = pd.Series(unit_codes).map(starts).fillna(0).to_numpy(dtype=float)
        treated_now = (start > 0) & (times >= start)
        sim = base.assign(**{cohort: start})
        for eff in effects:
            sim[outcome] = y0 + eff * treated_now
            rec = {"draw": b, "effect": float(eff)}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = did_staggered(sim, outcome=outcome, unit=unit, time=time, cohort=cohort, panel=panel,
                                        cluster=cluster, inference=inference, draws=inference_draws,
                                        seed=seed + b, alpha=alpha)
                row = res.estimates.iloc[0]
                rec.update(estimate=float(row["estimate"]), std_error=float(row["std_error"]),
                           p_value=float(row["p_value"]), ci_lower=float(row["ci_lower"]),
                           ci_upper=float(row["ci_upper"]), inference=str(row["inference"]))
            except (EstimationError, ValueError, np.linalg.LinAlgError):
                rec.update(estimate=math.nan, std_error=math.nan, p_value=math.nan, ci_lower=math.nan,
                           ci_upper=math.nan, inference="failed")
            rows.append(rec)
    out = pd.DataFrame(rows)
    out["rejected"] = out["p_value"] < alpha
    summary = []
    for eff, g in out.groupby("effect", sort=True):
        ok = g[g["p_value"].notna()]
        p = float(ok["rejected"].mean()) if len(ok) else math.nan
        covered = (ok["ci_lower"] <= eff) & (eff <= ok["ci_upper"])
        has_ci = ok["ci_lower"].notna() & ok["ci_upper"].notna()
        summary.append({
            "effect": float(eff), "power": p,
            "mc_std_error": math.sqrt(p * (1 - p) / len(ok)) if len(ok) else math.nan,
            "mean_estimate": float(ok["estimate"].mean()), "bias": float(ok["estimate"].mean() - eff),
            "sd_estimate": float(ok["estimate"].std(ddof=1)) if len(ok) > 1 else math.nan,
            "coverage": float(covered[has_ci].mean()) if has_ci.any() else math.nan,
            "n_draws": int(len(ok)), "n_failed": int(len(g) - len(ok)),
        })
    spec = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "pool": pool,
            "n_pilots": n_pilots, "start_periods": start_periods, "n_units_pool": int(len(units)),
            "draws": int(draws), "alpha": alpha, "inference": inference, "inference_draws": int(inference_draws),
            "panel": panel, "cluster": cluster}
    return PowerSimulationResult(estimates=pd.DataFrame(summary), draws=out, spec=spec,
                                 provenance=Provenance.current(seed=seed))
