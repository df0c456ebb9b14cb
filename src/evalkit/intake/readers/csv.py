"""CSV reading (pyarrow's CSV parser, every cell as text, only "" is missing).

Encoding detection is in :mod:`evalkit.intake.encoding` (see there why). No
CSV parser tells which physical line a record started on (quoted values may
span lines) or how many fields a short row had (pandas pads silently), and
pandas renames duplicate headers ``x.1``. So record boundaries, field counts
and line numbers are computed here with numpy from quote parity in one
vectorised pass; pyarrow parses the well-formed records (about 3x faster
than pandas' C parser, which spends most of its time building Python strings)
and the ``csv`` module the few malformed ones. When a file defeats the
parity rule (stray quotes, bare-CR line ends) the ``csv`` module does the
whole file, slower but exact. Row numbers are the CSV line where a record
starts (header = 1). Also reported here: NUL bytes, UTF-16 text (read, with a
notice; without a BOM too), short and long rows, unclosed quotes.

Well-formed files (the usual case, and every large one) are read block by block
in bounded memory by :mod:`.csv_blocks`; everything above is the exact
whole-file path it falls back to. Workbooks, pickles and other binaries renamed
.csv never get here (:mod:`evalkit.intake.safety`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.errors import IntakeError
from evalkit.intake import encoding as enc
from evalkit.intake.problems import format_values
from evalkit.intake.readers.csv_blocks import read_blocks
from evalkit.intake.readers._common import (
    _HEADER_SCAN,
    _RESAVE,
    RawTable,
    _blank_headers,
    _excel_errors,
    _lines,
    _mojibake_cells,
    _name_columns,
    _no_rows,
    _pick_header,
    _read_bytes,
    _Sink,
    _tidy_rows,
)


@frozen
class _Records:
    """Record structure of a CSV text: one entry per record (header included)."""

    lines: np.ndarray  # physical line where the record starts
    n_fields: np.ndarray
    blank: np.ndarray  # empty line


def _read_csv(p: Path, file: str, declared: str | None, expected: tuple[str, ...],
              ids: tuple[str, ...]) -> RawTable:
    sink = _Sink(file)
    fast = read_blocks(p, file, declared, expected)
    if fast is not None:
        recs = _Records(fast.lines, fast.n_fields, fast.blank)
        return _finish(fast.grid, recs, fast.header_index, fast.header, fast.encoding, sink, ids,
                       has_hash=fast.has_hash, mojibake=fast.may_have_mojibake)
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
            data = _utf16_without_bom(data, nul, file)
            sink.add("utf16_no_bom", (
                f"{file}: UTF-16 text without a byte-order mark (as some 'Unicode 文本' exports write it); "
                "it was read as UTF-16. Saving it as 'CSV UTF-8（逗号分隔）' avoids the guess."
            ), "warning")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        tabs = b"\t\x00" in data[:4096] or b"\x00\t" in data[:4096]
        sink.add("utf16_text", (
            f"{file}: UTF-16 text (Excel/WPS 'Unicode 文本' export) was read as such "
            f"({'tab' if tabs else 'comma'}-separated)."
        ), "warning")
    elif b"\x00" in data:
        nul = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        lines = np.unique(np.searchsorted(newlines, nul) + 1)
        sink.add("nul_bytes", (
            f"{file}: {nul.size} NUL byte(s) (\\0) on {_lines(lines)}; they were removed to read the "
            "rest. NUL bytes come from a broken export or a damaged file; export the data again."
        ), rows=lines)
        data = data.replace(b"\x00", b"")
    decoded = enc.decode_text(data, file=file, declared=declared)
    sink.problems.extend(decoded.problems)
    encoding = decoded.encoding
    if decoded.encoding == "utf-8" and not decoded.problems:
        buf = data
    elif decoded.encoding == "utf-8-sig":
        buf = data[3:]
    else:
        buf = decoded.text.encode("utf-8")
    del data, decoded  # only the UTF-8 bytes are needed from here on
    delim = _delimiter(buf, p.suffix.lower())
    parsed = _csv_fast(buf, delim, expected, file)
    grid, recs, h, header = parsed or _csv_python(buf.decode("utf-8"), delim, expected, sink)
    return _finish(grid, recs, h, header, encoding, sink, ids, has_hash=b"#" in buf,
                   mojibake=enc.may_contain_mojibake(buf))


def _finish(grid: pd.DataFrame, recs: _Records, h: int, header: list[str | None], encoding: str | None,
            sink: _Sink, ids: tuple[str, ...], *, has_hash: bool, mojibake: bool) -> RawTable:
    """From the parsed grid to the RawTable: title rows, field counts, names, tidy rows, cell checks."""
    file = sink.file
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
    if has_hash:
        frame = _excel_errors(frame, rows, sink)
    _mojibake_cells(frame, rows, sink, regex=mojibake)
    _no_rows(frame, sink)
    return RawTable(frame, file, "csv", rows.astype(np.int64), None, encoding,
                    problems=tuple(sink.problems))


def _utf16_without_bom(data: bytes, nul: np.ndarray, file: str) -> bytes:
    """UTF-16 without a BOM: NULs sit on odd (little-endian) or even (big-endian) positions.

    Returns the bytes with the BOM of the detected byte order prepended, or raises.
    """
    odd = float(np.mean(nul % 2 == 1)) if nul.size else 0.0
    bom, codec = (b"\xff\xfe", "utf-16-le") if odd > 0.9 else (b"\xfe\xff", "utf-16-be")
    if 0.1 <= odd <= 0.9 or len(data) % 2:
        msg = (f"{file}: the file is full of NUL bytes but is not UTF-16 text either (damaged, or not a "
               "text file). Export the data again as 'CSV UTF-8（逗号分隔）'.")
        raise IntakeError(msg)
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        msg = (f"{file}: looks like UTF-16 text without a byte-order mark, but it does not decode as "
               f"{codec.upper()}. Save it again as 'CSV UTF-8（逗号分隔）'.")
        raise IntakeError(msg) from None
    return bom + data


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
    if not len(body):
        return pd.DataFrame({i: pd.Series(dtype="str") for i in range(n_head)})
    table = _arrow_table(body, delim, n_head, n_skip)
    if table is None:
        return None
    grid = table.to_pandas()
    grid.columns = list(range(n_head))
    return grid.astype("str") if not all(d == "str" for d in grid.dtypes) else grid


def _arrow_table(body: bytes | memoryview, delim: str, n_head: int, n_skip: int):  # -> pa.Table | None
    """The Arrow table of :func:`_arrow_rows` (columns named "0", "1", …)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [str(i) for i in range(n_head)]
    # large_string: what pandas' str dtype holds, so to_pandas needs no cast (a copy of every column)
    if not len(body):
        return pa.table({n: pa.array([], pa.large_string()) for n in names})
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
                column_types={n: pa.large_string() for n in names}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if skipped != n_skip:
        return None
    return table


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
