"""Chinese text in figures and Word documents: the bundled CJK font and the checks around it.

Owns the font evalkit ships (``evalkit/fonts/EvalkitCJK-Regular.ttf``, family "evalkit CJK":
a GB 2312 subset of Noto Sans CJK SC Regular, SIL Open Font License 1.1, built by
``tools/build_cjk_font.py``), its registration with matplotlib, and the rule that a figure
never silently draws empty boxes ("tofu") for characters its font lacks.

matplotlib only *warns* ("Glyph … missing from font(s) …") and still writes the file, so
evalkit wraps drawing in :func:`strict_glyphs`, which turns those warnings (and mathtext's
logged equivalent) into one :class:`~evalkit.errors.FontError` listing every missing
character. :func:`check_text_renderable` checks a string up front against the fonts
matplotlib would actually use.

Word: python-docx's ``font.name`` sets only the Latin font slots; Chinese runs then use the
theme's East-Asian font, which may be a Japanese one on a non-Chinese Office.
:func:`set_docx_cjk_font` sets the East-Asian slot and language (zh-CN) for the whole
document. Word documents reference, not embed, fonts; figures go into them as PNG drawn
with the bundled font.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib import font_manager

from evalkit.errors import FontError

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

__all__ = [
    "CJK_FONT_FAMILY",
    "cjk_font_path",
    "setup_matplotlib_fonts",
    "check_text_renderable",
    "strict_glyphs",
    "set_docx_cjk_font",
]

CJK_FONT_FAMILY = "evalkit CJK"
_FONT_FILE = "EvalkitCJK-Regular.ttf"
_MINUS = "\u2212"
_lock = threading.Lock()
# matplotlib ≥ 3.6: "Glyph 33719 (\N{CJK UNIFIED IDEOGRAPH-83B7}) missing from font(s) DejaVu Sans."
_GLYPH_WARNING = re.compile(r"Glyph (?P<cp>\d+) \(.*\) missing from font\(s\) (?P<fonts>.*?)\.?$", re.S)
# mathtext logs instead: "Font 'rm' does not have a glyph for '\u83b7' [U+83b7], substituting with a dummy symbol."
_MATHTEXT_WARNING = re.compile(r"Font (?P<fonts>.+?) does not have a glyph for .* \[U\+(?P<hex>[0-9a-fA-F]+)\]")
_REBUILD_HINT = (
    "The bundled font covers GB 2312 (6,763 hanzi) plus the text evalkit itself uses. "
    "Fix: replace the character; or, after evalkit.reporting.setup_matplotlib_fonts(), add an "
    "installed font that has it as a fallback: matplotlib.rcParams['font.family'] = "
    "['evalkit CJK', 'Noto Sans CJK SC'] (Debian: fonts-noto-cjk); or rebuild the bundled font "
    "with tools/build_cjk_font.py --extra <file with the text>."
)


def cjk_font_path() -> Path:
    """Path of the bundled Simplified-Chinese font (TrueType outlines, OFL 1.1).

    Raises
    ------
    FontError
        If the file is missing (an installation that dropped package data).
    """
    path = Path(__file__).resolve().parent.parent / "fonts" / _FONT_FILE
    if not path.is_file():
        msg = (
            f"evalkit's Chinese font is missing: {path} does not exist. The installation is "
            "incomplete; reinstall evalkit (the wheel must contain evalkit/fonts/*, see "
            "[tool.setuptools.package-data] in pyproject.toml)."
        )
        raise FontError(msg)
    return path


def setup_matplotlib_fonts() -> str:
    """Register the bundled CJK font with matplotlib and make it the default; return its family.

    Sets ``font.family = ["sans-serif"]`` with "evalkit CJK" first in ``font.sans-serif``,
    ``pdf.fonttype = ps.fonttype = 42`` (embed TrueType, text stays searchable),
    ``svg.fonttype = "path"`` (SVG inlined in HTML needs no font on the reader's machine) and
    ``axes.unicode_minus = True`` when the font has U+2212 MINUS SIGN (it does; the common
    advice to set it False is for SimHei, which lacks the glyph), else False so negative
    numbers use ASCII "-" instead of a missing glyph.

    Idempotent: the font is registered once per process; rcParams are (re)applied on every
    call, so calling it again after ``rcdefaults()`` or inside ``rc_context()`` is cheap.

    Returns
    -------
    str
        ``"evalkit CJK"``.

    Raises
    ------
    FontError
        If the font file is missing or matplotlib cannot resolve the family to it.
    """
    path = cjk_font_path()
    with _lock:
        registered = any(Path(entry.fname) == path for entry in font_manager.fontManager.ttflist)
        if not registered:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError) as exc:
                msg = f"matplotlib cannot load evalkit's Chinese font {path}: {exc}. Reinstall evalkit."
                raise FontError(msg) from exc
    sans = [CJK_FONT_FAMILY, *(f for f in mpl.rcParams["font.sans-serif"] if f != CJK_FONT_FAMILY)]
    mpl.rcParams["font.family"] = ["sans-serif"]
    mpl.rcParams["font.sans-serif"] = sans
    mpl.rcParams["pdf.fonttype"] = 42
    mpl.rcParams["ps.fonttype"] = 42
    mpl.rcParams["svg.fonttype"] = "path"
    mpl.rcParams["axes.unicode_minus"] = ord(_MINUS) in _charmap(str(path))
    resolved = Path(font_manager.findfont(font_manager.FontProperties(family=CJK_FONT_FAMILY), fallback_to_default=False))
    if resolved != path:  # another font claims the same family name and wins the match
        msg = (
            f"matplotlib resolves the family {CJK_FONT_FAMILY!r} to {resolved}, not to evalkit's font {path}. "
            f"Remove or rename the other font file named {CJK_FONT_FAMILY!r}."
        )
        raise FontError(msg)
    return CJK_FONT_FAMILY


@lru_cache(maxsize=32)
def _charmap(path: str) -> frozenset[int]:
    return frozenset(font_manager.get_font(path).get_charmap())


def _active_fonts(fontproperties: FontProperties | None) -> list[tuple[str, str]]:
    """(family name, path) of the fonts matplotlib uses for *fontproperties*, in fallback order.

    Mirrors ``FontManager._find_fonts_by_props``: each entry of the family list resolves to
    one font (a generic name such as "sans-serif" to the first available of its rcParams
    list); glyphs missing from one are looked up in the next; with none found matplotlib
    uses its default family.
    """
    prop = font_manager.FontProperties() if fontproperties is None else fontproperties
    found: list[tuple[str, str]] = []
    for family in prop.get_family():
        candidate = prop.copy()
        candidate.set_family(family)
        try:
            path = font_manager.findfont(candidate, fallback_to_default=False)
        except ValueError:
            continue
        if all(path != p for _, p in found):
            found.append((font_manager.get_font(path).family_name, str(path)))
    if not found:
        path = font_manager.findfont(prop)
        found.append((font_manager.get_font(path).family_name, str(path)))
    return found


def _describe(chars: list[str]) -> str:
    return ", ".join(f"'{ch}' (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})" for ch in chars)


def check_text_renderable(text: str, *, fontproperties: FontProperties | None = None, where: str = "figure text") -> None:
    """Raise FontError unless every visible character of *text* has a glyph in the active fonts.

    Parameters
    ----------
    text : str
        The label, title or annotation to be drawn.
    fontproperties : matplotlib.font_manager.FontProperties, optional
        The font the text will be drawn with; default: the current rcParams
        (call :func:`setup_matplotlib_fonts` first).
    where : str
        Where the text goes, for the message (e.g. ``"title of figure did_main"``).

    Raises
    ------
    FontError
        Names every missing character with its code point and the fonts searched.

    Examples
    --------
    >>> from evalkit.reporting import setup_matplotlib_fonts, check_text_renderable
    >>> _ = setup_matplotlib_fonts()
    >>> check_text_renderable("获得感、幸福感、归属感")
    """
    fonts = _active_fonts(fontproperties)
    maps = [_charmap(path) for _, path in fonts]
    missing: list[str] = []
    for ch in dict.fromkeys(text):  # unique, in order of appearance
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            continue  # newlines, tabs, zero-width joiners: not drawn as glyphs
        if not any(ord(ch) in cmap for cmap in maps):
            missing.append(ch)
    if missing:
        searched = "; ".join(f"{name} ({path})" for name, path in fonts)
        msg = (
            f"{where} {text!r}: {len(missing)} character(s) cannot be drawn, they would appear as "
            f"empty boxes: {_describe(missing)}. Fonts searched: {searched}. {_REBUILD_HINT}"
        )
        raise FontError(msg)


class _MathtextGlyphHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.missing: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = _MATHTEXT_WARNING.search(record.getMessage())
        if match:
            self.missing.append((chr(int(match["hex"], 16)), match["fonts"]))


@contextmanager
def strict_glyphs(where: str = "figure") -> Iterator[None]:
    """Turn matplotlib's missing-glyph warnings inside the block into one FontError.

    Use around ``savefig`` / ``canvas.draw`` in evalkit figure code. Missing glyphs are
    collected while drawing finishes; at the end of the block one FontError names every
    missing character and the fonts tried. Other warnings raised in the block are re-issued
    unchanged when it ends. Not thread-safe (Python's warnings filters are process-global).

    Parameters
    ----------
    where : str
        What is being drawn, for the message (e.g. ``"reports/2024/did_main.png"``).

    Raises
    ------
    FontError
        If any glyph was missing, even where the user's warning filters would ignore it.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from evalkit.reporting import setup_matplotlib_fonts, strict_glyphs
    >>> _ = setup_matplotlib_fonts()
    >>> fig = Figure()
    >>> _ = fig.suptitle("社区名称")
    >>> with strict_glyphs("doctest figure"):
    ...     fig.canvas.draw()
    """
    handler = _MathtextGlyphHandler()
    mathtext_log = logging.getLogger("matplotlib.mathtext")
    mathtext_log.addHandler(handler)
    caught: list[warnings.WarningMessage] = []
    missing: dict[str, list[str]] = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")  # record each distinct warning once
            warnings.filterwarnings("always", message=r"Glyph \d+ .*missing from font", category=UserWarning)
            yield
    finally:  # also when the block raised: other warnings must not be lost
        mathtext_log.removeHandler(handler)
        for record in caught:
            match = _GLYPH_WARNING.search(str(record.message))
            if match is None:  # not ours: hand it back to the caller's filters
                warnings.warn_explicit(record.message, record.category, record.filename, record.lineno, source=record.source)
                continue
            missing.setdefault(chr(int(match["cp"])), []).append(match["fonts"])
        for ch, fonts in handler.missing:
            missing.setdefault(ch, []).append(f"mathtext {fonts}")
    if missing:
        tried = sorted({f for fonts in missing.values() for f in fonts})
        msg = (
            f"{where}: {len(missing)} character(s) were drawn as empty boxes because no font has them: "
            f"{_describe(list(missing))}. Fonts tried: {', '.join(tried)}. {_REBUILD_HINT}"
        )
        raise FontError(msg)


def set_docx_cjk_font(document: Any, *, family: str = "Microsoft YaHei", lang: str = "zh-CN") -> None:
    """Make every style of a python-docx Document use *family* for Chinese, tagged as *lang*.

    Sets ``w:rFonts/@w:eastAsia`` (and removes ``w:eastAsiaTheme``, which would win) in the
    document defaults and wherever a style names fonts, and ``w:lang/@w:eastAsia``, so Word picks a
    Simplified-Chinese font and glyph forms. Word documents name fonts rather than embed them;
    "Microsoft YaHei" (微软雅黑) ships with Windows and Office for Mac, and Word substitutes
    a Chinese font where it is absent.

    Parameters
    ----------
    document : docx.document.Document
        Modified in place.
    family : str
        East-Asian font family name as Word knows it.
    lang : str
        BCP-47 tag for East-Asian text.
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    styles = document.styles.element
    doc_defaults = styles.find(qn("w:docDefaults"))
    if doc_defaults is None:
        doc_defaults = OxmlElement("w:docDefaults")
        styles.insert(0, doc_defaults)
    rpr_default = doc_defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        doc_defaults.insert(0, rpr_default)
    default_rpr = rpr_default.find(qn("w:rPr"))
    if default_rpr is None:
        default_rpr = OxmlElement("w:rPr")
        rpr_default.append(default_rpr)
    default_rpr.get_or_add_rFonts()  # python-docx keeps the schema's child order
    for fonts in styles.iter(qn("w:rFonts")):  # defaults, styles, table-style conditional formats
        fonts.set(qn("w:eastAsia"), family)
        fonts.attrib.pop(qn("w:eastAsiaTheme"), None)
    language = default_rpr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        successor = next((child for child in default_rpr if child.tag in _RPR_AFTER_LANG), None)
        if successor is None:
            default_rpr.append(language)
        else:
            successor.addprevious(language)
    language.set(qn("w:eastAsia"), lang)


# children of w:rPr that the schema (CT_RPr sequence) places after w:lang
_RPR_AFTER_LANG = {
    "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag
    for tag in ("eastAsianLayout", "specVanish", "oMath", "rPrChange")
}
