"""Large CSVs in bounded memory: read, transcode and parse block by block.

:func:`read_blocks` is the fast path of :mod:`.csv` for well-formed files: the
file is read in blocks of :data:`BLOCK_BYTES` cut at line ends, each block is
checked (UTF-8) or transcoded (GB18030 → UTF-8) on its own, its record
structure (where records start, their field counts and physical line numbers,
by quote parity as in :func:`.csv._csv_fast`) is computed with numpy, and its
well-formed records are parsed by pyarrow into an Arrow table; then the block
is dropped. Memory is the Arrow tables plus one block, instead of the raw
bytes, their decoded text and a UTF-8 copy of the whole file at once.

Line ends are safe cut points in both encodings: in UTF-8 and GB18030 the byte
0x0A never occurs inside a multi-byte character. A block that ends inside a
quoted value (odd number of quotes) is joined with the next.

Anything unusual returns None and the caller reads the whole file the exact
way (:func:`evalkit.intake.encoding.decode_text` and :func:`.csv._csv_fast` /
``_csv_python``): a byte-order mark other than UTF-8's, NUL bytes, an encoding
declared in study.yaml other than UTF-8/GB18030, text that is neither valid
UTF-8 nor valid GB18030 in some block, signs of mixed encodings (in the first
or last block, as the exact path samples them), or records the parity rule and
pyarrow disagree on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from attrs import define, field

from evalkit.intake import encoding as enc
from evalkit.intake.readers._common import _HEADER_SCAN, _pick_header

#: bytes per block (tests lower it to exercise block boundaries)
BLOCK_BYTES = 32 << 20


@define
class BlockResult:
    """What :func:`read_blocks` found: the parsed grid and record structure, and flags for later checks."""

    grid: pd.DataFrame
    lines: np.ndarray
    n_fields: np.ndarray
    blank: np.ndarray
    header_index: int
    header: list[str | None]
    encoding: str
    may_have_mojibake: bool = False
    has_hash: bool = False
    delimiter: str = ","


def _raw_blocks(p: Path, size: int) -> Iterator[bytes]:
    """The file in blocks of about ``size`` bytes, each ending with a line end (except the last)."""
    with p.open("rb") as fh:
        while True:
            chunk = fh.read(size)
            if not chunk:
                return
            if not chunk.endswith(b"\n"):
                chunk += fh.readline()  # to the end of the line: one copy, no carry-over
            yield chunk


def _utf8_block(block: bytes, encoding: str) -> bytes | None:
    """The block as UTF-8, or None if it does not decode strictly in ``encoding``."""
    if block.isascii():
        return block
    try:
        text = block.decode(encoding)
    except UnicodeDecodeError:
        return None
    return block if encoding == "utf-8" else text.encode("utf-8")


def _choose_encoding(first: bytes, declared: str | None) -> str | None:
    """utf-8 / utf-8-sig / gb18030 for the stream, judged on the first block; None: take the exact path."""
    if first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first:
        return None
    if first.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig" if declared is None else None
    want = enc.normalise_encoding(declared) if declared else None
    if want not in (None, "utf-8", "gb18030"):
        return None
    if _utf8_block(first, "utf-8") is not None:
        if want == "gb18030" and not first.isascii():
            return None  # declared GBK but the text is UTF-8: the exact path warns
        return "utf-8"
    if want == "utf-8":
        return None  # declared UTF-8 but it is not: the exact path warns
    if enc._looks_mixed(_lines_at(first, head=True)):
        return None
    return "gb18030"  # each block is decoded strictly; a failure takes the exact path


def _lines_at(block: bytes, *, head: bool, n_bytes: int = 1 << 20) -> bytes:
    """About the first (or last) megabyte of a block, cut at a line end: the sample the
    exact path's mixed-encoding check looks at (its first and last 5,000 lines)."""
    if len(block) <= n_bytes:
        return block
    if head:
        return block[: block.rfind(b"\n", 0, n_bytes) + 1]
    return block[block.find(b"\n", len(block) - n_bytes) + 1:]


def _delimiter(head: bytes, ext: str) -> str:
    if ext == ".tsv":
        return "\t"
    counts = {d: head[:65536].count(d.encode()) for d in (",", "\t", ";")}
    if counts[","] == 0 and max(counts.values()) > 0:
        return max(counts, key=counts.__getitem__)
    return ","


def _structure(buf: bytes, delim: str, *, count_fields: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray] | None:
    """Record starts, ends, field counts, blank flags and start lines (1-based, in this block).

    Counting fields means locating every delimiter, the costliest step; without
    ``count_fields`` the counts are None and the caller lets pyarrow confirm them.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    all_nl = np.flatnonzero(arr == 10)
    quotes = np.flatnonzero(arr == 34) if b'"' in buf else np.zeros(0, dtype=np.intp)
    if quotes.size % 2:
        return None
    nl = all_nl
    if quotes.size:
        nl = all_nl[(np.searchsorted(quotes, all_nl) & 1) == 0]
    ends = nl if (buf and buf[-1] == 10) else np.append(nl, len(buf))
    starts = np.concatenate(([0], nl + 1))[: len(ends)]
    n_fields = None
    if count_fields:
        dl = np.flatnonzero(arr == ord(delim))
        if quotes.size:
            dl = dl[(np.searchsorted(quotes, dl) & 1) == 0]
        n_fields = (np.searchsorted(dl, ends) - np.searchsorted(dl, starts) + 1).astype(np.int32)
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (arr[np.minimum(starts, max(len(arr) - 1, 0))] == 13))
    # without quoted line breaks every line is a record: record i starts on line i + 1
    lines = np.arange(1, len(starts) + 1) if nl is all_nl else np.searchsorted(all_nl, starts) + 1
    return starts, ends, n_fields, blank, lines


def _count_fields(record: bytes, delim: str) -> int:
    """Fields of one record by quote parity (delimiters outside quotes, plus one)."""
    arr = np.frombuffer(record, dtype=np.uint8)
    quotes = np.flatnonzero(arr == 34)
    dl = np.flatnonzero(arr == ord(delim))
    return int(((np.searchsorted(quotes, dl) & 1) == 0).sum()) + 1


@define
class _Acc:
    """What the blocks read so far add up to."""

    tables: list = field(factory=list)
    good_pos: list = field(factory=list)  # body record indices of the rows in ``tables``
    bad_fields: dict = field(factory=dict)  # body record index → fields (another field count)
    lines: list = field(factory=list)
    n_fields: list = field(factory=list)
    blank: list = field(factory=list)
    n_body: int = 0
    lines_before: int = 0
    mojibake: bool = False
    has_hash: bool = False


def _add_block(acc: _Acc, buf: bytes, delim: str, n_head: int, head_nf: np.ndarray) -> bool:
    """Parse one block's records into ``acc``; False if the exact whole-file path must decide.

    Every non-blank record is first assumed to have the header's field count and pyarrow
    confirms it (it counts the records it skips); only if it disagrees is every delimiter
    located to find the odd records, which the csv module then splits.
    """
    from evalkit.intake.readers.csv import _arrow_table, _split_record

    parsed = _structure(buf, delim, count_fields=False)
    if parsed is None:
        return False
    starts, ends, _, blank, lines = parsed
    body_from = len(head_nf)
    n_fields = np.concatenate([head_nf, np.where(blank[body_from:] & (n_head != 1), 1, n_head)]).astype(np.int32)
    table = None
    for exact in (False, True):
        if exact:
            parsed = _structure(buf, delim)
            if parsed is None:
                return False
            starts, ends, n_fields, blank, lines = parsed  # type: ignore[assignment]
            if body_from and int(n_fields[body_from - 1]) != n_head:
                return False
        good = n_fields[body_from:] == n_head
        if len(starts) <= body_from:
            break
        table = _arrow_table(memoryview(buf)[int(starts[body_from]):], delim, n_head, int((~good).sum()))
        if table is not None and table.num_rows == int(good.sum()):
            break
        if exact:
            return False
    odd = np.flatnonzero(~good & ~blank[body_from:])
    for j in odd:
        i = j + body_from
        fields = _split_record(buf, starts[i], ends[i], delim)
        if len(fields) != n_fields[i]:
            return False
        acc.bad_fields[acc.n_body + int(j)] = fields
    if table is not None:
        acc.tables.append(table)
        acc.good_pos.append(np.flatnonzero(good) + acc.n_body)
        acc.n_body += len(good)
    acc.mojibake = acc.mojibake or enc.may_contain_mojibake(buf)
    acc.has_hash = acc.has_hash or b"#" in buf
    acc.lines.append(lines + acc.lines_before)
    acc.n_fields.append(n_fields)
    acc.blank.append(blank)
    acc.lines_before += buf.count(b"\n")
    return True


def read_blocks(p: Path, file: str, declared: str | None, expected: tuple[str, ...]) -> BlockResult | None:
    """Parse a well-formed CSV block by block; None when the exact whole-file path must decide."""
    from evalkit.intake.readers.csv import _split_record

    blocks = _raw_blocks(p, BLOCK_BYTES)
    first = next(blocks, b"")
    encoding = _choose_encoding(first, declared)
    if encoding is None:
        return None
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    delim = _delimiter(first, p.suffix.lower())
    acc = _Acc()
    n_head = h = -1
    header: list[str | None] = []
    pending = last_raw = b""
    k = 0
    if encoding == "utf-8-sig":
        first = first[3:]
    # (raw, UTF-8) pairs, transcoded one block ahead in a thread while pyarrow parses (it
    # releases the GIL); None: the end, flush what is pending
    for k, item in enumerate(_chain(_transcoded(_chain(iter([first]), blocks), codec), iter([None]))):
        if item is None:
            if not pending:
                break
            buf, pending = pending, b""
        else:
            raw, block = item
            if b"\x00" in raw or block is None:
                return None
            last_raw = raw
            buf, pending = (pending + block if pending else block), b""
            if (b'"' in buf and buf.count(b'"') % 2) or (h < 0 and buf.count(b"\n") <= _HEADER_SCAN):
                pending = buf  # inside a quoted value, or too few lines to find the header: join the next
                continue
        head_nf = np.zeros(0, dtype=np.int32)
        if h < 0:  # the first block: find the header row below any title rows
            parsed = _structure(buf, delim, count_fields=False)
            if parsed is None:
                return None
            starts, ends = parsed[0], parsed[1]
            head_rows = [_split_record(buf, starts[i], ends[i], delim) for i in range(min(_HEADER_SCAN, len(starts)))]
            h_found, _ = _pick_header(head_rows, expected)
            if h_found is None:
                return None
            h = h_found
            header = [f if f.strip() else None for f in head_rows[h]]
            n_head = len(head_rows[h])
            if _count_fields(buf[int(starts[h]):int(ends[h])], delim) != n_head:
                return None  # the csv module and quote parity disagree (bare CR line ends, stray quotes)
            head_nf = np.array([max(len(r), 1) for r in head_rows[:h + 1]], dtype=np.int32)
        if not _add_block(acc, buf, delim, n_head, head_nf):
            return None
    if pending or h < 0:
        return None
    if encoding == "gb18030" and k > 1 and enc._looks_mixed(_lines_at(last_raw, head=False)):
        return None
    grid = _assemble(acc.tables, acc.good_pos, acc.bad_fields, n_head, acc.n_body)
    return BlockResult(grid, np.concatenate(acc.lines).astype(np.int64), np.concatenate(acc.n_fields),
                       np.concatenate(acc.blank), h, header, encoding, acc.mojibake, acc.has_hash, delim)


def _transcoded(raws: Iterator[bytes | None], codec: str) -> Iterator[tuple[bytes, bytes | None]]:
    """``(raw, utf8)`` per block, the next block transcoded in a worker thread meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        raw = next(raws, None)
        future = pool.submit(_utf8_block, raw, codec) if raw is not None else None
        while raw is not None and future is not None:
            nxt = next(raws, None)
            ahead = pool.submit(_utf8_block, nxt, codec) if nxt is not None else None
            yield raw, future.result()
            raw, future = nxt, ahead


def _chain(*iters: Iterator[bytes | None]) -> Iterator[bytes | None]:
    for it in iters:
        yield from it


def _assemble(tables: list, good_pos: list[np.ndarray], bad: dict[int, list[str]], n_head: int,
              n_body: int) -> pd.DataFrame:
    """One grid (columns 0…width−1, every cell text or NA) from the blocks' tables and odd rows."""
    import pyarrow as pa

    if tables:
        table = pa.concat_tables(tables)
        tables.clear()
        grid = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
        grid.columns = list(range(n_head))
        if not all(d == "str" for d in grid.dtypes):
            grid = grid.astype("str")
    else:
        grid = pd.DataFrame({i: pd.Series(dtype="str") for i in range(n_head)})
    if len(grid) == n_body:
        return grid
    good = np.concatenate(good_pos) if good_pos else np.zeros(0, dtype=np.int64)
    width = max([n_head, *(len(f) for f in bad.values())])
    grid = grid.set_axis(good).reindex(range(n_body))
    for k in range(n_head, width):
        grid[k] = pd.Series(np.nan, index=grid.index, dtype="str")
    if bad:
        idx = np.array(sorted(bad), dtype=np.int64)
        block = pd.DataFrame([bad[i] + [""] * (width - len(bad[i])) for i in idx], dtype="str")
        grid.iloc[idx] = block.mask(block == "").to_numpy()
    return grid
