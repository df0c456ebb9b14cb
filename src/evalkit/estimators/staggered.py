"""Staggered adoption: Callaway & Sant'Anna (2021) group-time ATTs and their aggregations.

What is wrapped and what is written here
----------------------------------------
* **ATT(g,t) and their influence functions** come from ``diff_diff.CallawaySantAnna``
  (diff-diff, pinned version): outcome regression (``method="reg"``), inverse probability
  weighting (``"ipw"``, normalised/Hájek) or doubly robust (``"dr"``, Sant'Anna & Zhao 2020),
  never-treated or not-yet-treated comparisons, panels or repeated cross-sections, sampling
  weights (passed as a ``SurveyDesign(weights=...)``), ``base_period`` "varying" (R's default)
  or "universal", anticipation. evalkit reads the per-cell influence functions the fit
  retains and checks at run time that they reproduce diff-diff's own standard errors, so a
  change in diff-diff's internals fails loudly instead of silently.
* **Aggregations are computed here**, following R ``did::aggte`` (version 2.x) exactly,
  because diff-diff 3.13 has no calendar-time aggregation, no overall summary for the
  cohort and calendar aggregations, and does not truncate event times under ``balance_e``
  the way R does. Each aggregate is a weighted average of ATT(g,t) whose influence function
  includes the term for the estimated cohort shares (R's ``wif``):

  - ``overall`` / "simple": post-treatment cells weighted by cohort size P(G=g);
  - ``group``: each cohort's post cells averaged with equal weights; the overall cohort
    summary weights cohorts by P(G=g) (R's recommended headline);
  - ``calendar``: at each post period t, cohorts treated by t weighted by P(G=g); overall is
    the mean over periods;
  - ``event``: at each event time e = t − g, cohorts weighted by P(G=g); the overall dynamic
    summary is the mean over e ≥ 0; ``balance_e``, ``min_e``, ``max_e`` as in R.

  Cohort sizes use the sampling weights when given (weighted shares of units, or of
  respondents for repeated cross-sections).
* **Pre-trend test**: the Wald statistic on all pre-treatment ATT(g,t) with the analytic
  covariance (R's "P-value for pre-test of parallel trends assumption").
* **Inference** follows the few-clusters policy (:mod:`evalkit.estimators.guardrails`).
  Clusters default to the panel unit. With enough clusters: analytic cluster-robust
  influence-function SEs (factor G/(G−1), as diff-diff and Stata) with normal critical
  values. Otherwise: a cluster multiplier (wild) bootstrap of the influence functions with
  Rademacher or Webb weights (symmetric percentile-t intervals, bootstrap SE from the
  interquartile range as in R), or randomisation inference that permutes cohort labels
  across clusters (studentised statistic; p-values only).

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. Journal of Econometrics, 225(2), 200–230.
Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    Journal of Econometrics, 219(1), 101–122.
"""

from __future__ import annotations

import re

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit.estimators.estimation_sample import check_weights, select_sample
from evalkit.estimators.guardrails import check_choice, count_clusters, decide_inference
from evalkit.estimators.results import ESTIMATE_COLUMNS, InferenceRecord, Spec, StaggeredResult
from evalkit.results import Provenance

__all__ = ["did_staggered", "STAGGERED_COLUMNS"]

#: ``estimates`` columns of a staggered result, after the canonical ones.
STAGGERED_COLUMNS: tuple[str, ...] = (*ESTIMATE_COLUMNS, "aggregation", "group", "time", "event_time")

_CONTROLS = ("never_treated", "not_yet_treated")
_METHODS = ("dr", "ipw", "reg")
_HEADLINES = ("group", "simple", "event", "calendar")
_HEAD_TERM = {"group": "ATT (group)", "simple": "ATT (simple)", "event": "ATT (event)",
              "calendar": "ATT (calendar)"}


# ---- fitting one CS model ------------------------------------------------------------------
class _Fit:
    """ATT(g,t), their influence functions (rows = diff-diff's units) and unit bookkeeping."""

    def __init__(self, att: np.ndarray, group: np.ndarray, time: np.ndarray, psi: np.ndarray,
                 unit_group: np.ndarray, unit_weight: np.ndarray, unit_cluster: np.ndarray,
                 n_obs: int, caught: list[str]):
        self.att, self.group, self.time, self.psi = att, group, time, psi
        self.unit_group, self.unit_weight, self.unit_cluster = unit_group, unit_weight, unit_cluster
        self.n_obs, self.caught = n_obs, caught


def _fit_cs(df: pd.DataFrame, *, covariates: Sequence[str], control: str, method: str, panel: bool,
            weighted: bool, anticipation: int, base_period: str, check: bool) -> _Fit:
    from diff_diff import CallawaySantAnna, SurveyDesign

    est = CallawaySantAnna(control_group=control, anticipation=anticipation,
                           estimation_method=method, base_period=base_period, panel=panel,
                           cband=False, n_bootstrap=0, rank_deficient_action="error")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = est.fit(df, outcome="y", unit="unit", time="time", first_treat="first_treat",
                          covariates=list(covariates) or None,
                          survey_design=SurveyDesign(weights="w") if weighted else None)
        except ValueError as exc:
            msg = f"did_staggered(): the Callaway–Sant'Anna fit failed: {exc}"
            raise NotIdentifiedError(msg) from exc
    messages = [str(w.message) for w in caught if "normalized to mean=1" not in str(w.message)]
    kit = getattr(res, "_aggregation_kit", None)
    if kit is None:
        msg = "did_staggered(): diff-diff returned no group-time effects (no estimable cell)."
        raise NotIdentifiedError(msg)
    keys = [k for k in res.group_time_effects if np.isfinite(res.group_time_effects[k]["effect"])]
    # one row per unit, in unit-code order (diff-diff's order); the columns are constant within
    # a unit (checked by did_staggered), so any row of the unit represents it
    rows = _unit_rows(df["unit"].to_numpy()) if panel else np.arange(len(df))
    unit_info = {c: df[c].to_numpy()[rows] for c in ("first_treat", "w", "cluster")}
    n_units = len(kit.bookkeeping["all_units"])
    if n_units != len(rows):
        msg = (f"did_staggered(): diff-diff kept {n_units} units but the data have "
               f"{len(rows)}; the installed diff-diff does not match the pinned version.")
        raise EstimationError(msg)
    psi_t = np.zeros((len(keys), n_units))  # filled by rows (contiguous); psi is its transpose
    for k, key in enumerate(keys):
        inf = kit.influence[key]
        for side in ("treated", "control"):
            idx = np.asarray(inf[f"{side}_idx"], dtype=np.intp)
            if idx.size:
                psi_t[k] += np.bincount(idx, weights=np.asarray(inf[f"{side}_inf"], dtype=float),
                                        minlength=n_units)
    psi = psi_t.T
    att = np.array([res.group_time_effects[k]["effect"] for k in keys], dtype=float)
    if check:
        se_dd = np.array([res.group_time_effects[k]["se"] for k in keys], dtype=float)
        se_me = np.sqrt((psi ** 2).sum(axis=0))
        ok = np.isfinite(se_dd) & (se_dd > 0)
        if ok.any() and np.max(np.abs(se_me[ok] / se_dd[ok] - 1)) > 1e-6:
            msg = ("did_staggered(): the influence functions read from diff-diff do not reproduce "
                   "its standard errors; the installed diff-diff does not match the version evalkit "
                   "pins. Install the pinned version.")
            raise EstimationError(msg)
    return _Fit(att=att, group=np.array([k[0] for k in keys], dtype=float),
                time=np.array([k[1] for k in keys], dtype=float), psi=psi,
                unit_group=unit_info["first_treat"].astype(float),
                unit_weight=unit_info["w"].astype(float),
                unit_cluster=unit_info["cluster"], n_obs=len(df), caught=messages)


def _unit_rows(codes: np.ndarray) -> np.ndarray:
    """For dense codes 0..U−1, one row index per code (any row of that code)."""
    rows = np.empty(int(codes.max()) + 1, dtype=np.intp)
    rows[codes] = np.arange(len(codes))
    return rows


def _str_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the ids ``values.astype(str)``: (in order of first appearance, in
    sorted order — the latter is ``pd.factorize(values.astype(str), sort=True)[0]``).

    Ids are compared as strings (evalkit's convention: community ids are strings). Turning
    every row into a string dominated the data preparation on large panels (300,000 rows), so
    the rows are factorised first and only the distinct ids converted. Units are numbered in
    order of appearance: data sorted by unit then stay sorted by code, which spares diff-diff
    a reordering of the panel; clusters keep the sorted numbering, which fixes the order in
    which bootstrap weights and permutations are assigned to them.
    """
    codes, uniques = pd.factorize(values)
    if uniques.dtype.kind in "iu":  # numpy formats integers as str() does, and sorts faster
        sorted_codes = np.unique(np.asarray(uniques).astype(str), return_inverse=True)[1]
    else:
        sorted_codes = pd.factorize(pd.Index(uniques).astype(str), sort=True)[0]
    first_seen = pd.factorize(sorted_codes)[0]  # ids equal as strings share a code
    return first_seen[codes], sorted_codes[codes]


# ---- aggregation (R did::aggte) --------------------------------------------------------------
class _Agg:
    """Aggregated estimates with influence functions (columns of ``psi``)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.psi: list[np.ndarray] = []

    def add(self, att: float, psi: np.ndarray, **labels: Any) -> None:
        self.rows.append({"estimate": float(att), **labels})
        self.psi.append(psi)


class _Cohorts:
    """Cohort membership of units and cells, for R did's weight influence function (``wif``).

    R builds an n × K matrix of cohort indicators for every aggregate; only its product with
    the K cell effects is needed, which is an O(n) gather from per-cohort sums (the matrices
    dominated evalkit's own time on large panels).
    """

    def __init__(self, fit: _Fit):
        self.w = fit.unit_weight / fit.unit_weight.mean()  # normalised sampling weights
        self.n = len(self.w)
        self.cohorts = np.unique(fit.group)
        nc = len(self.cohorts)
        self.nc = nc
        self.cell = np.searchsorted(self.cohorts, fit.group)
        pos = np.minimum(np.searchsorted(self.cohorts, fit.unit_group), nc - 1)
        self.unit = np.where(self.cohorts[pos] == fit.unit_group, pos, nc)  # nc: no cohort cell
        self.pg = np.bincount(self.unit, weights=self.w, minlength=nc + 1)[:nc] / self.n  # P(G=g)

    def wif_dot(self, cohort_idx: np.ndarray, pgk: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``wif @ a`` for weights ∝ ``pgk`` on entries of cohorts ``cohort_idx``:
        ((ind − pgk)/s − rowsum(ind − pgk)·pgk'/s²) @ a / n with ind[i,k] = w_i·1{G_i = g_k}."""
        s = pgk.sum()
        pa = float(pgk @ a)
        per_a = np.bincount(cohort_idx, weights=a, minlength=self.nc + 1)
        per_n = np.bincount(cohort_idx, minlength=self.nc + 1).astype(float)
        per_a[self.nc] = per_n[self.nc] = 0.0
        ind_a = self.w * per_a[self.unit]
        ind_sum = self.w * per_n[self.unit]
        return ((ind_a - pa) / s - (ind_sum - s) * (pa / s ** 2)) / self.n


def _weighted_rows(wts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``wts @ rows`` for a few long rows, in einsum's single-threaded loop: on a machine whose
    cores are busy, threaded BLAS on such thin products stalls (see :func:`_pretest`)."""
    return np.einsum("k,ki->i", wts, rows)


def _combine(fit: _Fit, coh: _Cohorts, keep: np.ndarray, pg_cells: np.ndarray, *,
             estimated_weights: bool) -> tuple[float, np.ndarray]:
    wts = pg_cells[keep] / pg_cells[keep].sum()
    att = float(fit.att[keep] @ wts)
    psi = _weighted_rows(wts, fit.psi.T[keep])
    if estimated_weights:
        psi = psi + coh.wif_dot(coh.cell[keep], pg_cells[keep], fit.att[keep])
    return att, psi


def _aggregate(fit: _Fit, *, balance_e: int | None, min_e: float, max_e: float) -> _Agg:
    coh = _Cohorts(fit)
    glist = coh.cohorts
    pg_by_group = dict(zip(glist, coh.pg, strict=True))
    pg = coh.pg[coh.cell]
    e = fit.time - fit.group
    post = (fit.group <= fit.time) & (fit.time <= fit.group + max_e)
    out = _Agg()

    # group-time cells themselves
    for k in range(len(fit.att)):
        out.add(fit.att[k], fit.psi[:, k], aggregation="group_time", group=fit.group[k],
                time=fit.time[k], event_time=e[k], term=f"ATT({_lab(fit.group[k])},{_lab(fit.time[k])})")

    # simple
    keep = np.flatnonzero(post)
    if keep.size == 0:
        msg = "did_staggered(): no post-treatment group-time cell can be estimated."
        raise NotIdentifiedError(msg)
    att, psi = _combine(fit, coh, keep, pg, estimated_weights=True)
    out.add(att, psi, aggregation="simple", term="ATT (simple)")

    # group
    g_att, g_psi, g_pg, g_idx = [], [], [], []
    for c, g in enumerate(glist):
        keep_g = np.flatnonzero((fit.group == g) & post)
        if keep_g.size == 0:
            continue
        att_g, psi_g = _combine(fit, coh, keep_g, np.ones(len(fit.att)), estimated_weights=False)
        out.add(att_g, psi_g, aggregation="group", group=g, term=f"group {_lab(g)}")
        g_att.append(att_g)
        g_psi.append(psi_g)
        g_pg.append(pg_by_group[g])
        g_idx.append(c)
    g_att_a, g_pg_a = np.array(g_att), np.array(g_pg)
    att_sel = float(g_att_a @ (g_pg_a / g_pg_a.sum()))
    psi_sel = _weighted_rows(g_pg_a / g_pg_a.sum(), np.vstack(g_psi))
    psi_sel = psi_sel + coh.wif_dot(np.array(g_idx, dtype=np.intp), g_pg_a, g_att_a)
    out.add(att_sel, psi_sel, aggregation="overall_group", term="ATT (group)")

    # calendar
    tlist = np.unique(fit.time[post])
    c_att, c_psi = [], []
    for t in tlist:
        keep_t = np.flatnonzero(post & (fit.time == t))
        att_t, psi_t = _combine(fit, coh, keep_t, pg, estimated_weights=True)
        out.add(att_t, psi_t, aggregation="calendar", time=t, term=f"time {_lab(t)}")
        c_att.append(att_t)
        c_psi.append(psi_t)
    out.add(float(np.mean(c_att)), np.vstack(c_psi).mean(axis=0), aggregation="overall_calendar",
            term="ATT (calendar)")

    # event study
    cells = np.ones(len(fit.att), dtype=bool)
    if balance_e is not None:
        max_t, min_t = fit.time.max(), fit.time.min()
        cells = (max_t - fit.group) >= balance_e
        eseq = np.unique(e[cells])
        eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - max_t + min_t)]
    else:
        eseq = np.unique(e)
    eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
    d_att, d_psi = [], []
    for ev in eseq:
        keep_e = np.flatnonzero(cells & (e == ev))
        if keep_e.size == 0:
            continue
        att_e, psi_e = _combine(fit, coh, keep_e, pg, estimated_weights=True)
        out.add(att_e, psi_e, aggregation="event", event_time=ev, term=f"e={int(ev)}")
        if ev >= 0:
            d_att.append(att_e)
            d_psi.append(psi_e)
    if d_att:
        out.add(float(np.mean(d_att)), np.vstack(d_psi).mean(axis=0),
                aggregation="overall_event", term="ATT (event)")
    return out


def _lab(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _pretest(fit: _Fit) -> tuple[float, int, float]:
    pre = np.flatnonzero(fit.time < fit.group)
    if pre.size == 0:
        return np.nan, 0, np.nan
    a = fit.att[pre]
    # einsum's single-threaded loop, not BLAS: on a machine whose cores are busy, threaded
    # BLAS on this thin (cells × units) product stalled for up to a second per call (measured
    # on 30,000 units); the loop costs a few milliseconds
    Q = np.ascontiguousarray(fit.psi[:, pre].T)
    V = np.einsum("ki,li->kl", Q, Q)
    try:
        W = float(a @ np.linalg.solve(V, a))
    except np.linalg.LinAlgError:
        W = float(a @ np.linalg.pinv(V) @ a)
    return W, int(pre.size), float(stats.chi2.sf(W, pre.size))


# ---- inference -------------------------------------------------------------------------------
def _cluster_sums(psi: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Column sums of ``psi`` (units × estimates) within clusters; clusters × estimates, rows
    in sorted cluster order. One ``bincount`` per estimate (``psi`` is usually the transpose
    of a row-major array, so its columns are contiguous)."""
    codes, _ = pd.factorize(pd.Series(cluster), sort=True)
    G = int(codes.max()) + 1
    return np.vstack([np.bincount(codes, weights=col, minlength=G) for col in psi.T]).T


def _analytic_se(psi: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    n_clusters = int(pd.Series(cluster).nunique())
    # one unit per cluster (the panel default): the cluster sums are the rows themselves
    S = psi if n_clusters == len(psi) else _cluster_sums(psi, cluster)
    return np.sqrt((S ** 2).sum(axis=0) * n_clusters / (n_clusters - 1))


def _webb(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    vals = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return vals[rng.integers(0, 6, size=size)]


def _multiplier_bootstrap(att: np.ndarray, psi: np.ndarray, cluster: np.ndarray, *, draws: int,
                          seed: int, weight_type: str, alpha: float) -> dict[str, np.ndarray]:
    S = _cluster_sums(psi, cluster)
    G = S.shape[0]
    rng = np.random.default_rng(seed)
    V = _webb(rng, (draws, G)) if weight_type == "webb" else rng.choice([-1.0, 1.0], size=(draws, G))
    boot = V @ S * np.sqrt(G / (G - 1))  # draws × K perturbations of the estimates
    se_a = _analytic_se(psi, cluster)
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
    se_b = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = att / se_a
        t_star = np.abs(boot / se_a)
    p = (1 + (t_star >= np.abs(t_obs)[None, :]).sum(axis=0)) / (draws + 1)
    crit = np.quantile(t_star, 1 - alpha, axis=0)
    return {"std_error": se_b, "statistic": t_obs, "p_value": p,
            "ci_lower": att - crit * se_a, "ci_upper": att + crit * se_a}


def _tidy(agg: _Agg, decision: InferenceRecord, inf: dict[str, np.ndarray], df: float) -> pd.DataFrame:
    frame = pd.DataFrame(agg.rows)
    for c in ("group", "time", "event_time"):
        if c not in frame:
            frame[c] = np.nan
    for k, v in inf.items():
        frame[k] = v
    frame["df"] = df
    frame["inference"] = decision.method
    frame["n_clusters"] = decision.n_clusters
    frame["n_treated_clusters"] = decision.n_treated_clusters
    frame["aggregation"] = frame["aggregation"].replace(
        {"overall_group": "overall", "overall_event": "overall", "overall_calendar": "overall",
         "simple": "overall"})
    return frame


def did_staggered(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] = (),
    control: str = "never_treated",
    method: str = "dr",
    panel: bool = True,
    weights: str | None = None,
    cluster: str | None = None,
    anticipation: int = 0,
    base_period: str = "varying",
    headline: str = "group",
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    inference: str = "auto",
    draws: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> StaggeredResult:
    """Group-time average treatment effects with staggered pilot starts (Callaway & Sant'Anna).

    Parameters
    ----------
    data : DataFrame
        Long data: one row per unit and period (``panel=True``) or per respondent
        (``panel=False``, repeated cross-sections; ``unit`` is then a row id).
    outcome, unit, time : str
        Outcome, unit id and period (integer wave or year) columns.
    cohort : str
        First period in which the unit is treated; never-treated units have 0, NaN or inf.
    covariates : sequence of str
        Pre-treatment covariates for conditional parallel trends (base-period values).
    control : {"never_treated", "not_yet_treated"}
        Comparison group.
    method : {"dr", "ipw", "reg"}
        Doubly robust, inverse probability weighting or outcome regression.
    weights : str, optional
        Sampling weights (constant within unit for panels).
    cluster : str, optional
        Cluster column (e.g. ``"community_id"``); defaults to ``unit`` for panels.
    headline : {"group", "simple", "event", "calendar"}
        Which overall summary comes first in ``estimates`` (R's recommendation: "group").
    balance_e, min_e, max_e
        Event-study options as in R ``did::aggte``.
    inference : {"auto", "cr2", "cr1", "wild_bootstrap", "randomization"}
        Few-clusters policy (see module docstring); "cr1"/"cr2" mean the analytic
        cluster-robust influence-function SEs here.
    draws, seed, alpha
        Resampling draws, seed and 1 − confidence level.

    Returns
    -------
    StaggeredResult
        ``estimates`` rows with ``aggregation`` ∈ {overall, group, calendar, event,
        group_time, pretest}; the first row is the headline overall ATT.

    Notes
    -----
    Aggregation weights: cohort shares P(G=g) (weighted by sampling weights); cohort effects
    average their post periods equally. Standard errors: influence functions, clustered with
    the G/(G−1) factor; no t-distribution correction (none is defined for these estimators),
    which is why the few-clusters policy routes small designs to resampling.

    Examples
    --------
    >>> # R: did::att_gt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
    >>> #                data=mpdta); did::aggte(out, type="group")
    >>> # ek.did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year",
    >>> #                  cohort="first_treat")  # doctest: +SKIP
    """
    where = "did_staggered()"
    check_choice("control", control, _CONTROLS)
    check_choice("method", method, _METHODS)
    check_choice("headline", headline, _HEADLINES)
    check_choice("base_period", base_period, ("varying", "universal"))
    cluster_col = cluster if cluster is not None else unit
    sample, drop_note = select_sample(
        data.assign(**{"__cohort__": pd.to_numeric(data[cohort], errors="coerce").fillna(0)})
        if cohort in data else data,
        [outcome, unit, time, "__cohort__" if cohort in data else cohort, *covariates, weights,
         cluster_col], where=where)
    coh = sample["__cohort__"].replace([np.inf, -np.inf], 0).to_numpy(dtype=float)
    w = np.ones(len(sample)) if weights is None else check_weights(sample[weights], where=where)
    # units and clusters as integer codes of their string labels (see _str_codes); clusters are
    # only counted, summed over and permuted, so their labels are not needed downstream
    if panel:
        unit_codes, unit_sorted = _str_codes(sample[unit])
    else:
        unit_codes = unit_sorted = np.arange(len(sample))
    df = pd.DataFrame({
        "y": pd.to_numeric(sample[outcome]).to_numpy(dtype=float),
        "unit": unit_codes,
        "time": pd.to_numeric(sample[time]).to_numpy(),
        "first_treat": coh,
        "w": w,
        "cluster": unit_sorted if (panel and cluster_col == unit) else _str_codes(sample[cluster_col])[1],
    })
    for c in covariates:
        df[c] = pd.to_numeric(sample[c]).to_numpy(dtype=float)
    if panel:
        rows = _unit_rows(unit_codes)[unit_codes]
        bad = [c for c in ("first_treat", "w", "cluster")
               if (df[c].to_numpy()[rows] != df[c].to_numpy()).any()]
        if bad:
            names = {"first_treat": cohort, "w": weights, "cluster": cluster_col}
            msg = (f"{where}: column(s) {', '.join(repr(names[b]) for b in bad)} vary within a "
                   f"unit ({unit!r}); a panel needs one cohort, weight and cluster per unit.")
            raise DataValidationError(msg)
    if not (df["first_treat"] > 0).any():
        msg = f"{where}: no unit is ever treated in {cohort!r}; nothing to estimate."
        raise NotIdentifiedError(msg)

    opts = dict(covariates=covariates, control=control, method=method, panel=panel,
                weighted=weights is not None, anticipation=anticipation, base_period=base_period)
    fit = _fit_cs(df, check=True, **opts)
    agg = _aggregate(fit, balance_e=balance_e, min_e=min_e, max_e=max_e)
    att = np.array([r["estimate"] for r in agg.rows])
    psi = np.vstack(agg.psi).T  # units × estimates (a view; vstack copies fastest)

    # clusters and the decision
    n_c, n_t = count_clusters(pd.Series(fit.unit_cluster, name=cluster_col), fit.unit_group > 0)
    coh_by_cluster = pd.Series(fit.unit_group).groupby(fit.unit_cluster).nunique()
    ri_possible = bool((coh_by_cluster == 1).all())
    decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                randomization_possible=ri_possible)
    se_a = _analytic_se(psi, fit.unit_cluster)
    if decision.method in ("cr1", "cr2"):
        decision = _relabel(decision, "influence_function")
        z = stats.norm.ppf(1 - alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = att / se_a
        inf = {"std_error": se_a, "statistic": tstat, "p_value": 2 * stats.norm.sf(np.abs(tstat)),
               "ci_lower": att - z * se_a, "ci_upper": att + z * se_a}
    elif decision.method == "wild_bootstrap":
        decision = _relabel(decision, "multiplier_bootstrap")
        inf = _multiplier_bootstrap(att, psi, fit.unit_cluster, draws=draws,
                                    seed=seed if seed is not None else 0,
                                    weight_type=decision.weight_type or "rademacher", alpha=alpha)
    else:
        head_idx = [r["term"] for r in agg.rows].index(_HEAD_TERM[headline])
        inf = _randomization(df, fit, agg, att, se_a, opts, head=head_idx, balance_e=balance_e,
                             min_e=min_e, max_e=max_e, draws=draws,
                             seed=seed if seed is not None else 0)
    frame = _tidy(agg, decision, inf, np.nan)

    # pre-trend test row
    W, k, p_pre = _pretest(fit)
    pre_row = {"term": "pre-trend Wald", "estimate": np.nan, "std_error": np.nan, "statistic": W,
               "p_value": p_pre, "ci_lower": np.nan, "ci_upper": np.nan, "df": float(k),
               "inference": "influence_function", "n_clusters": n_c, "n_treated_clusters": n_t,
               "aggregation": "pretest", "group": np.nan, "time": np.nan, "event_time": np.nan}
    frame = pd.concat([frame, pd.DataFrame([pre_row])], ignore_index=True)
    head_term = _HEAD_TERM[headline]
    order = np.argsort(np.where(frame["term"] == head_term, 0, 1), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)[list(STAGGERED_COLUMNS)]

    notes_zh, notes_en = [], []
    if drop_note:
        notes_zh.append(drop_note[0])
        notes_en.append(drop_note[1])
    if np.isfinite(p_pre) and p_pre < 0.05:
        notes_zh.append(f"平行趋势预检验被拒绝（Wald 检验 p = {p_pre:.3f}）：试点前试点社区与对照社区的变化已有差异，"
                        "估计可能有偏，应结合事件研究图谨慎解读。")
        notes_en.append(f"The parallel-trends pre-test rejects (Wald p = {p_pre:.3f}): treated and "
                        "comparison communities already diverged before the pilot; read the "
                        "estimates with care and inspect the event-study plot.")
    n_never = int(pd.Series(fit.unit_cluster[fit.unit_group == 0]).nunique())
    if control == "never_treated" and n_never < 5:
        notes_zh.append(f"从未试点的对照聚类只有 {n_never} 个，对照组过小；可考虑 control='not_yet_treated'。")
        notes_en.append(f"Only {n_never} never-treated comparison clusters; consider "
                        "control='not_yet_treated'.")
    for m in fit.caught:
        notes_en.append(f"diff-diff: {m}")
        notes_zh.append(f"diff-diff 提示：{m}")
    spec = Spec("did_staggered", columns={
        "outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
        "covariates": list(covariates), "weights": weights, "cluster": cluster_col},
        options={"control": control, "method": method, "panel": panel, "anticipation": anticipation,
                 "base_period": base_period, "headline": headline, "balance_e": balance_e,
                 "min_e": None if not np.isfinite(min_e) else min_e,
                 "max_e": None if not np.isfinite(max_e) else max_e,
                 "inference": inference, "draws": draws, "seed": seed, "alpha": alpha})
    return StaggeredResult(estimates=frame, provenance=Provenance.current(seed=seed), spec=spec,
                           n_obs=fit.n_obs, inference=decision, notes_zh=tuple(notes_zh),
                           notes_en=tuple(notes_en))


#: what the Callaway–Sant'Anna estimator actually does when the guardrail routes to a bootstrap
_MULTIPLIER_NOTE = (
    "对交错启动估计，采用对影响函数按社区聚类的乘数自助法（Rademacher 权重，与 R did 包相同）"
    "计算 p 值和置信区间。",
    "For the staggered estimator, p-values and confidence intervals come from a cluster multiplier "
    "bootstrap of the influence functions (Rademacher weights, as in R's did package).",
)


def _relabel(decision: InferenceRecord, method: str) -> InferenceRecord:
    """Name the inference the staggered estimator really uses, and say so in the messages."""
    import attrs

    if method != "multiplier_bootstrap":
        return attrs.evolve(decision, method=method)
    zh = re.sub(r"改用施加原假设的野聚类自助法（WCR，[^）]*）计算 p 值和置信区间。", "", decision.message_zh)
    en = re.sub(r"; p-values and confidence intervals come from\s+the restricted wild cluster bootstrap "
                r"\(WCR, [^)]*\)\.", ".", decision.message_en)
    return attrs.evolve(decision, method=method, weight_type="rademacher",
                        message_zh=zh + _MULTIPLIER_NOTE[0], message_en=f"{en} {_MULTIPLIER_NOTE[1]}")


def _randomization(df: pd.DataFrame, fit: _Fit, agg: _Agg, att: np.ndarray, se_a: np.ndarray,
                   opts: dict[str, Any], *, head: int, balance_e: int | None, min_e: float,
                   max_e: float, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Permute cohorts across clusters; studentised statistic for every row; p-values only.

    :func:`evalkit.inference.randomization_inference` drives the permutations on the headline
    row; the other rows reuse the same permutations (collected as the statistic is evaluated).
    """
    from evalkit.inference import permute_cohorts, randomization_inference

    clusters = pd.Series(fit.unit_group).groupby(fit.unit_cluster).first()
    assignment = clusters.to_numpy()
    row_pos = pd.Index(clusters.index.to_numpy()).get_indexer(df["cluster"].to_numpy())
    terms = [r["term"] for r in agg.rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = att / se_a
    null: list[np.ndarray] = []

    def statistic(assign: np.ndarray) -> float:
        assign = np.asarray(assign, dtype=float)
        if np.array_equal(assign, assignment):
            return float(abs(t_obs[head]))
        perm = df.assign(first_treat=assign[row_pos])
        try:
            f = _fit_cs(perm, check=False, **opts)
            got = {r["term"]: r["estimate"] for r in _aggregate(
                f, balance_e=balance_e, min_e=min_e, max_e=max_e).rows}
            t = np.array([got.get(term, np.nan) for term in terms], dtype=float) / se_a
        except (NotIdentifiedError, EstimationError):
            t = np.full(att.size, np.nan)
        null.append(t)
        return float(abs(t[head])) if np.isfinite(t[head]) else 0.0

    ri = randomization_inference(statistic, assignment,
                                 permute=permute_cohorts(assignment),
                                 draws=draws, seed=seed)
    N = np.vstack(null) if null else np.empty((0, att.size))
    finite = np.isfinite(N)
    exceed = (np.abs(np.where(finite, N, 0.0)) >= np.abs(t_obs)[None, :] - 1e-12) & finite
    p = (1 + exceed.sum(axis=0)) / (1 + finite.sum(axis=0))
    p[head] = float(ri.p_value)
    nan = np.full(att.size, np.nan)
    return {"std_error": se_a, "statistic": t_obs, "p_value": p, "ci_lower": nan, "ci_upper": nan}
