"""Export an executed report notebook to HTML a funder can open offline.

Code, prompts and the completion marker are hidden; the page carries its
language (``<html lang>``) and a title. nbconvert's default template loads
MathJax and require.js from a CDN, which is slow or blocked on government
intranets; reports use no maths typesetting or widgets, so both are turned
off (empty URLs) and any remaining remote ``<script src>``/``<link href>`` is
dropped, making the page self-contained. ``postprocess`` functions then run in
order (e.g. embedding the subset Chinese font).

The exporter is built once per process: nbconvert's set-up (templates,
Jinja environment) costs more than exporting one report.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from evalkit.errors import ReportError
from evalkit.run.atomic import write_text_atomic
from evalkit.run.completion import COMPLETION_MIME

__all__ = ["export_html", "drop_remote_assets", "skip_iri_grammar", "TEMPLATE_NOTE_TAG"]

#: tag of template cells that are notes for the template's author and never appear in a report
TEMPLATE_NOTE_TAG = "template-note"

def skip_iri_grammar() -> None:
    """Keep nbformat's jsonschema from compiling an IRI grammar nobody uses (about 1 s per process).

    nbformat imports jsonschema, which imports the optional ``rfc3987_syntax`` and compiles its
    grammar for IRI format checks. nbformat never checks formats, and jsonschema treats the
    module as absent when importing it fails, so blocking that one optional import is safe.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


_LANG_CODES = {"zh": "zh-CN", "en": "en"}
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def export_html(
    executed_nb: str | Path,
    html_path: str | Path,
    *,
    lang: Literal["zh", "en"] = "zh",
    postprocess: Callable[[str], str] | Iterable[Callable[[str], str]] | None = None,
) -> Path:
    """Export an executed notebook to an HTML report without code.

    Parameters
    ----------
    executed_nb : str or Path
        The executed notebook (from :func:`run_notebook`).
    html_path : str or Path
        Where the HTML is written (parent folders are created).
    lang : {"zh", "en"}
        Sets ``<html lang="zh-CN">`` or ``<html lang="en">``.
    postprocess : callable or sequence of callables, optional
        Applied in order to the finished HTML text before it is written, e.g.
        ``evalkit.reporting.html_fonts.embed_cjk_font``.

    Returns
    -------
    Path
        ``html_path``.

    Notes
    -----
    Code, input prompts and output prompts are hidden (nbconvert's
    ``exclude_input``, ``exclude_input_prompt``, ``exclude_output_prompt``);
    the completion marker output is dropped. The title is the first markdown
    heading, else the notebook's file name.
    """
    if lang not in _LANG_CODES:
        msg = f"lang={lang!r} is not supported; use one of: {', '.join(_LANG_CODES)}."
        raise ValueError(msg)
    skip_iri_grammar()
    import nbformat

    executed_nb, html_path = Path(executed_nb), Path(html_path)
    nb = nbformat.read(executed_nb, as_version=4)
    for i, cell in enumerate(nb.cells):
        # papermill gives its injected cell a random id: numbered ids keep the HTML byte-identical
        cell["id"] = f"c{i}"
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if COMPLETION_MIME not in o.get("data", {})]
    nb.metadata["title"] = _first_heading(nb) or executed_nb.stem
    html, _ = _exporter().from_notebook_node(nb)
    html = drop_remote_assets(html)
    html, n = re.subn(r'<html lang="[^"]*">', f'<html lang="{_LANG_CODES[lang]}">', html, count=1)
    if n != 1:
        msg = f"nbconvert's HTML for {executed_nb} has no <html lang=...> tag; check the nbconvert version."
        raise ReportError(msg)
    steps = [] if postprocess is None else [postprocess] if callable(postprocess) else list(postprocess)
    for step in steps:
        html = step(html)
    return write_text_atomic(html_path, html)


@lru_cache(maxsize=1)
def _exporter() -> Any:
    from nbconvert import HTMLExporter

    from traitlets.config import Config

    # cells tagged "template-note" explain the template to its author, not the report to its reader
    config = Config({"TagRemovePreprocessor": {"enabled": True, "remove_cell_tags": [TEMPLATE_NOTE_TAG]}})
    return HTMLExporter(config=config, exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, mathjax_url="", require_js_url="")


_REMOTE_TAG = re.compile(
    r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>|<link\b[^>]*\bhref=[\"']https?://[^>]*>",
    re.IGNORECASE)
_EMPTY_SRC_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"'][\"'][^>]*>\s*</script>", re.IGNORECASE)


def drop_remote_assets(html: str) -> str:
    """Remove every ``<script src>`` and ``<link href>`` that would load from the internet."""
    return _EMPTY_SRC_SCRIPT.sub("", _REMOTE_TAG.sub("", html))


def _first_heading(nb: Any) -> str | None:
    for cell in nb.cells:
        if TEMPLATE_NOTE_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "markdown" and (m := _HEADING_RE.search(cell.source)):
            return m.group("title").replace("**", "").replace("`", "").strip()
    return None


