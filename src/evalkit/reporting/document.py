"""One report as a document: what a notebook shows is recorded as blocks, numbered and saved.

A report notebook makes one :class:`ReportDocument` and calls its methods instead of
``display``: ``doc.section(key)`` for generated narrative (which a study may replace or extend
with its own Markdown, see :mod:`evalkit.reporting.narrative`), ``doc.table(t)`` for a
:class:`~evalkit.reporting.tables.ReportTable` and ``doc.figure(ax, ...)`` for a figure. The
document numbers tables and figures in order ("表 1", "图 1" / "Table 1", "Figure 1"), writes
their captions and notes, keeps a table of contents that is updated in place as headings
appear (IPython ``update_display``, which papermill records), and with ``output_dir`` saves
``document-<name>.json``, from which :func:`evalkit.reporting.docx_writer.write_docx` builds
the Word file. HTML and Word therefore show the same blocks.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.reporting.blocks import block_html, markdown_blocks
from evalkit.reporting.display import record_shown_table
from evalkit.reporting.narrative import NarrativeSource
from evalkit.reporting.tables import ReportTable
from evalkit.reporting.vocab import lang_code, word

__all__ = ["ReportDocument", "FIGURE_DPI"]

#: Figures are saved for print: 300 dpi at their drawn size.
FIGURE_DPI = 300


def _display_html(html: str, *, display_id: str | None = None, update: bool = False) -> None:
    from IPython.display import HTML, display, update_display

    if update and display_id:
        update_display(HTML(html), display_id=display_id)
    elif display_id:
        display(HTML(html), display_id=display_id)
    else:
        display(HTML(html))


class ReportDocument:
    """The blocks of one report, shown as they are added and saved as JSON.

    Parameters
    ----------
    name : str
        File stem of the saved document, e.g. ``"03_impact"`` → ``document-03_impact.json``.
    lang : {"zh", "en"}
    title : str
        The report title (the level-1 heading).
    synthetic : bool
        Adds the synthetic-data label to the title and a banner under it.
    narrative : NarrativeSource or None
        Where a study's own Markdown per section key is looked up.
    output_dir : str or Path or None
        Where figures (``figures/<name>.png``) and the document JSON go; ``None`` shows only.
    show : bool
        ``False`` records without displaying (tests, Word-only builds).
    """

    def __init__(self, *, name: str, lang: str, title: str, synthetic: bool = False,
                 narrative: NarrativeSource | None = None, output_dir: str | os.PathLike[str] | None = None,
                 show: bool = True) -> None:
        self.name = name
        self.lang = lang_code(lang)
        self.synthetic = synthetic
        self.narrative_source = narrative or NarrativeSource(None)
        self.output_dir = Path(output_dir) if output_dir else None
        self.show = show
        self.blocks: list[dict[str, Any]] = []
        self._n_tables = 0
        self._n_figures = 0
        self._n_headings = 0
        self._toc_id = f"evalkit-toc-{name}"
        title = title.lstrip("#").strip()
        says_synthetic = any(w in title.lower() for w in ("合成", "synthetic"))
        full_title = f"{word('synthetic.label', lang)} {title}" if synthetic and not says_synthetic else title
        self.title = full_title
        self._add({"kind": "heading", "level": 1, "text": full_title, "anchor": "top"})
        if synthetic:
            from evalkit.reporting.text import text

            self._add({"kind": "banner", "text": text("synthetic_banner", lang)})
        self._add({"kind": "toc", "title": word("toc.title", lang), "entries": []})

    # ---- adding blocks ----------------------------------------------------------------
    def _add(self, block: dict[str, Any]) -> None:
        self.blocks.append(block)
        if not self.show:
            return
        if block["kind"] == "toc":
            _display_html(block_html(block), display_id=self._toc_id)
        else:
            _display_html(block_html(block))

    def _toc_block(self) -> dict[str, Any]:
        return next(b for b in self.blocks if b["kind"] == "toc")

    def heading(self, text: str, level: int = 2) -> None:
        self._n_headings += 1
        anchor = f"sec-{self._n_headings}"
        self._add({"kind": "heading", "level": level, "text": text, "anchor": anchor})
        if level <= 3:
            toc = self._toc_block()
            toc["entries"].append({"level": level, "text": text, "anchor": anchor})
            if self.show:
                _display_html(block_html(toc), display_id=self._toc_id, update=True)

    def markdown(self, text: str) -> None:
        """Markdown as blocks; its headings go into the table of contents, its tables are numbered
        and captioned with the section's heading."""
        for block in markdown_blocks(text):
            if block["kind"] == "heading":
                self.heading(block["text"], block["level"])
            elif block["kind"] == "md_table":
                section = next((b["text"] for b in reversed(self.blocks) if b["kind"] == "heading"), self.title)
                self.table(ReportTable(frame=pd.DataFrame(block["rows"], columns=block["columns"]), title=section,
                                       lang=self.lang, weighted="none"))
            else:
                self._add(block)

    def section(self, key: str, generated: str | None = None, **fields: Any) -> None:
        """Narrative for ``key``: the generated text (``generated`` or the text catalogue's),
        replaced or extended by the study's ``narrative/<key>.md`` / ``<key>.after.md``."""
        if generated is None:
            from evalkit.reporting.text import text

            generated = text(key, self.lang, **fields)
        self.markdown(self.narrative_source.compose(key, generated, self.lang))

    def bullets(self, lines: list[str]) -> None:
        if lines:
            self.markdown("\n".join(f"- {line}" for line in lines))

    def _caption(self, kind: str, number: int, title: str) -> dict[str, str]:
        prefix = "table.prefix" if kind == "table" else "figure.prefix"
        return {"label": word(prefix, self.lang, n=number), "sep": word("caption.sep", self.lang), "title": title}

    @property
    def table_count(self) -> int:
        """Number of the last table added (0 before the first)."""
        return self._n_tables

    def table(self, table: ReportTable) -> None:
        """Show a numbered, captioned table (an empty one shows its ``empty`` text instead, unnumbered).

        Returns nothing, so a notebook cell ending in ``doc.table(...)`` prints no value;
        :attr:`table_count` is the number just used.
        """
        if table.frame.empty:
            if table.empty:
                self.markdown(table.empty)
            return
        self._n_tables += 1
        record_shown_table(table.frame)  # results.json carries every number the report shows
        block = {"kind": "table", "number": self._n_tables, "anchor": f"table-{self._n_tables}",
                 **self._caption("table", self._n_tables, table.title), **table.to_block()}
        self._add(block)

    def figure(self, ax: Any, *, name: str, title: str, notes: list[str] | tuple[str, ...] = ()) -> None:
        """Show a numbered, captioned figure (saved as ``figures/<name>.png`` at 300 dpi); ``ax=None``
        (a figure function with nothing to draw) shows nothing and takes no number."""
        import matplotlib.pyplot as plt

        if ax is None:
            return
        from evalkit.reporting.fonts import strict_glyphs

        self._n_figures += 1
        fig = ax.figure
        for axes in fig.axes:  # the numbered caption carries the title
            axes.set_title("")
        if getattr(fig, "_suptitle", None) is not None:
            fig._suptitle.set_text("")
        buffer = io.BytesIO()
        with strict_glyphs(f"figure {name}"):  # a missing Chinese glyph fails the run, never tofu
            fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
        png = buffer.getvalue()
        plt.close(fig)
        path = None
        if self.output_dir is not None:
            folder = self.output_dir / "figures"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(png)
            path = f"figures/{name}.png"
        block = {"kind": "figure", "number": self._n_figures, "anchor": f"figure-{self._n_figures}",
                 **self._caption("figure", self._n_figures, title), "notes": list(notes), "path": path,
                 "width_in": float(fig.get_figwidth()), "png_base64": base64.b64encode(png).decode("ascii")}
        self._add(block)

    # ---- saving -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        blocks = [{k: v for k, v in b.items() if k != "png_base64"} for b in self.blocks]
        return {"format": "evalkit-report-document", "version": 1, "name": self.name, "lang": self.lang,
                "title": self.title, "synthetic": self.synthetic, "blocks": blocks}

    @property
    def path(self) -> Path | None:
        """Where :meth:`save` writes: ``<output_dir>/document-<name>.json`` (``None`` without output_dir)."""
        return None if self.output_dir is None else self.output_dir / f"document-{self.name}.json"

    def save(self) -> None:
        """Write ``document-<name>.json`` to ``output_dir`` (atomically); nothing without one.

        Returns nothing, so a notebook cell ending in ``doc.save()`` prints no path.
        """
        if self.output_dir is None:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        target = self.output_dir / f"document-{self.name}.json"
        fd, tmp = tempfile.mkstemp(dir=self.output_dir, prefix=f".document-{self.name}-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, indent=1)
        os.replace(tmp, target)
