"""Raw-file readers: one per format, each returning a :class:`RawTable`.

This module owns getting a file's cells into a DataFrame *without losing or
inventing anything*, and knowing for every row which row the user sees in the
source (CSV line, Excel sheet row, SPSS/Stata case number). It does not rename
columns, convert types or apply the codebook: that is ``intake.validate`` and
``intake.load``. It never writes to the input file.

Everything wrong that does not stop reading becomes a :class:`Problem`, so one
run reports every problem of a file. Only files that cannot be read at all
(missing, empty, wrong format) raise :class:`~evalkit.errors.IntakeError`.

Formats and what is hand-written, and why:

* **CSV** (pyarrow's CSV parser, every cell as text, only "" is missing):
  encoding detection is in :mod:`evalkit.intake.encoding` (see there why). No
  CSV parser tells which physical line a record started on (quoted values may
  span lines) or how many fields a short row had (pandas pads silently), and
  pandas renames duplicate headers ``x.1``. So record boundaries, field counts
  and line numbers are computed here with numpy from quote parity in one
  vectorised pass; pyarrow parses the well-formed records (about 3x faster
  than pandas' C parser, which spends most of its time building Python strings)
  and the ``csv`` module the few malformed ones. When a file defeats the
  parity rule (stray quotes, bare-CR line ends) the ``csv`` module does the
  whole file, slower but exact.
* **xlsx** (openpyxl, read-only, cached values): picking the data sheet and the
  header row, and the uncached-formula check, are ours; openpyxl returns
  ``None`` both for an empty cell and for a formula whose result was never
  calculated, so formulas are read in a second pass only when the sheet has any.
  Read-only mode does not expose merged ranges, so they are read from the
  sheet's XML (``<mergeCell ref=...>``, located via the workbook's relationships).
* **sav / dta** (pyreadstat): declared user-missing codes are kept
  (``user_missing=True``); old Stata files (format ≤ 117) written on Chinese
  Windows store GB18030 bytes that readstat decodes as Latin-1, which is
  detected and re-read (pyreadstat's ``encoding=``). Stata extended missing
  values (.a–.z) become NA.
* **parquet** (pyarrow): read as is.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from difflib import get_close_matches
from os import PathLike
from pathlib import Path
from posixpath import join as zip_join
from posixpath import normpath as zip_normpath
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from attrs import define, field, frozen

from evalkit.errors import IntakeError
from evalkit.intake import encoding as enc
from evalkit.intake.problems import Problem, Severity, format_rows, format_values

__all__ = ["RawTable", "read_raw", "EXCEL_ERRORS", "FORMATS"]

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


def read_raw(
    path: str | PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the documented argument name
    sheet: str | None = None,
    encoding: str | None = None,
    expected_columns: Sequence[str] = (),
    id_columns: Sequence[str] = (),
) -> RawTable:
    """Read one raw file into a :class:`RawTable`; never modifies the file.

    Parameters
    ----------
    path
        The file; messages name it exactly as given.
    format
        ``"csv"``, ``"xlsx"``, ``"sav"``, ``"dta"`` or ``"parquet"``; default: from
        the extension.
    sheet
        Excel sheet; default: the sheet whose header matches most of
        ``expected_columns``.
    encoding
        Text encoding of a CSV (or sav/dta); default: detected.
    expected_columns
        Header names the caller expects; used to pick the sheet and to find the
        header row below title rows.
    id_columns
        Columns whose value ``合计``/``总计``/``小计``/``Total`` marks a totals row
        (dropped, with a warning), and which should hold text ids.

    Raises
    ------
    IntakeError
        The file is missing, empty, of an unknown format or not what its
        extension says. Every other problem is returned in ``problems``.
    """
    p = Path(path)
    file = str(path)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            msg = (f"{file}: unknown text encoding {encoding!r} in study.yaml; use utf-8, gbk or "
                   "gb18030, or remove `encoding:` to have it detected.")
            raise IntakeError(msg) from None
    fmt = _resolve_format(p, file, format)
    _check_readable(p, file)
    expected = tuple(expected_columns)
    ids = tuple(id_columns)
    if fmt == "csv":
        return _read_csv(p, file, encoding, expected, ids)
    if fmt == "xlsx":
        return _read_xlsx(p, file, sheet, expected, ids)
    if fmt in ("sav", "dta"):
        return _read_stat(p, file, fmt, encoding, ids)
    return _read_parquet(p, file, ids)


# --------------------------------------------------------------------------- file checks


def _resolve_format(p: Path, file: str, format: str | None) -> str:  # noqa: A002
    allowed = sorted(set(FORMATS.values()))
    if format is not None:
        if format not in allowed:
            msg = f"{file}: unknown format {format!r}; use one of {', '.join(allowed)}."
            raise IntakeError(msg)
        return format
    ext = p.suffix.lower()
    if ext == ".xls":
        msg = f"{file}: old Excel 97–2003 (.xls) files are not read. {_RESAVE}."
        raise IntakeError(msg)
    if ext not in FORMATS:
        msg = (
            f"{file}: unknown file type {ext or '(no extension)'!r}; evalkit reads "
            f"{', '.join(FORMATS)}. Rename the file or give `format:` in study.yaml."
        )
        raise IntakeError(msg)
    return FORMATS[ext]


def _check_readable(p: Path, file: str) -> None:
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            near = get_close_matches(p.name, [q.name for q in p.parent.iterdir()], n=3)
            hint = f" Files with similar names there: {', '.join(near)}." if near else ""
        msg = (f"{file}: file not found (looked in {p.parent.resolve()}).{hint} Check the path in "
               "study.yaml; paths are relative to study.yaml.")
        raise IntakeError(msg)
    if not p.is_file():
        msg = f"{file}: is a folder, not a file. Give the path of the data file itself."
        raise IntakeError(msg)
    if p.stat().st_size == 0:
        msg = f"{file}: the file is empty (0 bytes). Export the data again; the export probably failed."
        raise IntakeError(msg)


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


# --------------------------------------------------------------------------- CSV


@frozen
class _Records:
    """Record structure of a CSV text: one entry per record (header included)."""

    lines: np.ndarray  # physical line where the record starts
    n_fields: np.ndarray
    blank: np.ndarray  # empty line


def _read_csv(p: Path, file: str, declared: str | None, expected: tuple[str, ...],
              ids: tuple[str, ...]) -> RawTable:
    sink = _Sink(file)
    data = _read_bytes(p, file)
    if data.startswith(b"PK\x03\x04"):
        msg = (f"{file}: this is an Excel workbook (.xlsx), not a CSV. Rename it to .xlsx or give "
               "`format: xlsx`.")
        raise IntakeError(msg)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        msg = f"{file}: this is an old Excel (.xls) workbook, not a CSV. {_RESAVE}."
        raise IntakeError(msg)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data:
        nul = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        if nul.size > 0.2 * len(data):
            msg = (f"{file}: looks like UTF-16 text without a byte-order mark (Excel 'Unicode 文本'). "
                   "Save it again as 'CSV UTF-8（逗号分隔）'.")
            raise IntakeError(msg)
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        lines = np.unique(np.searchsorted(newlines, nul) + 1)
        sink.add("nul_bytes", (
            f"{file}: {nul.size} NUL byte(s) (\\0) on {_lines(lines)}; they were removed to read the "
            "rest. NUL bytes come from a broken export or a damaged file; export the data again."
        ), rows=lines)
        data = data.replace(b"\x00", b"")
    decoded = enc.decode_text(data, file=file, declared=declared)
    sink.problems.extend(decoded.problems)
    if decoded.encoding == "utf-8" and not decoded.problems:
        buf = data
    elif decoded.encoding == "utf-8-sig":
        buf = data[3:]
    else:
        buf = decoded.text.encode("utf-8")
    delim = _delimiter(buf, p.suffix.lower())
    parsed = _csv_fast(buf, delim, expected, file)
    grid, recs, h, header = parsed or _csv_python(buf.decode("utf-8"), delim, expected, sink)
    n_head = int(recs.n_fields[h])
    if h > 0 and not recs.blank[:h].all():
        msg = f"{file}: the header is on line {recs.lines[h]}; line(s) above it were skipped as a title."
        sink.add("title_rows", msg, "warning", rows=recs.lines[:h])
    lines = recs.lines[h + 1:]
    nf = recs.n_fields[h + 1:]
    blank = recs.blank[h + 1:]
    _field_counts(grid, lines, nf, blank, n_head, sink)
    grid = grid.iloc[:, :n_head]
    frame, blanks = _name_columns(grid, header, sink, letters=False)
    frame, rows = _tidy_rows(frame, lines, sink, ids)
    frame = _blank_headers(frame, rows, blanks, sink, letters=False)
    if b"#" in buf:
        frame = _excel_errors(frame, rows, sink)
    _mojibake_cells(frame, rows, sink, regex=enc.may_contain_mojibake(buf))
    _no_rows(frame, sink)
    return RawTable(frame, file, "csv", rows.astype(np.int64), None, decoded.encoding,
                    problems=tuple(sink.problems))


def _delimiter(buf: bytes, ext: str) -> str:
    if ext == ".tsv":
        return "\t"
    head = buf[:65536]
    counts = {d: head.count(d.encode()) for d in (",", "\t", ";")}
    if counts[","] == 0 and max(counts.values()) > 0:
        return max(counts, key=counts.__getitem__)
    return ","


_Parsed = tuple[pd.DataFrame, _Records, int, list[str | None]]


def _csv_fast(buf: bytes, delim: str, expected: tuple[str, ...], file: str) -> _Parsed | None:
    """Record structure by quote parity (numpy) + values by pyarrow's CSV parser.

    A newline or delimiter is structural when an even number of quote characters
    precede it. Returns None when that view and the parser disagree (stray
    quotes, bare-CR line ends); the caller then falls back to the ``csv`` module.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    all_nl = np.flatnonzero(arr == 10)
    quotes = np.flatnonzero(arr == 34)
    if quotes.size % 2:
        return None
    dl = np.flatnonzero(arr == ord(delim))
    nl = all_nl
    if quotes.size:
        nl = all_nl[(np.searchsorted(quotes, all_nl) & 1) == 0]
        dl = dl[(np.searchsorted(quotes, dl) & 1) == 0]
    ends = nl if (buf and buf[-1] == 10) else np.append(nl, len(buf))
    starts = np.concatenate(([0], nl + 1))[: len(ends)]
    n_fields = np.searchsorted(dl, ends) - np.searchsorted(dl, starts) + 1
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (arr[np.minimum(starts, max(len(arr) - 1, 0))] == 13))
    recs = _Records(np.searchsorted(all_nl, starts) + 1, n_fields, blank)
    head_rows = [_split_record(buf, starts[i], ends[i], delim)
                 for i in range(min(_HEADER_SCAN, len(starts)))]
    h, _ = _pick_header(head_rows, expected)
    if h is None:
        msg = f"{file}: the file holds no text (only blank lines). Export the data again."
        raise IntakeError(msg)
    header = [f if f.strip() else None for f in head_rows[h]]
    n_head = int(n_fields[h])
    if len(head_rows[h]) != n_head:
        return None
    n_body = len(starts) - h - 1
    nf, bl = n_fields[h + 1:], blank[h + 1:]
    width = int(max(nf.max(initial=n_head), n_head))
    good = nf == n_head
    body = memoryview(buf)[int(starts[h + 1]):] if n_body else b""
    grid = _arrow_rows(body, delim, n_head, int((~good).sum()))
    if grid is None or len(grid) != int(good.sum()):
        return None
    if good.all():
        return grid, recs, h, header
    # rows with another field count (few, as a rule): the csv module parses them, which
    # also confirms the field counts computed above
    grid = grid.set_axis(np.flatnonzero(good)).reindex(range(n_body))
    for k in range(n_head, width):
        grid[k] = pd.Series(np.nan, index=grid.index, dtype="str")
    other = np.flatnonzero(~good & ~bl)
    fields = [_split_record(buf, starts[j + h + 1], ends[j + h + 1], delim) for j in other]
    if any(len(f) != nf[j] for f, j in zip(fields, other)):
        return None
    if len(other):
        block = pd.DataFrame([f + [""] * (width - len(f)) for f in fields], dtype="str")
        grid.iloc[other] = block.mask(block == "").to_numpy()
    return grid, recs, h, header


def _arrow_rows(body: bytes | memoryview, delim: str, n_head: int, n_skip: int) -> pd.DataFrame | None:
    """Parse the records with exactly ``n_head`` fields (pyarrow, every cell as text, "" → NA).

    Records with another field count are skipped here and counted; None if that
    count is not ``n_skip`` or pyarrow cannot parse the text.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [str(i) for i in range(n_head)]
    if not len(body):
        return pd.DataFrame({i: pd.Series(dtype="str") for i in range(n_head)})
    skipped = 0

    def skip(_row: object) -> str:
        nonlocal skipped
        skipped += 1
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(body),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(
                delimiter=delim, quote_char='"', double_quote=True, newlines_in_values=True,
                ignore_empty_lines=False, invalid_row_handler=skip),
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.string() for n in names}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if skipped != n_skip:
        return None
    grid = table.to_pandas()
    grid.columns = list(range(n_head))
    return grid.astype("str") if not all(d == "str" for d in grid.dtypes) else grid


def _split_record(buf: bytes, start: int, end: int, delim: str) -> list[str]:
    text = buf[start:end].decode("utf-8", errors="replace")
    text = text[:-1] if text.endswith("\r") else text
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    return rows[0] if rows else []


def _csv_python(text: str, delim: str, expected: tuple[str, ...], sink: _Sink) -> _Parsed:
    """Exact but slower: the ``csv`` module tracks physical lines itself."""
    file = sink.file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records: list[list[str]] = []
    lines: list[int] = []
    prev = 0
    try:
        for rec in reader:
            lines.append(prev + 1)
            prev = reader.line_num
            records.append(rec)
    except csv.Error as exc:
        msg = (f"{file}: line {prev + 1} cannot be parsed ({exc}); usually an opening double quote "
               "without its closing quote. Fix that line in a text editor.")
        raise IntakeError(msg) from exc
    if records and prev > lines[-1] and text.count('"') % 2:
        # the last record runs over several lines to the end of the file: an open quote
        sink.add("unterminated_quote", (
            f"{file}: a double quote on line {lines[-1]} opens a value that is never closed, so "
            f"lines {lines[-1]}–{prev} were read as one value. Close the quote or remove it "
            "(in a text editor), or export the file again."
        ), rows=[lines[-1]])
    n_fields = np.array([max(len(r), 1) for r in records], dtype=np.int64)
    blank = np.array([len(r) == 0 for r in records], dtype=bool)
    h, _ = _pick_header(records[:_HEADER_SCAN], expected)
    if h is None:
        msg = f"{file}: the file holds no text (only blank lines). Export the data again."
        raise IntakeError(msg)
    width = max(len(r) for r in records[h:])
    body = [r + [""] * (width - len(r)) for r in records[h + 1:]]
    grid = pd.DataFrame(body, columns=list(range(width)), dtype="str") if body else \
        pd.DataFrame({i: pd.Series(dtype="str") for i in range(width)})
    grid = grid.mask(grid == "")
    header = [f if f.strip() else None for f in records[h]]
    return grid, _Records(np.array(lines, dtype=np.int64), n_fields, blank), h, header


def _field_counts(grid: pd.DataFrame, lines: np.ndarray, nf: np.ndarray, blank: np.ndarray,
                  n_head: int, sink: _Sink) -> None:
    short = (nf < n_head) & ~blank
    if short.any():
        sink.add("field_count", (
            f"{sink.file}: {int(short.sum())} line(s) have fewer fields than the header's {n_head} "
            f"({_lines(lines[short])}; found {format_values(sorted(set(nf[short].tolist())))} field(s)). "
            "The values on these lines are probably shifted; check them in a text editor "
            "(a line break inside a value must be in double quotes)."
        ), rows=lines[short], values=sorted(set(nf[short].tolist())))
    long = nf > n_head
    if long.any():
        extra = grid.iloc[:, n_head:].notna().any(axis=1).to_numpy() & long
        if extra.any():
            sink.add("field_count", (
                f"{sink.file}: {int(extra.sum())} line(s) have more fields than the header's {n_head} "
                f"({_lines(lines[extra])}; found {format_values(sorted(set(nf[extra].tolist())))} field(s)). "
                "A value containing a comma must be in double quotes; check these lines "
                "in a text editor, or add a header for the extra column."
            ), rows=lines[extra], values=sorted(set(nf[extra].tolist())))
        trailing = long & ~extra
        if trailing.any():
            sink.add("trailing_delimiters", (
                f"{sink.file}: {int(trailing.sum())} line(s) end with extra empty fields "
                f"({_lines(lines[trailing])}); they were ignored."
            ), "warning", rows=lines[trailing])


# --------------------------------------------------------------------------- xlsx


def _read_xlsx(p: Path, file: str, sheet: str | None, expected: tuple[str, ...],
               ids: tuple[str, ...]) -> RawTable:
    import openpyxl

    head = _read_bytes(p, file, 8)
    if not head.startswith(b"PK\x03\x04"):
        kind = ("an old Excel (.xls) or password-protected workbook" if head.startswith(b"\xd0\xcf\x11\xe0")
                else "not an Excel workbook (perhaps a CSV or web page renamed to .xlsx)")
        msg = f"{file}: this is {kind}. {_RESAVE}, without a password."
        raise IntakeError(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: unsupported extensions, default styles
        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            msg = f"{file}: the workbook cannot be opened ({exc}). {_RESAVE}."
            raise IntakeError(msg) from exc
        try:
            title, score = _choose_sheet(wb, file, sheet, expected)
            ws = wb[title]
            ws.reset_dimensions()  # some writers store a wrong <dimension>; read to the real end
            grid_rows = [tuple(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
        finally:
            wb.close()
    sink = _Sink(file, title)
    if sheet is None and len(wb.sheetnames) > 1:
        why = f"its header matches {score} of the expected columns" if expected else "it holds the most data"
        sink.add("sheet_choice", (
            f"{file}: the workbook has {len(wb.sheetnames)} sheets ({', '.join(wb.sheetnames)}); "
            f'read sheet "{title}" because {why}. Give `sheet:` in study.yaml to choose another.'
        ), "warning")
    h, _ = _pick_header([list(r) for r in grid_rows[:_HEADER_SCAN]], expected)
    if h is None:
        sink.add("no_data_rows", f"{sink.where}: the sheet is empty.")
        return RawTable(pd.DataFrame(), file, "xlsx", np.zeros(0, np.int64), title,
                        problems=tuple(sink.problems))
    if any(v is not None for r in grid_rows[:h] for v in r):
        msg = f"{sink.where}: the header is on row {h + 1}; row(s) above it were skipped as a title."
        sink.add("title_rows", msg, "warning", rows=range(1, h + 1))
    header = [_header_name(v) for v in grid_rows[h]]
    body = grid_rows[h + 1:]
    width = max([len(r) for r in grid_rows[h:]] + [1])
    grid = pd.DataFrame([r + (None,) * (width - len(r)) for r in body], columns=list(range(width)))
    if not len(body):
        grid = pd.DataFrame({i: pd.Series(dtype=object) for i in range(width)})
    rows = np.arange(h + 2, h + 2 + len(body), dtype=np.int64)
    member = _sheet_member(p, title)
    if member is None:
        sink.add("xlsx_structure", (
            f"{sink.where}: the sheet's XML could not be located in the workbook, so merged cells "
            f"and uncalculated formulas were not checked. {_RESAVE} to normalise the file."
        ), "warning")
    xml = _zip_member(p, member)
    merged_cols = _merged_cells(xml, h + 1, rows, header, sink)
    has_formulas = bool(xml) and re.search(rb"<(?:\w+:)?f[ >/]", xml) is not None
    uncached = _uncached_formulas(p, title, grid_rows, h) if has_formulas else {}
    never_blank = np.isin(rows, list({r for r, _ in uncached}))
    frame, blanks = _name_columns(grid, header, sink, letters=True)
    kept_before = rows
    frame, rows = _tidy_rows(frame, rows, sink, ids, never_blank=never_blank)
    frame = _blank_headers(frame, rows, blanks, sink, letters=True, merged_cols=merged_cols)
    dropped = set(kept_before.tolist()) - set(rows.tolist())
    cells = sorted(((r, c) for r, c in uncached if r not in dropped or r == h + 1))
    if cells:
        refs = [f"{_col_letter(c + 1)}{r}" for r, c in cells]
        cols = sorted({(header + [None] * width)[c] or _col_letter(c + 1) for _, c in cells})
        sink.add("uncached_formula", (
            f"{sink.where}: {len(cells)} formula cell(s) have no saved result ({format_values(refs)}; "
            f"column(s) {', '.join(repr(c) for c in cols)}), so their values are unknown and were "
            "read as missing. The file was written by a program that does not calculate formulas "
            "(e.g. a script). Open it in Excel or WPS, let it calculate, save, and run again."
        ), column=cols[0] if len(cols) == 1 else None, rows=sorted({r for r, _ in cells}), values=refs)
    frame = _excel_errors(frame, rows, sink)
    _id_numbers(frame, rows, sink, ids)
    _mojibake_cells(frame, rows, sink)
    _no_rows(frame, sink)
    return RawTable(frame, file, "xlsx", rows, title, problems=tuple(sink.problems))


def _choose_sheet(wb: object, file: str, sheet: str | None, expected: tuple[str, ...]) -> tuple[str, int]:
    names = list(wb.sheetnames)  # type: ignore[attr-defined]
    if sheet is not None:
        if sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            msg = f'{file}: no sheet "{sheet}"; the workbook has {listed}. Fix `sheet:` in study.yaml.'
            raise IntakeError(msg)
        return sheet, 0
    best: tuple[int, int, int] | None = None
    chosen = names[0]
    for k, ws in enumerate(wb.worksheets):  # type: ignore[attr-defined]
        ws.reset_dimensions()
        head = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, max_row=_HEADER_SCAN, values_only=True)]
        _, score = _pick_header(head, expected)
        size = sum(v is not None for r in head for v in r)
        key = (score, size, -k)
        if best is None or key > best:
            best, chosen = key, ws.title
    return chosen, best[0] if best else 0


def _sheet_member(p: Path, title: str) -> str | None:
    """The zip member holding sheet ``title`` (via the workbook's relationships)."""
    rel_ns = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    r_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        with zipfile.ZipFile(p) as z:
            root_rels = ElementTree.fromstring(z.read("_rels/.rels"))
            wb_part = next(r.get("Target") for r in root_rels.iter(f"{rel_ns}Relationship")
                           if r.get("Type", "").endswith("/officeDocument")).lstrip("/")
            base = wb_part.rsplit("/", 1)[0] if "/" in wb_part else ""
            rels_name = zip_join(base, "_rels", wb_part.rsplit("/", 1)[-1] + ".rels")
            rels = ElementTree.fromstring(z.read(rels_name)).iter(f"{rel_ns}Relationship")
            targets = {r.get("Id"): r.get("Target") for r in rels}
            for s in ElementTree.fromstring(z.read(wb_part)).iter():
                if s.tag.endswith("}sheet") and s.get("name") == title:
                    target = targets[s.get(r_id)]
                    return target.lstrip("/") if target.startswith("/") else zip_normpath(zip_join(base, target))
    except (KeyError, StopIteration, ElementTree.ParseError, zipfile.BadZipFile):
        return None
    return None


def _zip_member(p: Path, member: str | None) -> bytes:
    if member is None:
        return b""
    with zipfile.ZipFile(p) as z:
        return z.read(member)


def _merged_cells(xml: bytes, header_row: int, rows: np.ndarray, header: list[str | None],
                  sink: _Sink) -> frozenset[int]:
    """Report merged ranges in the header (error) and data (warning); return header columns covered."""
    from openpyxl.utils.cell import range_boundaries

    covered: set[int] = set()
    last = int(rows[-1]) if rows.size else header_row
    for ref in re.findall(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml):
        ref_s = ref.decode()
        c1, r1, c2, r2 = range_boundaries(ref_s)
        if r2 < header_row or r1 > last:
            continue  # a merged title above the header, or below the data
        if r1 <= header_row <= r2:
            covered.update(range(c1 - 1, c2))
            sink.add("merged_header", (
                f"{sink.where}: header cells {ref_s} are merged, so columns "
                f"{', '.join(_col_letter(c) for c in range(c1, c2 + 1))} do not each have a header. "
                "Unmerge them (开始 → 合并后居中 → 取消单元格合并) and give every column its own "
                "one-row header."
            ), rows=range(r1, r2 + 1), values=[ref_s])
        else:
            name = (header + [None] * c2)[c1 - 1] or _col_letter(c1)
            sink.add("merged_cells", (
                f"{sink.where}, column '{name}': cells {ref_s} are merged; only the top-left cell holds "
                "the value and the other cells read as blank. Unmerge them and fill the value into "
                "every cell (取消单元格合并, then 定位 → 空值 and fill down)."
            ), "warning", column=name, rows=range(r1, r2 + 1), values=[ref_s])
    return frozenset(covered)


def _uncached_formulas(p: Path, title: str, values: list[tuple], h: int) -> dict[tuple[int, int], str]:
    """Cells (sheet row, 0-based column) holding a formula whose result was never saved."""
    import openpyxl

    out: dict[tuple[int, int], str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
        try:
            ws = wb[title]
            ws.reset_dimensions()
            for i, row in enumerate(ws.iter_rows(min_row=h + 1, min_col=1, values_only=True)):
                cached = values[h + i] if h + i < len(values) else ()
                for j, v in enumerate(row):
                    if v is None or (j < len(cached) and cached[j] is not None):
                        continue
                    if (isinstance(v, str) and v.startswith("=")) or type(v).__name__.endswith("Formula"):
                        out[(h + 1 + i, j)] = str(v)
        finally:
            wb.close()
    return out


# --------------------------------------------------------------------------- sav / dta / parquet


def _read_stat(p: Path, file: str, fmt: str, declared: str | None, ids: tuple[str, ...]) -> RawTable:
    """SPSS .sav or Stata .dta via pyreadstat, with the GB18030 fallback."""
    import pyreadstat

    sink = _Sink(file)
    used = enc.normalise_encoding(declared) if declared else None
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    what, fix = (("SPSS", "Save it again from SPSS (另存为 .sav).") if fmt == "sav"
                 else ("Stata", "Save it again from Stata (`save`)."))
    failures = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError)

    def read(encoding: str | None) -> tuple[pd.DataFrame, object]:
        # user_missing=True keeps SPSS user-missing codes (8 = 不知道) instead of dropping them
        return reader(str(p), user_missing=fmt == "sav", encoding=encoding, dates_as_pandas_datetime=True)

    try:
        frame, meta = read(used)
    except failures as exc:
        if used == "gb18030" or "encoding" not in str(exc).lower():
            msg = f"{file}: not a readable {what} file ({exc}). {fix}"
            raise IntakeError(msg) from exc
        try:
            frame, meta = read("gb18030")
        except failures as exc2:
            msg = (f"{file}: the text cannot be decoded ({exc}), nor as GB18030 ({exc2}). Open the "
                   "file in SPSS/Stata, set the right encoding (SPSS: Unicode mode; Stata 14+: "
                   "`unicode translate`) and save again.")
            raise IntakeError(msg) from exc2
        used = "gb18030"
        sink.add("encoding_fallback", (
            f"{file}: the text does not decode in the encoding the file declares ({exc}); it was "
            "read as GB18030 (files saved on Chinese Windows). Check that Chinese labels look right."
        ), "warning")
    release = _stata_release(p, file) if fmt == "dta" else 0
    if used is None and release <= 117 and enc.looks_like_latin1_gbk(_meta_strings(frame, meta)):
        frame, meta = read("gb18030")
        used = "gb18030"
        old = f"an old Stata file (format {release}, Stata ≤ 13) " if fmt == "dta" else ""
        sink.add("encoding_fallback", (
            f"{file}: {old}whose text is GB18030 (saved on Chinese Windows) but was not declared so; "
            "it was read as GB18030. Check that Chinese labels look right"
            + ("; in Stata 14+ `unicode translate` converts the file for good." if fmt == "dta" else ".")
        ), "warning")
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    _id_numbers(frame, rows, sink, ids)
    _mojibake_cells(frame, rows, sink)
    _no_rows(frame, sink)
    var_labels = {k: v for k, v in meta.column_names_to_labels.items() if v}  # type: ignore[attr-defined]
    val_labels = {k: {float(c): str(t) for c, t in v.items()}
                  for k, v in meta.variable_value_labels.items()}  # type: ignore[attr-defined]
    missing = _spss_missing(frame, meta) if fmt == "sav" else {}
    return RawTable(frame, file, fmt, rows, None, used or getattr(meta, "file_encoding", None),
                    var_labels, val_labels, missing, tuple(sink.problems))


def _meta_strings(frame: pd.DataFrame, meta: object) -> list[str]:
    """Labels and (up to 2,000 distinct) string values per column, to judge the encoding."""
    out = [v for v in getattr(meta, "column_names_to_labels", {}).values() if v]
    out += [str(t) for v in getattr(meta, "variable_value_labels", {}).values() for t in v.values()]
    for c in frame.columns:
        text = _text_view(frame[c])
        if text is not None:
            out += text.dropna().unique()[:2000].tolist()
    return out


def _spss_missing(frame: pd.DataFrame, meta: object) -> dict[str, list[float]]:
    """Declared user-missing codes per column; a range gives its bounds and the codes present."""
    out: dict[str, list[float]] = {}
    for col, ranges in getattr(meta, "missing_ranges", {}).items():
        codes: set[float] = set()
        for rng in ranges:
            lo, hi = rng["lo"], rng["hi"]
            if isinstance(lo, str) or isinstance(hi, str):
                continue
            codes.update(float(b) for b in (lo, hi) if np.isfinite(b))
            if lo != hi and col in frame.columns and pd.api.types.is_numeric_dtype(frame[col]):
                s = frame[col]
                codes.update(float(v) for v in s[(s >= lo) & (s <= hi)].unique())
        if codes:
            out[col] = sorted(codes)
    return out


def _stata_release(p: Path, file: str) -> int:
    """Stata format number: 117+ in an XML-like header, else the first byte (113–115)."""
    head = _read_bytes(p, file, 64)
    m = re.search(rb"<release>(\d+)</release>", head)
    return int(m.group(1)) if m else head[0]


def _read_parquet(p: Path, file: str, ids: tuple[str, ...]) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = _Sink(file)
    try:
        frame = pq.read_table(p).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"{file}: not a readable Parquet file ({exc}). Write it again (pandas: df.to_parquet(path))."
        raise IntakeError(msg) from exc
    frame = frame.reset_index(drop=True)
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    _id_numbers(frame, rows, sink, ids)
    _no_rows(frame, sink)
    return RawTable(frame, file, "parquet", rows, problems=tuple(sink.problems))
