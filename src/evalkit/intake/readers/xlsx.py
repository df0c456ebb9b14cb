"""Excel .xlsx/.xlsm reading (openpyxl, read-only, cached values).

Picking the data sheet and the header row, and the uncached-formula check, are
ours; openpyxl returns ``None`` both for an empty cell and for a formula whose
result was never calculated, so formulas are read in a second pass only when
the sheet has any. Read-only mode does not expose merged ranges, so they are
read from the sheet's XML (``<mergeCell ref=...>``, located via the workbook's
relationships). Row numbers are the Excel sheet rows.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path
from posixpath import join as zip_join
from posixpath import normpath as zip_normpath
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from evalkit.errors import IntakeError
from evalkit.intake.problems import format_values
from evalkit.intake.readers._common import (
    _HEADER_SCAN,
    _RESAVE,
    RawTable,
    _blank_headers,
    _col_letter,
    _excel_errors,
    _header_name,
    _id_numbers,
    _mojibake_cells,
    _name_columns,
    _no_rows,
    _pick_header,
    _read_bytes,
    _Sink,
    _tidy_rows,
)


def _read_xlsx(p: Path, file: str, sheet: str | None, expected: tuple[str, ...],
               ids: tuple[str, ...]) -> RawTable:
    import openpyxl

    head = _read_bytes(p, file, 8)
    if not head.startswith(b"PK\x03\x04"):
        kind = ("an old Excel (.xls) or password-protected workbook" if head.startswith(b"\xd0\xcf\x11\xe0")
                else "not an Excel workbook (perhaps a CSV or web page renamed to .xlsx)")
        msg = f"{file}: this is {kind}. {_RESAVE}, without a password."
        raise IntakeError(msg)
    # opened through a file object: openpyxl refuses a .xls *name* even when the content is
    # .xlsx (intake.safety has checked what the content is)
    with warnings.catch_warnings(), p.open("rb") as fh:
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: unsupported extensions, default styles
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
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
    with warnings.catch_warnings(), p.open("rb") as fh:
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=False)
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
