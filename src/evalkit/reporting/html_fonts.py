"""Self-contained HTML reports: embed the CJK font, subset to the document's own characters.

Owns :func:`embed_cjk_font`, which adds one ``<style id="evalkit-cjk-font">`` block holding
an ``@font-face`` rule for "evalkit CJK" (the bundled Noto Sans CJK SC subset, see
:mod:`evalkit.reporting.fonts`) as a base64 ``data:`` URI, plus CSS that makes the page use
it. The report then shows Chinese in any browser, also on a machine with no Chinese font,
offline, and as an e-mail attachment.

Only the characters the document shows are embedded (fontTools' subsetter), so a typical
report carries a few hundred kB of font, not the 2 MB file. WOFF2 (Brotli) is used when
the ``brotli`` module is importable, else WOFF (zlib, always available).

Hand-written: collecting the rendered characters (stdlib ``html.parser``; text outside
``<script>``/``<style>`` plus the attributes browsers display), because no library does
"characters a page shows" and a regex over raw HTML would count markup and scripts.
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import re
import unicodedata
from functools import lru_cache
from html.parser import HTMLParser

from fontTools import subset
from fontTools.ttLib import TTFont

from evalkit.errors import FontError
from evalkit.reporting.fonts import CJK_FONT_FAMILY, cjk_font_path

__all__ = ["CJK_FONT_STACK", "CJK_MONO_STACK", "embed_cjk_font"]

CJK_FONT_STACK = f'"{CJK_FONT_FAMILY}", "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
"""CSS ``font-family`` value for report text; other report CSS should use it too."""
CJK_MONO_STACK = f'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace, "{CJK_FONT_FAMILY}"'
"""Code keeps a monospace font; hanzi in it fall through to the embedded font."""

_STYLE_ID = "evalkit-cjk-font"
_OLD_BLOCK = re.compile(rf'<style id="{_STYLE_ID}">.*?</style>\n?', re.S)
_HEAD_END = re.compile(r"</head\s*>", re.I)
_BODY_START = re.compile(r"<body[\s>]", re.I)
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})
_SHOWN_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "value", "aria-label", "label"})
# name records kept in the embedded subset: copyright, family/style/full/PostScript names,
# version, licence and licence URL (the OFL asks that the notice travel with every copy)
_NAME_IDS = [0, 1, 2, 3, 4, 5, 6, 13, 14]


class _ShownText(HTMLParser):
    """Collects the characters a browser displays: text nodes and displayed attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: dict[str, str] = {}  # character -> text around its first occurrence
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES and value:
                self._add(html_lib.unescape(value))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._add(data)

    def _add(self, text: str) -> None:
        for i, ch in enumerate(text):
            if ch not in self.chars:
                self.chars[ch] = text[max(0, i - 10) : i + 11].strip()


def _shown_characters(html: str) -> dict[str, str]:
    """Displayed characters in order of first appearance, each with the text around it."""
    parser = _ShownText()
    parser.feed(html)
    parser.close()
    return {
        ch: context
        for ch, context in parser.chars.items()
        if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")
    }


@lru_cache(maxsize=1)
def _font_bytes() -> bytes:
    return cjk_font_path().read_bytes()


@lru_cache(maxsize=1)
def _font_cmap() -> frozenset[int]:
    return frozenset(TTFont(io.BytesIO(_font_bytes()), lazy=True).getBestCmap())


def _brotli_available() -> bool:
    try:
        import brotli  # noqa: F401  (fontTools' WOFF2 writer needs it)
    except ImportError:
        return False
    return True


def _subset_font(codepoints: set[int], flavor: str) -> bytes:
    """The bundled font cut down to *codepoints*, as WOFF2/WOFF bytes (deterministic)."""
    font = TTFont(io.BytesIO(_font_bytes()), recalcTimestamp=False)
    options = subset.Options()
    options.flavor = flavor
    options.layout_features = ["*"]
    options.name_IDs = _NAME_IDS
    options.notdef_outline = True
    options.drop_tables += ["vhea", "vmtx"]  # vertical writing is not used in reports
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints | {0x20}))
    subsetter.subset(font)
    font.flavor = flavor
    buffer = io.BytesIO()
    font.save(buffer, reorderTables=False)
    return buffer.getvalue()


def _style_block(font_data: bytes, flavor: str) -> str:
    encoded = base64.b64encode(font_data).decode("ascii")
    return (
        f'<style id="{_STYLE_ID}">\n'
        f"/* {CJK_FONT_FAMILY}: subset of Noto Sans CJK SC Regular, (c) 2014-2021 Adobe, "
        "SIL Open Font License 1.1 (https://openfontlicense.org); embedded by evalkit */\n"
        f'@font-face{{font-family:"{CJK_FONT_FAMILY}";font-style:normal;font-weight:400;font-display:block;'
        f'src:url(data:font/{flavor};base64,{encoded}) format("{flavor}");}}\n'
        f":root{{--jp-content-font-family:{CJK_FONT_STACK};--jp-ui-font-family:{CJK_FONT_STACK};"
        f"--jp-code-font-family:{CJK_MONO_STACK};}}\n"
        f"html,body,table{{font-family:{CJK_FONT_STACK};}}\n"  # table: quirks-mode pages do not inherit
        f"pre,code,kbd,samp{{font-family:{CJK_MONO_STACK};}}\n"
        "</style>\n"
    )


def embed_cjk_font(html: str, *, where: str = "HTML report") -> str:
    """Return *html* with the Chinese font embedded, subset to the characters it shows.

    Adds (or replaces, so calling twice is safe) a ``<style id="evalkit-cjk-font">`` block
    at the end of ``<head>``: an ``@font-face`` for "evalkit CJK" as a base64 ``data:``
    URI (WOFF2 if ``brotli`` is installed, else WOFF) and
    ``html, body, table { font-family: "evalkit CJK", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", …, sans-serif }``
    (also set as JupyterLab's ``--jp-content-font-family`` for nbconvert output); code
    elements keep a monospace font with "evalkit CJK" as the fallback for hanzi. Report CSS
    that sets its own ``font-family`` should use :data:`CJK_FONT_STACK` (browsers fall back
    per character only through the listed families, never to an unlisted web font). Bold
    text is synthesised by the browser from the regular face.

    Parameters
    ----------
    html : str
        A complete HTML document (or fragment: the block is then prepended).
    where : str
        The report's name or path, for error messages.

    Returns
    -------
    str
        The document with the font embedded; unchanged apart from the one block.

    Raises
    ------
    FontError
        If the document shows characters the bundled font lacks (they would be empty boxes
        on a machine without a Chinese font); the message lists every one.

    Examples
    --------
    >>> from evalkit.reporting import embed_cjk_font
    >>> page = embed_cjk_font("<html><head></head><body><p>获得感</p></body></html>")
    >>> '@font-face{font-family:"evalkit CJK"' in page
    True
    """
    html = _OLD_BLOCK.sub("", html)
    shown = _shown_characters(html)
    cmap = _font_cmap()
    missing = [ch for ch in shown if ord(ch) not in cmap]
    if missing:
        described = "; ".join(
            f"'{ch}' (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}) in \"{shown[ch]}\"" for ch in missing[:50]
        )
        more = f" and {len(missing) - 50} more" if len(missing) > 50 else ""
        msg = (
            f"{where}: {len(missing)} character(s) it shows are not in evalkit's bundled font "
            f"({cjk_font_path().name}, GB 2312 coverage) and would be empty boxes on a machine "
            f"without a Chinese font: {described}{more}. Fix: replace them (e.g. a rare character "
            "in a community name by its common variant, an emoji by words), or rebuild the bundled "
            "font with tools/build_cjk_font.py --extra <file with the text>."
        )
        raise FontError(msg)
    flavor = "woff2" if _brotli_available() else "woff"
    block = _style_block(_subset_font({ord(ch) for ch in shown}, flavor), flavor)
    head_end = _HEAD_END.search(html)
    if head_end:
        return html[: head_end.start()] + block + html[head_end.start() :]
    body_start = _BODY_START.search(html)
    if body_start:  # no </head>: a <style> before <body> still lands in the head
        return html[: body_start.start()] + block + html[body_start.start() :]
    return block + html
