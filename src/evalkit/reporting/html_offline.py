"""Make an exported report work offline and print cleanly.

nbconvert's HTML template loads MathJax and require.js from a CDN and imports mermaid from
one when a diagram is present; on a government intranet those requests hang or fail.
Reports contain no formulas to typeset, no widgets and no diagrams, so
:func:`make_offline` removes those scripts (and any other script or stylesheet fetched over
the network) instead of inlining them, adds the report stylesheet (tables, captions, notes,
synthetic-data banner, table of contents) and a print stylesheet (A4 margins, no UI
chrome, tables and figures kept on one page, headings kept with what follows), and sets the
page title from the first level-1 heading. Written by hand because it is a handful of
regular expressions over nbconvert's known output; nothing here parses arbitrary HTML.

Compose it with the font embedding: :func:`report_postprocess` = ``embed_cjk_font ∘
make_offline``, the one function the export passes as ``postprocess``.
"""

from __future__ import annotations

import html as html_lib
import re

__all__ = ["REPORT_CSS", "make_offline", "report_postprocess", "external_references"]

_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
_COMMENTS = re.compile(r"<!--\s*(Load mathjax|MathJax configuration|End of mathjax configuration)\s*-->", re.I)
_EXTERNAL = re.compile(r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.I)
_IMPORT = re.compile(r"""(?:import\s*\(|@import\s+(?:url\()?)\s*["']?(?:https?:)?//""", re.I)

REPORT_CSS = """
.evalkit-synthetic{border:3px solid #c0392b;background:#fdecea;color:#7b241c;padding:12px 16px;
  margin:8px 0 16px 0;font-size:1.1em;font-weight:bold;border-radius:6px}
.evalkit-toc{border:1px solid #d0d7de;background:#f6f8fa;padding:8px 16px;margin:12px 0 20px 0;border-radius:6px}
.evalkit-toc-title{font-weight:bold;margin:4px 0}
.evalkit-toc ul{list-style:none;padding-left:0;margin:0}
.evalkit-toc li.toc-l3{padding-left:1.5em}
.evalkit-toc a{text-decoration:none}
figure.evalkit-table-block,figure.evalkit-figure-block{margin:16px 0 24px 0}
.evalkit-caption{font-weight:bold;margin:4px 0 6px 0;font-size:1.02em}

table.evalkit-table{border-collapse:collapse;font-size:.92em;margin:0}
table.evalkit-table th{border-top:1.5px solid #333;border-bottom:1px solid #333;padding:4px 8px;text-align:left;
  background:#fff;font-weight:bold}
table.evalkit-table td{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:left}
table.evalkit-table tbody tr:last-child td{border-bottom:1.5px solid #333}
.evalkit-notes{font-size:.85em;color:#444;margin-top:4px}
.evalkit-notes p{margin:2px 0}
figure.evalkit-figure-block img{max-width:100%;height:auto}
.jp-RenderedHTMLCommon table.evalkit-table{table-layout:auto;margin-left:0}
.jp-RenderedHTMLCommon table.evalkit-table td,.jp-RenderedHTMLCommon table.evalkit-table th{text-align:left;
  vertical-align:top;max-width:28em}
.jp-RenderedHTMLCommon table.evalkit-table td.num{text-align:right;white-space:nowrap}
.jp-RenderedHTMLCommon figure.evalkit-figure-block img{max-width:100%}
@media print{
  @page{size:A4;margin:18mm 16mm 20mm 16mm}
  body{background:#fff!important;color:#000}
  .jp-OutputPrompt,.jp-InputPrompt,.jp-Collapser,.jp-InputArea,.jp-OutputArea-prompt{display:none!important}
  .jp-Notebook,.jp-Cell,.jp-OutputArea-output{padding:0!important;margin:0!important}
  a{color:#000;text-decoration:none}
  h1,h2,h3,h4,.evalkit-caption{break-after:avoid;page-break-after:avoid}
  figure.evalkit-table-block,figure.evalkit-figure-block,tr,img{break-inside:avoid;page-break-inside:avoid}
  thead{display:table-header-group}
  .evalkit-synthetic{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .evalkit-toc{break-after:page;page-break-after:always}
}
"""


def _drop_script(match: re.Match[str]) -> str:
    attrs, body = match.group("attrs"), match.group("body")
    if re.search(r"\bsrc\s*=", attrs, re.I) and not re.search(r"\bsrc\s*=\s*[\"']?data:", attrs, re.I):
        return ""
    if "mathjax" in attrs.lower() or "mathjax" in body.lower() or _IMPORT.search(body) or "://" in body:
        return ""
    return match.group(0)


def make_offline(html: str) -> str:
    """The report HTML without network requests, with the report and print stylesheets.

    Idempotent. Scripts loaded from a URL (MathJax, require.js), the MathJax configuration,
    scripts that import from a URL (mermaid) and stylesheets linked from a URL are removed.
    """
    html = _SCRIPT.sub(_drop_script, html)
    html = _LINK.sub("", html)
    html = _COMMENTS.sub("", html)
    if 'id="evalkit-report-css"' not in html:
        block = f'<style id="evalkit-report-css">{REPORT_CSS}</style>\n'
        html = html.replace("</head>", block + "</head>", 1) if "</head>" in html else block + html
    if (h1 := re.search(r"<h1\b[^>]*>(.*?)</h1>", html, re.S | re.I)) is not None:
        title = html_lib.escape(html_lib.unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip().rstrip("¶").strip())
        html = re.sub(r"<title>.*?</title>", f"<title>{title}</title>", html, count=1, flags=re.S | re.I)
    return html


def external_references(html: str) -> list[str]:
    """Every ``src``/``href`` or import that would fetch from the network (empty for an offline page)."""
    found = [m.group(0) for m in _EXTERNAL.finditer(html)] + [m.group(0) for m in _LINK.finditer(html)]
    found += [m.group(0) for m in _IMPORT.finditer(html)]
    return found


def report_postprocess(html: str) -> str:
    """What the export applies to every report: offline, then the embedded CJK font subset."""
    from evalkit.reporting.html_fonts import embed_cjk_font

    return embed_cjk_font(make_offline(html))
