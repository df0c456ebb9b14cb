"""Protect a published table: primary, secondary and register suppression, with reason codes.

Every count, share, mean, scale score or model cell a report shows over a
group passes :func:`protect_table` (or :func:`protect_tables` for tables that
share cells). The result, a :class:`ProtectedTable`, holds the values with
NaN where hidden and a long frame of reason codes; figures take their data
only through :func:`drawable`, so a bar never shows what a table hides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from attrs import evolve, field, frozen

from evalkit._checks import require_columns
from evalkit.disclosure.policy import (
    DisclosurePolicy,
    SuppressionReason,
    SuppressionRegister,
    cell_key,
)
from evalkit.disclosure.secondary import (
    TOTAL,
    AdditiveStructure,
    Protection,
    additive_structure,
    attacker_intervals,
    linearly_determined,
    solve_secondary,
)
from evalkit.errors import DisclosureError

__all__ = ["TableSpec", "ProtectedTable", "protect_table", "protect_tables", "drawable"]

_R = SuppressionReason
_TOL = 1e-6


@frozen(kw_only=True)
class TableSpec:
    """How to read a table for protection.

    ``by``: the grouping columns (one or two, sometimes three); ``count_col``:
    contributors per cell; ``value_cols``: shares, means or scores resting on that
    count; ``magnitude_col`` and ``top_cols``: a money/hours total and its largest
    contributions (for the dominance rule; ``top_cols`` are never published);
    ``total_label``: the level marking margin rows in ``by`` columns (None: the
    frame holds interior cells only); ``margins``: whether totals of this table are
    published anywhere (in it, in the text, or in another table).
    """

    by: tuple[str, ...] = field(converter=tuple)
    count_col: str
    value_cols: tuple[str, ...] = field(default=(), converter=tuple)
    magnitude_col: str | None = None
    top_cols: tuple[str, ...] = field(default=(), converter=tuple)
    total_label: Any = None
    margins: bool = True
    name: str = ""


@frozen(eq=False)
class ProtectedTable:
    """A table safe to publish.

    ``values``: the input rows, hidden cells NaN, ``top_cols`` dropped;
    ``flags``: one row per hidden or flagged value (``*by, column, reason``);
    ``margins``: every margin cell with its protected count (and magnitude), whether
    or not the input showed it (empty when the table was protected as having no
    published margins: then no total of it may be shown); ``register``: the input
    register plus this table's hidden cells.
    """

    values: pd.DataFrame
    flags: pd.DataFrame
    margins: pd.DataFrame
    spec: TableSpec
    policy: DisclosurePolicy
    register: SuppressionRegister

    def to_frame(self) -> pd.DataFrame:
        return self.values.copy()


def _level_order(series: pd.Series, total_label: Any) -> list[object]:
    """Levels in a fixed order (sorted as text), so the row order of the input changes nothing."""
    seen = [v for v in pd.unique(series) if not (total_label is not None and v == total_label)]
    return sorted(seen, key=str)


def _cell_vectors(interior: pd.DataFrame, structure: AdditiveStructure, spec: TableSpec) -> dict[str, Any]:
    """Counts (and magnitudes, top contributions) for every cell, margins summed from the interior."""
    import itertools

    dims = list(spec.by)
    n = structure.n_cells
    out: dict[str, Any] = {"count": np.zeros(n)}
    if spec.magnitude_col:
        out["magnitude"] = np.zeros(n)
    tops: list[list[float]] = [[] for _ in range(n)]
    subsets = list(itertools.product([False, True], repeat=len(dims)))  # which dims go to TOTAL
    keys = interior[dims].itertuples(index=False, name=None)
    counts = interior[spec.count_col].to_numpy(dtype=float)
    mags = interior[spec.magnitude_col].to_numpy(dtype=float) if spec.magnitude_col else None
    top_values = interior[list(spec.top_cols)].to_numpy(dtype=float) if spec.top_cols else None
    for r, key in enumerate(keys):
        row_tops = [] if top_values is None else [t for t in top_values[r] if not np.isnan(t)]
        for subset in subsets:
            i = structure.index[tuple(TOTAL if s else k for s, k in zip(subset, key, strict=True))]
            out["count"][i] += counts[r]
            if mags is not None:
                out["magnitude"][i] += mags[r]
            if row_tops:
                tops[i].extend(row_tops)
    k = len(spec.top_cols)
    out["_tops"] = [sorted(t, reverse=True)[:k] for t in tops]
    return out


def _primaries(structure: AdditiveStructure, vec: dict[str, Any], spec: TableSpec, policy: DisclosurePolicy,
               register: SuppressionRegister, extra: dict[int, SuppressionReason]
               ) -> tuple[dict[int, SuppressionReason], dict[int, list[Protection]]]:
    reasons: dict[int, SuppressionReason] = {}
    protections: dict[int, list[Protection]] = {}
    counts = vec["count"]
    for i, cell in enumerate(structure.cells):
        a = counts[i]
        if structure.is_margin(i) and not spec.margins:
            continue
        prots: list[Protection] = []
        if 0 < a < policy.min_count:
            reasons[i] = _R.SMALL_COUNT
            prots.append(Protection(upper=policy.min_count - a, lower=min(a, 1.0)))
        if spec.magnitude_col and spec.top_cols:
            total = vec["magnitude"][i]
            top = sum(vec["_tops"][i][: policy.dominance_top])
            if total > 0 and top > policy.dominance_share * total:
                reasons.setdefault(i, _R.DOMINANCE)
                prots.append(Protection(upper=top / policy.dominance_share - total, lower=0.0,
                                        basis="magnitude"))
        key = cell_key({d: lv for d, lv in zip(spec.by, cell, strict=True) if lv is not TOTAL})
        if not prots and (key in register or i in extra):
            reasons[i] = extra.get(i, _R.REGISTER)
            prots.append(Protection(upper=1.0, lower=min(a, 1.0)))
        if prots:
            protections[i] = prots
    return reasons, protections


def _verify(structure: AdditiveStructure, vec: dict[str, Any], hidden: np.ndarray,
            protections: dict[int, list[Protection]], name: str) -> None:
    """Refuse to return a pattern an attacker could break (a guard; the solver should never fail it)."""
    if np.any(linearly_determined(structure, hidden)):
        msg = f"disclosure: table {name!r}: a hidden cell can be solved from the published cells; refusing to publish."
        raise DisclosureError(msg)
    for basis in {p.basis for prots in protections.values() for p in prots}:
        iv = attacker_intervals(structure, vec[basis], hidden, cells=sorted(protections)).set_index("cell")
        for cell, prots in protections.items():
            for p in prots:
                if p.basis != basis:
                    continue
                lo, hi = iv.loc[cell, "lower"], iv.loc[cell, "upper"]
                x = vec[basis][cell]
                if hi < x + p.upper - _TOL * max(1.0, x) or lo > x - p.lower + _TOL * max(1.0, x):
                    msg = (f"disclosure: table {name!r}: cell {structure.cells[cell]} is not protected "
                           "to the required interval; refusing to publish.")
                    raise DisclosureError(msg)


def _is_extreme_share(value: Any) -> bool:
    return pd.notna(value) and (float(value) == 0.0 or float(value) in (1.0, 100.0))


def protect_table(frame: pd.DataFrame, *, by: Sequence[str], count_col: str, value_cols: Sequence[str] = (),
                  magnitude_col: str | None = None, top_cols: Sequence[str] = (), total_label: Any = None,
                  margins: bool = True, name: str = "", policy: DisclosurePolicy | None = None,
                  register: SuppressionRegister | None = None) -> ProtectedTable:
    """Hide every cell the policy forbids, and enough others that none can be recomputed.

    Parameters
    ----------
    frame
        One row per cell (``by`` levels), optionally with margin rows marked by
        ``total_label``.
    by, count_col, value_cols, magnitude_col, top_cols, total_label, margins, name
        See :class:`TableSpec`.
    policy
        Thresholds; default :class:`DisclosurePolicy()` (10 contributors, top-2 > 85 %).
    register
        Cells already hidden elsewhere (other tables, earlier waves); hidden here too.

    Returns
    -------
    ProtectedTable

    Raises
    ------
    DisclosureError
        If a value column holds a minimum, maximum or percentile of individuals,
        or if the cell keys repeat.
    """
    spec = TableSpec(by=by, count_col=count_col, value_cols=value_cols, magnitude_col=magnitude_col,
                     top_cols=top_cols, total_label=total_label, margins=margins, name=name)
    return _protect(frame, spec, policy or DisclosurePolicy(), register or SuppressionRegister())


def _protect(frame: pd.DataFrame, spec: TableSpec, policy: DisclosurePolicy,
             register: SuppressionRegister) -> ProtectedTable:
    cols = [*spec.by, spec.count_col, *spec.value_cols, *([spec.magnitude_col] if spec.magnitude_col else []),
            *spec.top_cols]
    require_columns(frame, cols, what=f"disclosure: table {spec.name!r}")
    _refuse_extreme_columns(spec)
    if spec.top_cols and len(spec.top_cols) < policy.dominance_top:
        msg = (f"disclosure: table {spec.name!r}: the dominance rule needs the {policy.dominance_top} largest "
               f"contributions per cell; top_cols has {len(spec.top_cols)}.")
        raise DisclosureError(msg)
    dims = list(spec.by)
    is_total = np.zeros(len(frame), dtype=bool)
    if spec.total_label is not None:
        is_total = frame[dims].eq(spec.total_label).any(axis=1).to_numpy()
    interior = frame.loc[~is_total]
    if interior.duplicated(dims).any():
        msg = f"disclosure: table {spec.name!r}: the cells of {dims} repeat; give one row per cell."
        raise DisclosureError(msg)
    if is_total.any() and policy.secondary == "none":
        msg = (f"disclosure: table {spec.name!r} shows totals, but the policy has secondary='none', so hidden "
               "cells could be recomputed from them. Use secondary='milp' or drop the total rows.")
        raise DisclosureError(msg)
    levels = [_level_order(interior[d], spec.total_label) for d in dims]
    structure = additive_structure(dims, levels)
    vec = _cell_vectors(interior, structure, spec)

    # 0 % / 100 % on a sensitive attribute
    sensitive: dict[int, list[str]] = {}
    row_cell = _row_cells(frame, structure, spec)
    for r, i in enumerate(row_cell):
        for col in spec.value_cols:
            if policy.is_sensitive(col) and _is_extreme_share(frame.iloc[r][col]):
                sensitive.setdefault(i, []).append(col)
    extra = {i: _R.SENSITIVE_EXTREME for i in sensitive} if policy.sensitive_extremes == "suppress" else {}

    reasons, protections = _primaries(structure, vec, spec, policy, register, extra)
    hidden = np.zeros(structure.n_cells, dtype=bool)
    if spec.margins and policy.secondary == "milp" and protections:
        bases = {k: v for k, v in vec.items() if k != "_tops"}
        hidden = solve_secondary(structure, bases=bases, protections=protections, cost=vec["count"] + 1.0,
                                 time_limit=policy.milp_time_limit)
        _verify(structure, bases, hidden, protections, spec.name)
    else:
        hidden[list(protections)] = True
    for i in np.flatnonzero(hidden):
        reasons.setdefault(int(i), _R.SECONDARY)

    values = frame.drop(columns=list(spec.top_cols)).copy()
    published = [spec.count_col, *spec.value_cols, *([spec.magnitude_col] if spec.magnitude_col else [])]
    for col in published:  # hidden cells become NaN, so numbers are floats
        if values[col].dtype.kind in "iub":
            values[col] = values[col].astype(float)
    flag_rows: list[dict[str, Any]] = []
    for r, i in enumerate(row_cell):
        levels_r = {d: frame.iloc[r][d] for d in dims}
        if hidden[i]:
            for col in published:
                values.iloc[r, values.columns.get_loc(col)] = np.nan
                reason = reasons[i] if col in (spec.count_col, spec.magnitude_col) else _R.DERIVED
                if col in spec.value_cols and reasons[i] in (_R.SENSITIVE_EXTREME, _R.DOMINANCE):
                    reason = reasons[i]
                flag_rows.append({**levels_r, "column": col, "reason": str(reason)})
        else:
            for col in sensitive.get(i, []):
                flag_rows.append({**levels_r, "column": col, "reason": str(_R.SENSITIVE_EXTREME)})
    flags = pd.DataFrame(flag_rows, columns=[*dims, "column", "reason"])
    margins_frame = _margins_frame(structure, vec, hidden, reasons, spec)
    if not (spec.margins and policy.secondary == "milp"):  # totals were not protected: offer none
        margins_frame = margins_frame.iloc[0:0]
    keys = [cell_key({d: lv for d, lv in zip(dims, structure.cells[i], strict=True) if lv is not TOTAL})
            for i in np.flatnonzero(hidden)]
    return ProtectedTable(values=values, flags=flags, margins=margins_frame, spec=spec, policy=policy,
                          register=register.with_cells(keys))


def _row_cells(frame: pd.DataFrame, structure: AdditiveStructure, spec: TableSpec) -> list[int]:
    out = []
    for row in frame[list(spec.by)].itertuples(index=False, name=None):
        cell = tuple(TOTAL if (spec.total_label is not None and v == spec.total_label) else v for v in row)
        out.append(structure.index[cell])
    return out


def _margins_frame(structure: AdditiveStructure, vec: dict[str, Any], hidden: np.ndarray,
                   reasons: dict[int, SuppressionReason], spec: TableSpec) -> pd.DataFrame:
    rows = []
    for i, cell in enumerate(structure.cells):
        if not structure.is_margin(i):
            continue
        row: dict[str, Any] = {d: lv for d, lv in zip(spec.by, cell, strict=True)}
        row[spec.count_col] = np.nan if hidden[i] else vec["count"][i]
        if spec.magnitude_col:
            row[spec.magnitude_col] = np.nan if hidden[i] else vec["magnitude"][i]
        row["reason"] = str(reasons[i]) if hidden[i] else ""
        rows.append(row)
    return pd.DataFrame(rows)


_EXTREME_NAMES = ("min", "max", "p0", "p1", "p99", "p100", "q0", "q100", "最小", "最大", "最高", "最低")


def _refuse_extreme_columns(spec: TableSpec) -> None:
    for col in spec.value_cols:
        low = str(col).lower()
        parts = low.replace("-", "_").split("_")
        if any(p in _EXTREME_NAMES for p in parts) or any(z in low for z in _EXTREME_NAMES[-4:]):
            msg = (f"disclosure: table {spec.name!r}: column {col!r} looks like a minimum, maximum or extreme "
                   "percentile of individuals, which is never published. Use "
                   "evalkit.disclosure.protected_quantiles for quartiles, or drop the column.")
            raise DisclosureError(msg)


def protect_tables(frames: Sequence[pd.DataFrame], *, specs: Sequence[TableSpec],
                   policy: DisclosurePolicy | None = None, register: SuppressionRegister | None = None,
                   max_rounds: int = 10) -> list[ProtectedTable]:
    """Protect tables that share cells (a community total in two tables) consistently.

    Each table is protected with the register of all cells hidden so far; rounds
    repeat until no table hides anything new, so a cell hidden in one table is
    hidden in every table that shows the same population.
    """
    policy = policy or DisclosurePolicy()
    base = register or SuppressionRegister()
    if len(frames) != len(specs):
        msg = f"protect_tables: {len(frames)} frames but {len(specs)} specs; give one spec per frame."
        raise DisclosureError(msg)
    own: list[frozenset] = [frozenset() for _ in frames]  # cells each table hid itself
    results: list[ProtectedTable] = []
    for _ in range(max_rounds):
        changed = False
        results = []
        for t, (frame, spec) in enumerate(zip(frames, specs, strict=True)):
            others = frozenset().union(*(own[u] for u in range(len(frames)) if u != t))
            out = _protect(frame, spec, policy, base.with_cells(others))
            hidden_here = out.register.cells - base.cells - others
            if hidden_here != own[t]:
                own[t] = hidden_here
                changed = True
            results.append(out)
        if not changed:
            break
    final = base.with_cells(frozenset().union(*own))
    return [evolve(r, register=final) for r in results]


def drawable(table: ProtectedTable) -> pd.DataFrame:
    """The only data a figure may draw: the protected values (hidden cells NaN).

    Raises :class:`DisclosureError` for anything that is not a :class:`ProtectedTable`
    (a raw DataFrame of respondents or unprotected cells).
    """
    if not isinstance(table, ProtectedTable):
        msg = (f"figures draw only from protected tables; got {type(table).__name__}. Pass the table "
               "through evalkit.disclosure.protect_table first.")
        raise DisclosureError(msg)
    return table.values.copy()
