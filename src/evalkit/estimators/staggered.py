"""Staggered adoption: Callaway & Sant'Anna (2021) group-time ATTs and their aggregations.

What is wrapped and what is written here
----------------------------------------
* **ATT(g,t) and their influence functions**: on balanced panels they are computed by
  :mod:`evalkit.estimators.group_time`, written by hand for speed with
  ``diff_diff.CallawaySantAnna`` (diff-diff, pinned version) as its reference; everything it
  does not cover — repeated cross-sections, unbalanced panels, IPW with covariates, and every
  case in which diff-diff would warn, drop a cell or fall back — is fitted by diff-diff itself:
  outcome regression (``method="reg"``), inverse probability weighting (``"ipw"``,
  normalised/Hájek) or doubly robust (``"dr"``, Sant'Anna & Zhao 2020), never-treated or
  not-yet-treated comparisons, panels or repeated cross-sections, sampling weights (passed as a
  ``SurveyDesign(weights=...)``), ``base_period`` "varying" (R's default) or "universal",
  anticipation. From a diff-diff fit evalkit reads the per-cell influence functions it retains
  and checks at run time that they reproduce diff-diff's own standard errors, so a change in
  diff-diff's internals fails loudly instead of silently. ``tests/estimators/test_fast_path.py``
  holds the two routes to the same numbers (1e-10).
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


import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit.estimators.estimation_sample import check_weights, select_sample
from evalkit.estimators.group_time import Unsupported, group_time_effects, wide_panel
from evalkit.estimators.guardrails import check_choice, decide_inference
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
    """ATT(g,t), their influence functions (``psi``: cells × units, in unit-code order) and
    the unit bookkeeping."""

    def __init__(self, att: np.ndarray, group: np.ndarray, time: np.ndarray, psi: np.ndarray,
                 unit_group: np.ndarray, unit_weight: np.ndarray, n_obs: int, caught: list[str]):
        self.att, self.group, self.time, self.psi = att, group, time, psi
        self.unit_group, self.unit_weight = unit_group, unit_weight
        self.n_obs, self.caught = n_obs, caught


def _fit_cs(df: pd.DataFrame, *, covariates: Sequence[str], control: str, method: str, panel: bool,
            weighted: bool, anticipation: int, base_period: str, check: bool) -> _Fit:
    """The ATT(g,t) from ``diff_diff.CallawaySantAnna`` (for what :mod:`group_time` does not cover)."""
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
    n_units = len(kit.bookkeeping["all_units"])
    if n_units != len(rows):
        msg = (f"did_staggered(): diff-diff kept {n_units} units but the data have "
               f"{len(rows)}; the installed diff-diff does not match the pinned version.")
        raise EstimationError(msg)
    psi = np.zeros((len(keys), n_units))  # cells × units, filled by rows (contiguous)
    for k, key in enumerate(keys):
        inf = kit.influence[key]
        for side in ("treated", "control"):
            idx = np.asarray(inf[f"{side}_idx"], dtype=np.intp)
            if idx.size:
                psi[k] += np.bincount(idx, weights=np.asarray(inf[f"{side}_inf"], dtype=float),
                                      minlength=n_units)
    att = np.array([res.group_time_effects[k]["effect"] for k in keys], dtype=float)
    if check:
        se_dd = np.array([res.group_time_effects[k]["se"] for k in keys], dtype=float)
        se_me = np.sqrt(np.einsum("ki,ki->k", psi, psi))
        ok = np.isfinite(se_dd) & (se_dd > 0)
        if ok.any() and np.max(np.abs(se_me[ok] / se_dd[ok] - 1)) > 1e-6:
            msg = ("did_staggered(): the influence functions read from diff-diff do not reproduce "
                   "its standard errors; the installed diff-diff does not match the version evalkit "
                   "pins. Install the pinned version.")
            raise EstimationError(msg)
    return _Fit(att=att, group=np.array([k[0] for k in keys], dtype=float),
                time=np.array([k[1] for k in keys], dtype=float), psi=psi,
                unit_group=df["first_treat"].to_numpy()[rows].astype(float),
                unit_weight=df["w"].to_numpy()[rows].astype(float), n_obs=len(df),
                caught=messages)


class _Data:
    """The estimation sample of one call, prepared once: row arrays, unit bookkeeping, the wide
    layout for the hand-written ATT(g,t) (:mod:`evalkit.estimators.group_time`) and, only when
    diff-diff has to be used, the frame it reads."""

    def __init__(self, *, y: np.ndarray, unit: np.ndarray, time: np.ndarray, cohort: np.ndarray,
                 w: np.ndarray, cluster: np.ndarray, covariates: dict[str, np.ndarray],
                 opts: dict[str, Any], unit_rows: np.ndarray | None = None):
        self.y, self.unit, self.time, self.cohort, self.w = y, unit, time, cohort, w
        self.cluster, self.covariates, self.opts = cluster, covariates, opts
        self.n = len(y)
        if unit_rows is None:
            unit_rows = _unit_rows(unit) if opts["panel"] else np.arange(self.n)
        self.unit_rows = unit_rows
        self.n_units = len(self.unit_rows)
        self.unit_weight = w[self.unit_rows]
        self._wide: tuple | None = None
        self._frame: pd.DataFrame | None = None

    def frame(self) -> pd.DataFrame:
        """diff-diff's input (built once; ``first_treat`` is replaced for permutations)."""
        if self._frame is None:
            df = pd.DataFrame({"y": self.y, "unit": self.unit, "time": self.time,
                               "first_treat": self.cohort, "w": self.w, "cluster": self.cluster})
            for c, v in self.covariates.items():
                df[c] = v
            self._frame = df
        return self._frame

    def wide(self) -> tuple | None:
        """(periods, Y, X) of a balanced panel, laid out wide once; None if not a balanced panel."""
        if self._wide is None:
            wp = wide_panel(self.unit, self.time, self.n_units) if self.opts["panel"] else None
            if wp is None:
                self._wide = (None,)
            else:
                X = (np.stack([wp.wide(v) for v in self.covariates.values()])
                     if self.covariates else None)
                self._wide = (wp.periods, wp.wide(self.y), X)
        return None if self._wide[0] is None else self._wide

    def fit(self, cohort: np.ndarray | None = None, *, check: bool = True) -> _Fit:
        """ATT(g,t) with the observed cohorts, or with ``cohort`` (one per row) for a permutation:
        the hand-written path where it applies, diff-diff otherwise."""
        rows = self.cohort if cohort is None else cohort
        unit_group = rows[self.unit_rows]
        wide = self.wide()
        if wide is not None:
            o = self.opts
            try:
                gt = group_time_effects(
                    wide[1], wide[0], unit_group, self.unit_weight if o["weighted"] else None,
                    wide[2], control=o["control"], method=o["method"],
                    anticipation=o["anticipation"], base_period=o["base_period"])
            except Unsupported:
                pass
            else:
                return _Fit(att=gt.att, group=gt.group, time=gt.time, psi=gt.psi,
                            unit_group=unit_group, unit_weight=self.unit_weight, n_obs=self.n,
                            caught=[])
        df = self.frame() if cohort is None else self.frame().assign(first_treat=cohort)
        return _fit_cs(df, check=check, covariates=list(self.covariates), **self.opts)


def _unit_rows(codes: np.ndarray) -> np.ndarray:
    """For dense codes 0..U−1, one row index per code (any row of that code)."""
    rows = np.empty(int(codes.max()) + 1, dtype=np.intp)
    rows[codes] = np.arange(len(codes))
    return rows


def _first_seen_codes(values: pd.Series) -> np.ndarray:
    """Integer codes of the ids ``values.astype(str)``, numbered in order of first appearance
    (``pd.factorize(values.astype(str))[0]``).

    Ids are compared as strings (evalkit's convention: community ids are strings). Numbers
    that differ are different strings, so numeric ids are factorised as they are (and a column
    sorted by id numbered by its runs, without hashing); other ids are factorised first and
    only the distinct ids converted. Numbering in order of appearance keeps a panel sorted by
    unit sorted by code, which spares diff-diff a reordering of the panel.
    """
    arr = values.to_numpy()
    if arr.dtype.kind in "iuf":
        if len(arr) > 1 and arr.dtype.kind in "iu" and values.is_monotonic_increasing:
            codes = np.empty(len(arr), dtype=np.intp)
            codes[0] = 0
            np.cumsum(arr[1:] != arr[:-1], out=codes[1:])
            return codes
        return pd.factorize(arr)[0]
    codes, uniques = pd.factorize(values)
    first_seen = pd.factorize(pd.Index(uniques).astype(str))[0]  # ids equal as strings share a code
    return first_seen[codes]


def _sorted_codes(values: pd.Series) -> np.ndarray:
    """``pd.factorize(values.astype(str), sort=True)[0]``: ids numbered in string order, which
    fixes the order in which bootstrap weights and permutations are assigned to clusters. Only
    the distinct ids are converted to strings."""
    codes, uniques = pd.factorize(values)
    if uniques.dtype.kind in "iu":  # numpy formats integers as str() does, and sorts faster
        sorted_codes = np.unique(np.asarray(uniques).astype(str), return_inverse=True)[1]
    else:
        sorted_codes = pd.factorize(pd.Index(uniques).astype(str), sort=True)[0]
    return sorted_codes[codes]


# ---- aggregation (R did::aggte) --------------------------------------------------------------
class _Agg:
    """Estimates (group-time cells first, then the aggregates), their labels and how to form
    their influence functions.

    An aggregate's influence function is a weighted sum of rows — cells' (``"cells"``) or earlier
    aggregates' (``"rows"``, for the overall summaries) — plus R's weight influence function
    ``wif_i = w_i·c[G_i] + c0`` (see :class:`_Cohorts`); ``specs`` holds (kind, which, weights,
    c, c0) per aggregate. The rows themselves are formed one at a time when standard errors are
    computed (:meth:`se`), or all at once for the bootstrap (:meth:`matrix`): large temporary
    arrays are what costs most on a busy machine (fresh memory is paid in page faults), so the
    aggregates × units matrix is built only when needed.
    """

    def __init__(self, fit: _Fit, coh: _Cohorts | None) -> None:
        self.fit, self.coh = fit, coh
        self.att: list[float] = []
        self.labels: dict[str, list[Any]] = {c: [] for c in
                                              ("term", "aggregation", "group", "time", "event_time")}
        self.specs: list[tuple[str, Any, np.ndarray, np.ndarray | None, float]] = []

    def add(self, att: float, term: str, aggregation: str, group: float = np.nan,
            time: float = np.nan, event_time: float = np.nan) -> None:
        self.att.append(float(att))
        lab = self.labels
        lab["term"].append(term)
        lab["aggregation"].append(aggregation)
        lab["group"].append(group)
        lab["time"].append(time)
        lab["event_time"].append(event_time)

    @property
    def terms(self) -> list[str]:
        return self.labels["term"]

    def _row(self, r: int, out: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Influence function of aggregate ``r`` (0 = the first after the cells) into ``out``;
        ``rows``: the influence functions of its component aggregates (kind "rows")."""
        kind, which, a, c, c0 = self.specs[r]
        if kind == "cells":
            psi = self.fit.psi
            if which[-1] - which[0] + 1 == which.size:  # consecutive cells: a view, no copy
                rows = psi[which[0]:which[-1] + 1]
            else:
                rows = psi[which]
        # einsum's single-threaded loop: on a machine whose cores are busy, threaded BLAS on
        # such thin products stalls
        np.einsum("k,ki->i", a, rows, out=out)
        if c is not None:
            coh = self.coh
            if coh.unweighted:
                out += np.take(c + c0, coh.unit)
            else:
                out += np.take(c, coh.unit) * coh.w
                out += c0
        return out

    def se(self, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
        """Cluster-robust standard errors of the cells and the aggregates (``cluster``: each
        unit's cluster as a code 0..n_clusters−1)."""
        U = self.fit.psi.shape[1]
        # rows that later aggregates combine are kept (a few per overall summary)
        parts = {r: np.empty((len(spec[1]), U)) for r, spec in enumerate(self.specs)
                 if spec[0] == "rows"}
        home = {j: (r, pos) for r in parts for pos, j in enumerate(self.specs[r][1])}
        buf = np.empty(U)
        ss_agg = np.empty(len(self.specs))
        for r in range(len(self.specs)):
            out = parts[home[r][0]][home[r][1]] if r in home else buf
            self._row(r, out, parts.pop(r, None))
            ss_agg[r] = _sum_sq(out[None, :], cluster, n_clusters)[0]
        ss = np.r_[_sum_sq(self.fit.psi, cluster, n_clusters), ss_agg]
        return np.sqrt(ss * n_clusters / (n_clusters - 1))

    def matrix(self) -> np.ndarray:
        """Influence functions of all estimates, estimates × units."""
        K, U = self.fit.psi.shape
        out = np.empty((K + len(self.specs), U))
        out[:K] = self.fit.psi
        agg = out[K:]
        for r, spec in enumerate(self.specs):
            self._row(r, agg[r], agg[spec[1]] if spec[0] == "rows" else None)
        return out


class _Cohorts:
    """Cohort membership of units and cells, for R did's weight influence function (``wif``).

    R builds an n × K matrix of cohort indicators for every aggregate; only its product with
    the K cell effects is needed, and that depends on a unit only through its cohort and its
    weight: ``wif_i = w_i·c[G_i] + c0``, with K + 1 numbers per aggregate (the matrices
    dominated evalkit's own time on large panels).
    """

    def __init__(self, fit: _Fit):
        self.w = fit.unit_weight / fit.unit_weight.mean()  # normalised sampling weights
        self.unweighted = bool((self.w == 1.0).all())
        self.n = len(self.w)
        self.cohorts = np.unique(fit.group)
        nc = len(self.cohorts)
        self.nc = nc
        self.cell = np.searchsorted(self.cohorts, fit.group)
        pos = np.minimum(np.searchsorted(self.cohorts, fit.unit_group), nc - 1)
        self.unit = np.where(self.cohorts[pos] == fit.unit_group, pos, nc)  # nc: no cohort cell
        self.pg = np.bincount(self.unit, weights=self.w, minlength=nc + 1)[:nc] / self.n  # P(G=g)

    def wif_coef(self, cohort_idx: np.ndarray, pgk: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, float]:
        """(c, c0) of ``wif @ a`` for weights ∝ ``pgk`` on entries of cohorts ``cohort_idx``:
        ((ind − pgk)/s − rowsum(ind − pgk)·pgk'/s²) @ a / n with ind[i,k] = w_i·1{G_i = g_k},
        i.e. w_i·(Σ_{k: g_k = G_i} a_k / s − #{k: g_k = G_i}·pa/s²)/n + (−pa/s + s·pa/s²)/n."""
        s = pgk.sum()
        pa = float(pgk @ a)
        per_a = np.bincount(cohort_idx, weights=a, minlength=self.nc + 1)
        per_n = np.bincount(cohort_idx, minlength=self.nc + 1).astype(float)
        per_a[self.nc] = per_n[self.nc] = 0.0
        return (per_a / s - per_n * (pa / s ** 2)) / self.n, (-pa / s + s * (pa / s ** 2)) / self.n


class _Builder:
    """Adds aggregates to an :class:`_Agg`: of cells (:meth:`cells`), or of earlier aggregates
    (:meth:`rows`, the overall summaries, formed from their components' influence functions as
    R does)."""

    def __init__(self, fit: _Fit, coh: _Cohorts, agg: _Agg, with_psi: bool):
        self.fit, self.coh, self.agg, self.with_psi = fit, coh, agg, with_psi

    def __len__(self) -> int:
        return len(self.agg.att) - len(self.fit.att)

    def cells(self, keep: np.ndarray, pg_cells: np.ndarray, *, estimated_weights: bool,
              **labels: Any) -> float:
        fit = self.fit
        wts = pg_cells[keep] / pg_cells[keep].sum()
        att = float(fit.att[keep] @ wts)
        if self.with_psi:
            if estimated_weights:
                c, c0 = self.coh.wif_coef(self.coh.cell[keep], pg_cells[keep], fit.att[keep])
            else:
                c, c0 = None, 0.0
            self.agg.specs.append(("cells", keep, wts, c, c0))
        self.agg.add(att, **labels)
        return att

    def rows(self, idx: list[int], wts: np.ndarray, att: float, wif: tuple | None = None,
             **labels: Any) -> None:
        """An aggregate of earlier aggregates ``idx`` with weights ``wts``, plus its own ``wif``
        (cohort_idx, pgk, a) if given."""
        if self.with_psi:
            c, c0 = self.coh.wif_coef(*wif) if wif is not None else (None, 0.0)
            self.agg.specs.append(("rows", np.array(idx, dtype=np.intp), wts, c, c0))
        self.agg.add(att, **labels)


def _aggregate(fit: _Fit, *, balance_e: int | None, min_e: float, max_e: float,
               with_psi: bool = True) -> _Agg:
    coh = _Cohorts(fit)
    glist = coh.cohorts
    pg_by_group = dict(zip(glist, coh.pg, strict=True))
    pg = coh.pg[coh.cell]
    e = fit.time - fit.group
    post = (fit.group <= fit.time) & (fit.time <= fit.group + max_e)
    out = _Agg(fit, coh)
    b = _Builder(fit, coh, out, with_psi)

    # group-time cells themselves
    for k in range(len(fit.att)):
        out.add(fit.att[k], aggregation="group_time", group=fit.group[k], time=fit.time[k],
                event_time=e[k], term=f"ATT({_lab(fit.group[k])},{_lab(fit.time[k])})")

    # simple
    keep = np.flatnonzero(post)
    if keep.size == 0:
        msg = "did_staggered(): no post-treatment group-time cell can be estimated."
        raise NotIdentifiedError(msg)
    b.cells(keep, pg, estimated_weights=True, aggregation="simple", term="ATT (simple)")

    # group
    g_att, g_pos, g_pg, g_idx = [], [], [], []
    ones = np.ones(len(fit.att))
    for c, g in enumerate(glist):
        keep_g = np.flatnonzero((fit.group == g) & post)
        if keep_g.size == 0:
            continue
        g_pos.append(len(b))
        g_att.append(b.cells(keep_g, ones, estimated_weights=False, aggregation="group", group=g,
                             term=f"group {_lab(g)}"))
        g_pg.append(pg_by_group[g])
        g_idx.append(c)
    g_att_a, g_pg_a = np.array(g_att), np.array(g_pg)
    wts = g_pg_a / g_pg_a.sum()
    b.rows(g_pos, wts, float(g_att_a @ wts), (np.array(g_idx, dtype=np.intp), g_pg_a, g_att_a),
           aggregation="overall_group", term="ATT (group)")

    # calendar
    tlist = np.unique(fit.time[post])
    c_att, c_pos = [], []
    for t in tlist:
        keep_t = np.flatnonzero(post & (fit.time == t))
        c_pos.append(len(b))
        c_att.append(b.cells(keep_t, pg, estimated_weights=True, aggregation="calendar", time=t,
                             term=f"time {_lab(t)}"))
    b.rows(c_pos, np.full(len(c_pos), 1 / len(c_pos)), float(np.mean(c_att)),
           aggregation="overall_calendar", term="ATT (calendar)")

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
    d_att, d_pos = [], []
    for ev in eseq:
        keep_e = np.flatnonzero(cells & (e == ev))
        if keep_e.size == 0:
            continue
        pos = len(b)
        att_e = b.cells(keep_e, pg, estimated_weights=True, aggregation="event", event_time=ev,
                        term=f"e={int(ev)}")
        if ev >= 0:
            d_att.append(att_e)
            d_pos.append(pos)
    if d_att:
        b.rows(d_pos, np.full(len(d_pos), 1 / len(d_pos)), float(np.mean(d_att)),
               aggregation="overall_event", term="ATT (event)")
    return out


def _one_value_per_cluster(values: np.ndarray, cluster: np.ndarray, n_clusters: int) -> bool:
    """Whether ``values`` (one per unit) are constant within each cluster (codes 0..G−1)."""
    first = np.empty(n_clusters)
    first[cluster] = values  # the value of some unit of each cluster
    return bool((first[cluster] == values).all())


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
    Q = fit.psi[pre]
    V = np.empty((pre.size, pre.size))
    for k in range(pre.size):  # upper triangle, row by row (half the work of the full product)
        V[k, k:] = np.einsum("li,i->l", Q[k:], Q[k])
        V[k:, k] = V[k, k:]
    try:
        W = float(a @ np.linalg.solve(V, a))
    except np.linalg.LinAlgError:
        W = float(a @ np.linalg.pinv(V) @ a)
    return W, int(pre.size), float(stats.chi2.sf(W, pre.size))


# ---- inference -------------------------------------------------------------------------------
def _cluster_sums(psi: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Sums of the rows of ``psi`` (estimates × units) within clusters; clusters × estimates,
    rows in sorted cluster order. One ``bincount`` per estimate."""
    codes, _ = pd.factorize(pd.Series(cluster), sort=True)
    G = int(codes.max()) + 1
    return np.vstack([np.bincount(codes, weights=row, minlength=G) for row in psi]).T


def _sum_sq(psi: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Σ over clusters of (Σ of the row within the cluster)², for each row of ``psi``
    (estimates × units); ``cluster``: each unit's cluster as a code 0..n_clusters−1."""
    if n_clusters == psi.shape[1]:  # one unit per cluster (the panel default): the rows themselves
        return np.einsum("ki,ki->k", psi, psi)
    out = np.empty(len(psi))
    for k, row in enumerate(psi):
        S = np.bincount(cluster, weights=row, minlength=n_clusters)
        out[k] = S @ S
    return out


def _webb(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    vals = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return vals[rng.integers(0, 6, size=size)]


def _multiplier_bootstrap(att: np.ndarray, psi: np.ndarray, cluster: np.ndarray, se_a: np.ndarray,
                          *, draws: int, seed: int, weight_type: str, alpha: float
                          ) -> dict[str, np.ndarray]:
    S = _cluster_sums(psi, cluster)
    G = S.shape[0]
    rng = np.random.default_rng(seed)
    V = _webb(rng, (draws, G)) if weight_type == "webb" else rng.choice([-1.0, 1.0], size=(draws, G))
    boot = V @ S * np.sqrt(G / (G - 1))  # draws × K perturbations of the estimates
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
    se_b = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = att / se_a
        t_star = np.abs(boot / se_a)
    p = (1 + (t_star >= np.abs(t_obs)[None, :]).sum(axis=0)) / (draws + 1)
    crit = np.quantile(t_star, 1 - alpha, axis=0)
    return {"std_error": se_b, "statistic": t_obs, "p_value": p,
            "ci_lower": att - crit * se_a, "ci_upper": att + crit * se_a}


_OVERALL = {"overall_group": "overall", "overall_event": "overall", "overall_calendar": "overall",
            "simple": "overall"}


def _tidy(agg: _Agg, decision: InferenceRecord, inf: dict[str, np.ndarray],
          pretest: tuple[float, int, float], head_term: str) -> pd.DataFrame:
    """The ``estimates`` frame: the headline row first, then the others in order, the pre-trend
    Wald test last."""
    W, k, p_pre = pretest
    lab = agg.labels
    terms = [*lab["term"], "pre-trend Wald"]
    n = len(terms)
    nan1 = np.array([np.nan])
    cols: dict[str, Any] = {
        "term": terms,
        "estimate": np.r_[agg.att, np.nan],
        "std_error": np.r_[inf["std_error"], np.nan],
        "statistic": np.r_[inf["statistic"], W],
        "p_value": np.r_[inf["p_value"], p_pre],
        "ci_lower": np.r_[inf["ci_lower"], nan1],
        "ci_upper": np.r_[inf["ci_upper"], nan1],
        "df": np.r_[np.full(n - 1, np.nan), float(k)],
        "inference": [decision.method] * (n - 1) + ["influence_function"],
        "n_clusters": np.full(n, decision.n_clusters),
        "n_treated_clusters": np.full(n, decision.n_treated_clusters),
        "aggregation": [_OVERALL.get(a, a) for a in lab["aggregation"]] + ["pretest"],
        "group": np.r_[np.array(lab["group"], dtype=float), np.nan],
        "time": np.r_[np.array(lab["time"], dtype=float), np.nan],
        "event_time": np.r_[np.array(lab["event_time"], dtype=float), np.nan],
    }
    head = terms.index(head_term) if head_term in terms else None
    if head is not None:
        order = np.r_[head, np.arange(head), np.arange(head + 1, n)]
        cols = {c: ([v[i] for i in order] if isinstance(v, list) else v[order])
                for c, v in cols.items()}
    frame = pd.DataFrame(cols)
    return frame[list(STAGGERED_COLUMNS)]


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
    required = [outcome, unit, time, *covariates, weights, cluster_col]
    # a missing cohort means never treated (below), so it drops no row
    sample, drop_note = select_sample(
        data, [outcome, unit, time, cohort, *covariates, weights, cluster_col], where=where,
        optional=() if cohort in required else (cohort,), only_columns=True)
    coh = pd.to_numeric(sample[cohort], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    coh = np.where(np.isfinite(coh), coh, 0.0)  # 0, NaN, ±inf: never treated
    w = np.ones(len(sample)) if weights is None else check_weights(sample[weights], where=where)
    # units and clusters as integer codes of their string labels, numbered in order of first
    # appearance (see _first_seen_codes); clusters are only counted and summed over here, and
    # get their string-sorted numbering only when a bootstrap or permutation needs an order
    unit_codes = _first_seen_codes(sample[unit]) if panel else np.arange(len(sample))
    if panel and cluster_col == unit:
        cluster_codes = unit_codes
    else:
        cluster_codes = _first_seen_codes(sample[cluster_col])
    time_values = pd.to_numeric(sample[time]).to_numpy()
    y = pd.to_numeric(sample[outcome]).to_numpy(dtype=float)
    cov_values = {c: pd.to_numeric(sample[c]).to_numpy(dtype=float) for c in covariates}
    unit_rows = _unit_rows(unit_codes) if panel else None
    if panel:
        rows = unit_rows[unit_codes]
        checks = {"first_treat": coh}  # no weights, or clusters = units: constant by construction
        if weights is not None:
            checks["w"] = w
        if cluster_col != unit:
            checks["cluster"] = cluster_codes
        bad = [c for c, v in checks.items() if (v[rows] != v).any()]
        if bad:
            names = {"first_treat": cohort, "w": weights, "cluster": cluster_col}
            msg = (f"{where}: column(s) {', '.join(repr(names[b]) for b in bad)} vary within a "
                   f"unit ({unit!r}); a panel needs one cohort, weight and cluster per unit.")
            raise DataValidationError(msg)
    if not (coh > 0).any():
        msg = f"{where}: no unit is ever treated in {cohort!r}; nothing to estimate."
        raise NotIdentifiedError(msg)

    opts = dict(control=control, method=method, panel=panel, weighted=weights is not None,
                anticipation=anticipation, base_period=base_period)
    prep = _Data(y=y, unit=unit_codes, time=time_values, cohort=coh, w=w, cluster=cluster_codes,
                 covariates=cov_values, opts=opts, unit_rows=unit_rows)
    fit = prep.fit()
    agg = _aggregate(fit, balance_e=balance_e, min_e=min_e, max_e=max_e)
    att = np.array(agg.att)

    # clusters and the decision
    unit_cluster = cluster_codes[prep.unit_rows]
    treated = fit.unit_group > 0
    if panel and cluster_col == unit:  # every unit its own cluster, with one cohort
        n_c, n_t, ri_possible = prep.n_units, int(treated.sum()), True
    else:
        n_c = int(unit_cluster.max()) + 1
        n_t = int(np.count_nonzero(np.bincount(unit_cluster, weights=treated, minlength=n_c)))
        ri_possible = _one_value_per_cluster(fit.unit_group, unit_cluster, n_c)
    decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                randomization_possible=ri_possible)
    se_a = agg.se(unit_cluster, n_c)
    if decision.method in ("cr1", "cr2"):
        decision = _relabel(decision, "influence_function")
        z = stats.norm.ppf(1 - alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = att / se_a
        inf = {"std_error": se_a, "statistic": tstat, "p_value": 2 * stats.norm.sf(np.abs(tstat)),
               "ci_lower": att - z * se_a, "ci_upper": att + z * se_a}
    else:
        # string-sorted cluster numbers fix the order of bootstrap weights and permutations
        cluster_sorted = _sorted_codes(sample[cluster_col])
        if decision.method == "wild_bootstrap":
            decision = _relabel(decision, "multiplier_bootstrap")
            psi = agg.matrix()  # estimates × units
            inf = _multiplier_bootstrap(att, psi, cluster_sorted[prep.unit_rows], se_a,
                                        draws=draws, seed=seed if seed is not None else 0,
                                        weight_type=decision.weight_type or "rademacher",
                                        alpha=alpha)
        else:
            head_idx = agg.terms.index(_HEAD_TERM[headline])
            inf = _randomization(prep, fit, agg, att, se_a, cluster_sorted, head=head_idx,
                                 balance_e=balance_e, min_e=min_e, max_e=max_e, draws=draws,
                                 seed=seed if seed is not None else 0)
    p_pre = (pre := _pretest(fit))[2]
    frame = _tidy(agg, decision, inf, pre, _HEAD_TERM[headline])

    notes: list[dict[str, Any]] = [drop_note] if drop_note else []
    if np.isfinite(p_pre) and p_pre < 0.05:
        notes.append({"code": "pretrend_rejected", "p": float(p_pre)})
    never = fit.unit_group == 0
    n_never = (int(never.sum()) if panel and cluster_col == unit
               else int(np.unique(unit_cluster[never]).size))
    if control == "never_treated" and n_never < 5:
        notes.append({"code": "few_never_treated", "n": n_never})
    notes += [{"code": "library_message", "source": "diff-diff", "text": str(m)} for m in fit.caught]
    spec = Spec("did_staggered", columns={
        "outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
        "covariates": list(covariates), "weights": weights, "cluster": cluster_col},
        options={"control": control, "method": method, "panel": panel, "anticipation": anticipation,
                 "base_period": base_period, "headline": headline, "balance_e": balance_e,
                 "min_e": None if not np.isfinite(min_e) else min_e,
                 "max_e": None if not np.isfinite(max_e) else max_e,
                 "inference": inference, "draws": draws, "seed": seed, "alpha": alpha})
    return StaggeredResult(estimates=frame, provenance=Provenance.current(seed=seed), spec=spec,
                           n_obs=fit.n_obs, inference=decision, notes=tuple(notes))


def _relabel(decision: InferenceRecord, method: str) -> InferenceRecord:
    """Name the inference the staggered estimator really uses, and say so in the messages."""
    import attrs

    if method != "multiplier_bootstrap":
        return attrs.evolve(decision, method=method)
    return attrs.evolve(decision, method=method, weight_type="rademacher",
                        reasons=(*decision.reasons, "multiplier_bootstrap"))


def _randomization(prep: _Data, fit: _Fit, agg: _Agg, att: np.ndarray, se_a: np.ndarray,
                   cluster_rows: np.ndarray, *, head: int, balance_e: int | None, min_e: float,
                   max_e: float, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Permute cohorts across clusters; studentised statistic for every row; p-values only.

    ``cluster_rows``: each row's cluster, numbered in string order (which fixes the order of the
    permuted assignment). :func:`evalkit.inference.randomization_inference` drives the
    permutations on the headline row; the other rows reuse the same permutations (collected as
    the statistic is evaluated). Each permutation is estimated like the data (hand-written
    ATT(g,t) where it applies, diff-diff otherwise), estimates only.
    """
    from evalkit.inference import permute_cohorts, randomization_inference

    clusters = pd.Series(fit.unit_group).groupby(cluster_rows[prep.unit_rows]).first()
    assignment = clusters.to_numpy()
    row_pos = pd.Index(clusters.index.to_numpy()).get_indexer(cluster_rows)
    terms = agg.terms
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = att / se_a
    null: list[np.ndarray] = []

    def statistic(assign: np.ndarray) -> float:
        assign = np.asarray(assign, dtype=float)
        if np.array_equal(assign, assignment):
            return float(abs(t_obs[head]))
        try:
            f = prep.fit(assign[row_pos], check=False)
            est = _aggregate(f, balance_e=balance_e, min_e=min_e, max_e=max_e, with_psi=False)
            got = dict(zip(est.terms, est.att, strict=True))
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
