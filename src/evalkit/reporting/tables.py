"""The one table-building layer: numbers formatted once, headers in one language, captions with notes.

Every report table is a :class:`ReportTable`: a frame of display strings (already rounded and
translated), a title, a unit, N, the method and inference used, whether it is weighted, and
notes. The report document numbers and captions it ("表 3 …" / "Table 3 …"), shows it in the
notebook and records it for the Word file, so HTML and Word show the same cells.

Formatting rules, the same everywhere: estimates and intervals as ``0.28 [0.24, 0.33]``
(``decimals`` places, default 2), p-values with 3 places and ``<0.001``, significance marks
``*** ** *`` with a legend note, booleans as 是/否 (yes/no), missing as "—".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from attrs import field, frozen

from evalkit.reporting.vocab import lang_code, word

__all__ = ["ReportTable", "fmt_num", "fmt_ci", "fmt_p", "sig_marks", "fmt_bool", "fmt_int", "fmt_share",
           "weighted_note"]


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any, decimals: int = 2) -> str:
    """A number with ``decimals`` places and a true minus sign; "—" when missing."""
    if _missing(x) or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    text = f"{float(x):.{decimals}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "−")


def fmt_int(x: Any) -> str:
    return "—" if _missing(x) else f"{int(x):,}"


def fmt_share(x: Any, decimals: int = 1) -> str:
    """A 0–1 share as a percentage, e.g. ``12.5%``."""
    return "—" if _missing(x) else f"{100 * float(x):.{decimals}f}%"


def fmt_ci(est: Any, lo: Any, hi: Any, decimals: int = 2, lang: str = "zh") -> str:
    """``0.28 [0.24, 0.33]``; the estimate alone when the interval is missing."""
    if _missing(lo) or _missing(hi):
        return fmt_num(est, decimals)
    return word("ci.fmt", lang, est=fmt_num(est, decimals), lo=fmt_num(lo, decimals), hi=fmt_num(hi, decimals))


def fmt_p(p: Any) -> str:
    if _missing(p):
        return "—"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def sig_marks(p: Any) -> str:
    if _missing(p):
        return ""
    p = float(p)
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def fmt_bool(x: Any, lang: str = "zh") -> str:
    if _missing(x):
        return "—"
    return word("bool.true" if bool(x) else "bool.false", lang)


def weighted_note(kind: str, lang: str = "zh") -> str:
    """``kind`` is ``yes``, ``no`` or ``partial``."""
    return word(f"weighted.{kind}", lang)


@frozen
class ReportTable:
    """A display-ready table with everything its caption and notes need.

    ``frame`` holds strings only (formatted by this module); ``notes`` are sentences in the
    report language; ``weighted`` is ``yes``, ``no`` or ``partial`` and is then always stated
    (``none`` only for tables where weighting does not apply, such as method validation).
    """

    frame: pd.DataFrame
    title: str
    unit: str = ""
    n: str = ""
    method: str = ""
    inference: str = ""
    weighted: str = "no"
    notes: tuple[str, ...] = field(default=(), converter=tuple)
    significance: bool = False
    lang: str = "zh"
    empty: str = ""  # shown instead of the table when it has no rows (no number is used)

    def note_lines(self) -> list[str]:
        """Caption notes in a fixed order: unit, N, method, inference, weighting, then the table's notes."""
        lang = self.lang
        parts = []
        if self.unit:
            parts.append(word("note.unit", lang, unit=self.unit))
        if self.n:
            parts.append(word("note.n", lang, n=self.n))
        if self.method:
            parts.append(word("note.method", lang, method=self.method))
        if self.inference:
            parts.append(word("note.inference", lang, inference=self.inference))
        if self.weighted != "none":  # "none": weighting does not apply (e.g. a method-validation table)
            text = weighted_note(self.weighted, lang)
            parts.append(text[0].lower() + text[1:] if parts and lang_code(lang) == "en" else text)
        sep = "；" if lang_code(lang) == "zh" else "; "
        lines = [sep.join(parts) + ("。" if lang_code(lang) == "zh" else ".")] if parts else []
        lines += list(self.notes)
        if self.significance:
            lines.append(word("sig.legend", lang))
        return lines

    def to_block(self) -> dict[str, Any]:
        """The JSON form the report document stores (columns, rows of strings, notes)."""
        return {"columns": [str(c) for c in self.frame.columns],
                "rows": [[_cell(v) for v in row] for row in self.frame.itertuples(index=False)],
                "notes": self.note_lines()}


def _cell(v: Any) -> str:
    return "—" if _missing(v) else str(v)


def strings(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every cell of ``frame`` (or ``columns`` of it) as a string, missing as "—"."""
    out = frame.copy()
    for col in columns or out.columns:
        out[col] = [_cell(v) for v in out[col]]
    return out


def join_nonempty(parts: Iterable[str], sep: str) -> str:
    return sep.join(p for p in parts if p)
