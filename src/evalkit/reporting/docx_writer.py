"""Word (.docx) reports from a saved report document, with python-docx.

:func:`write_docx` reads ``document-<name>.json`` (written by
:class:`~evalkit.reporting.document.ReportDocument`) and builds the same blocks in Word:
headings with Word's built-in Heading styles (so the navigation pane shows the outline and
Word can insert a table of contents), real tables (style "Table Grid", header row repeated
on each page), figures at their drawn width from the 300-dpi PNGs, captions "表 n" / "图 n"
with Word's Caption style, notes under each table and figure, the synthetic-data banner,
page numbers as a PAGE field in the footer, and the East Asian font set on ``w:rFonts`` via
``w:eastAsia`` (not only ``font.name``) so Chinese text uses a Chinese font.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from evalkit.reporting.vocab import lang_code

__all__ = ["write_docx", "write_run_docx", "EAST_ASIA_FONT", "LATIN_FONT"]

#: Chinese font Word uses (ships with Windows and Office; Word substitutes where absent).
EAST_ASIA_FONT = "Microsoft YaHei"
LATIN_FONT = "Calibri"
_TEXT_WIDTH_IN = 6.3  # A4 with 2.5 cm margins, rounded down


def _add_field(paragraph: Any, instruction: str) -> None:
    """A Word field (e.g. ``PAGE``) as fldChar begin / instrText / separate / result / end runs."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def fld(kind: str) -> Any:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    run = paragraph.add_run()
    run._r.append(fld("begin"))
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    run = paragraph.add_run()
    run._r.append(fld("separate"))
    paragraph.add_run("1")
    run = paragraph.add_run()
    run._r.append(fld("end"))


def _runs(paragraph: Any, runs: list[Mapping[str, Any]]) -> None:
    for r in runs:
        run = paragraph.add_run(r["text"])
        run.bold = bool(r.get("bold")) or None
        run.italic = bool(r.get("italic")) or None


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _caption(document: Any, block: Mapping[str, Any]) -> None:
    p = document.add_paragraph(style="Caption")
    label = p.add_run(block["label"])
    label.bold = True
    p.add_run(block["sep"] + block["title"]).bold = True
    p.paragraph_format.keep_with_next = True


def _notes(document: Any, notes: list[str]) -> None:
    from docx.shared import Pt

    for note in notes:
        p = document.add_paragraph()
        run = p.add_run(note)
        run.font.size = Pt(8.5)
        p.paragraph_format.space_after = Pt(2)


def _table(document: Any, block: Mapping[str, Any]) -> None:
    from docx.shared import Pt

    _caption(document, block)
    columns, rows = block["columns"], block["rows"]
    table = document.add_table(rows=1 + len(rows), cols=len(columns))
    table.style = "Table Grid"
    for j, name in enumerate(columns):
        cell = table.rows[0].cells[j]
        cell.text = ""
        run = cell.paragraphs[0].add_run(name)
        run.bold = True
        run.font.size = Pt(9)
    _repeat_header(table.rows[0])
    for i, row in enumerate(rows, start=1):
        cells = table.rows[i].cells
        for j, value in enumerate(row):
            cells[j].text = ""
            cells[j].paragraphs[0].add_run(str(value)).font.size = Pt(9)
    _notes(document, list(block.get("notes", [])))


def _figure(document: Any, block: Mapping[str, Any], base: Path) -> None:
    from docx.shared import Inches

    _caption(document, block)
    path = block.get("path")
    if path and (base / path).is_file():
        width = min(float(block.get("width_in") or _TEXT_WIDTH_IN), _TEXT_WIDTH_IN)
        document.add_picture(str(base / path), width=Inches(width))
    _notes(document, list(block.get("notes", [])))


def write_docx(document: str | os.PathLike[str] | Mapping[str, Any], docx_path: str | os.PathLike[str],
               *, lang: Literal["zh", "en"] | None = None) -> Path:
    """Build the Word report from a saved report document.

    Parameters
    ----------
    document : path or mapping
        ``<output_dir>/document-<name>.json`` (figure paths in it are relative to its folder),
        or the mapping :meth:`ReportDocument.to_dict` returns (figures then resolve against
        ``docx_path``'s folder).
    docx_path : path
        Where the ``.docx`` is written (parent folders are created).
    lang : {"zh", "en"} or None
        Language tag of the text; default: the document's own.

    Returns
    -------
    Path
        ``docx_path``.
    """
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    from evalkit.reporting.fonts import set_docx_cjk_font

    docx_path = Path(docx_path)
    if isinstance(document, Mapping):
        data, base = dict(document), docx_path.parent
    else:
        source = Path(document)
        data, base = json.loads(source.read_text(encoding="utf-8")), source.parent
    lang = lang_code(lang or data.get("lang", "zh"))  # type: ignore[assignment]

    doc = docx.Document()
    section = doc.sections[0]
    section.page_height, section.page_width = docx.shared.Mm(297), docx.shared.Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, docx.shared.Mm(25))
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(10.5)
    set_docx_cjk_font(doc, family=EAST_ASIA_FONT, lang="zh-CN" if lang == "zh" else "en-US")
    doc.core_properties.title = data.get("title", "")
    doc.core_properties.language = "zh-CN" if lang == "zh" else "en-US"
    doc.core_properties.author = "evalkit"
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_field(footer, "PAGE")

    for block in data["blocks"]:
        kind = block["kind"]
        if kind == "heading":
            level = int(block["level"])
            doc.add_heading(block["text"], level=min(max(level, 1), 9))
        elif kind == "paragraph":
            _runs(doc.add_paragraph(), block["runs"])
        elif kind == "list":
            style = "List Number" if block.get("ordered") else "List Bullet"
            for item in block["items"]:
                _runs(doc.add_paragraph(style=style), item)
        elif kind == "banner":
            p = doc.add_paragraph()
            run = p.add_run(block["text"])
            run.bold = True
            run.font.color.rgb = RGBColor(0xC0, 0x39, 0x2B)
        elif kind == "toc":
            p = doc.add_paragraph()
            p.add_run(block["title"]).bold = True
            for entry in block["entries"]:
                q = doc.add_paragraph(entry["text"], style="List Bullet" if entry["level"] <= 2 else "List Bullet 2")
                q.paragraph_format.space_after = Pt(0)
        elif kind == "table":
            _table(doc, block)
        elif kind == "figure":
            _figure(doc, block, base)
        else:
            msg = f"{docx_path}: unknown block kind {kind!r} in the report document"
            raise ValueError(msg)
    docx_path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(docx_path))
    return docx_path


def write_run_docx(folder: str | os.PathLike[str], *, lang: Literal["zh", "en"] | None = None) -> list[Path]:
    """Write ``<name>.docx`` beside every ``document-<name>.json`` in a report folder; returns the paths.

    The run's export step calls this once after the notebooks ran (their ``output_dir``).
    """
    folder = Path(folder)
    out = []
    for source in sorted(folder.glob("document-*.json")):
        name = source.stem.removeprefix("document-")
        out.append(write_docx(source, folder / f"{name}.docx", lang=lang))
    return out
