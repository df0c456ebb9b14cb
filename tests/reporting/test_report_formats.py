"""The same report document as offline HTML and as Word, read back and rendered.

Word: the file is opened again with python-docx and checked for the outline (Heading styles),
real tables with the document's cells, captions, embedded figures, the East Asian font on
``w:rFonts`` and a PAGE field in the footer. HTML: nbconvert's export of a notebook showing the
document, post-processed with :func:`report_postprocess`, is loaded in headless Chromium (no
CJK system font, no network): it must fetch nothing from the network, draw its Chinese with
the embedded font (no missing-glyph boxes) and print the contents, captions and notes.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import matplotlib.image
import nbformat
import numpy as np
import pytest
from docx import Document
from docx.oxml.ns import qn
from PIL import Image

from evalkit.reporting import (
    ReportDocument,
    data_quality_recommendations,
    data_quality_summary,
    data_quality_table,
    measurement_recommendations,
    measurement_summary,
    measurement_table,
    impact_estimates_figure,
    impact_recommendations,
    impact_summary,
    impact_table,
    make_offline,
    report_postprocess,
    write_docx,
)
from evalkit.reporting.blocks import block_html
from evalkit.reporting.docx_writer import EAST_ASIA_FONT
from evalkit.reporting.html_offline import external_references
from evalkit.reporting.vocab import word

SCREENSHOTS = Path("/tmp")
CODE_TERMS = re.compile(r"treat:post|never_treated|multiplier_bootstrap|n_missing|share_missing|\bTrue\b|\bFalse\b")


def _document(tmp_path: Path, study, report, lang: str, measurement=None, profile=None) -> ReportDocument:
    doc = ReportDocument(name="03_impact", lang=lang, title=word("summary.title", lang) + " · demo", synthetic=True,
                         output_dir=tmp_path, show=False)
    doc.heading(word("summary.title", lang))
    doc.section("summary", impact_summary(report, study, lang))
    doc.section("impact_main")
    doc.table(impact_table(report, study, "main", lang))
    doc.figure(impact_estimates_figure(report, study, lang), name="impact_estimates", title="ATT",
               notes=["note"])
    doc.section("impact_heterogeneity")
    doc.table(impact_table(report, study, "subgroups", lang))
    doc.heading(word("recommendations.title", lang))
    doc.section("recommendations", impact_recommendations(report, study, lang))
    if measurement is not None:  # the other reports' tables and text, for the code-term scan
        doc.section("measure_overview")
        doc.section("summary", measurement_summary(measurement, lang, codebook=study.codebook))
        for name in ("overview", "items", "efa", "weights", "means", "icc"):
            doc.table(measurement_table(measurement, name, lang, codebook=study.codebook))
        doc.section("recommendations", measurement_recommendations(measurement, lang, codebook=study.codebook))
    if profile is not None:
        doc.section("dq_missing")
        doc.section("summary", data_quality_summary(profile, lang, codebook=study.codebook))
        doc.table(data_quality_table(profile, study, "missingness", lang))
        doc.section("recommendations", data_quality_recommendations(profile, lang, codebook=study.codebook))
    doc.save()
    return doc


def _nbconvert_html(doc: ReportDocument) -> str:
    """The document as `evalkit run` exports it: display_data HTML outputs, nbconvert without code."""
    from nbconvert import HTMLExporter

    cell = nbformat.v4.new_code_cell("doc")
    cell.outputs = [nbformat.v4.new_output("display_data", {"text/html": block_html(b)}) for b in doc.blocks]
    nb = nbformat.v4.new_notebook(cells=[cell])
    html, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
                           ).from_notebook_node(nb)
    return html


@pytest.fixture(scope="module")
def docs(tmp_path_factory, demo_study, make_impact_report):
    out = {}
    for lang in ("zh", "en"):
        folder = tmp_path_factory.mktemp(f"doc_{lang}")
        out[lang] = _document(folder, demo_study, make_impact_report(), lang)
    return out


# ---- Word --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_word_file_reads_back_with_outline_tables_captions_font_and_page_numbers(docs, lang, tmp_path):
    doc = docs[lang]
    path = write_docx(doc.path, tmp_path / "report.docx")
    word_doc = Document(str(path))
    paragraphs = word_doc.paragraphs
    headings = [(p.style.name, p.text) for p in paragraphs if p.style.name.startswith("Heading")]
    assert headings[0] == ("Heading 1", doc.title)
    assert ("Heading 2", word("summary.title", lang)) in headings
    assert ("Heading 2", word("recommendations.title", lang)) in headings
    table_blocks = [b for b in doc.blocks if b["kind"] == "table"]
    assert len(word_doc.tables) == len(table_blocks) == 2
    for table, block in zip(word_doc.tables, table_blocks, strict=True):
        cells = [[c.text for c in row.cells] for row in table.rows]
        assert cells == [block["columns"], *block["rows"]]  # real tables, the same cells as the HTML
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # header repeats on each page
    captions = [p.text for p in paragraphs if p.style.name == "Caption"]
    prefix = "表" if lang == "zh" else "Table"
    assert captions[0].startswith(f"{prefix} 1") and any(c.startswith(("图 1", "Figure 1")) for c in captions)
    text = "\n".join(p.text for p in paragraphs)
    assert word("sig.legend", lang) in text and not CODE_TERMS.search(text)
    if lang == "zh":
        assert "获得感提高 0.28 分（95% 置信区间 0.24–0.33），约为基线标准差的 0.35 倍。" in text
    assert len(word_doc.inline_shapes) == 1
    image = word_doc.inline_shapes[0]
    assert image.width.inches <= 6.31  # fits the A4 text width
    blob = word_doc.part.related_parts[image._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
    with Image.open(io.BytesIO(blob)) as png:
        assert png.size[0] / image.width.inches >= 290  # print resolution (300 dpi)
    styles = word_doc.styles.element
    east_asia = {f.get(qn("w:eastAsia")) for f in styles.iter(qn("w:rFonts"))}
    assert east_asia == {EAST_ASIA_FONT}  # set on every rFonts, not only font.name
    footer = word_doc.sections[0].footer._element
    assert "PAGE" in "".join(t.text for t in footer.iter(qn("w:instrText")))
    assert [f.get(qn("w:fldCharType")) for f in footer.iter(qn("w:fldChar"))] == ["begin", "separate", "end"]
    assert word_doc.core_properties.language == ("zh-CN" if lang == "zh" else "en-US")


def test_every_document_of_a_run_folder_becomes_a_word_file(docs):
    from evalkit.reporting import write_run_docx

    folder = docs["en"].path.parent
    written = write_run_docx(folder)
    assert [p.name for p in written] == ["03_impact.docx"]
    assert Document(str(written[0])).paragraphs[0].text == docs["en"].title


def test_word_file_from_a_mapping_and_figure_missing_is_tolerated(docs, tmp_path):
    data = docs["zh"].to_dict()
    json.dumps(data)  # the document is JSON
    path = write_docx(data, tmp_path / "no_figures" / "r.docx")  # figure paths resolve beside the .docx: absent
    assert len(Document(str(path)).inline_shapes) == 0


# ---- HTML --------------------------------------------------------------------------------


def test_offline_html_drops_every_network_request_and_adds_print_styles(docs):
    raw = _nbconvert_html(docs["zh"])
    assert external_references(raw)  # the control: nbconvert's template does load from a CDN
    assert "mathjax" in raw.lower()
    html = make_offline(raw)
    assert external_references(html) == []
    assert "mathjax" not in html.lower() and "cdnjs" not in html and "require.min.js" not in html
    assert "@media print" in html and "@page" in html
    assert f"<title>{docs['zh'].title}</title>" in html
    assert make_offline(html) == html
    final = report_postprocess(raw)
    assert external_references(final) == [] and "@font-face" in final


_PROBE = ("<script>window.addEventListener('load', () => setTimeout(() => {"
          "const urls = performance.getEntriesByType('resource').map(e => e.name);"
          "document.body.setAttribute('data-requests', JSON.stringify(urls));"
          "document.body.setAttribute('data-font', document.fonts.check('16px \"evalkit CJK\"', '获得感') + '|'"
          " + [...document.fonts].map(f => f.status).join(','));}, 500));</script>")


def _with_probe(html: str) -> str:
    return html.replace("</body>", _PROBE + "</body>")


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_renders_the_offline_report_without_network_or_tofu(docs, browser, tmp_path):
    raw = _nbconvert_html(docs["zh"])
    page = report_postprocess(raw)
    dom = browser(_with_probe(page), "--dump-dom", "--host-resolver-rules=MAP * ~NOTFOUND")
    requests = json.loads(re.search(r"data-requests=\"([^\"]*)\"", dom).group(1).replace("&quot;", '"'))
    assert not [u for u in requests if u.startswith(("http:", "https:"))], requests
    assert re.search(r'data-font="true\|loaded"', dom), re.search(r'data-font="[^"]*"', dom)
    control = browser(_with_probe(raw), "--dump-dom", "--host-resolver-rules=MAP * ~NOTFOUND")
    control_requests = re.search(r"data-requests=\"([^\"]*)\"", control).group(1)
    assert "cdnjs" in control_requests  # the probe sees the CDN requests nbconvert's page makes

    # the report's own characters, drawn by its embedded font: none is the missing-glyph box
    text = re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>|<script.*?</script>", "", page, flags=re.S))
    chars = list(dict.fromkeys(ch for ch in text if "\u4e00" <= ch <= "\u9fff"))[:10]
    font_css = re.search(r'<style id="evalkit-cjk-font">.*?</style>', page, re.S).group(0)
    spans = "".join(f'<span style="position:absolute;left:{20 + 80 * i}px;top:20px">{c}</span>'
                    for i, c in enumerate(chars))
    cells = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>body{margin:0;background:#fff;'
             f'color:#000}} span{{font-size:64px;line-height:1}}</style>{font_css}</head><body>{spans}</body></html>')
    tofu_png, png = tmp_path / "tofu.png", tmp_path / "cells.png"
    browser(re.sub(r'<style id="evalkit-cjk-font">.*?</style>', "", cells, flags=re.S),
            "--window-size=900,120", f"--screenshot={tofu_png}")
    browser(cells, "--window-size=900,120", f"--screenshot={png}")

    def inks(path: Path) -> list[np.ndarray]:
        image = matplotlib.image.imread(path)[..., :3].mean(axis=2)
        return [image[10:100, 20 + 80 * i: 100 + 80 * i] < 0.5 for i in range(len(chars))]

    box = inks(tofu_png)[0]
    assert all(np.array_equal(box, cell) for cell in inks(tofu_png)), "the control found a system CJK font"
    drawn = inks(png)
    assert all(cell.sum() > 40 and not np.array_equal(cell, box) for cell in drawn), chars
    assert len({cell.tobytes() for cell in drawn}) == len(chars)

    full = tmp_path / "report.png"
    browser(page, "--window-size=1280,2400", f"--screenshot={full}")
    shutil.copy(full, SCREENSHOTS / "evalkit_report_offline.png")  # for a human look
    image = matplotlib.image.imread(full)[..., :3].mean(axis=2)
    assert (image < 0.5).mean() > 0.01  # text was drawn


def test_code_terms_never_reach_the_rendered_html(tmp_path, demo_study, make_impact_report, demo_measurement,
                                                  demo_profile):
    for lang in ("zh", "en"):
        doc = _document(tmp_path / lang, demo_study, make_impact_report(), lang, demo_measurement, demo_profile)
        html = report_postprocess(_nbconvert_html(doc))
        body = re.sub(r"<style.*?</style>|<script.*?</script>", "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", body)
        assert not CODE_TERMS.search(text), (lang, CODE_TERMS.search(text))
        if lang == "en":
            assert not re.search(r"[\u4e00-\u9fff]", text), re.findall(r"[\u4e00-\u9fff]+", text)[:5]
