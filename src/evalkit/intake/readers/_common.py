"""What every format reader shares: the :class:`RawTable` they return, and the row and column logic.

This module owns the result type (:class:`RawTable`), the per-file problem
collector, the format table (:data:`FORMATS`) and the Excel error literals
(:data:`EXCEL_ERRORS`), and the checks that do not depend on the format:
finding the header row below title rows, naming columns (duplicate, blank,
garbled or space-padded headers), dropping blank and totals rows
(合计/总计/小计/Total), Excel error values, garbled text (mojibake) in cells,
and ids stored as numbers. It does not rename columns, convert types or apply
the codebook: that is ``intake.validate`` and ``intake.load``.

Everything wrong that does not stop reading becomes a :class:`Problem`, so one
run reports every problem of a file. Only files that cannot be read at all
(missing, empty, wrong format) raise :class:`~evalkit.errors.IntakeError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from attrs import define, field, frozen

from evalkit.errors import IntakeError
from evalkit.intake import encoding as enc
from evalkit.intake.problems import Problem, Severity, format_rows, format_values

#: file extension → format
FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".sav": "sav", ".zsav": "sav",
    ".dta": "dta",
    ".parquet": "parquet", ".pq": "parquet",
}
#: error values Excel/WPS write into cells and CSV exports
EXCEL_ERRORS: tuple[str, ...] = (
    "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA",
)
_TOTALS_RE = (
    r"\s*(?:合\s*计|总\s*计|小\s*计|共\s*计|累\s*计|total|totals|sub\s*-?\s*total|grand\s*total|sum)"
    r"\s*[:：]?\s*"
)
_HEADER_SCAN = 30  # rows searched for the header (title rows above it are common)
_RESAVE = "Open it in Excel/WPS and save it as .xlsx (文件 → 另存为 → Excel 工作簿 *.xlsx)"


@frozen(eq=False)
class RawTable:
    """The cells of one raw file, as read, plus everything noticed while reading.

    ``frame`` has the file's header names as columns (duplicates disambiguated
    ``x.1`` internally, and reported). ``row_numbers[i]`` is the row the user
    sees for ``frame.iloc[i]``: the CSV line where the record starts (header =
    1), the Excel sheet row, or the 1-based case number of sav/dta/parquet.
    """

    frame: pd.DataFrame
    file: str
    format: str
    row_numbers: np.ndarray
    sheet: str | None = None
    encoding: str | None = None
    variable_labels: dict[str, str] = field(factory=dict)
    value_labels: dict[str, dict[float, str]] = field(factory=dict)
    missing_codes: dict[str, list[float]] = field(factory=dict)
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


@define
class _Sink:
    """Collects the problems of one file; knows how to say where."""

    file: str
    sheet: str | None = None
    problems: list[Problem] = field(factory=list)

    @property
    def where(self) -> str:
        return f'{self.file}, sheet "{self.sheet}"' if self.sheet else self.file

    def add(self, check: str, message: str, severity: Severity = "error", *,
            column: str | None = None, rows: Sequence[int] = (), values: Sequence[object] = ()) -> None:
        self.problems.append(Problem(
            self.file, check, message, severity, column,
            tuple(int(r) for r in rows), tuple(str(v) for v in values), self.sheet,
        ))


def _read_bytes(p: Path, file: str, n: int = -1) -> bytes:
    """The file's bytes (the first ``n``), opened read-only."""
    try:
        with p.open("rb") as fh:
            return fh.read(n)
    except PermissionError as exc:
        msg = f"{file}: cannot open the file ({exc.strerror}). Close it in Excel/WPS and run again."
        raise IntakeError(msg) from exc


def _col_letter(n: int) -> str:
    """1 → A, 27 → AA."""
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _lines(rows: Sequence[int]) -> str:
    return format_rows(rows).replace("row", "line")


# --------------------------------------------------------------------------- shared row/column logic


def _pick_header(rows: Sequence[Sequence[object]], expected: tuple[str, ...]) -> tuple[int | None, int]:
    """Index of the header row among ``rows`` and its score (# expected names it holds).

    The first row holding at least half of the expected names wins; otherwise
    the best-scoring row; with no expected names, the first non-empty row.
    """
    wanted = {e.strip() for e in expected if e and e.strip()}
    first = best = None
    best_score = 0
    for i, row in enumerate(rows):
        cells = {_header_name(v).strip() for v in row if _header_name(v) is not None}
        if not cells:
            continue
        first = i if first is None else first
        score = len(cells & wanted)
        if wanted and score >= len(wanted) / 2:
            return i, score
        if score > best_score:
            best, best_score = i, score
    return (best if best is not None else first), best_score


def _header_name(v: object) -> str | None:
    """A header cell as text (None when blank)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat() if v == datetime.combine(v.date(), datetime.min.time()) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    s = str(v)
    return s if s.strip() else None


def _name_columns(grid: pd.DataFrame, header: list[str | None], sink: _Sink,
                  *, letters: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    """Give the positional ``grid`` its header names; report duplicate and garbled names.

    Columns with a blank header get an internal name ``Unnamed: D``; they are
    returned with their positions for :func:`_blank_headers`, which runs after
    totals rows are gone (a note beside a totals row is not a column).
    """
    where = sink.where
    header = header + [None] * (grid.shape[1] - len(header))
    keep: list[int] = []
    names: list[str] = []
    blanks: dict[str, int] = {}
    for i, name in enumerate(header):
        if name is None:
            if not grid[i].notna().any():
                continue  # an empty column without a header: nothing to read
            name = f"Unnamed: {_col_letter(i + 1)}"
            blanks[name] = i
        keep.append(i)
        names.append(name)
    # duplicates (pandas would silently rename them x.1)
    seen: dict[str, list[int]] = {}
    for i, name in zip(keep, names):
        seen.setdefault(name, []).append(i)
    taken = set(names)
    for name, positions in seen.items():
        if len(positions) < 2:
            continue
        nums = " and ".join(str(i + 1) for i in positions)
        abc = " and ".join(_col_letter(i + 1) for i in positions)
        listed = f"columns {abc}" if letters else f"columns {nums}, i.e. {abc} in Excel"
        sink.add("duplicate_header", (
            f"{where}: the header '{name}' appears {len(positions)} times ({listed}). "
            "Each column needs its own name; rename or delete the repeated column."
        ), column=name)
        for k, i in enumerate(positions[1:], 1):
            alias = f"{name}.{k}"
            while alias in taken:
                alias += "_"
            taken.add(alias)
            names[keep.index(i)] = alias
    spaced = [n for n in names if n != n.strip() or "\n" in n]
    if spaced:
        sink.add("header_whitespace", (
            f"{where}: header(s) {', '.join(repr(n) for n in spaced)} contain a line break or "
            "spaces at the ends; they were kept as written. Remove them to avoid surprises."
        ), "warning", values=spaced)
    bad = [n for n in names if enc.mojibake_fragments(n)]
    if enc.looks_like_utf8_read_as_gbk(names):
        bad += [n for n in names if enc.recover_utf8_read_as_gbk(n) and n not in bad]
    if bad:
        listed = ", ".join(repr(n) for n in bad)
        sink.add("mojibake", f"{where}: header(s) {listed} are garbled. {enc.MOJIBAKE_FIX}", values=bad)
    frame = grid[keep]
    frame.columns = names
    return frame, blanks


def _blank_headers(frame: pd.DataFrame, rows: np.ndarray, blanks: dict[str, int], sink: _Sink, *,
                   letters: bool, merged_cols: frozenset[int] = frozenset()) -> pd.DataFrame:
    """Report columns that have data but no header; drop those left empty."""
    empty = []
    for name, i in blanks.items():
        has = frame[name].notna().to_numpy()
        if not has.any():
            empty.append(name)
        elif i not in merged_cols:  # a merged header is reported as such
            place = f"column {_col_letter(i + 1)}" if letters else f"column {i + 1} (Excel {_col_letter(i + 1)})"
            sink.add("blank_header", (
                f"{sink.where}, {place}: the header cell is blank but the column has data "
                f"({format_rows(rows[has])}). Type a column name into the header, or delete the column."
            ), column=name, rows=rows[has])
    return frame.drop(columns=empty) if empty else frame


def _text_view(s: pd.Series) -> pd.Series | None:
    """The string cells of a column (others NA), or None if it holds no strings."""
    if pd.api.types.is_string_dtype(s) and s.dtype != object:
        return s
    if s.dtype != object:
        return None
    is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not is_str.any():
        return None
    return s.where(is_str).astype("str")


def _totals_mask(text: pd.Series) -> np.ndarray:
    """True where a cell says 合计/总计/小计/Total …; a fast regex pre-filter first."""
    cand = text.str.contains(r"计|(?i:total|sum)", regex=True, na=False).to_numpy(dtype=bool)
    out = np.zeros(len(text), dtype=bool)
    if cand.any():
        out[cand] = text[cand].str.fullmatch(_TOTALS_RE, case=False, na=False).to_numpy(dtype=bool)
    return out


def _tidy_rows(frame: pd.DataFrame, rows: np.ndarray, sink: _Sink, ids: tuple[str, ...],
               never_blank: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop blank rows (warning unless trailing) and totals rows (warning)."""
    n = len(frame)
    blank = frame.isna().all(axis=1).to_numpy(copy=True)
    if never_blank is not None:
        blank = blank & ~never_blank
    where = sink.where
    drop = blank.copy()
    if n and blank.any():
        last = np.flatnonzero(~blank)
        inner = blank & (np.arange(n) < (last[-1] if last.size else -1))
        if inner.any():
            msg = f"{where}: {int(inner.sum())} empty row(s) were skipped ({format_rows(rows[inner])})."
            sink.add("blank_rows", msg, "warning", rows=rows[inner])
    id_cols = [c for c in ids if c in frame.columns]
    if n and id_cols:
        totals = np.zeros(n, dtype=bool)
        said: dict[int, str] = {}
        for c in id_cols:
            text = _text_view(frame[c])
            if text is not None:
                hit = _totals_mask(text)
                totals |= hit
                said.update({int(i): str(text.iloc[i]) for i in np.flatnonzero(hit)})
        no_id = frame[id_cols].isna().all(axis=1).to_numpy() & ~blank
        cand = np.flatnonzero(no_id & ~totals)
        if cand.size:  # a row without id but with 合计 elsewhere (e.g. in the name column)
            sub = frame.iloc[cand]
            for c in frame.columns:
                text = _text_view(sub[c])
                if text is not None:
                    hit = _totals_mask(text)
                    totals[cand[hit]] = True
                    said.update({int(i): str(v) for i, v in zip(cand[hit], text[hit])})
            has_id = np.flatnonzero(~no_id & ~blank)
            if has_id.size:  # rows after the last id: a sum row or notes (注：…)
                totals |= no_id & (np.arange(n) > has_id[-1])
        if totals.any():
            shown = [said.get(int(i), "(no id)") for i in np.flatnonzero(totals)]
            cols = ", ".join(repr(c) for c in id_cols)
            sink.add("totals_row", (
                f"{where}: {int(totals.sum())} totals/notes row(s) were dropped "
                f"({format_rows(rows[totals])}; {cols}: {format_values(shown)}). "
                "Totals are recomputed from the data; delete such rows from the file to silence this."
            ), "warning", column=id_cols[0], rows=rows[totals], values=shown)
            drop |= totals
    if drop.any():
        frame = frame.loc[~drop].reset_index(drop=True)
        rows = rows[~drop]
    return frame, rows


def _excel_errors(frame: pd.DataFrame, rows: np.ndarray, sink: _Sink) -> pd.DataFrame:
    """Report Excel error values (#N/A, #DIV/0! …) per column; they become NA."""
    for c in frame.columns:
        text = _text_view(frame[c])
        if text is None:
            continue
        hit = text.isin(EXCEL_ERRORS).to_numpy(dtype=bool)
        if not hit.any():
            continue
        found = sorted(set(text[hit]))
        sink.add("excel_error", (
            f"{sink.where}, column '{c}': {int(hit.sum())} cell(s) hold the Excel error value "
            f"{', '.join(found)} ({format_rows(rows[hit])}); they were read as missing. "
            "Fix the formula (or type the value) in Excel/WPS and export again."
        ), column=str(c), rows=rows[hit], values=found)
        frame[c] = frame[c].mask(hit)
    return frame


def _mojibake_cells(frame: pd.DataFrame, rows: np.ndarray, sink: _Sink, *, regex: bool = True) -> None:
    """Report garbled text per column (fragments only, never whole cells)."""
    for c in frame.columns:
        text = _text_view(frame[c])
        if text is None:
            continue
        hit = enc.mojibake_mask(text) if regex else np.zeros(len(text), dtype=bool)
        kind = ""
        if not hit.any():
            sample = text.iloc[:2000]
            values = sample.dropna()
            if enc.looks_like_utf8_read_as_gbk(values.tolist()):
                pos = np.flatnonzero(sample.notna().to_numpy())
                ok = np.array([enc.recover_utf8_read_as_gbk(v) is not None for v in values], dtype=bool)
                hit[pos[ok]] = True
                kind = " (UTF-8 text that was opened as GBK and saved again, e.g. 你好 → 浣犲ソ)"
        if not hit.any():
            continue
        frags = sorted({f for v in text[hit].iloc[:50] for f in enc.mojibake_fragments(v)})[:5]
        shown = f"; e.g. {', '.join(repr(f) for f in frags)}" if frags else ""
        sink.add("mojibake", (
            f"{sink.where}, column '{c}': {int(hit.sum())} cell(s) look garbled{kind} "
            f"({format_rows(rows[hit])}{shown}). {enc.MOJIBAKE_FIX}"
        ), column=str(c), rows=rows[hit], values=frags)


def _id_numbers(frame: pd.DataFrame, rows: np.ndarray, sink: _Sink, ids: tuple[str, ...]) -> None:
    """Warn where an id column holds numbers: leading zeros may already be gone."""
    for c in ids:
        if c not in frame.columns:
            continue
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num = s.notna().to_numpy()
        elif s.dtype == object:
            num = s.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                        and not pd.isna(v)).to_numpy(dtype=bool)
        else:
            continue
        if num.any():
            sink.add("id_as_number", (
                f"{sink.where}, column '{c}': {int(num.sum())} id(s) are stored as numbers, not text "
                f"({format_rows(rows[num])}; e.g. {format_values(s[num].iloc[:3])}). Leading zeros "
                "(0012) may already have been lost. In Excel/WPS format the column as 文本 (Text) "
                "and re-enter the ids, or check them against the original list."
            ), "warning", column=c, rows=rows[num], values=[str(v) for v in s[num].iloc[:5]])


def _no_rows(frame: pd.DataFrame, sink: _Sink) -> None:
    if len(frame) == 0:
        sink.add("no_data_rows", f"{sink.where}: no data rows (only a header, or every row empty). "
                 "Check that this is the right file and that the export included the data.")
