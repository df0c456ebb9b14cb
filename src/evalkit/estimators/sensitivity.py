"""How robust is the staggered effect to violations of parallel trends?

Owns :func:`parallel_trends_sensitivity` and :class:`TrendSensitivityResult`:

* **HonestDiD bounds** (Rambachan & Roth 2023) for the average of the post-treatment
  event-study effects (R ``did``'s dynamic overall ATT, the equal-weight average over
  e ≥ 0): robust confidence intervals when the post-treatment violation of parallel
  trends is

  - at most M times the largest pre-treatment violation between consecutive periods
    (*relative magnitudes*, Δ^RM(M)); M = 0 is exact parallel trends after treatment
    beyond the pre-period pattern, M = 1 allows violations as large as the worst seen
    before; or
  - a linear extrapolation of the pre-trend whose slope may change by at most M per
    period (*smoothness*, Δ^SD(M)); M = 0 allows a linear trend, carried on.

  The *breakdown value* is the smallest M (or M) of the grid at which the robust
  interval contains 0 (a grid value, not a bisection: each smoothness interval is an
  optimisation costing seconds).
* **Power of the pre-test** (Roth 2022): the slope of a linear pre-trend that a test of
  the pre-treatment event-study coefficients (no coefficient individually significant,
  Roth's Section II) would detect with 50 % and 80 % probability. Trends below these go
  unnoticed more often than not, so a passed pre-test is weak reassurance.

Both are computed by diff-diff (``diff_diff.honest_did.HonestDiD``,
``diff_diff.pretrends.compute_pretrends_power``, pinned version) from the event-study
estimates and their covariance that :func:`~evalkit.estimators.did_staggered` keeps
(``tables["event_vcov"]``, influence functions summed within clusters). The test
``tests/estimators/test_sensitivity.py`` checks that evalkit's route gives diff-diff's own
Callaway–Sant'Anna numbers on mpdta.

The staggered fit must use ``base_period="universal"``: with R's default "varying" base
the pre-treatment coefficients are period-on-period changes, not the cumulative
deviations from the reference period the Rambachan–Roth restrictions are written for
(Rambachan & Roth 2023, section 6; the R ``HonestDiD`` vignette for ``did``).

Caveat: the intervals use normal critical values and the analytic covariance; with few
communities that covariance is imprecise (the reason the main estimate uses resampling),
which ``reliable_covariance`` records so the report can say so.

References
----------
Rambachan, A., & Roth, J. (2023). A more credible approach to parallel trends. Review of
    Economic Studies, 90(5), 2555–2591.
Roth, J. (2022). Pretest with caution: Event-study estimates after testing for parallel
    trends. American Economic Review: Insights, 4(3), 305–322.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.errors import DataValidationError, NotIdentifiedError
from evalkit.estimators.results import StaggeredResult
from evalkit.results import Provenance, Result

__all__ = ["TrendSensitivityResult", "parallel_trends_sensitivity", "SENSITIVITY_COLUMNS"]

#: ``estimates`` columns: one row per restriction and M.
SENSITIVITY_COLUMNS: tuple[str, ...] = ("restriction", "m", "lb", "ub", "ci_lower", "ci_upper")

_SCALARS = ("original_estimate", "original_se", "breakdown_relative_magnitude",
            "breakdown_smoothness", "mdv_50", "mdv_80", "n_pre", "n_post", "alpha",
            "reliable_covariance")


@frozen(eq=False, kw_only=True)
class TrendSensitivityResult(Result):
    """HonestDiD intervals over grids of M and the power of the pre-test.

    ``estimates``: restriction ("relative_magnitude" or "smoothness"), m, lb, ub (the
    identified set; NaN for smoothness, where only the interval is computed), ci_lower,
    ci_upper (robust 1 − alpha interval). Breakdown values are the smallest grid value whose
    interval contains 0, NaN when none does.
    """

    kind: ClassVar[str] = "trend_sensitivity"

    original_estimate: float
    original_se: float
    breakdown_relative_magnitude: float
    breakdown_smoothness: float
    mdv_50: float
    mdv_80: float
    n_pre: int
    n_post: int
    alpha: float
    reliable_covariance: bool

    def title(self, lang: str = "zh") -> str:
        return ("平行趋势敏感性分析（HonestDiD）与预检验功效" if lang.startswith("zh")
                else "Sensitivity to parallel-trends violations (HonestDiD) and pre-test power")

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        return f"{self.title(lang)}\n{self.estimates.round(decimals).to_string(index=False)}"

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.inference_figures import sensitivity_plot

        return sensitivity_plot(self, ax=ax, lang=lang)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _SCALARS}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        out = {k: d[k] for k in _SCALARS}
        for k in _SCALARS[:6]:
            out[k] = np.nan if out[k] is None else float(out[k])
        return out


def parallel_trends_sensitivity(
    result: StaggeredResult,
    *,
    relative_magnitudes: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    smoothness: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> TrendSensitivityResult:
    """HonestDiD bounds and pre-test power for a staggered (Callaway–Sant'Anna) fit.

    Parameters
    ----------
    result : StaggeredResult
        A :func:`~evalkit.estimators.did_staggered` fit with ``base_period="universal"``
        and at least one pre-treatment event time besides the reference (e = −1).
    relative_magnitudes : sequence of float
        Grid of M for Δ^RM.
    smoothness : sequence of float, optional
        Grid of M for Δ^SD, in outcome units per period²; default 0 and 1 times the
        standard error of the e = 0 estimate (each M > 0 costs seconds).
    alpha : float
        1 − confidence level.

    Returns
    -------
    TrendSensitivityResult

    Raises
    ------
    DataValidationError
        The fit used the "varying" base period, or has no event-study covariance.
    NotIdentifiedError
        No pre-treatment event time besides the reference, or no post-treatment one.

    Examples
    --------
    >>> # R: honest_did(aggte(att_gt(..., base_period = "universal"), type = "dynamic"),
    >>> #               type = "relative_magnitude", Mbarvec = c(0, .5, 1, 1.5, 2))
    >>> # ek.estimators.parallel_trends_sensitivity(fit)  # doctest: +SKIP
    """
    from diff_diff.honest_did import HonestDiD
    from diff_diff.pretrends import compute_pretrends_power

    where = "parallel_trends_sensitivity()"
    if result.spec.options.get("base_period") != "universal":
        msg = (f"{where}: the staggered fit uses base_period={result.spec.options.get('base_period')!r}; "
               f"HonestDiD needs pre-treatment coefficients relative to one reference period. Refit "
               f"did_staggered(..., base_period='universal').")
        raise DataValidationError(msg)
    if "event_vcov" not in result.tables or result.tables["event_vcov"].empty:
        msg = f"{where}: the fit carries no event-study covariance (tables['event_vcov']); refit it."
        raise DataValidationError(msg)
    mp = _as_event_study(result, where=where)
    se0 = float(np.sqrt(mp.vcov[mp.interaction_indices[mp.post_periods[0]],
                                mp.interaction_indices[mp.post_periods[0]]]))
    sd_grid = ([0.0, se0] if smoothness is None
               else [float(m) for m in smoothness])
    rows, breakdown = [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diff-diff's advisory warnings; the numbers are checked
        for restriction, grid in (("relative_magnitude", [float(m) for m in relative_magnitudes]),
                                  ("smoothness", sd_grid)):
            honest = HonestDiD(method=restriction, alpha=alpha)
            breakdown[restriction] = np.nan
            for m in grid:
                fit = honest.fit(mp, M=m)
                lo, hi = float(fit.ci_lb), float(fit.ci_ub)
                rows.append({"restriction": restriction, "m": m, "lb": float(fit.lb),
                             "ub": float(fit.ub), "ci_lower": lo, "ci_upper": hi})
                if np.isnan(breakdown[restriction]) and (not (np.isfinite(lo) and np.isfinite(hi))
                                                         or lo <= 0 <= hi):
                    breakdown[restriction] = m
                original = (float(fit.original_estimate), float(fit.original_se))
        power = {p: float(compute_pretrends_power(mp, alpha=alpha, target_power=p,
                                                  violation_type="linear").mdv)
                 for p in (0.5, 0.8)}
    return TrendSensitivityResult(
        estimates=pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS)),
        provenance=Provenance.current(),
        original_estimate=original[0], original_se=original[1],
        breakdown_relative_magnitude=breakdown["relative_magnitude"],
        breakdown_smoothness=breakdown["smoothness"], mdv_50=power[0.5], mdv_80=power[0.8],
        n_pre=len(mp.pre_periods) - 1, n_post=len(mp.post_periods), alpha=float(alpha),
        reliable_covariance=bool(result.inference.reliable_crve),
    )


def _as_event_study(result: StaggeredResult, *, where: str) -> Any:
    """The event study as diff-diff's ``MultiPeriodDiDResults`` (reference period e = −1)."""
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    ev = result.event_study()
    e = ev["event_time"].to_numpy(dtype=float)
    keep = [float(x) for x in e if x != -1]
    pre = [int(x) for x in keep if x < 0]
    post = [int(x) for x in keep if x >= 0]
    if not pre or not post:
        msg = (f"{where}: the event study has {len(pre)} pre-treatment event time(s) besides the "
               f"reference e = −1 and {len(post)} post-treatment one(s); HonestDiD needs at least one "
               f"of each (more survey waves before the first pilot).")
        raise NotIdentifiedError(msg)
    vc = result.tables["event_vcov"]
    S = vc.pivot(index="event_time_i", columns="event_time_j", values="cov").loc[keep, keep].to_numpy()
    effects = {}
    for row in ev.itertuples(index=False):
        if row.event_time != -1:
            effects[int(row.event_time)] = PeriodEffect(
                period=int(row.event_time), effect=float(row.estimate), se=float(row.std_error),
                t_stat=np.nan, p_value=np.nan, conf_int=(np.nan, np.nan))
    nan = float("nan")
    return MultiPeriodDiDResults(
        period_effects=effects, avg_att=nan, avg_se=nan, avg_t_stat=nan, avg_p_value=nan,
        avg_conf_int=(nan, nan), n_obs=int(result.n_obs), n_treated=0, n_control=0,
        pre_periods=[*pre, -1], post_periods=post, vcov=S, reference_period=-1,
        interaction_indices={int(k): i for i, k in enumerate(keep)})
