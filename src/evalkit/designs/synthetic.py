"""Synthetic control and synthetic difference-in-differences for a showcase pilot.

When one pilot community (or a few starting together) has no natural twin, the comparison
is a weighted average of comparison communities chosen to track the pilot before the start
(Abadie, Diamond & Hainmueller 2010), or, in synthetic DiD, unit *and* period weights with a
level shift (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021). Both run on
community-level outcomes: :func:`community_panel` averages resident answers to community ×
wave means.

Implementation
--------------
The estimators are diff-diff's (3.13, pinned): ``SyntheticControl`` with the donor weights
fitted to every pre-period outcome under equal importance (``v_method="custom"``, V = I, no
standardisation: the outcome-only synthetic control of Abadie 2021 §3.2 and of
Arkhangelsky et al.'s Table 1), its ``in_space_placebo`` for the ADH permutation test, and
``SyntheticDiD`` with placebo variance (Arkhangelsky et al. Algorithm 4). On California's
Proposition 99 they reproduce Arkhangelsky et al. (2021) Table 1 (SDID −15.6, SE 8.4; SC
−19.5 vs −19.6: the paper's Frank–Wolfe solver stops short of the exact simplex least
squares that diff-diff solves; see ``tests/designs/test_synthetic_reference.py``).

evalkit adds what diff-diff does not return in one place:

* a placebo standard error for the synthetic control (Algorithm 4 applied to SC: every
  comparison community in turn plays the pilot against the others, the pilot left out; with
  one pilot all placebos are enumerated, the limit of Algorithm 4's random draws), so the SC
  row has an SE comparable to the paper's. These refits need only the weights, so they use
  :func:`simplex_weights` (one scipy NNLS solve, the same objective as diff-diff's fit and
  equal to it to 1e-10) instead of diff-diff's full ``fit``, whose per-call overhead would
  double the run time;
* the DiD row (equal unit and period weights) with the same placebo SE, as in Table 1;
* gap tables (pilot, synthetic, gap per period), placebo gap paths for the gap plot, and
  post/pre RMSPE ratios (ADH 2010 §2.4; Abadie 2021 §4).

The permutation p-value of the synthetic control ranks the pilot's post/pre RMSPE ratio
among all units, each placebo fitted against all other units including the pilot
(diff-diff's construction, exact under random assignment). With J comparison communities the
smallest attainable p-value is 1/(J + 1): with 9 comparisons, 0.1.

References
----------
Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for comparative
case studies. *JASA* 105(490), 493–505.
Abadie, A. (2021). Using synthetic controls: feasibility, data requirements, and
methodological aspects. *JEL* 59(2), 391–425.
Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. & Wager, S. (2021). Synthetic
difference-in-differences. *AER* 111(12), 4088–4118.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import frozen
from scipy import stats

from evalkit._checks import as_list, require_columns
from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit.estimators.results import ImpactResult, InferenceRecord, Spec
from evalkit.results import Provenance

__all__ = ["SyntheticControlResult", "SyntheticDiDResult", "community_panel", "simplex_weights",
           "synthetic_control", "synthetic_did", "synthetic_weights"]

_D = "_evalkit_treated"  # internal indicator handed to diff-diff; never shown to users


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@frozen(eq=False)
class SyntheticControlResult(ImpactResult):
    """Synthetic control for one pilot.

    ``estimates``: one row ``att`` (mean post-period gap) with the placebo SE, the permutation
    p-value of the RMSPE ratio (``p_value``), a normal interval from the placebo SE, and the
    extra columns ``pre_rmspe, post_rmspe, rmspe_ratio, n_donors, n_placebos``.
    ``tables``: ``weights`` (unit, weight), ``gaps`` (time, treated, synthetic, gap, phase),
    ``placebos`` (unit, pre_rmspe, post_rmspe, rmspe_ratio, att, is_treated, status),
    ``placebo_gaps`` (unit, time, gap) of the leave-pilot-out placebo fits and ``diagnostics``
    (code, value, threshold, flagged; see :func:`_diagnostics`).
    """

    kind: ClassVar[str] = "synthetic_control"
    title_zh: ClassVar[str] = "合成控制法：示范试点社区的效应"
    title_en: ClassVar[str] = "Synthetic control: effect on the showcase pilot"

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        from evalkit.reporting.synthetic_display import diagnostic_lines

        return "\n".join([super().summary(decimals, lang), *diagnostic_lines(self, lang=lang)])

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Gap plot: pilot minus synthetic control, with the placebo gaps in grey."""
        from evalkit.reporting.synthetic_figures import gap_plot

        return gap_plot(self, ax=ax, lang=lang)


@frozen(eq=False)
class SyntheticDiDResult(ImpactResult):
    """Synthetic difference-in-differences.

    ``estimates``: rows ``sdid`` (headline) and ``did`` (equal weights, for comparison), each
    with its placebo SE; ``tables``: ``unit_weights``, ``time_weights``, ``gaps`` (time,
    treated, synthetic after the level shift, gap, phase) and ``placebo_estimates``.
    """

    kind: ClassVar[str] = "synthetic_did"
    title_zh: ClassVar[str] = "合成双重差分：试点社区的效应"
    title_en: ClassVar[str] = "Synthetic difference-in-differences: effect on the pilots"

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        from evalkit.reporting.synthetic_display import diagnostic_lines

        return "\n".join([super().summary(decimals, lang), *diagnostic_lines(self, lang=lang)])

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Pilot and (level-shifted) synthetic comparison trajectories with the gap."""
        from evalkit.reporting.synthetic_figures import gap_plot

        return gap_plot(self, ax=ax, lang=lang)


# ---------------------------------------------------------------------------------------------
# community × wave panel from resident data
# ---------------------------------------------------------------------------------------------
def community_panel(
    data: pd.DataFrame,
    *,
    outcomes: str | Sequence[str],
    unit: str = "community_id",
    time: str = "wave",
    weights: str | None = None,
    keep: str | Sequence[str] | None = None,
    min_respondents: int = 1,
) -> pd.DataFrame:
    """Community × wave means of resident outcomes, the input of the synthetic designs.

    Parameters
    ----------
    data
        One row per respondent.
    outcomes
        Numeric outcome columns (construct scores); missing answers are skipped per outcome.
    unit, time
        Community and wave columns.
    weights
        Optional survey-weight column: cell means are weighted (Hájek) means.
    keep
        Community-level columns carried over (e.g. ``"pilot_wave"``); each must be constant
        within a community.
    min_respondents
        Cells with fewer answering residents get NaN for that outcome.

    Returns
    -------
    DataFrame
        One row per community and wave: ``unit, time, *keep, n_respondents, *outcomes`` and
        ``n_<outcome>`` (answers behind each mean).

    Raises
    ------
    DataValidationError
        If a ``keep`` column varies within a community.
    """
    outcomes = as_list(outcomes)
    keep_cols = as_list(keep)
    require_columns(data, [unit, time, *outcomes, *keep_cols] + ([weights] if weights else []),
                    what="community_panel")
    w = (pd.to_numeric(data[weights], errors="coerce") if weights else pd.Series(1.0, index=data.index))
    keys = [data[unit], data[time]]
    out = data.groupby(keys, sort=True).size().rename("n_respondents").to_frame()
    for col in outcomes:
        y = pd.to_numeric(data[col], errors="coerce")
        ok = y.notna() & w.notna()
        frame = pd.DataFrame({"wy": (y * w).where(ok), "w": w.where(ok), "n": ok.astype(int)})
        agg = frame.groupby(keys, sort=True).sum(min_count=1)
        mean = agg["wy"] / agg["w"]
        out[col] = mean.where(agg["n"] >= min_respondents)
        out[f"n_{col}"] = agg["n"].astype("int64")
    out = out.reset_index()
    out.columns = [unit, time, *out.columns[2:]]
    if keep_cols:
        firsts = data.groupby(unit, sort=True)[keep_cols].agg(lambda s: s.dropna().iloc[0] if s.notna().any()
                                                            else np.nan)
        varies = data.groupby(unit, sort=True)[keep_cols].nunique(dropna=True) > 1
        bad = varies.stack()
        bad = bad[bad]
        if len(bad):
            cases = pd.DataFrame({"column": [c for _, c in bad.index], "unit": [u for u, _ in bad.index]})
            shown = ", ".join(f"'{c}' in {unit} {u}" for u, c in list(bad.index)[:5])
            msg = (f"community_panel: keep columns must be constant within a community; they vary for {shown}. "
                   f"Fix the source data or leave those columns out of keep=.")
            raise DataValidationError(msg, failure_cases=cases)
        out = out.merge(firsts.reset_index(), on=unit, how="left")
        out = out[[unit, time, *keep_cols, *[c for c in out.columns if c not in (unit, time, *keep_cols)]]]
    return out


# ---------------------------------------------------------------------------------------------
# shared checks
# ---------------------------------------------------------------------------------------------
def _prepare(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, treated: list[Any], start: Any,
             donors: Sequence[Any] | None, what: str) -> tuple[pd.DataFrame, list[Any], list[Any], list[Any]]:
    require_columns(panel, [outcome, unit, time], what=what)
    units = set(panel[unit].unique())
    absent = [u for u in treated if u not in units]
    if absent:
        msg = f"{what}: pilot(s) {absent} not found in column '{unit}'."
        raise DataValidationError(msg)
    donor_list = [u for u in (donors if donors is not None else sorted(units - set(treated), key=str))]
    overlap = [u for u in donor_list if u in treated]
    if overlap:
        msg = f"{what}: {overlap} are listed both as pilot and as donor; remove them from donors=."
        raise DataValidationError(msg)
    data = panel.loc[panel[unit].isin(set(treated) | set(donor_list)), [unit, time, outcome]].copy()
    data[outcome] = pd.to_numeric(data[outcome], errors="coerce")
    dup = data.duplicated([unit, time])
    if dup.any():
        msg = (f"{what}: {int(dup.sum())} duplicated ({unit}, {time}) rows; the synthetic designs need one row per "
               f"community and period (use community_panel to average resident answers).")
        raise DataValidationError(msg)
    periods = sorted(data[time].unique())
    wide = data.pivot(index=unit, columns=time, values=outcome).reindex(columns=periods)
    missing = wide.isna().stack()
    missing = missing[missing]
    if len(missing):
        cases = pd.DataFrame({"unit": [u for u, _ in missing.index], "time": [t for _, t in missing.index],
                              "column": outcome, "check": "balanced panel"})
        gap_units = sorted({u for u, _ in missing.index}, key=str)
        msg = (f"{what}: column '{outcome}' is missing for {len(missing)} community-period cell(s) "
               f"(communities {gap_units[:8]}{' …' if len(gap_units) > 8 else ''}); found an unbalanced panel, "
               f"expected every community in every period. Fix: drop those communities from donors=, or restrict "
               f"the periods.")
        raise DataValidationError(msg, failure_cases=cases)
    pre = [t for t in periods if t < start]
    post = [t for t in periods if t >= start]
    if len(pre) < 2 or not post:
        msg = (f"{what}: start={start!r} leaves {len(pre)} pre-period(s) and {len(post)} post-period(s) in "
               f"'{time}'; at least 2 before and 1 from the start are needed.")
        raise NotIdentifiedError(msg)
    if len(donor_list) < 2:
        msg = f"{what}: {len(donor_list)} comparison communit(ies); at least 2 are needed."
        raise NotIdentifiedError(msg)
    return data, donor_list, pre, post


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call a diff-diff routine; its warnings become records, not noise in a report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, sorted({str(c.message).splitlines()[0] for c in caught})


def _sc_fit(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treated: Any, donors: list[Any],
            post: list[Any], n_pre: int) -> Any:
    from diff_diff import SyntheticControl

    d = data.loc[data[unit].isin([treated, *donors])].copy()
    d[_D] = ((d[unit] == treated) & d[time].isin(post)).astype(int)
    est = SyntheticControl(v_method="custom", custom_v=np.ones(n_pre), standardize="none")
    return est.fit(d, outcome=outcome, treatment=_D, unit=unit, time=time, treated_unit=treated,
                   pre_period_outcomes="all")


def synthetic_weights(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, treated_unit: Any, start: Any,
                      donors: Sequence[Any] | None = None) -> pd.Series:
    """The synthetic control's donor weights alone (diff-diff's fit, as in :func:`synthetic_control`),
    for refits that need only the point estimate (leave-one-out, in-time placebos).

    Uses the same solver as :func:`synthetic_control` on purpose: when there are more donors than
    pre-periods the exact-fit weights are not unique, and another solver may pick other weights.
    """
    data, donor_list, pre, post = _prepare(panel, outcome=outcome, unit=unit, time=time, treated=[treated_unit],
                                           start=start, donors=donors, what="synthetic_weights")
    fit, _ = _quietly(_sc_fit, data, outcome=outcome, unit=unit, time=time, treated=treated_unit,
                      donors=donor_list, post=post, n_pre=len(pre))
    return pd.Series(fit.donor_weights, dtype=float).reindex(donor_list).fillna(0.0)


def simplex_weights(donors_pre: np.ndarray, target_pre: np.ndarray) -> np.ndarray:
    """Weights w ≥ 0, Σw = 1 minimising ‖target − donors·w‖² (the synthetic control with V = I).

    One non-negative least-squares solve (scipy's Lawson–Hanson ``nnls``) with the adding-up
    constraint appended as a row weighted 10⁴ × the data scale, then renormalised. Used for the
    placebo refits only, where diff-diff's full ``fit`` (validation, predictor tables, result
    object: ~50 ms per call) would dominate the run time; the solve itself takes well under a
    millisecond. On Proposition 99 it reproduces diff-diff's donor weights to 1e-10 (tested). With
    more donors than pre-periods the pre-period fit is often exact and the weights are then not
    unique: both solvers fit perfectly but may pick different weights.

    Parameters
    ----------
    donors_pre
        Pre-period outcomes, periods × donors.
    target_pre
        Pre-period outcomes of the unit to reproduce.
    """
    from scipy.optimize import nnls

    scale = 1e4 * max(float(np.abs(donors_pre).max()), 1.0)
    a = np.vstack([donors_pre, np.full(donors_pre.shape[1], scale)])
    w, _ = nnls(a, np.r_[target_pre, scale], maxiter=50 * max(donors_pre.shape[1], 10))
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        msg = "synthetic control: the simplex weight solve failed (no positive weights)."
        raise EstimationError(msg)
    return w / total


def _rmspe(gaps: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(gaps)))) if gaps.size else math.nan


def _placebo_se(estimates: np.ndarray) -> float:
    """Arkhangelsky et al. (2021) Algorithm 4: √(mean of squared deviations) of placebo estimates."""
    e = estimates[np.isfinite(estimates)]
    return float(np.sqrt(np.mean((e - e.mean()) ** 2))) if e.size > 1 else math.nan


#: evalkit's convention: fewer pre-periods than this make the pre-fit (and so the design) weak
MIN_PRE_PERIODS = 5


#: fewer distinct placebo assignments than this make a placebo SE rest on too few numbers
MIN_PLACEBOS = 20


def _diagnostics(*, y_pilot_pre: np.ndarray, y_donors_pre: np.ndarray, pre_gap: np.ndarray, n_placebos: int,
                 alpha: float, permutation: bool) -> pd.DataFrame:
    """Reason codes for the design's weak spots (facts; :mod:`evalkit.reporting.synthetic_display` words them).

    * ``few_pre_periods`` – fewer than :data:`MIN_PRE_PERIODS` periods before the start: the
      pre-period fit says little (Abadie 2021, §5: credibility rests on a long pre-period fit);
    * ``outside_hull`` – share of pre-periods in which the pilot lies above every donor or
      below every donor: no weighted average can follow it there (Abadie 2021, §3.1);
    * ``poor_pre_fit`` – pre-period RMSPE above the standard deviation of the pilot's own
      pre-period outcomes (the rule diff-diff warns on);
    * ``p_value_floor`` (permutation p-values) – the smallest attainable p-value,
      1/(placebos + 1), is above ``alpha``: the placebo test cannot reject whatever the effect;
    * ``few_placebos`` (placebo-variance p-values) – fewer than :data:`MIN_PLACEBOS` distinct
      placebo assignments behind the SE.
    """
    n_pre = int(len(y_pilot_pre))
    outside = float(np.mean((y_pilot_pre > y_donors_pre.max(axis=0)) | (y_pilot_pre < y_donors_pre.min(axis=0))))
    rmspe = _rmspe(pre_gap)
    sd = float(np.std(y_pilot_pre, ddof=1)) if n_pre > 1 else math.nan
    floor = 1.0 / (n_placebos + 1)
    rows = [("few_pre_periods", float(n_pre), float(MIN_PRE_PERIODS), n_pre < MIN_PRE_PERIODS),
            ("outside_hull", outside, 0.0, outside > 0),
            ("poor_pre_fit", rmspe, sd, bool(np.isfinite(sd) and rmspe > sd)),
            ("p_value_floor", floor, float(alpha), floor > alpha) if permutation else
            ("few_placebos", float(n_placebos), float(MIN_PLACEBOS), n_placebos < MIN_PLACEBOS)]
    return pd.DataFrame(rows, columns=["code", "value", "threshold", "flagged"])


def _normal_p(est: float, se: float) -> float:
    """Two-sided p-value of est / se against N(0, 1), the reference of Arkhangelsky et al.'s intervals."""
    return float(2 * stats.norm.sf(abs(est / se))) if np.isfinite(se) and se > 0 else math.nan


def _row(term: str, est: float, se: float, p: float, *, n_clusters: int, n_treated: int, method: str,
         alpha: float, **extra: Any) -> dict[str, Any]:
    z = stats.norm.isf(alpha / 2)
    stat = est / se if se and np.isfinite(se) and se > 0 else math.nan
    return {"term": term, "estimate": est, "std_error": se, "statistic": stat, "p_value": p,
            "ci_lower": est - z * se, "ci_upper": est + z * se, "df": math.nan, "inference": method,
            "n_clusters": n_clusters, "n_treated_clusters": n_treated, **extra}


# ---------------------------------------------------------------------------------------------
# synthetic control
# ---------------------------------------------------------------------------------------------
def synthetic_control(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    start: Any,
    donors: Sequence[Any] | None = None,
    alpha: float = 0.05,
) -> SyntheticControlResult:
    """Synthetic control for one pilot community, with placebo-in-space inference.

    Parameters
    ----------
    panel
        Community × period outcomes (e.g. from :func:`community_panel`), balanced.
    outcome, unit, time
        Outcome, community and period columns.
    treated_unit
        The showcase pilot (a value of ``unit``).
    start
        First period in which the pilot is active.
    donors
        Comparison communities allowed in the synthetic control (default: all others). Leave
        out communities with their own similar programme.
    alpha
        For the interval from the placebo SE.

    Returns
    -------
    SyntheticControlResult

    Raises
    ------
    DataValidationError
        Unknown pilot, duplicated cells, or an unbalanced panel (``failure_cases`` lists the cells).
    NotIdentifiedError
        Fewer than 2 pre-periods, no post-period, or fewer than 2 donors.

    Examples
    --------
    >>> r = synthetic_control(prop99, outcome="PacksPerCapita", unit="State", time="Year",
    ...                       treated_unit="California", start=1989)  # doctest: +SKIP
    >>> # R: synthdid::sc_estimate(setup$Y, setup$N0, setup$T0)   (−19.6 in Arkhangelsky et al. Table 1)
    """
    data, donor_list, pre, post = _prepare(panel, outcome=outcome, unit=unit, time=time, treated=[treated_unit],
                                           start=start, donors=donors, what="synthetic_control")
    fit, notes = _quietly(_sc_fit, data, outcome=outcome, unit=unit, time=time, treated=treated_unit,
                          donors=donor_list, post=post, n_pre=len(pre))
    placebo_df, more = _quietly(fit.in_space_placebo)
    notes += more
    wide = data.pivot(index=unit, columns=time, values=outcome)
    y1 = wide.loc[treated_unit].to_numpy(dtype=float)
    gap = np.array([fit.gap_path[t] for t in wide.columns], dtype=float)
    is_pre = np.isin(np.asarray(wide.columns), pre)
    gaps = pd.DataFrame({"time": list(wide.columns), "treated": y1, "synthetic": y1 - gap, "gap": gap,
                         "phase": np.where(is_pre, "pre", "post")})
    omega = pd.Series(fit.donor_weights, dtype=float).reindex(donor_list).fillna(0.0)
    weights = pd.DataFrame({"unit": donor_list, "weight": omega.to_numpy()})
    weights = weights.sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)

    # leave-the-pilot-out placebos: the SE (Algorithm 4, enumerated) and the grey gap paths
    y_donors = wide.loc[donor_list].to_numpy(dtype=float)
    placebo_rows, gap_rows = [], []
    for k, u in enumerate(donor_list):
        others = np.delete(y_donors, k, axis=0)
        w_k = simplex_weights(others[:, is_pre].T, y_donors[k, is_pre])
        g = y_donors[k] - w_k @ others
        placebo_rows.append({"unit": u, "att_placebo": float(np.mean(g[~is_pre]))})
        gap_rows += [{"unit": u, "time": t, "gap": v} for t, v in zip(wide.columns, g, strict=True)]
    loo = pd.DataFrame(placebo_rows)
    se = _placebo_se(loo["att_placebo"].to_numpy(dtype=float))

    pl = placebo_df.copy()
    pl["pre_rmspe"] = np.sqrt(pl["pre_mspe"].astype(float))
    pl["post_rmspe"] = np.sqrt(pl["post_mspe"].astype(float))
    pl = pl.merge(loo, on="unit", how="left")
    pl = pl[["unit", "pre_rmspe", "post_rmspe", "rmspe_ratio", "att_placebo", "is_treated", "status"]]
    pl = pl.sort_values("rmspe_ratio", ascending=False, kind="stable").reset_index(drop=True)
    pre_rmspe, post_rmspe = _rmspe(gap[is_pre]), _rmspe(gap[~is_pre])
    row = _row("att", float(fit.att), se, float(fit.placebo_p_value), n_clusters=len(donor_list) + 1, n_treated=1,
               method="placebo_permutation", alpha=alpha, pre_rmspe=pre_rmspe, post_rmspe=post_rmspe,
               rmspe_ratio=float(fit.rmspe_ratio), n_donors=len(donor_list), n_placebos=int(fit.n_placebos))
    estimates = pd.DataFrame([row])
    spec = Spec(estimator="synthetic_control",
                columns={"outcome": outcome, "unit": unit, "time": time},
                options={"treated_unit": treated_unit, "start": start, "donors": donor_list,
                         "v": "identity on pre-period outcomes", "engine": "diff_diff.SyntheticControl",
                         "placebo_se": "leave-pilot-out enumeration (Arkhangelsky et al. 2021, Alg. 4)",
                         "p_value": "rank of post/pre RMSPE ratio (ADH 2010)", "alpha": alpha})
    inference = InferenceRecord(method="placebo_permutation", requested="placebo_permutation",
                                n_clusters=len(donor_list) + 1, n_treated_clusters=1, reliable_crve=None,
                                draws=len(donor_list))
    diagnostics = _diagnostics(y_pilot_pre=y1[is_pre], y_donors_pre=y_donors[:, is_pre], pre_gap=gap[is_pre],
                               n_placebos=int(fit.n_placebos), alpha=alpha, permutation=True)
    tables = {"weights": weights, "gaps": gaps, "placebos": pl, "placebo_gaps": pd.DataFrame(gap_rows),
              "diagnostics": diagnostics,
              "warnings": pd.DataFrame({"source": "diff_diff", "message": notes}, columns=["source", "message"])}
    return SyntheticControlResult(estimates=estimates, spec=spec, n_obs=int(len(data)), inference=inference,
                                  tables=tables, provenance=Provenance.current())


# ---------------------------------------------------------------------------------------------
# synthetic difference-in-differences
# ---------------------------------------------------------------------------------------------
def _did_placebo(y_co: np.ndarray, n_treated: int, is_pre: np.ndarray, draws: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Plain DiD estimates with ``n_treated`` pseudo-pilots drawn among the comparisons."""
    change = y_co[:, ~is_pre].mean(axis=1) - y_co[:, is_pre].mean(axis=1)
    n0 = len(change)
    if math.comb(n0, n_treated) <= draws:
        subsets = [list(c) for c in itertools.combinations(range(n0), n_treated)]
    else:
        subsets = [list(rng.choice(n0, size=n_treated, replace=False)) for _ in range(draws)]
    out = []
    for s in subsets:
        mask = np.zeros(n0, dtype=bool)
        mask[s] = True
        out.append(change[mask].mean() - change[~mask].mean())
    return np.asarray(out)


def synthetic_did(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_units: Any | Sequence[Any],
    start: Any,
    donors: Sequence[Any] | None = None,
    draws: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> SyntheticDiDResult:
    """Synthetic difference-in-differences (Arkhangelsky et al. 2021) with placebo inference.

    Both rows (``sdid`` and, for comparison, ``did``) carry the placebo SE of Algorithm 4 and a
    normal p-value and interval from it, as Arkhangelsky et al. report (§5). diff-diff's own
    p-value ranks the resampled placebo draws, which overstates precision when there are fewer
    distinct placebo assignments than draws (one pilot, 16 comparisons: 16 assignments, 200
    draws), so it is not used.

    Parameters
    ----------
    panel
        Community × period outcomes, balanced.
    outcome, unit, time
        Outcome, community and period columns.
    treated_units
        One pilot or several that start in the same period.
    start
        First treated period.
    donors
        Comparison communities (default: all others).
    draws
        Placebo replications for the SE (Algorithm 4). The DiD row enumerates all placebo
        assignments when there are no more than ``draws`` of them.
    seed
        Seed of the placebo draws (recorded in the provenance).
    alpha
        For the normal interval.

    Returns
    -------
    SyntheticDiDResult

    Examples
    --------
    >>> r = synthetic_did(prop99, outcome="PacksPerCapita", unit="State", time="Year",
    ...                   treated_units="California", start=1989, seed=12345)  # doctest: +SKIP
    >>> # R: synthdid::synthdid_estimate(setup$Y, setup$N0, setup$T0); vcov(., method = "placebo")
    """
    from diff_diff import SyntheticDiD

    treated = ([treated_units] if isinstance(treated_units, str) or not isinstance(treated_units, Sequence)
               else list(treated_units))
    data, donor_list, pre, post = _prepare(panel, outcome=outcome, unit=unit, time=time, treated=treated,
                                           start=start, donors=donors, what="synthetic_did")
    if draws < 2:
        msg = f"synthetic_did: draws={draws} must be at least 2 for a placebo SE."
        raise ValueError(msg)
    d = data.copy()
    d[_D] = d[unit].isin(treated).astype(int)
    try:
        fit, notes = _quietly(SyntheticDiD(variance_method="placebo", n_bootstrap=int(draws), seed=int(seed)).fit,
                              d, outcome=outcome, treatment=_D, unit=unit, time=time, post_periods=post)
    except ValueError as exc:
        msg = f"synthetic_did: diff-diff could not fit the design ({exc})."
        raise EstimationError(msg) from exc
    wide = data.pivot(index=unit, columns=time, values=outcome)
    periods = list(wide.columns)
    is_pre = np.isin(np.asarray(periods), pre)
    y_tr = wide.loc[treated].to_numpy(dtype=float).mean(axis=0)
    omega = pd.Series(fit.unit_weights).reindex(donor_list).fillna(0.0)
    lam = pd.Series(fit.time_weights).reindex(pre).fillna(0.0)
    y_sc = omega.to_numpy() @ wide.loc[donor_list].to_numpy(dtype=float)
    level = float(lam.to_numpy() @ (y_tr[is_pre] - y_sc[is_pre]))
    gap = y_tr - y_sc - level
    gaps = pd.DataFrame({"time": periods, "treated": y_tr, "synthetic": y_sc + level, "gap": gap,
                         "phase": np.where(is_pre, "pre", "post")})
    # plain DiD with the same placebo logic, for Table 1's comparison row
    y_co = wide.loc[donor_list].to_numpy(dtype=float)
    tau_did = float((y_tr[~is_pre].mean() - y_tr[is_pre].mean())
                    - (y_co[:, ~is_pre].mean() - y_co[:, is_pre].mean()))
    did_placebos = _did_placebo(y_co, len(treated), is_pre, int(draws), np.random.default_rng(seed))
    se_did = _placebo_se(did_placebos)
    n_cl, n_tr = len(donor_list) + len(treated), len(treated)
    pre_rmspe = _rmspe(gap[is_pre])
    rows = [
        _row("sdid", float(fit.att), float(fit.se), _normal_p(float(fit.att), float(fit.se)), n_clusters=n_cl,
             n_treated=n_tr, method="placebo_variance", alpha=alpha, pre_rmspe=pre_rmspe, n_donors=len(donor_list)),
        _row("did", tau_did, se_did, _normal_p(tau_did, se_did), n_clusters=n_cl, n_treated=n_tr,
             method="placebo_variance", alpha=alpha, pre_rmspe=math.nan, n_donors=len(donor_list)),
    ]
    estimates = pd.DataFrame(rows)
    unit_w = pd.DataFrame({"unit": donor_list, "weight": omega.to_numpy()}).sort_values(
        "weight", ascending=False, kind="stable").reset_index(drop=True)
    time_w = pd.DataFrame({"time": pre, "weight": lam.to_numpy()})
    placebo = np.asarray(fit.variance_effects if fit.variance_effects is not None else [], dtype=float)
    spec = Spec(estimator="synthetic_did", columns={"outcome": outcome, "unit": unit, "time": time},
                options={"treated_units": treated, "start": start, "donors": donor_list, "draws": int(draws),
                         "seed": int(seed), "engine": "diff_diff.SyntheticDiD", "zeta_omega": float(fit.zeta_omega),
                         "noise_level": float(fit.noise_level), "alpha": alpha})
    inference = InferenceRecord(method="placebo_variance", requested="placebo_variance", n_clusters=n_cl,
                                n_treated_clusters=n_tr, reliable_crve=None, draws=int(draws), seed=int(seed))
    n_assignments = min(math.comb(len(donor_list), len(treated)), int(draws))
    diagnostics = _diagnostics(y_pilot_pre=y_tr[is_pre], y_donors_pre=y_co[:, is_pre], pre_gap=gap[is_pre],
                               n_placebos=n_assignments, alpha=alpha, permutation=False)
    tables = {"unit_weights": unit_w, "time_weights": time_w, "gaps": gaps,
              "placebo_estimates": pd.DataFrame({"estimate": placebo}), "diagnostics": diagnostics,
              "warnings": pd.DataFrame({"source": "diff_diff", "message": notes}, columns=["source", "message"])}
    return SyntheticDiDResult(estimates=estimates, spec=spec, n_obs=int(len(data)), inference=inference,
                              tables=tables, provenance=Provenance.current(seed=seed))
