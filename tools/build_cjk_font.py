"""Build the Chinese font vendored in ``src/evalkit/fonts/`` (run by a maintainer, not at run time).

evalkit draws Chinese in matplotlib figures and embeds it in HTML reports. A pip-only
machine has no CJK font, so evalkit ships its own: a subset of **Noto Sans CJK SC
Regular** (SIL Open Font License 1.1), converted from CFF (cubic) to TrueType (quadratic)
outlines so that matplotlib can embed it in PDF as Type 42 and browsers/Word accept it.

What the subset covers
    * ASCII and Latin-1 (U+0020–U+00FF), General Punctuation (U+2000–U+206F), CJK Symbols
      and Punctuation (U+3000–U+303F), Halfwidth and Fullwidth Forms (U+FF00–U+FFEF), a
      few symbols reports use (U+2212 minus, ≤ ≥ ± × ÷ ‰ ℃ № → ①…⑳);
    * every character of GB 2312 (all 6,763 hanzi plus its symbols, Greek, Cyrillic, kana);
    * every other hanzi found in the extra text files given with ``--extra`` (the project
      primer and seed articles) and in the Chinese text of ``src/evalkit`` (``*.py``,
      ``*.yaml``, ``*.yml``).

How
    fontTools' subsetter (layout features reduced to ``kern``; vertical and ``locl``
    substitutions would pull in Japanese/Korean/Traditional alternates), then the CFF →
    glyf conversion of fontTools' ``Snippets/otf2ttf.py`` (cu2qu, max error 1 font unit at
    1000 units/em), then new names: the family is renamed to "evalkit CJK" (a modified
    version must not pose as the original; the OFL's Reserved Font Name is "Source", which
    is not used). Copyright and licence name records are kept.

Usage (Debian/Ubuntu; the font package is needed only here, never at run time)::

    apt-get install -y fonts-noto-cjk
    .venv/bin/python tools/build_cjk_font.py \\
        --extra ../shared/DOMAIN.md --extra '../shared/seeds/*.txt'

The output is deterministic for the same inputs (fontTools version, source font, text).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import logging
import sys
import unicodedata
from pathlib import Path

import numpy as np

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DEFAULT_FACE = "Noto Sans CJK SC"
DEFAULT_OUTPUT = REPO / "src" / "evalkit" / "fonts" / "EvalkitCJK-Regular.ttf"
DEFAULT_COPYRIGHT_FILE = Path("/usr/share/doc/fonts-noto-cjk/copyright")  # Debian machine-readable format
FAMILY = "evalkit CJK"
POSTSCRIPT_NAME = "EvalkitCJK-Regular"
MAX_ERR = 1.0  # font units; the otf2ttf snippet's default
VERIFY_PX = 48  # glyphs are compared at this pixel size
VERIFY_TOL = 0.15  # |ink difference| / ink of the source glyph, best of 3x3 one-pixel shifts

RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2000, 0x206F),  # General Punctuation
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
    (0x2460, 0x2473),  # ①…⑳
]
EXTRA_CHARS = "\u2212≤≥≠≈±×÷‰℃№→←↑↓▲▼●○■□◆◇★☆√∞∑"

log = logging.getLogger("build_cjk_font")


def is_hanzi(ch: str) -> bool:
    """True for CJK unified ideographs (any block) and compatibility ideographs."""
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def gb2312_chars() -> set[str]:
    """Every character GB 2312 encodes (rows 0xA1–0xF7, cells 0xA1–0xFE)."""
    chars: set[str] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def text_hanzi(paths: list[Path]) -> set[str]:
    """Hanzi (and CJK punctuation) occurring in the given text files."""
    found: set[str] = set()
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        found.update(ch for ch in text if is_hanzi(ch) or 0x3000 <= ord(ch) <= 0x303F or 0xFF00 <= ord(ch) <= 0xFFEF)
    return found


def wanted_codepoints(extra_paths: list[Path], source_dir: Path) -> set[int]:
    chars = gb2312_chars()
    gb_hanzi = {ch for ch in chars if is_hanzi(ch)}
    if len(gb_hanzi) != 6763:  # GB 2312 defines exactly 3,755 + 3,008 hanzi
        msg = f"GB 2312 decoding gave {len(gb_hanzi)} hanzi, expected 6,763; check Python's gb2312 codec"
        raise SystemExit(msg)
    for lo, hi in RANGES:
        chars.update(chr(cp) for cp in range(lo, hi + 1))
    chars.update(EXTRA_CHARS)
    own_sources = sorted(p for pattern in ("*.py", "*.yaml", "*.yml") for p in source_dir.rglob(pattern))
    extra_hanzi = text_hanzi(extra_paths) | text_hanzi(own_sources)
    log.info(
        "GB 2312: %d characters (%d hanzi); %d hanzi/punctuation from %d text files, %d of them new",
        len(chars), len(gb_hanzi), len(extra_hanzi), len(extra_paths) + len(own_sources), len(extra_hanzi - chars),
    )
    chars |= extra_hanzi
    return {ord(ch) for ch in chars}


def load_face(source: Path, face: str) -> TTFont:
    if source.suffix.lower() == ".ttc":
        collection = TTCollection(str(source))
        for font in collection.fonts:
            if font["name"].getDebugName(1) == face:
                return font
        names = [f["name"].getDebugName(1) for f in collection.fonts]
        msg = f"{source}: no face named {face!r}; faces are {names}"
        raise SystemExit(msg)
    return TTFont(str(source))


def subset_font(font: TTFont, codepoints: set[int]) -> list[int]:
    """Subset in place; returns the wanted code points the source font lacks."""
    cmap = font.getBestCmap()
    missing = sorted(cp for cp in codepoints if cp not in cmap)
    options = subset.Options()
    options.layout_features = ["kern"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True  # missing glyphs draw as a visible box, not as nothing
    options.glyph_names = False
    options.hinting = False  # cubic→quadratic conversion drops CFF hints anyway
    options.drop_tables += ["VORG"]  # CFF-only table
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for cp in codepoints if cp in cmap])
    subsetter.subset(font)
    return missing


def cff_to_glyf(font: TTFont) -> None:
    """CFF → TrueType outlines; follows fontTools' Snippets/otf2ttf.py."""
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        tt_pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(tt_pen, MAX_ERR, reverse_direction=True))
        glyf.glyphs[name] = tt_pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    maxp.maxTwilightPoints = 0
    maxp.maxStorage = 0
    maxp.maxFunctionDefs = 0
    maxp.maxInstructionDefs = 0
    maxp.maxStackElements = 0
    maxp.maxSizeOfInstructions = 0
    maxp.maxComponentElements = 0
    post = font["post"]
    post.formatType = 3.0  # no glyph names (CID fonts have none worth keeping)
    post.extraNames = []
    post.mapping = {}
    font["gasp"] = gasp = newTable("gasp")
    gasp.gaspRange = {0xFFFF: 0x000F}  # unhinted: grey-scale + symmetric smoothing at every size
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font: TTFont, source_version: str) -> None:
    name = font["name"]
    keep = {0, 7, 8, 9, 11, 12, 13, 14}  # copyright, trademark, vendor, designer, URLs, licence
    name.names = [rec for rec in name.names if rec.nameID in keep]
    description = (
        f"{FAMILY}: subset of Noto Sans CJK SC Regular ({source_version}) made by evalkit's "
        "tools/build_cjk_font.py (GB 2312 + report text), outlines converted to TrueType."
    )
    for name_id, value in {
        1: FAMILY,
        2: "Regular",
        3: f"{POSTSCRIPT_NAME};{source_version}",
        4: f"{FAMILY} Regular",
        5: source_version,
        6: POSTSCRIPT_NAME,
        10: description,
    }.items():
        name.setName(value, name_id, 3, 1, 0x409)
    font["OS/2"].fsType = 0  # installable embedding, as in the source font


def write_licence(font: TTFont, copyright_file: Path, output: Path) -> Path:
    """Write OFL.txt beside the font: the font's copyright/trademark notices + the OFL 1.1 text.

    The licence text is taken from the Debian package's copyright file (paragraph
    ``License: SIL-1.1``; lines are indented by one space and blank lines are written as ".").
    """
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    # the stand-alone paragraph, not the "License:" field of the "Files: *" paragraph
    starts = [i + 1 for i, line in enumerate(lines) if line == "License: SIL-1.1" and i > 0 and not lines[i - 1].strip()]
    if not starts:
        msg = f"{copyright_file}: no 'License: SIL-1.1' paragraph; is this the copyright file of fonts-noto-cjk?"
        raise SystemExit(msg)
    start = starts[0]
    body = []
    for line in lines[start:]:
        if not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    if "SIL OPEN FONT LICENSE Version 1.1" not in "\n".join(body):
        msg = f"{copyright_file}: the SIL-1.1 paragraph does not contain the OFL 1.1 text"
        raise SystemExit(msg)
    name = font["name"]
    notices = [name.getDebugName(0), name.getDebugName(7)]
    header = [
        f"{FAMILY} ({output.name}) is a Modified Version of Noto Sans CJK SC Regular, made by",
        "evalkit's tools/build_cjk_font.py (subset and converted to TrueType outlines).",
        "",
        *[n for n in notices if n],
        "",
        "This Font Software is licensed under the SIL Open Font License, Version 1.1.",
        f"The licence text below is copied from {copyright_file} (Debian package fonts-noto-cjk).",
        "",
    ]
    licence = output.parent / "OFL.txt"
    licence.write_text("\n".join(header + body).rstrip() + "\n", encoding="utf-8")
    return licence


def build(source: Path, face: str, output: Path, extra_paths: list[Path], copyright_file: Path) -> Path:
    font = load_face(source, face)
    source_version = font["name"].getDebugName(5)
    codepoints = wanted_codepoints(extra_paths, REPO / "src" / "evalkit")
    missing = subset_font(font, codepoints)
    if missing:  # mostly typographic spaces and format controls of General Punctuation
        log.info("the source font lacks %d requested code points (not in the subset): %s", len(missing),
                 " ".join(f"U+{cp:04X}" for cp in missing))
    if "CFF " in font:
        cff_to_glyf(font)
    rename(font, source_version)
    output.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # keep head.modified of the source: same inputs, same bytes
    font.save(str(output), reorderTables=True)
    check = TTFont(str(output))
    n_cmap = len(check.getBestCmap())
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    verify_outlines(source, face, output)
    licence = write_licence(check, copyright_file, output)
    log.info("wrote %s", licence)
    log.info("wrote %s: %d bytes, %d glyphs, %d mapped code points, sha256 %s",
             output, output.stat().st_size, check["maxp"].numGlyphs, n_cmap, digest)
    return output


def _raster(font, text: str) -> np.ndarray:
    from matplotlib.ft2font import LoadFlags

    font.set_size(VERIFY_PX, 72)
    font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
    font.draw_glyphs_to_bitmap(antialiased=True)
    return np.asarray(font.get_image(), dtype=float)


def _ink_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Relative ink difference of two glyph bitmaps, allowing a one-pixel shift (bbox rounding)."""
    height, width = max(a.shape[0], b.shape[0]) + 2, max(a.shape[1], b.shape[1]) + 2
    padded_a = np.zeros((height, width))
    padded_a[1 : 1 + a.shape[0], 1 : 1 + a.shape[1]] = a
    best = np.inf
    for dy in range(3):
        for dx in range(3):
            padded_b = np.zeros((height, width))
            padded_b[dy : dy + b.shape[0], dx : dx + b.shape[1]] = b
            best = min(best, np.abs(padded_a - padded_b).sum() / max(padded_a.sum(), 1.0))
    return float(best)


def verify_outlines(source: Path, face: str, output: Path) -> None:
    """Rasterise every mapped character from the source and the built font; they must agree.

    Catches a broken cubic→quadratic conversion (wrong contour direction, lost contours)
    and a wrong face (e.g. JP glyph forms instead of SC). Combining marks (zero-width,
    a few pixels of ink) are skipped: a one-pixel offset dominates their difference.
    """
    from matplotlib.ft2font import FT2Font

    face_index = 0
    if source.suffix.lower() == ".ttc":
        names = [f["name"].getDebugName(1) for f in TTCollection(str(source), lazy=True).fonts]
        face_index = names.index(face)
    source_ft = FT2Font(str(source), face_index=face_index)
    built_ft = FT2Font(str(output))
    bad = []
    n_checked = 0
    for cp in sorted(TTFont(str(output)).getBestCmap()):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cc", "Cf"):
            continue
        a, b = _raster(source_ft, ch), _raster(built_ft, ch)
        if a.sum() == 0 and b.sum() == 0:
            continue
        n_checked += 1
        difference = _ink_difference(a, b)
        if difference > VERIFY_TOL:
            bad.append(f"U+{cp:04X} {ch} ({difference:.2f})")
    if bad:
        msg = f"{output}: {len(bad)} glyphs differ from {source} ({face}) by more than {VERIFY_TOL}: {bad[:20]}"
        raise SystemExit(msg)
    log.info("verified %d glyph outlines against the source at %d px (tolerance %.2f)", n_checked, VERIFY_PX, VERIFY_TOL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Noto Sans CJK .ttc or SC .otf")
    parser.add_argument("--face", default=DEFAULT_FACE, help="family name of the face inside a .ttc")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--copyright-file", type=Path, default=DEFAULT_COPYRIGHT_FILE,
                        help="Debian copyright file holding the OFL text")
    parser.add_argument("--extra", action="append", default=[], help="glob of text files whose hanzi to add")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # the subsetter logs every glyph name at INFO
    extra_paths = sorted({Path(p) for pattern in args.extra for p in glob.glob(pattern)})
    for pattern in args.extra:
        if not glob.glob(pattern):
            log.warning("--extra %s matched no file", pattern)
    build(args.source, args.face, args.output, extra_paths, args.copyright_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
