"""Statistical-package and columnar files: SPSS .sav, Stata .dta, Parquet.

* **sav / dta** (pyreadstat): declared user-missing codes are kept
  (``user_missing=True``); old Stata files (format ≤ 117) written on Chinese
  Windows store GB18030 bytes that readstat decodes as Latin-1, which is
  detected and re-read (pyreadstat's ``encoding=``). Stata extended missing
  values (.a–.z) become NA. Variable labels, value labels and SPSS
  user-missing codes are returned in the :class:`RawTable`.
* **parquet** (pyarrow): read as is.

Row numbers are the 1-based case numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import IntakeError
from evalkit.intake import encoding as enc
from evalkit.intake.problems import format_rows
from evalkit.intake.readers._common import (
    RawTable,
    _id_numbers,
    _mojibake_cells,
    _no_rows,
    _read_bytes,
    _Sink,
    _text_view,
)


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
        # for dta, user_missing=True returns Stata's extended missing values (.a–.z) as the
        # letters, so they can be counted and reported before they become NA
        return reader(str(p), user_missing=True, encoding=encoding, dates_as_pandas_datetime=True)

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
    if fmt == "dta":
        frame = _stata_extended_missing(frame, meta, rows, sink)
    _id_numbers(frame, rows, sink, ids)
    _mojibake_cells(frame, rows, sink)
    _no_rows(frame, sink)
    var_labels = {k: v for k, v in meta.column_names_to_labels.items() if v}  # type: ignore[attr-defined]
    val_labels = {k: {float(c): str(t) for c, t in v.items()}
                  for k, v in meta.variable_value_labels.items()}  # type: ignore[attr-defined]
    missing = _spss_missing(frame, meta) if fmt == "sav" else {}
    return RawTable(frame, file, fmt, rows, None, used or getattr(meta, "file_encoding", None),
                    var_labels, val_labels, missing, tuple(sink.problems))


def _stata_extended_missing(frame: pd.DataFrame, meta: object, rows: np.ndarray, sink: _Sink) -> pd.DataFrame:
    """Stata's extended missing values (.a–.z) in numeric columns become NA, with a notice per column."""
    types = getattr(meta, "readstat_variable_types", {})
    for col in frame.columns:
        if types.get(col) == "string" or frame[col].dtype != object:
            continue
        letters = frame[col].map(lambda v: isinstance(v, str))
        hit = letters.to_numpy(dtype=bool)
        if not hit.any():
            continue
        found = sorted({f".{v}" for v in frame.loc[hit, col]})
        frame[col] = pd.to_numeric(frame[col].where(~letters), errors="coerce")
        sink.add("stata_extended_missing", (
            f"{sink.file}, column '{col}': {int(hit.sum())} value(s) are Stata extended missing values "
            f"({', '.join(found)}; {format_rows(rows[hit])}); they were read as missing (NA). If they mean "
            "different things (e.g. .a = 不知道, .b = 拒答) and that matters, recode them to numbers in "
            "Stata and declare them as missing_codes in the codebook."
        ), "warning", column=str(col), rows=rows[hit], values=found)
    return frame


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
        # self_destruct frees each Arrow column once converted: the table and the frame are
        # never both whole in memory (the peak of a 10^7-row log halves)
        frame = pq.read_table(p).to_pandas(self_destruct=True, split_blocks=True)
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"{file}: not a readable Parquet file ({exc}). Write it again (pandas: df.to_parquet(path))."
        raise IntakeError(msg) from exc
    frame = frame.reset_index(drop=True)
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    _id_numbers(frame, rows, sink, ids)
    _no_rows(frame, sink)
    return RawTable(frame, file, "parquet", rows, problems=tuple(sink.problems))
