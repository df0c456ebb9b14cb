"""Read every published format into text pieces and tables, each with a location.

One reader per format yields :class:`TextUnit` (free text), :class:`TableUnit`
(a header and rows) and :class:`Note` (a structural finding such as papermill
metadata). Locations are what a person opening the file can find: ``cell 12
output 2``, ``sheet "隐藏" B7``, ``table 3 row 4 column 2``, ``json $.a[3]``,
``line 17``. Large text files are streamed line by line; xlsx is read in
openpyxl's read-only (streaming) mode.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from attrs import frozen

from evalkit.audit.patterns import FindingKind, safe_label, strip_data_uris

__all__ = ["TextUnit", "TableUnit", "Note", "iter_units", "READERS"]

_MAX_TABLE_ROWS = 200_000


@frozen
class TextUnit:
    location: str
    text: str


@frozen
class TableUnit:
    """A table as shown: ``header`` and ``rows`` of cell text; ``ref(r, c)`` locates a body cell."""

    location: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    ref: Callable[[int, int], str]


@frozen
class Note:
    location: str
    kind: FindingKind


def _grid_ref(location: str) -> Callable[[int, int], str]:
    # body row r (0-based) is shown as row r + 2 (the header is row 1)
    return lambda r, c: f"{location} row {r + 2} column {c + 1}"


def _table_from_rows(location: str, rows: list[list[str]], ref: Callable[[int, int], str] | None = None,
                     *, drop_blank: bool = True) -> TableUnit | None:
    if drop_blank or not rows or not any(str(v).strip() for v in rows[0]):
        rows = [r for r in rows if any(str(v).strip() for v in r)]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    padded = [tuple(list(map(str, r)) + [""] * (width - len(r))) for r in rows]
    return TableUnit(location=location, header=padded[0], rows=tuple(padded[1:]), ref=ref or _grid_ref(location))


# --- HTML -----------------------------------------------------------------------------------


class _HtmlCollector(HTMLParser):
    def __init__(self, prefix: str) -> None:
        super().__init__(convert_charrefs=True)
        self.prefix = prefix
        self.texts: list[TextUnit] = []
        self.tables: list[TableUnit] = []
        self._stack: list[list[list[str]]] = []  # open tables → rows → cells
        self._cell: list[str] | None = None
        self._skip = 0
        self._n_tables = 0
        self._numbers: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._skip += 1
        elif tag == "table":
            self._n_tables += 1
            self._numbers.append(self._n_tables)
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            if not self._stack[-1]:
                self._stack[-1].append([])
            self._cell = []
        for name, value in attrs:  # titles, alt text and links can carry data too
            if value and name in ("title", "alt", "href", "src", "value", "content") and not value.startswith("data:"):
                self.texts.append(TextUnit(f"{self.prefix}line {self.getpos()[0]} attribute {name}", value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._stack and self._cell is not None:
            self._stack[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._stack:
            rows = self._stack.pop()
            number = self._numbers.pop()
            table = _table_from_rows(f"{self.prefix}table {number}", rows)
            if table is not None:
                self.tables.append(table)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif data.strip():
            self.texts.append(TextUnit(f"{self.prefix}line {self.getpos()[0]}", data))


def _html_units(markup: str, prefix: str = "") -> Iterator[TextUnit | TableUnit]:
    parser = _HtmlCollector(prefix)
    parser.feed(strip_data_uris(markup))
    parser.close()
    yield from parser.texts
    yield from parser.tables


def read_html(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    yield from _html_units(path.read_text(encoding="utf-8", errors="replace"))


# --- notebooks ------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def read_ipynb(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb.get("metadata", {})
    if "papermill" in meta:
        yield Note("notebook metadata 'papermill'", FindingKind.PAPERMILL_METADATA)
    yield TextUnit("notebook metadata", json.dumps(meta, ensure_ascii=False))
    cell_meta = 0
    for i, cell in enumerate(nb.get("cells", []), start=1):
        where = f"cell {i}"
        cmeta = cell.get("metadata", {})
        if "papermill" in cmeta:
            cell_meta += 1
        if "injected-parameters" in cmeta.get("tags", []):
            yield Note(f"{where} (injected parameters)", FindingKind.NOTEBOOK_PARAMETERS)
        yield TextUnit(f"{where} source", _joined(cell.get("source", "")))
        for j, out in enumerate(cell.get("outputs", []), start=1):
            yield from _output_units(out, f"{where} output {j}")
    if cell_meta:
        yield Note(f"cell metadata 'papermill' ({cell_meta} cells)", FindingKind.PAPERMILL_METADATA)


def _output_units(out: dict[str, Any], where: str) -> Iterator[TextUnit | TableUnit | Note]:
    kind = out.get("output_type")
    if kind == "stream":
        yield TextUnit(where, _joined(out.get("text", "")))
    elif kind == "error":
        yield Note(where, FindingKind.TRACEBACK)
        tb = "\n".join(_ANSI.sub("", line) for line in out.get("traceback", []))
        yield TextUnit(where, f"{out.get('ename', '')}: {out.get('evalue', '')}\n{tb}")
    elif kind in ("execute_result", "display_data"):
        data = out.get("data", {})
        for mime, value in data.items():
            if mime == "text/html":
                yield from _html_units(_joined(value), prefix=f"{where} ")
            elif mime in ("text/plain", "text/markdown", "text/latex"):
                yield TextUnit(where, _joined(value))
            elif mime.endswith("json"):
                yield from _json_units(value, f"{where} json $")


# --- Word -----------------------------------------------------------------------------------


def _docx_table_units(table: Any, location: str) -> Iterator[TextUnit | TableUnit]:
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    unit = _table_from_rows(location, rows)
    if unit is not None:
        yield unit


def read_docx(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    import docx

    doc = docx.Document(str(path))
    for k, para in enumerate(doc.paragraphs, start=1):
        if para.text.strip():
            yield TextUnit(f"paragraph {k}", para.text)
    for t, table in enumerate(doc.tables, start=1):
        yield from _docx_table_units(table, f"table {t}")
    for s, section in enumerate(doc.sections, start=1):
        parts = {"header": section.header, "footer": section.footer,
                 "first-page header": section.first_page_header, "first-page footer": section.first_page_footer,
                 "even-page header": section.even_page_header, "even-page footer": section.even_page_footer}
        for label, part in parts.items():
            if part.is_linked_to_previous and s > 1:
                continue
            for k, para in enumerate(part.paragraphs, start=1):
                if para.text.strip():
                    yield TextUnit(f"section {s} {label} paragraph {k}", para.text)
            for t, table in enumerate(part.tables, start=1):
                yield from _docx_table_units(table, f"section {s} {label} table {t}")
    yield from _ooxml_extra_parts(path, ("word/comments", "word/footnotes", "word/endnotes"))
    with zipfile.ZipFile(path) as zf:
        body = zf.read("word/document.xml").decode("utf-8", errors="replace")
    for k, box in enumerate(_TEXT_BOX.findall(body), start=1):  # python-docx does not read text boxes
        yield TextUnit(f"text box {k}", _xml_text(box))
    props = doc.core_properties
    for name in ("author", "last_modified_by", "title", "subject", "keywords", "comments", "category",
                 "identifier", "content_status"):
        value = getattr(props, name, None)
        if value:
            yield TextUnit(f"core properties '{name}'", str(value))


_TEXT_BOX = re.compile(r"<w:txbxContent\b.*?</w:txbxContent>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _xml_text(xml: str) -> str:
    import html

    return html.unescape(_TAG.sub(" ", xml))


def _ooxml_extra_parts(path: Path, prefixes: tuple[str, ...]) -> Iterator[TextUnit]:
    """Parts the document libraries skip: comments, notes, extended and custom properties."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith(prefixes) or name in ("docProps/app.xml", "docProps/custom.xml"):
                if name.endswith(".xml"):
                    yield TextUnit(f"part {name}", _xml_text(zf.read(name).decode("utf-8", errors="replace")))


# --- Excel ----------------------------------------------------------------------------------


def read_xlsx(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    import openpyxl
    from openpyxl.utils import get_column_letter

    yield from _ooxml_extra_parts(path, ("xl/comments", "xl/threadedComments"))
    wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        props = wb.properties
        for name in ("creator", "lastModifiedBy", "title", "subject", "description", "keywords", "category"):
            value = getattr(props, name, None)
            if value:
                yield TextUnit(f"document properties '{name}'", str(value))
        for prop in getattr(wb, "custom_doc_props", None) or []:
            yield TextUnit(f"custom document property {prop.name!r}", str(getattr(prop, "value", "")))
        for ws in wb.worksheets:
            state = "" if ws.sheet_state == "visible" else f" ({ws.sheet_state})"
            where = f'sheet "{safe_label(ws.title, "<name hidden>")}"{state}'
            rows: list[list[str]] = []
            first_row: int | None = None
            for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = ["" if v is None else _excel_text(v) for v in values]
                if first_row is None:
                    if not any(cells):
                        continue
                    first_row = r
                rows.append(cells)
                if len(rows) >= _MAX_TABLE_ROWS:
                    break
            if first_row is None:
                continue
            start = first_row

            def ref(i: int, c: int, _w: str = where, _s: int = start) -> str:
                return f"{_w} {get_column_letter(c + 1)}{_s + 1 + i}"

            unit = _table_from_rows(where, rows, ref, drop_blank=False)  # keep rows aligned with the sheet
            if unit is not None:
                header_ref = [f"{where} {get_column_letter(c + 1)}{start}" for c in range(len(unit.header))]
                for c, text in enumerate(unit.header):
                    if text:
                        yield TextUnit(header_ref[c], text)
                yield unit
    finally:
        wb.close()


def _excel_text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if (abs(value) >= 1e15 or value != int(value)) else str(int(value))
    return str(value)


# --- CSV, JSON, plain text ----------------------------------------------------------------


def _open_text(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            fh.read(65536)
        return path.open(encoding="utf-8-sig", newline="")
    except UnicodeDecodeError:
        return path.open(encoding="gb18030", errors="replace", newline="")


def read_csv(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    with _open_text(path) as fh:
        rows = []
        for row in csv.reader(fh):
            rows.append(row)
            if len(rows) >= _MAX_TABLE_ROWS:
                break
    unit = _table_from_rows("table", rows, lambda r, c: f"row {r + 2} column {c + 1}", drop_blank=False)
    if unit is not None:
        for c, text in enumerate(unit.header):
            yield TextUnit(f"row 1 column {c + 1}", text)
        yield unit


def _json_units(value: Any, path: str) -> Iterator[TextUnit | TableUnit | Note]:
    if isinstance(value, dict):
        if isinstance(value.get("columns"), list) and isinstance(value.get("data"), list):
            rows = [list(map(str, value["columns"]))] + [[_scalar(v) for v in r] for r in value["data"]
                                                         if isinstance(r, list)]
            unit = _table_from_rows(f"json {path}", rows, lambda r, c, _p=path: f"json {_p}.data[{r}][{c}]")
            if unit is not None:
                yield unit
        elif len(value) >= 2 and all(isinstance(v, dict) for v in value.values()):
            keys = sorted({k for v in value.values() for k in v})
            if len(keys) <= 50:
                names = list(value)
                shown = [safe_label(str(k), f"<key {i + 1}>") for i, k in enumerate(names)]
                shown_keys = [safe_label(str(k), f"<key {i + 1}>") for i, k in enumerate(keys)]
                rows = [["key", *keys]] + [[str(k), *(_scalar(value[k].get(c)) for c in keys)] for k in names]
                yield _table_from_rows(f"json {path}", rows, lambda r, c, _p=path, _n=shown, _k=shown_keys:
                                       f"json {_p}.{_n[r]}" + (f".{_k[c - 1]}" if c else ""))  # type: ignore[misc]
        scalars = [(k, v) for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool)]
        if scalars:  # a record of numbers is a one-row table (so {"n": 3} or {"max": 92} are checked)
            shown_s = [safe_label(str(k), f"<key {i + 1}>") for i, (k, _) in enumerate(scalars)]
            yield TableUnit(location=f"json {path}", header=tuple(str(k) for k, _ in scalars),
                            rows=(tuple(_scalar(v) for _, v in scalars),),
                            ref=lambda r, c, _p=path, _k=shown_s: f"json {_p}.{_k[c]}")
        for i, (k, v) in enumerate(value.items()):
            if isinstance(k, str) and len(k) > 1:
                yield TextUnit(f"json {path} key {i + 1}", k)
            yield from _json_units(v, f"{path}.{safe_label(str(k), f'<key {i + 1}>')}")
    elif isinstance(value, list):
        if len(value) >= 2 and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            shown_keys = [safe_label(str(k), f"<key {i + 1}>") for i, k in enumerate(keys)]
            rows = [keys] + [[_scalar(v.get(k)) for k in keys] for v in value]
            yield _table_from_rows(f"json {path}", rows,
                                   lambda r, c, _p=path, _k=shown_keys: f"json {_p}[{r}].{_k[c]}")
        for i, v in enumerate(value):
            yield from _json_units(v, f"{path}[{i}]")
    elif value is not None and not isinstance(value, bool):
        yield TextUnit(f"json {path}", _scalar(value))


def _scalar(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def read_json(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    for unit in _json_units(data, "$"):
        if unit is not None:
            yield unit


def read_text(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    with _open_text(path) as fh:
        block: list[list[str]] = []
        block_start = 0
        for n, line in enumerate(fh, start=1):
            stripped = line.strip()
            if stripped.startswith("|") and stripped.endswith("|"):  # a Markdown table
                if not block:
                    block_start = n
                if not set(stripped) <= set("|-: "):
                    block.append([c.strip() for c in stripped.strip("|").split("|")])
            elif block:
                yield from _md_table(block, block_start)
                block = []
            yield TextUnit(f"line {n}", line)
        if block:
            yield from _md_table(block, block_start)


def _md_table(block: list[list[str]], start: int) -> Iterator[TableUnit]:
    unit = _table_from_rows(f"table at line {start}", block,
                            lambda r, c, _s=start: f"line {_s + r + 2} column {c + 1}")
    if unit is not None:
        yield unit


READERS: dict[str, Callable[[Path], Iterator[TextUnit | TableUnit | Note]]] = {
    ".html": read_html, ".htm": read_html, ".ipynb": read_ipynb, ".docx": read_docx, ".xlsx": read_xlsx,
    ".xlsm": read_xlsx, ".csv": read_csv, ".json": read_json, ".md": read_text, ".txt": read_text,
    ".log": read_text, ".tsv": read_text, ".yaml": read_text, ".yml": read_text,
}


def iter_units(path: Path) -> Iterator[TextUnit | TableUnit | Note]:
    """Every text piece, table and structural note of one file (by its extension)."""
    reader = READERS[path.suffix.lower()]
    for unit in reader(path):
        if unit is not None:
            yield unit
