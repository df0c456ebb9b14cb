"""Group-time ATT(g,t) and their influence functions on a balanced panel, written by hand.

Why hand-written
----------------
Speed. ``diff_diff.CallawaySantAnna`` (the pinned diff-diff) computes the same ATT(g,t) and
influence functions, and remains both the *reference* and the *fallback*: on the 30,000-unit
panel of ``benchmarks/bench_staggered.py`` its fit alone took longer than everything evalkit
does around it (the wide pivot through pandas, one Python-level estimation per cell, a
logit refitted for every base period on identical data). Here the panel is laid out wide
once with integer codes, the cells without covariates are differences of weighted means
computed for all cells at once, and with covariates the cells that share their treated
units, control units and covariate values (for never-treated comparisons and time-invariant
covariates: every cell of a cohort) share one propensity-score logit, one outcome-regression
factorisation and one pair of Gram inverses, with the cells' long differences as columns.

What is covered, and what is not
--------------------------------
Covered: balanced panels (every unit observed once in every period), ``method`` "dr" and
"reg" with or without covariates and "ipw" without covariates (where all three are the
difference of means), never-treated or not-yet-treated comparisons, ``base_period``
"varying" or "universal", anticipation, sampling weights. The formulas are diff-diff's
(Sant'Anna & Zhao 2020 DRDID panel estimator for "dr", DRDID ``reg_did_panel`` for "reg"),
evaluated in the same order where it matters; the propensity score is diff-diff's own
``solve_logit`` (the same IRLS, on the same arrays), the Gram inverses diff-diff's own
rank-guarded ``_safe_inv``.

Anything else raises :class:`Unsupported` and the caller runs diff-diff: repeated cross-sections,
unbalanced panels, IPW with covariates, zero sampling weights, and every situation in which
diff-diff would warn, drop or fall back (a cell without treated or control units, a
non-estimable base period, rank-deficient covariates, a logit warning — low events per
variable, separation, non-convergence — propensity scores outside [0.01, 0.99] that diff-diff
would trim, a near-singular Gram matrix, a non-finite estimate). diff-diff then produces the
numbers *and* its warnings, exactly as before. ``tests/estimators/test_fast_path.py`` checks
every ATT(g,t) and influence function against diff-diff to 1e-10.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Unsupported", "GroupTime", "WidePanel", "wide_panel", "group_time_effects"]

#: diff-diff's defaults, which evalkit does not change
_PSCORE_TRIM = 0.01
_EPV_THRESHOLD = 10


class Unsupported(Exception):
    """The hand-written path does not cover this case (or diff-diff would warn): use diff-diff."""


@dataclass
class WidePanel:
    """A balanced panel laid out wide: ``order[t, u]`` is the row of unit ``u`` in period ``t``."""

    periods: np.ndarray      # sorted distinct periods (T)
    order: np.ndarray | None  # T × U row indices; None when the rows are already unit-major, time-minor

    def wide(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row) as a contiguous T × U array."""
        T = len(self.periods)
        if self.order is None:
            return np.ascontiguousarray(values.reshape(-1, T).T)
        return values[self.order]


def _period_codes(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct periods, code of each row)."""
    if time.dtype.kind in "iu" and len(time):
        lo, hi = int(time.min()), int(time.max())
        if hi - lo <= 4 * len(time) + 1000:  # small integer range: no sort, no hash
            present = np.zeros(hi - lo + 1, dtype=bool)
            shifted = np.subtract(time, lo, dtype=np.intp)
            present[shifted] = True
            lookup = np.cumsum(present) - 1
            np.take(lookup, shifted, out=shifted)  # the codes, in place
            return np.flatnonzero(present) + lo, shifted
    codes, uniques = pd.factorize(time, sort=True)
    return np.asarray(uniques), codes


def _is_range(a: np.ndarray, chunk: int = 1 << 16) -> bool:
    """``np.array_equal(a, np.arange(len(a)))`` without allocating an array as long as ``a``."""
    ref = np.arange(min(chunk, len(a)))
    for i in range(0, len(a), chunk):
        part = a[i:i + chunk]
        if not np.array_equal(part, ref[:len(part)] + i if i else ref[:len(part)]):
            return False
    return True


def wide_panel(unit: np.ndarray, time: np.ndarray, n_units: int) -> WidePanel | None:
    """The wide layout of a panel with unit codes ``0..n_units−1``, or None if it is not
    balanced (a unit missing in some period, or a unit-period present twice)."""
    periods, tcode = _period_codes(time)
    T = len(periods)
    n = len(unit)
    if n != n_units * T:
        return None
    cell = unit * T if unit.dtype == np.intp else unit.astype(np.intp) * T
    cell += tcode
    if _is_range(cell):  # sorted by unit, then period
        return WidePanel(periods=periods, order=None)
    order = np.full(n, -1, dtype=np.intp)
    order[cell] = np.arange(n)
    if (order < 0).any():  # then some cell was hit twice
        return None
    return WidePanel(periods=periods, order=np.ascontiguousarray(order.reshape(n_units, T).T))


@dataclass
class GroupTime:
    """ATT(g,t) in diff-diff's order and their influence functions (cells × units)."""

    att: np.ndarray
    group: np.ndarray
    time: np.ndarray
    psi: np.ndarray  # cells × units, C-contiguous


def _cells(periods: np.ndarray, groups: list, *, base_period: str, anticipation: int) -> list:
    """(g, t, base) of every cell diff-diff attempts, in its order; Unsupported if a cell has no
    base period (diff-diff would warn and leave it out)."""
    from diff_diff.staggered import select_base_period, valid_periods_for_group

    observed = list(periods)
    out = []
    for g in groups:
        for t in valid_periods_for_group(base_period, anticipation, g, observed, observed):
            b = select_base_period(base_period, anticipation, g, t, observed)
            if b is None:
                raise Unsupported("a cell has no base period")
            out.append((g, t, b))
    return out


def group_time_effects(Y: np.ndarray, periods: np.ndarray, cohort: np.ndarray,
                       weight: np.ndarray | None, X: np.ndarray | None, *, control: str,
                       method: str, anticipation: int, base_period: str) -> GroupTime:
    """ATT(g,t) and influence functions of Callaway & Sant'Anna on a balanced panel.

    Parameters
    ----------
    Y : T × U outcomes; periods : the T sorted periods; cohort : first treated period per
    unit (0 = never treated); weight : sampling weight per unit (None: unweighted); X :
    p × T × U covariates (None: no covariates). Options as in ``CallawaySantAnna``.

    Raises :class:`Unsupported` where diff-diff must be used instead (see the module docstring).
    """
    if weight is not None and not (weight > 0).all():
        raise Unsupported("zero sampling weights")
    if X is not None and method == "ipw":
        raise Unsupported("ipw with covariates")
    never = cohort == 0
    if control == "never_treated" and not never.any():
        raise Unsupported("no never-treated units")  # diff-diff raises its error
    groups = sorted(g for g in np.unique(cohort) if g > 0)
    if control == "not_yet_treated" and not never.any() and len(groups) < 2:
        raise Unsupported("not-yet-treated comparisons need two cohorts")
    cells = _cells(periods, groups, base_period=base_period, anticipation=anticipation)
    col = {p: i for i, p in enumerate(periods)}
    K, U = len(cells), Y.shape[1]
    g_arr = np.array([c[0] for c in cells], dtype=float)
    tcol = np.array([col[c[1]] for c in cells], dtype=np.intp)
    bcol = np.array([col[c[2]] for c in cells], dtype=np.intp)
    # control units of each cell, identified by the threshold beyond which a cohort is a control
    if control == "never_treated":
        thr = np.full(K, np.inf)
    else:
        thr = np.array([max(c[1], c[2]) + anticipation for c in cells], dtype=float)
    # weights normalised to mean 1, as diff-diff's survey design does
    sw = None if weight is None else weight / weight.mean()
    if X is None:
        # K × U long differences, row by row into one array (fresh memory is expensive on a
        # busy machine — page faults — so large temporaries are avoided throughout); the
        # influence functions then overwrite it
        D = np.empty((K, U))
        for k in range(K):
            np.subtract(Y[tcol[k]], Y[bcol[k]], out=D[k])
        psi, att = _diff_in_means(D, cohort, never, g_arr, thr, sw)
    else:
        psi = np.zeros((K, U))
        att = np.empty(K)
        varying = X.shape[1] > 1 and not (X == X[:, :1, :]).all()
        keys: dict[tuple, list[int]] = {}
        for k in range(K):
            keys.setdefault((g_arr[k], thr[k], bcol[k] if varying else 0), []).append(k)
        blocks: dict[tuple, tuple] = {}  # outcomes and covariates of a set of units, gathered once

        def block(key: tuple, mask: np.ndarray) -> tuple:
            if key not in blocks:
                idx = np.flatnonzero(mask)
                blocks[key] = (idx, Y[:, idx], X[:, :, idx])
            return blocks[key]

        for (g, th, xcol), ks in keys.items():
            ti, Yt, Xt = block(("t", g), cohort == g)
            if np.isfinite(th):
                ci, Yc, Xc = block(("c", g, th), never | ((cohort > th) & (cohort != g)))
            else:
                ci, Yc, Xc = block(("c",), never)
            if ci.size == 0:
                raise Unsupported("a cell without control units")
            rows = np.array(ks, dtype=np.intp)
            att[rows], psi_t, psi_c = _covariate_cells(
                Yt[tcol[rows]] - Yt[bcol[rows]], Yc[tcol[rows]] - Yc[bcol[rows]],
                Xt[:, xcol, :].T, Xc[:, xcol, :].T,
                None if sw is None else sw[ti], None if sw is None else sw[ci], method=method,
                label=f"cohort g={g}")
            psi[np.ix_(rows, ti)] = psi_t
            psi[np.ix_(rows, ci)] = psi_c
    if not np.isfinite(att).all() or not np.isfinite(psi).all():
        raise Unsupported("a non-finite estimate")
    group, time = g_arr, np.array([float(c[1]) for c in cells])
    if base_period == "universal":
        att, group, time, psi = _reference_cells(att, group, time, psi, cells, groups, periods,
                                                 anticipation=anticipation)
    return GroupTime(att=att, group=group, time=time, psi=psi)


def _reference_cells(att, group, time, psi, cells, groups, periods, *, anticipation):
    """Universal base period: diff-diff appends each cohort's base as a zero cell (R's
    reference cell, with no influence function), after the estimated cells."""
    from diff_diff.staggered import select_base_period

    have = {(c[0], c[1]) for c in cells}
    extra = []
    for g in groups:
        b = select_base_period("universal", anticipation, g, g, list(periods))
        if b is None or (g, b) in have:
            continue
        extra.append((g, b))
    if not extra:
        return att, group, time, psi
    return (np.r_[att, np.zeros(len(extra))], np.r_[group, [float(e[0]) for e in extra]],
            np.r_[time, [float(e[1]) for e in extra]],
            np.vstack([psi, np.zeros((len(extra), psi.shape[1]))]))


def _diff_in_means(D: np.ndarray, cohort: np.ndarray, never: np.ndarray, g: np.ndarray,
                   thr: np.ndarray, sw: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(psi, att) of all cells without covariates; ``D`` is overwritten by psi.

    All cells without covariates: ATT = weighted mean long difference of the cohort minus
    that of the controls; influence function w_i/Σw · (ΔY_i − mean) on each side (diff-diff's
    ``_compute_all_att_gt_vectorized`` and the no-covariate branches of its OR/IPW/DR).

    A unit enters a cell only through its cohort ("class"): treated (the cell's cohort),
    control, or neither. The per-class sums come from one ``bincount`` per cell and the
    influence functions from two gathers of per-(cell, class) coefficients, instead of
    cells × units masks.
    """
    cls, values = pd.factorize(cohort)
    values = np.asarray(values, dtype=float)
    n_cls = len(values)
    S = np.bincount(cls, weights=sw, minlength=n_cls) if sw is not None else \
        np.bincount(cls, minlength=n_cls).astype(float)
    P = np.vstack([np.bincount(cls, weights=row if sw is None else row * sw, minlength=n_cls)
                   for row in D])  # K × classes: Σ w·ΔY per class
    is_t = values[None, :] == g[:, None]  # K × classes
    is_c = (values == 0)[None, :] | ((values[None, :] > thr[:, None]) & ~is_t)
    st = (is_t * S).sum(axis=1)
    sc = (is_c * S).sum(axis=1)
    if (sc <= 0).any():
        raise Unsupported("a cell without control units")
    mu_t = (is_t * P).sum(axis=1) / st
    mu_c = (is_c * P).sum(axis=1) / sc
    # psi[k, i] = w_i·A[k, class_i]·(D[k, i] − M[k, class_i]), computed in place in D
    A = is_t / st[:, None] - is_c / sc[:, None]
    M = is_t * mu_t[:, None] + is_c * mu_c[:, None]
    step = 4  # a few rows at a time: one small scratch array instead of another cells × units
    buf = np.empty((min(step, len(g)), D.shape[1]))
    for r0 in range(0, len(g), step):
        rows = slice(r0, r0 + step)
        part, tmp = D[rows], buf[:len(D[rows])]
        np.take(M[rows], cls, axis=1, out=tmp, mode="clip")
        part -= tmp
        np.take(A[rows], cls, axis=1, out=tmp, mode="clip")
        part *= tmp
        if sw is not None:
            part *= sw
    return D, mu_t - mu_c


def _ols(Xc_int: np.ndarray, Dc: np.ndarray, sw_c: np.ndarray | None) -> np.ndarray:
    """(Weighted) least squares of every row of ``Dc`` (cells × controls) on ``Xc_int``: the
    coefficients, k × cells. Rank-checked as diff-diff's ``solve_ols``
    (rank_deficient_action="error"), solved like it by SVD on equilibrated columns."""
    from diff_diff.linalg import _detect_rank_deficiency

    if sw_c is not None:
        s = np.sqrt(sw_c)
        Xw, Dw = Xc_int * s[:, None], (Dc * s).T
    else:
        Xw, Dw = Xc_int, Dc.T
    if len(_detect_rank_deficiency(Xw)[1]):
        raise Unsupported("rank-deficient outcome regression")
    norms = np.sqrt(np.einsum("ij,ij->j", Xw, Xw))
    norms = np.where(norms > 0, norms, 1.0)
    B = np.linalg.lstsq(Xw / norms, Dw, rcond=None)[0]
    return B / norms[:, None]


def _inv(A: np.ndarray) -> np.ndarray:
    """diff-diff's rank-guarded inverse; a truncated direction would make diff-diff warn."""
    from diff_diff.staggered import _safe_inv

    tracker: list[float] = []
    inv = _safe_inv(A, tracker=tracker)
    if tracker:
        raise Unsupported("near-singular Gram matrix")
    return inv


def _covariate_cells(Dt: np.ndarray, Dc: np.ndarray, Xt: np.ndarray, Xc: np.ndarray,
                     sw_t: np.ndarray | None, sw_c: np.ndarray | None, *, method: str,
                     label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells sharing treated units, control units and covariates: rows of ``Dt`` (cells ×
    treated) and ``Dc`` (cells × controls) are the cells' long differences, ``Xt``/``Xc`` the
    covariates (units × p). Returns (att, treated influence, control influence), the latter
    two cells × units.

    "dr": Sant'Anna & Zhao (2020) DRDID panel estimator as in diff-diff's ``_doubly_robust``
    (outcome regression on the controls' long differences, logit propensity score, IPW
    augmentation, influence function with both nuisance corrections). "reg": DRDID
    ``reg_did_panel`` as in diff-diff's ``_outcome_regression``.
    """
    n_t, n_c = Dt.shape[1], Dc.shape[1]
    Xt_int = np.column_stack([np.ones(n_t), Xt])
    Xc_int = np.column_stack([np.ones(n_c), Xc])
    B = _ols(Xc_int, Dc, sw_c)  # k × cells
    Mt, Mc = B.T @ Xt_int.T, B.T @ Xc_int.T  # fitted long differences, cells × units
    wt = np.ones(n_t) if sw_t is None else sw_t
    W_c = np.ones(n_c) if sw_c is None else sw_c
    st = float(wt.sum())

    if method == "reg":
        res_t = Dt - Mt
        wt_norm = wt / st
        att = res_t @ wt_norm
        res_t -= att[:, None]
        res_t *= wt_norm
        xbar_t = (wt @ Xt) / st
        w_c_sum = float(W_c.sum())
        xbar_c = (W_c @ Xc) / w_c_sum
        Xcc = Xc - xbar_c
        bread = _inv(Xcc.T @ (W_c[:, None] * Xcc))
        proj_c = 1.0 / w_c_sum + Xcc @ (bread @ (xbar_t - xbar_c))
        psi_c = Mc - Dc  # −W_c·(ΔY − m)·proj
        psi_c *= W_c * proj_c
        return att, res_t, psi_c

    # ---- doubly robust: propensity score by diff-diff's own IRLS on the same arrays
    from diff_diff.linalg import solve_logit

    X_all = np.vstack([Xt, Xc])
    D01 = np.concatenate([np.ones(n_t), np.zeros(n_c)])
    sw_all = None if sw_t is None else np.concatenate([sw_t, sw_c])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _, ps = solve_logit(X_all, D01, rank_deficient_action="error", weights=sw_all,
                                epv_threshold=_EPV_THRESHOLD, context_label=label,
                                diagnostics_out={})
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise Unsupported("propensity score fit failed") from exc
    if caught:
        raise Unsupported("the propensity score fit warned")
    if ((ps < _PSCORE_TRIM) | (ps > 1 - _PSCORE_TRIM)).any():
        raise Unsupported("propensity scores to trim")  # diff-diff warns before trimming
    p_all = np.clip(ps, _PSCORE_TRIM, 1 - _PSCORE_TRIM)
    pc = p_all[n_t:]
    w_ipw = W_c * pc / (1 - pc)  # IPW weights of the controls (times sampling weights)
    res_c = Mc - Dc  # cells × controls
    att = ((Dt - Mt) @ wt) / st + (res_c @ w_ipw) / st
    psi_t = Dt - Mt
    psi_t -= att[:, None]
    psi_t *= wt / st
    psi_c = res_c * (w_ipw / st)
    # propensity-score estimation effect
    N = n_t + n_c
    X_all_int = np.vstack([Xt_int, Xc_int])
    W_ps = p_all * (1 - p_all)
    score_w = D01 - p_all
    if sw_all is not None:
        W_ps = W_ps * sw_all
        score_w = score_w * sw_all
    H_inv = _inv(X_all_int.T @ (W_ps[:, None] * X_all_int) / N)
    asy_ps = (score_w[:, None] * X_all_int) @ H_inv  # N × k
    M2 = psi_c @ Xc_int  # cells × k
    corr = M2 @ (asy_ps.T / N)  # cells × N
    psi_t += corr[:, :n_t]
    psi_c += corr[:, n_t:]
    # outcome-regression estimation effect
    bread = _inv(Xc_int.T @ (W_c[:, None] * Xc_int))
    M1 = (-(wt @ Xt_int) + w_ipw @ Xc_int) / st
    v = Xc_int @ (bread @ M1)
    res_c *= W_c * v  # (m − ΔY)·W_c·v
    psi_c -= res_c
    return att, psi_t, psi_c
