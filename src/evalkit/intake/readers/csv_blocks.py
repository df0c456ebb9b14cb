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
    extra: dict = field(factory=dict)


def _raw_blocks(p: Path, size: int) -> Iterator[bytes]:
    """The file in blocks of about ``size`` bytes, each ending with a line end (except the last)."""
    carry = b""
    with p.open("rb") as fh:
        while True:
            chunk = fh.read(size)
            if not chunk:
                if carry:
                    yield carry
                return
            chunk = carry + chunk
            cut = chunk.rfind(b"\n")
            if cut < 0:
                carry = chunk
                continue
            carry = chunk[cut + 1:]
            yield chunk[:cut + 1]


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
    quotes = np.flatnonzero(arr == 34)
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
    lines = np.searchsorted(all_nl, starts) + 1
    return starts, ends, n_fields, blank, lines


def _count_fields(record: bytes, delim: str) -> int:
    """Fields of one record by quote parity (delimiters outside quotes, plus one)."""
    arr = np.frombuffer(record, dtype=np.uint8)
    quotes = np.flatnonzero(arr == 34)
    dl = np.flatnonzero(arr == ord(delim))
    return int(((np.searchsorted(quotes, dl) & 1) == 0).sum()) + 1


def read_blocks(p: Path, file: str, declared: str | None, expected: tuple[str, ...]) -> BlockResult | None:
    """Parse a well-formed CSV block by block; None when the exact whole-file path must decide."""
    import pyarrow as pa

    from evalkit.intake.readers.csv import _arrow_table, _split_record

    blocks = _raw_blocks(p, BLOCK_BYTES)
    first = next(blocks, b"")
    encoding = _choose_encoding(first, declared)
    if encoding is None:
        return None
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    delim = _delimiter(first, p.suffix.lower())
    tables: list[pa.Table] = []
    lines_all, nf_all, blank_all = [], [], []
    bad_fields: dict[int, list[str]] = {}  # body record index → fields (other field counts)
    good_pos: list[np.ndarray] = []  # body record indices of the rows in ``tables``
    n_head = h = -1
    header: list[str | None] = []
    n_body = 0
    lines_before = 0
    mojibake = has_hash = False
    pending = b""
    last_raw = b""
    raw_iter = iter([first])
    stream = _chain(raw_iter, blocks)
    for k, raw in enumerate(_chain(stream, iter([None]))):  # None: the end, flush what is pending
        if raw is None:
            if not pending:
                break
            buf, pending = pending, b""
        else:
            if b"\x00" in raw:
                return None
            if k == 0 and encoding == "utf-8-sig":
                raw = raw[3:]
            last_raw = raw
            block = _utf8_block(raw, codec)
            if block is None:
                return None
            buf, pending = pending + block, b""
            if buf.count(b'"') % 2 or (h < 0 and buf.count(b"\n") <= _HEADER_SCAN):
                # ends inside a quoted value, or too few lines to find the header: join with the next
                pending = buf
                continue
        # assume every non-blank record has the header's field count and let pyarrow confirm it
        # (it counts the records it skips); locate every delimiter only if it disagrees
        parsed = _structure(buf, delim, count_fields=False)
        if parsed is None:
            return None
        starts, ends, _, blank, lines = parsed
        head_nf = np.zeros(0, dtype=np.int32)
        if h < 0:
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
        body_from = len(head_nf)
        body_blank = blank[body_from:]
        nf_body = np.where(body_blank & (n_head != 1), 1, n_head).astype(np.int32)
        table = None
        if len(starts) > body_from:
            table = _arrow_table(memoryview(buf)[int(starts[body_from]):], delim, n_head,
                                 int((nf_body != n_head).sum()))
        if len(starts) <= body_from or (table is not None and table.num_rows == int((nf_body == n_head).sum())):
            if table is not None:
                tables.append(table)
                good_pos.append(np.flatnonzero(nf_body == n_head) + n_body)
                n_body += len(nf_body)
            mojibake = mojibake or enc.may_contain_mojibake(buf)
            has_hash = has_hash or b"#" in buf
            lines_all.append(lines + lines_before)
            nf_all.append(np.concatenate([head_nf, nf_body]))
            blank_all.append(blank)
            lines_before += buf.count(b"\n")
            continue
        starts, ends, n_fields, blank, lines = _structure(buf, delim)  # type: ignore[misc]
        if len(head_nf) and int(n_fields[h]) != n_head:
            return None
        mojibake = mojibake or enc.may_contain_mojibake(buf)
        has_hash = has_hash or b"#" in buf
        good = n_fields[body_from:] == n_head
        if len(starts) > body_from:
            body = memoryview(buf)[int(starts[body_from]):]
            table = _arrow_table(body, delim, n_head, int((~good).sum()))
            if table is None or table.num_rows != int(good.sum()):
                return None
            tables.append(table)
            for j in np.flatnonzero(~good & ~blank[body_from:]):
                i = j + body_from
                fields = _split_record(buf, starts[i], ends[i], delim)
                if len(fields) != n_fields[i]:
                    return None
                bad_fields[n_body + int(j)] = fields
            good_pos.append(np.flatnonzero(good) + n_body)
            n_body += len(good)
        lines_all.append(lines + lines_before)
        nf_all.append(n_fields)
        blank_all.append(blank)
        lines_before += buf.count(b"\n")
    if pending or h < 0:
        return None
    if encoding == "gb18030" and k > 0 and enc._looks_mixed(_lines_at(last_raw, head=False)):
        return None
    grid = _assemble(tables, good_pos, bad_fields, n_head, n_body)
    return BlockResult(grid, np.concatenate(lines_all).astype(np.int64), np.concatenate(nf_all),
                       np.concatenate(blank_all), h, header, encoding, mojibake, has_hash, delim)


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
