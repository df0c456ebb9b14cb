"""Secondary cell suppression for tables with margins, and the attacker's view of a table.

Why written here rather than taken from a library: the standard tool,
τ-Argus (and its Python wrapper ``pytauargus``), is EUPL-licensed and needs a
Windows/Java binary. Its *optimal* method solves the cell-suppression problem
of Fischetti & Salazar-González (1999) as an integer program; tables the size
of ours (tens of communities × a few waves) are small enough to solve that
model exactly with HiGHS through :func:`scipy.optimize.milp`, so no heuristic
such as τ-Argus' hypercube (GHMITER) method is needed.

The model
---------
A table with margins is a vector of cells ``x ≥ 0`` (interior cells, every
sub-total and the grand total) tied by linear relations ``A x = 0`` ("the
cells of a row add up to the row total"). An attacker who sees the published
cells, the relations and ``x ≥ 0`` can compute, for each hidden cell, the
interval of values consistent with all of them (two linear programs,
:func:`attacker_intervals`). A primary cell ``p`` is protected when that
interval reaches at least ``upper_p`` above and ``lower_p`` below the true
value. This holds exactly when a perturbation ``y`` exists with ``A y = 0``,
``y`` zero on published cells, ``x + y ≥ 0`` and ``y_p ≥ upper_p`` (and one
with ``y_p ≤ -lower_p``). With a binary ``s_c`` = "cell c hidden", the
linking constraints ``-x_c s_c ≤ y_c ≤ M s_c`` make this one mixed-integer
program over all primaries at once; its objective is the total value hidden
(τ-Argus' default cost) plus one per hidden cell.

Because the pattern gives a non-zero null-space direction of the relations
through every primary, the same pattern also protects any other additive
quantity over the same cells (sums of scores behind means, money totals):
no hidden cell of such a table can be solved for by linear algebra either
(:func:`linearly_determined` checks this directly).

References
----------
Fischetti, M. & Salazar-González, J.J. (1999). Models and algorithms for the
2-dimensional cell suppression problem in statistical disclosure control.
*Mathematical Programming* 84, 283–312.
Hundepool, A. et al. (2012). *Statistical Disclosure Control*, ch. 4 (Wiley);
τ-Argus manual 4.2, sections 4.2.2–4.2.3 (optimal and hypercube methods).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from attrs import frozen
from scipy import sparse
from scipy.linalg import null_space
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = [
    "TOTAL",
    "AdditiveStructure",
    "additive_structure",
    "Protection",
    "solve_secondary",
    "MAX_JOINT_VARIABLES",
    "attacker_intervals",
    "linearly_determined",
]

#: the level standing for "all levels of this dimension" (a margin)
TOTAL = None


@frozen(eq=False)
class AdditiveStructure:
    """Cells of a table with all its margins and the relations ``A x = 0`` between them.

    ``cells[i]`` is a tuple with one level per dimension (``TOTAL`` at a margin).
    """

    dims: tuple[str, ...]
    cells: tuple[tuple[object, ...], ...]
    relations: sparse.csr_array
    index: Mapping[tuple[object, ...], int]

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    def is_margin(self, i: int) -> bool:
        return any(level is TOTAL for level in self.cells[i])


def additive_structure(dims: Sequence[str], levels: Sequence[Sequence[object]]) -> AdditiveStructure:
    """The cells (interior + every margin) and relations of a table over ``dims``.

    For each dimension and each fixing of the other coordinates (margins included),
    the cells along that dimension add up to the cell at its ``TOTAL``.
    """
    axes = [list(lv) + [TOTAL] for lv in levels]
    cells = tuple(itertools.product(*axes))
    index = {c: i for i, c in enumerate(cells)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    r = 0
    for d, lv in enumerate(levels):
        others = [axes[k] if k != d else [TOTAL] for k in range(len(axes))]
        for fixed in itertools.product(*others):
            total_cell = fixed
            for level in lv:
                cell = (*fixed[:d], level, *fixed[d + 1:])
                rows.append(r)
                cols.append(index[cell])
                vals.append(1.0)
            rows.append(r)
            cols.append(index[total_cell])
            vals.append(-1.0)
            r += 1
    relations = sparse.csr_array((vals, (rows, cols)), shape=(r, len(cells)))
    return AdditiveStructure(dims=tuple(dims), cells=cells, relations=relations, index=index)


@frozen
class Protection:
    """What a hidden cell must withstand: the attacker's interval must reach ``value + upper``
    and ``value - lower``, measured on the quantity ``basis`` (``"count"`` or ``"magnitude"``)."""

    upper: float
    lower: float
    basis: str = "count"


#: above this many model variables the primaries are protected one after another (see solve_secondary)
MAX_JOINT_VARIABLES = 10_000


def _solve_tasks(structure: AdditiveStructure, tasks: list[tuple[int, float, np.ndarray]], cost: np.ndarray,
                 forced: np.ndarray, big_m: float, time_limit: float) -> np.ndarray | None:
    """One mixed-integer program: the cheapest hidden set (⊇ ``forced``) giving every task its witness."""
    n = structure.n_cells
    a_mat = structure.relations
    n_rel = a_mat.shape[0]
    k = len(tasks)
    n_var = n + k * n
    eye = sparse.identity(n, format="csr")
    blocks_eq = []
    blocks_link_lo = []
    blocks_link_hi = []
    for t, (_, req, basis) in enumerate(tasks):
        left = sparse.csr_array((n_rel, n))
        pad_before = sparse.csr_array((n_rel, t * n))
        pad_after = sparse.csr_array((n_rel, (k - t - 1) * n))
        blocks_eq.append(sparse.hstack([left, pad_before, a_mat, pad_after]))
        # y_c + basis_c s_c >= 0   and   y_c - M s_c <= 0
        zb = sparse.csr_array((n, t * n))
        za = sparse.csr_array((n, (k - t - 1) * n))
        bound = min(abs(req), big_m)  # |y| <= |requirement|: a tighter model, and every witness stays valid
        blocks_link_lo.append(sparse.hstack([sparse.diags(np.minimum(basis, bound)), zb, eye, za]))
        blocks_link_hi.append(sparse.hstack([-bound * eye, zb, eye, za]))
    constraints = [
        LinearConstraint(sparse.vstack(blocks_eq).tocsr(), 0.0, 0.0),
        LinearConstraint(sparse.vstack(blocks_link_lo).tocsr(), 0.0, np.inf),
        LinearConstraint(sparse.vstack(blocks_link_hi).tocsr(), -np.inf, 0.0),
    ]
    lower = np.full(n_var, -np.inf)
    upper = np.full(n_var, np.inf)
    lower[:n] = forced.astype(float)
    upper[:n] = 1.0
    for t, (cell, req, _) in enumerate(tasks):
        lower[cell] = 1.0
        col = n + t * n + cell
        if req > 0:
            lower[col] = req
        else:
            upper[col] = req
    integrality = np.zeros(n_var)
    integrality[:n] = 1
    objective = np.zeros(n_var)
    objective[:n] = np.where(forced, 0.0, np.asarray(cost, dtype=float))
    res = milp(objective, constraints=constraints, integrality=integrality, bounds=Bounds(lower, upper),
               options={"time_limit": float(time_limit), "disp": False, "mip_rel_gap": 0.02})
    if res.x is None:
        return None
    return np.asarray(res.x[:n] > 0.5)


def _interior_grid(structure: AdditiveStructure) -> np.ndarray | None:
    """Cell indices of a two-way table's interior as a rows × columns array (None otherwise)."""
    if len(structure.dims) != 2:
        return None
    rows = list(dict.fromkeys(c[0] for c in structure.cells if c[0] is not TOTAL))
    cols = list(dict.fromkeys(c[1] for c in structure.cells if c[1] is not TOTAL))
    return np.array([[structure.index[(r, c)] for c in cols] for r in rows])


def _hide_rectangle(grid: np.ndarray, cell: int, tasks: list[tuple[int, float, np.ndarray]], cost: np.ndarray,
                    hidden: np.ndarray) -> bool:
    """Hide the cheapest rectangle of interior cells through ``cell`` that can carry its protection.

    The hypercube idea of τ-Argus (GHMITER) in two dimensions: moving ``+d`` at
    (i, j), ``-d`` at (i, j') and (i', j), ``+d`` at (i', j') keeps every margin, so the
    attacker's interval stretches by ``d`` as long as the cells moved down stay ≥ 0.
    Returns False when no rectangle qualifies (the caller then solves the integer program).
    """
    where = np.argwhere(grid == cell)
    if where.size == 0:
        return False
    i, j = where[0]
    ok = np.ones(grid.shape, dtype=bool)
    for _, req, basis in tasks:
        x = basis[grid]
        if req > 0:  # (i, j') and (i', j) go down by req
            ok &= (x[i, :] >= req)[None, :] & (x[:, j] >= req)[:, None]
        else:  # (i, j) and (i', j') go down by |req|
            ok &= x >= -req
    ok[i, :] = False
    ok[:, j] = False
    if not ok.any():
        return False
    c = np.where(hidden, 0.0, cost)[grid]
    total = c[i, :][None, :] + c[:, j][:, None] + c
    total = np.where(ok, total, np.inf)
    ii, jj = np.unravel_index(np.argmin(total), total.shape)
    hidden[[grid[i, jj], grid[ii, j], grid[ii, jj]]] = True
    return True


def _already_protected(structure: AdditiveStructure, cell: int, tasks: list[tuple[int, float, np.ndarray]],
                       hidden: np.ndarray) -> bool:
    """Whether the cells hidden so far already give ``cell`` every interval its tasks require."""
    for _, req, basis in tasks:
        iv = attacker_intervals(structure, basis, hidden, cells=[cell]).iloc[0]
        x = basis[cell]
        if (req > 0 and iv["upper"] < x + req - 1e-9) or (req < 0 and iv["lower"] > x + req + 1e-9):
            return False
    return True


def solve_secondary(structure: AdditiveStructure, *, bases: Mapping[str, np.ndarray],
                    protections: Mapping[int, Sequence[Protection]], cost: np.ndarray,
                    time_limit: float = 20.0) -> np.ndarray:
    """The cheapest set of hidden cells protecting every cell in ``protections``.

    Returns a boolean array over ``structure.cells`` (True = hidden); the protected
    cells themselves are always hidden. Small tables are solved jointly (optimal);
    when the joint model would exceed :data:`MAX_JOINT_VARIABLES`, primaries are
    protected one after another, cheapest first: skipped if the cells hidden so far
    already protect it, else by the cheapest qualifying rectangle (two-way tables),
    else by its own integer program with the cells hidden so far free of cost.
    Hiding more never weakens an earlier protection, so the union stays valid; the
    caller verifies every primary's interval afterwards.
    When the solver finds no solution within ``time_limit``, every cell is hidden
    (safe; the caller's verification still runs).
    """
    n = structure.n_cells
    hidden = np.zeros(n, dtype=bool)
    if not protections:
        return hidden
    big_m = 2.0 * max(float(np.max(b)) for b in bases.values()) + max(
        max(p.upper, p.lower) for prots in protections.values() for p in prots) + 1.0
    per_cell: dict[int, list[tuple[int, float, np.ndarray]]] = {}
    for cell, prots in sorted(protections.items()):
        hidden[cell] = True
        for prot in prots:
            basis = np.asarray(bases[prot.basis], dtype=float)
            if prot.upper > 0:
                per_cell.setdefault(cell, []).append((cell, float(prot.upper), basis))
            if prot.lower > 0:
                per_cell.setdefault(cell, []).append((cell, -float(prot.lower), basis))
    tasks = [t for ts in per_cell.values() for t in ts]
    if not tasks:
        return hidden
    if n * (1 + len(tasks)) <= MAX_JOINT_VARIABLES:
        out = _solve_tasks(structure, tasks, cost, hidden, big_m, time_limit)
        return np.ones(n, dtype=bool) if out is None else out
    grid = _interior_grid(structure)
    for cell, cell_tasks in sorted(per_cell.items(), key=lambda kv: float(cost[kv[0]])):
        if _already_protected(structure, cell, cell_tasks, hidden):
            continue
        if grid is not None and _hide_rectangle(grid, cell, cell_tasks, cost, hidden) and \
                _already_protected(structure, cell, cell_tasks, hidden):
            continue
        out = _solve_tasks(structure, cell_tasks, cost, hidden, big_m, time_limit)
        if out is None:
            return np.ones(n, dtype=bool)
        hidden |= out
    return hidden


def attacker_intervals(structure: AdditiveStructure, values: np.ndarray, hidden: np.ndarray,
                       cells: Sequence[int] | None = None) -> pd.DataFrame:
    """The range an attacker can infer for each hidden cell from the published ones.

    Solves ``min x_c`` and ``max x_c`` subject to ``A x = 0``, ``x ≥ 0`` and every
    published cell fixed at its value. ``upper`` is ``inf`` when unbounded.
    Returns one row per hidden cell (or per cell of ``cells``): ``cell`` (index),
    ``value``, ``lower``, ``upper``.
    """
    values = np.asarray(values, dtype=float)
    hidden = np.asarray(hidden, dtype=bool)
    n = structure.n_cells
    lb = np.where(hidden, 0.0, values)
    ub = np.where(hidden, np.inf, values)
    bounds = list(zip(lb, ub, strict=True))
    a_eq = structure.relations
    b_eq = np.zeros(a_eq.shape[0])
    rows = []
    for c in (np.flatnonzero(hidden) if cells is None else cells):
        obj = np.zeros(n)
        obj[c] = 1.0
        lo = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        rows.append({"cell": int(c), "value": values[c],
                     "lower": lo.fun if lo.status == 0 else -np.inf,
                     "upper": -hi.fun if hi.status == 0 else np.inf})
    return pd.DataFrame(rows, columns=["cell", "value", "lower", "upper"])


def linearly_determined(structure: AdditiveStructure, hidden: np.ndarray, *, tol: float = 1e-9) -> np.ndarray:
    """Which hidden cells the relations alone pin down (ignoring ``x ≥ 0``).

    A hidden cell is determined exactly when every null-space vector of the
    relations restricted to the hidden cells is zero at that cell.
    Returns a boolean array over all cells (False for published cells).
    """
    hidden = np.asarray(hidden, dtype=bool)
    out = np.zeros(structure.n_cells, dtype=bool)
    idx = np.flatnonzero(hidden)
    if idx.size == 0:
        return out
    sub = structure.relations.toarray()[:, idx]
    basis = null_space(sub) if sub.shape[0] else np.eye(idx.size)
    if basis.size == 0:
        out[idx] = True
        return out
    out[idx] = np.max(np.abs(basis), axis=1) < tol
    return out
