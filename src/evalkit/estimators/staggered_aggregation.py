"""Aggregation of Callaway–Sant'Anna group-time effects, following R ``did::aggte`` (2.x).

Owns :class:`GroupTimeFit` (ATT(g,t), their influence functions and the unit bookkeeping),
:func:`aggregate` (the simple, group, calendar and event aggregations with R's weight
influence function ``wif``) and :class:`Aggregates` (their estimates, labels and influence
functions, with cluster-robust standard errors). See :mod:`evalkit.estimators.staggered`
for the conventions; this module is split from it only to keep one concern per module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.errors import NotIdentifiedError

__all__ = ["GroupTimeFit", "Aggregates", "aggregate", "sum_sq_by_cluster"]


class GroupTimeFit:
    """ATT(g,t), their influence functions (``psi``: cells × units, in unit-code order) and
    the unit bookkeeping."""

    def __init__(self, att: np.ndarray, group: np.ndarray, time: np.ndarray, psi: np.ndarray,
                 unit_group: np.ndarray, unit_weight: np.ndarray, n_obs: int, caught: list[str]):
        self.att, self.group, self.time, self.psi = att, group, time, psi
        self.unit_group, self.unit_weight = unit_group, unit_weight
        self.n_obs, self.caught = n_obs, caught



# ---- aggregation (R did::aggte) --------------------------------------------------------------
class Aggregates:
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

    def __init__(self, fit: GroupTimeFit, coh: _Cohorts | None) -> None:
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

    def se(self, cluster: np.ndarray, n_clusters: int, *, small_sample: bool = True) -> np.ndarray:
        """Cluster-robust standard errors of the cells and the aggregates (``cluster``: each
        unit's cluster as a code 0..n_clusters−1), with the factor G/(G−1) when
        ``small_sample`` (without it: R ``did``'s analytic SEs when units are the clusters)."""
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
            ss_agg[r] = sum_sq_by_cluster(out[None, :], cluster, n_clusters)[0]
        ss = np.r_[sum_sq_by_cluster(self.fit.psi, cluster, n_clusters), ss_agg]
        return np.sqrt(ss * (n_clusters / (n_clusters - 1) if small_sample else 1.0))

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

    def __init__(self, fit: GroupTimeFit):
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
    """Adds aggregates to an :class:`Aggregates`: of cells (:meth:`cells`), or of earlier aggregates
    (:meth:`rows`, the overall summaries, formed from their components' influence functions as
    R does)."""

    def __init__(self, fit: GroupTimeFit, coh: _Cohorts, agg: Aggregates, with_psi: bool):
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


def aggregate(fit: GroupTimeFit, *, balance_e: int | None, min_e: float, max_e: float,
               with_psi: bool = True) -> Aggregates:
    coh = _Cohorts(fit)
    glist = coh.cohorts
    pg_by_group = dict(zip(glist, coh.pg, strict=True))
    pg = coh.pg[coh.cell]
    e = fit.time - fit.group
    post = (fit.group <= fit.time) & (fit.time <= fit.group + max_e)
    out = Aggregates(fit, coh)
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



def sum_sq_by_cluster(psi: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Σ over clusters of (Σ of the row within the cluster)², for each row of ``psi``
    (estimates × units); ``cluster``: each unit's cluster as a code 0..n_clusters−1."""
    if n_clusters == psi.shape[1]:  # one unit per cluster (the panel default): the rows themselves
        return np.einsum("ki,ki->k", psi, psi)
    out = np.empty(len(psi))
    for k, row in enumerate(psi):
        S = np.bincount(cluster, weights=row, minlength=n_clusters)
        out[k] = S @ S
    return out
