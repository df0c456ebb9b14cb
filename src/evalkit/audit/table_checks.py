"""Checks on published tables: row-level data, names, small cells, extremes, dominance, recoverable cells.

A table is judged from what a reader sees: its header and cell text. Column
roles are recognised from exact header names (``n``, ``人数``, ``姓名``,
``respondent_id`` …) rather than substrings, so a column called ``n_clusters``
or ``最大权重`` is not mistaken for a count or an individual maximum.
Recoverable cells are found with the same linear algebra as
:func:`evalkit.disclosure.linearly_determined`, applied to the table's
suppression markers and its total row / column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from evalkit.audit.patterns import FindingKind, looks_like_person_name, normalise, safe_label
from evalkit.audit.sources import TableUnit
from evalkit.disclosure.secondary import TOTAL, additive_structure, linearly_determined

__all__ = ["check_table", "COUNT_HEADERS", "SUPPRESSION_MARKERS"]

K = FindingKind


def _norm(h: str) -> str:
    return normalise(h).strip().lower().replace(" ", "_")


COUNT_HEADERS = frozenset({"n", "count", "counts", "人数", "样本量", "样本数", "频数", "个案数", "人次", "户数",
                           "respondents", "n_respondents", "受访者人数", "受访者数", "样本人数", "frequency", "freq", "有效样本",
                           "有效样本量", "no._of_respondents"})
PERSON_ID_HEADERS = frozenset({"respondent_id", "resp_id", "person_id", "pid", "member_id", "user_id", "resident_id",
                               "household_id", "hh_id", "受访者编号", "问卷编号", "身份证号", "身份证号码", "证件号码",
                               "证件号", "户号", "居民编号", "个人编号", "id_number", "id_card", "idcard",
                               # records about one person each: requests, cases, service visits
                               "工单编号", "工单号", "个案编号", "服务记录编号", "记录编号", "ticket_id", "request_id",
                               "case_id", "record_id", "visit_id"})
NAME_HEADERS = frozenset({"姓名", "名字", "联系人", "户主", "户主姓名", "受访者姓名", "居民姓名", "申请人",
                          "name", "full_name", "respondent_name", "contact", "contact_name"})
EXTREME_HEADERS = frozenset({"min", "max", "minimum", "maximum", "最小值", "最大值", "最小", "最大", "最高",
                             "最低", "最高值", "最低值", "p0", "p100", "0%", "100%", "top_1", "top_2", "top1",
                             "top2", "largest", "最大贡献"})
TOTAL_LABELS = frozenset({"合计", "总计", "总体", "全部", "总数", "total", "all", "overall", "sum"})
SUPPRESSION_MARKERS = frozenset({"", "—", "–", "-", "--", "*", "**", "x", "s", "na", "n/a", "nan", "<na>", "none",
                                 "suppressed", "隐藏", "不公布", "..", "…"})
_LESS_THAN = re.compile(r"^[<≤]\s*\d+$")
_INT = re.compile(r"^[+-]?\d{1,12}$")


def _is_marker(text: str) -> bool:
    t = normalise(text).strip().lower()
    return t in SUPPRESSION_MARKERS or bool(_LESS_THAN.match(t))


def _as_int(text: str) -> int | None:
    t = normalise(text).strip().replace(",", "")
    if t.endswith(".0"):
        t = t[:-2]
    return int(t) if _INT.match(t) else None


def _as_float(text: str) -> float | None:
    try:
        return float(normalise(text).strip().replace(",", ""))
    except ValueError:
        return None


def _column(table: TableUnit, c: int) -> str:
    """Where a whole column is: the cell itself for a one-row table, else the column with its header."""
    if len(table.rows) == 1:
        return table.ref(0, c)
    name = safe_label(table.header[c], "") if c < len(table.header) else ""
    return f"{table.location} column {c + 1}" + (f" ({name})" if name else "")


def check_table(table: TableUnit, *, min_count: int = 10,
                dominance_share: float = 0.85) -> Iterator[tuple[str, FindingKind, int]]:
    """Yield ``(location, kind, count)`` for every problem in ``table``; never a value."""
    headers = [_norm(h) for h in table.header]
    rows = table.rows
    n_rows = len(rows)
    # row-level tables: a person identifier column, or counts that are mostly 1
    for c, h in enumerate(headers):
        if h in PERSON_ID_HEADERS and n_rows >= 2:
            ids = [r[c] for r in rows if c < len(r) and r[c].strip()]
            if len(ids) >= 2 and len(set(ids)) >= 0.9 * len(ids):
                yield _column(table, c), K.ROW_LEVEL_TABLE, n_rows
        if h in NAME_HEADERS:
            hits = [r for r in range(n_rows) if c < len(rows[r]) and looks_like_person_name(rows[r][c])]
            if hits and (h not in ("name", "contact") or len(hits) >= max(1, n_rows // 2)):
                yield table.ref(hits[0], c), K.PERSON_NAME, len(hits)
    for c, h in enumerate(headers):
        if h not in COUNT_HEADERS:
            continue
        values = [_as_int(r[c]) if c < len(r) else None for r in rows]
        small = [r for r, v in enumerate(values) if v is not None and 0 < v < min_count]
        if small:
            yield table.ref(small[0], c), K.SMALL_CELL, len(small)
        ints = [v for v in values if v is not None]
        if len(ints) >= 5 and sum(v == 1 for v in ints) >= 0.5 * len(ints):
            yield _column(table, c), K.ROW_LEVEL_TABLE, len(ints)
    # minima, maxima, largest contributions: as headers or as row labels (pandas describe())
    for c, h in enumerate(headers):
        if h in EXTREME_HEADERS and any(_as_float(r[c]) is not None for r in rows if c < len(r)):
            yield _column(table, c), K.EXTREME_STATISTIC, 1
    for r, row in enumerate(rows):
        if row and _norm(row[0]) in EXTREME_HEADERS and any(_as_float(v) is not None for v in row[1:]):
            yield table.ref(r, 0), K.EXTREME_STATISTIC, 1
    yield from _dominance(table, headers, dominance_share)
    yield from _recoverable(table, headers)


def _dominance(table: TableUnit, headers: list[str], share: float) -> Iterator[tuple[str, FindingKind, int]]:
    tops = [c for c, h in enumerate(headers) if h in ("top_1", "top_2", "top1", "top2")]
    totals = [c for c, h in enumerate(headers) if h in ("total", "合计", "总额", "总时长", "总计", "sum")]
    if len(tops) < 2 or not totals:
        return
    bad = []
    for r, row in enumerate(table.rows):
        t1, t2, tot = (_as_float(row[tops[0]]), _as_float(row[tops[1]]), _as_float(row[totals[0]]))
        if None not in (t1, t2, tot) and tot > 0 and t1 + t2 > share * tot:  # type: ignore[operator]
            bad.append(r)
    if bad:
        yield table.ref(bad[0], totals[0]), K.DOMINANCE, len(bad)


def _recoverable(table: TableUnit, headers: list[str]) -> Iterator[tuple[str, FindingKind, int]]:
    """Suppressed cells that the published cells and a total row / column pin down."""
    rows = table.rows
    if len(rows) < 2 or len(headers) < 2:
        return
    total_rows = [r for r, row in enumerate(rows) if row and _norm(row[0]) in TOTAL_LABELS]
    total_col = next((c for c, h in enumerate(headers) if c > 0 and h in TOTAL_LABELS), None)
    if not total_rows and total_col is None:
        return
    value_cols = []
    for c in range(1, len(headers)):
        if c == total_col:
            continue
        cells = [row[c] if c < len(row) else "" for row in rows]
        if all(_as_int(v) is not None or _is_marker(v) for v in cells) and any(_as_int(v) is not None for v in cells):
            value_cols.append(c)
    if not value_cols:
        return
    body = [r for r in range(len(rows)) if r not in total_rows]
    total_row = total_rows[0] if total_rows else None
    if len(body) * len(value_cols) > _MAX_EXACT_CELLS:
        yield from _recoverable_by_lines(table, rows, body, value_cols, total_row, total_col)
        return
    st = additive_structure(["row", "col"], [body, value_cols])
    values = np.zeros(st.n_cells)
    hidden = np.zeros(st.n_cells, dtype=bool)
    marker_cells: dict[int, tuple[int, int]] = {}
    for i, (r, c) in enumerate(st.cells):
        rr = total_row if r is TOTAL else r
        cc = total_col if c is TOTAL else c
        if rr is None or cc is None:
            hidden[i] = True  # a margin the table does not show: unknown to a reader
            continue
        text = rows[rr][cc] if cc < len(rows[rr]) else ""
        v = _as_int(text)
        if v is None:
            if not _is_marker(text):
                return
            hidden[i] = True
            marker_cells[i] = (rr, cc)
        else:
            values[i] = v
    if not marker_cells:
        return
    # only additive tables: every fully published relation must hold exactly
    a = st.relations.toarray()
    for rel in a:
        support = rel != 0
        if not hidden[support].any() and abs(rel @ values) > 0.5:
            return
    determined = linearly_determined(st, hidden)
    hits = [marker_cells[i] for i in marker_cells if determined[i]]
    if hits:
        r, c = min(hits)
        yield table.ref(r, c), K.RECOVERABLE_CELL, len(hits)


_MAX_EXACT_CELLS = 3000


def _recoverable_by_lines(table: TableUnit, rows: tuple[tuple[str, ...], ...], body: list[int],
                          value_cols: list[int], total_row: int | None, total_col: int | None
                          ) -> Iterator[tuple[str, FindingKind, int]]:
    """Large tables: the common case only, one hidden cell alone in a row or column with a published total."""
    def text(r: int, c: int) -> str:
        return rows[r][c] if c < len(rows[r]) else ""

    hits: set[tuple[int, int]] = set()
    if total_col is not None:
        for r in body:
            marked = [c for c in value_cols if _as_int(text(r, c)) is None]
            if len(marked) == 1 and _as_int(text(r, total_col)) is not None:
                hits.add((r, marked[0]))
    if total_row is not None:
        for c in value_cols:
            marked_rows = [r for r in body if _as_int(text(r, c)) is None]
            if len(marked_rows) == 1 and _as_int(text(total_row, c)) is not None:
                hits.add((marked_rows[0], c))
    if hits:
        r, c = min(hits)
        yield table.ref(r, c), K.RECOVERABLE_CELL, len(hits)
