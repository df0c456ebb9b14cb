"""What a report notebook shows: banners, narrative, tables, figures, saved results.

The report notebooks now build a :class:`evalkit.reporting.ReportDocument` (numbered,
captioned tables from :mod:`evalkit.reporting.tables`, the same content saved for Word);
``save_results`` and ``suppress_small`` remain in use, the display helpers here are kept for
exploratory notebooks only and do not number or caption anything.

These helpers keep notebooks thin: each call displays one block of the report
in the chosen language and, where asked, writes the machine-readable numbers
to ``<output_dir>/results-<section>.json`` for the run's ``results.json``.
Only aggregated tables reach this module; small cells are suppressed by
:func:`suppress_small`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.reporting.text import text
from evalkit.results import json_safe

__all__ = ["banner", "synthetic_notice", "shown_tables", "record_shown_table", "markdown", "narrative", "show_table", "show_figure", "save_results", "suppress_small"]

_BANNER_STYLE = ("border:3px solid #c0392b;background:#fdecea;color:#7b241c;padding:12px 16px;"
                 "margin:8px 0 16px 0;font-size:1.15em;font-weight:bold;border-radius:6px")


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def banner(study: Any, lang: str = "zh", *, title: str = "dq_title") -> None:
    """The section title and, for synthetic data, a prominent red 'synthetic data' notice."""
    from IPython.display import HTML, Markdown

    heading = text(title, lang, name=study.config.name)
    _display(Markdown(heading if heading.startswith("#") else f"# {heading}"))
    synthetic_notice(study, lang)


def synthetic_notice(study: Any, lang: str = "zh") -> None:
    """For synthetic data, the prominent red notice that every number is invented; else nothing."""
    from IPython.display import HTML

    if study.config.synthetic:
        _display(HTML(f"<div class='evalkit-synthetic' style='{_BANNER_STYLE}'>"
                      f"{text('synthetic_banner', lang)}</div>"))


def markdown(text_: str) -> None:
    """Display Markdown text (e.g. a note a package function composed)."""
    from IPython.display import Markdown

    _display(Markdown(text_))


def narrative(key: str, lang: str = "zh", **fields: Any) -> None:
    from IPython.display import Markdown

    _display(Markdown(text(key, lang, **fields)))


def suppress_small(frame: pd.DataFrame, count_cols: list[str], *, min_cell: int = 5) -> pd.DataFrame:
    """Replace counts 1..min_cell-1 by NA so that no small group can be singled out."""
    out = frame.copy()
    for col in count_cols:
        small = (out[col] > 0) & (out[col] < min_cell)
        out[col] = out[col].astype("Float64").mask(small)
    return out


#: every table shown in this kernel, in order: save_results publishes them with the section's numbers
_SHOWN_TABLES: list[dict[str, Any]] = []


def show_table(frame: pd.DataFrame, *, decimals: int = 3, max_rows: int = 60) -> None:
    """Display a table and record it, so results.json carries every number the report shows."""
    from IPython.display import HTML

    record_shown_table(frame.head(max_rows))
    styled = frame.head(max_rows).to_html(index=False, float_format=lambda x: f"{x:.{decimals}f}",
                                          na_rep="—", classes="evalkit-table", border=0)
    more = f"<p>… {len(frame) - max_rows} more rows</p>" if len(frame) > max_rows else ""
    _display(HTML(styled + more))


def record_shown_table(frame: pd.DataFrame) -> None:
    """Remember a displayed table for :func:`save_results` (every published number in results.json)."""
    _SHOWN_TABLES.append({"columns": [str(c) for c in frame.columns],
                          "rows": json_safe(frame.to_numpy().tolist())})


def shown_tables() -> dict[str, dict[str, Any]]:
    """The tables displayed so far, keyed ``table_01``, ``table_02`` … in display order."""
    return {f"table_{i:02d}": table for i, table in enumerate(_SHOWN_TABLES, start=1)}


def show_figure(ax: Any, *, output_dir: str | os.PathLike[str] | None = None, name: str = "") -> None:
    """Display a figure and, with ``output_dir``, also save it as PNG under figures/."""
    import matplotlib.pyplot as plt

    from evalkit.reporting.fonts import strict_glyphs

    fig = ax.figure
    if output_dir and name:
        folder = Path(output_dir) / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        with strict_glyphs(f"figure {name}"):  # a missing Chinese glyph fails the run, never tofu
            fig.savefig(folder / f"{name}.png", dpi=150)
    _display(fig)
    plt.close(fig)


def save_results(section: str, values: dict[str, Any] | pd.DataFrame,
                 output_dir: str | os.PathLike[str], *, key: str | None = None) -> Path:
    """Write ``results-<section>.json`` atomically; the run merges them into results.json.

    Besides ``values`` it holds every table the notebook displayed (``tables_shown``),
    so results.json carries every number the report publishes.

    A DataFrame is stored as ``{row[key]: {column: value}}`` (``key`` defaults to its first column).
    """
    if isinstance(values, pd.DataFrame):
        key = key or str(values.columns[0])
        values = {str(row[key]): {k: v for k, v in row.items() if k != key}
                  for row in values.to_dict("records")}
    values = {**values, "tables_shown": shown_tables()}
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"results-{section}.json"
    payload = json.dumps(json_safe(values), ensure_ascii=False, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{section}-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(payload)
    os.replace(tmp, target)
    return target


def show_warnings(study: Any, lang: str = "zh") -> None:
    """The validation warnings of a study, or a line saying there are none."""
    frame = study.warnings_frame()
    if frame.empty:
        narrative("dq_no_warnings", lang)
        return
    show_table(frame[["file", "column", "check", "rows", "message"]])
