"""Chinese in figures: the bundled font, its registration, glyph checks, PDF embedding, Word.

"Renders correctly" is checked on pixels: a character no font has is drawn as a placeholder
("tofu"; matplotlib ≥ 3.11 uses its bundled Last Resort font, one placeholder per Unicode
block), which is the same bitmap for every missing hanzi, while real glyphs differ from it
and from each other. The control case (DejaVu Sans, which has no hanzi) shows that the
comparison does detect tofu, so the positive cases can fail.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import matplotlib as mpl
import matplotlib.image
import numpy as np
import pytest
from fontTools.ttLib import TTFont
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager

from evalkit.errors import FontError
from evalkit.reporting import fonts as fonts_module
from evalkit.reporting import (
    CJK_FONT_FAMILY,
    check_text_renderable,
    cjk_font_path,
    set_docx_cjk_font,
    setup_matplotlib_fonts,
    strict_glyphs,
)

OUTCOMES = ["获得感", "幸福感", "归属感"]
RARE = "\U00020000"  # CJK Extension B, not in GB 2312 nor in the bundled subset
FIGURE_PNG = Path("/tmp/evalkit_cjk_figure.png")


@pytest.fixture(autouse=True)
def _restore_rcparams():
    with mpl.rc_context():
        yield


def _gb2312_hanzi() -> set[str]:
    chars = set()
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def _ink(text: str, family: str | None = None) -> np.ndarray:
    """Boolean ink mask of *text* drawn alone, 48 pt, centred on a 100x100 px canvas."""
    fig = Figure(figsize=(1, 1), dpi=100)
    fig.text(0.5, 0.5, text, fontsize=48, ha="center", va="center", family=family)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 0] < 128


def _ink_of_missing(text: str, family: str | None = None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        return _ink(text, family)


# --- the vendored file -------------------------------------------------------------------


def test_bundled_font_is_small_truetype_with_gb2312_and_licence():
    path = cjk_font_path()
    assert path.stat().st_size < 6_000_000
    font = TTFont(path)
    assert "glyf" in font and "CFF " not in font  # TrueType outlines: PDF Type 42 works
    assert font["name"].getDebugName(1) == CJK_FONT_FAMILY
    assert "Open Font License" in font["name"].getDebugName(13)
    assert font["OS/2"].fsType == 0  # installable embedding
    cmap = font.getBestCmap()
    hanzi = _gb2312_hanzi()
    assert len(hanzi) == 6763
    missing = sorted(ch for ch in hanzi if ord(ch) not in cmap)
    assert missing == []
    for ch in "，。、；：？！“”‘’（）《》【】—…·％－\u2212①℃0123456789AZaz":
        assert ord(ch) in cmap, f"U+{ord(ch):04X} {ch}"
    licence = (path.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Adobe" in licence
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    assert "Noto Sans CJK SC" in readme and "2.004" in readme


def test_missing_font_file_fails_loudly(monkeypatch):
    monkeypatch.setattr(fonts_module, "_FONT_FILE", "NoSuchFont.ttf")
    with pytest.raises(FontError, match=r"NoSuchFont\.ttf does not exist.*reinstall evalkit"):
        setup_matplotlib_fonts()


# --- matplotlib setup --------------------------------------------------------------------


def test_setup_registers_once_and_sets_rcparams():
    assert setup_matplotlib_fonts() == CJK_FONT_FAMILY
    mpl.rcdefaults()  # a user reset: a second call must re-apply the settings
    assert setup_matplotlib_fonts() == CJK_FONT_FAMILY
    entries = [e for e in fontManager.ttflist if Path(e.fname) == cjk_font_path()]
    assert len(entries) == 1
    assert mpl.rcParams["font.family"] == ["sans-serif"]
    assert mpl.rcParams["font.sans-serif"][0] == CJK_FONT_FAMILY
    assert mpl.rcParams["pdf.fonttype"] == 42
    assert mpl.rcParams["svg.fonttype"] == "path"
    assert mpl.rcParams["axes.unicode_minus"] is True  # the font has U+2212
    assert Path(findfont(FontProperties())) == cjk_font_path()


def test_chinese_glyphs_are_drawn_not_tofu():
    setup_matplotlib_fonts()
    tofu = _ink_of_missing("获", family="DejaVu Sans")  # placeholder of a missing BMP hanzi
    assert tofu.sum() > 50  # the placeholder is visible, not blank
    chars = "获得感幸福归属社区名称"
    inks = {ch: _ink(ch) for ch in chars}
    for ch, ink in inks.items():
        assert ink.sum() > 100, f"{ch} drew almost nothing"
        assert not np.array_equal(ink, tofu), f"{ch} drew the missing-glyph placeholder"
    distinct = {ink.tobytes() for ink in inks.values()}
    assert len(distinct) == len(chars)


def test_control_dejavu_draws_identical_tofu():
    """The method detects tofu: DejaVu Sans has no hanzi, and every one looks the same."""
    boxes = [_ink_of_missing(ch, family="DejaVu Sans") for ch in "获得感社区"]
    assert boxes[0].sum() > 50
    assert all(np.array_equal(boxes[0], box) for box in boxes[1:])


def test_rare_character_outside_the_subset_is_tofu_too():
    setup_matplotlib_fonts()
    boxes = [_ink_of_missing(ch) for ch in (RARE, "\U0002A6A5")]  # both CJK Extension B
    assert np.array_equal(boxes[0], boxes[1])


def test_figure_with_chinese_title_labels_ticks_renders_without_warnings():
    setup_matplotlib_fonts()
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    ax.bar(OUTCOMES, [0.42, -0.15, 0.31])
    ax.set_title("试点效应：获得感、幸福感、归属感")
    ax.set_xlabel("社区名称")
    ax.set_ylabel("效应（标准差）")
    ax.annotate("−0.15：幸福感略降", (1, -0.15), xytext=(1.3, 0.2), arrowprops={"arrowstyle": "->"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with strict_glyphs("test figure"):
            fig.savefig(FIGURE_PNG)
    assert [str(w.message) for w in caught] == []
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]
    assert [t.get_text() for t in ax.get_xticklabels()] == OUTCOMES
    assert any(t.get_text().startswith("\u2212") for t in ax.get_yticklabels())  # real minus sign
    for text in texts:
        assert Path(findfont(text.get_fontproperties())) == cjk_font_path()
    image = matplotlib.image.imread(FIGURE_PNG)
    assert image.shape[:2] == (400, 600)


def test_check_text_renderable_passes_gb2312_and_names_missing_characters():
    setup_matplotlib_fonts()
    check_text_renderable("示范市社区治理试点评估（合成演示数据）：获得感 −1.5%")
    with pytest.raises(FontError, match=r"U\+20000 CJK UNIFIED IDEOGRAPH-20000") as info:
        check_text_renderable(f"社区{RARE}名", where="title of figure did_main")
    message = str(info.value)
    assert message.startswith(f"title of figure did_main '社区{RARE}名': 1 character(s) cannot be drawn")
    assert "U+793E" not in message and "U+540D" not in message  # only the missing one is named
    assert f"Fonts searched: {CJK_FONT_FAMILY} (" in message


def test_check_text_renderable_uses_the_given_font():
    setup_matplotlib_fonts()
    with pytest.raises(FontError, match=r"'获' \(U\+83B7.*'得' \(U\+5F97.*DejaVu Sans"):
        check_text_renderable("获得 abc", fontproperties=FontProperties(family="DejaVu Sans"))


def test_fallback_font_chain_is_honoured_like_matplotlib_does():
    """A glyph the bundled font lacks (U+01C5, Latin Extended-B) but DejaVu Sans has."""
    setup_matplotlib_fonts()
    text = "获得感 ǅ"
    with pytest.raises(FontError, match=r"U\+01C5"):
        check_text_renderable(text)
    mpl.rcParams["font.family"] = [CJK_FONT_FAMILY, "DejaVu Sans"]
    check_text_renderable(text)
    fig = Figure()
    fig.suptitle(text)
    with strict_glyphs("fallback"):  # matplotlib agrees: no missing glyph
        FigureCanvasAgg(fig).draw()


def test_strict_glyphs_turns_missing_glyph_warnings_into_one_font_error():
    setup_matplotlib_fonts()
    fig = Figure()
    fig.suptitle(f"社区{RARE}与😀")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a user who silenced warnings still gets the error
        with pytest.raises(FontError, match=r"test: 2 character\(s\).*U\+20000.*U\+1F600.*Fonts tried: evalkit CJK"):
            with strict_glyphs("test"):
                FigureCanvasAgg(fig).draw()


def test_strict_glyphs_catches_mathtext_and_passes_other_warnings_through():
    setup_matplotlib_fonts()
    fig = Figure()
    fig.text(0.1, 0.5, r"$\beta_{获}$")
    with pytest.raises(FontError, match=r"'获' \(U\+83B7.*mathtext"):
        with strict_glyphs("math"):
            FigureCanvasAgg(fig).draw()
    with pytest.warns(RuntimeWarning, match="unrelated"):
        with strict_glyphs("other"):
            warnings.warn("unrelated", RuntimeWarning, stacklevel=1)


def test_pdf_embeds_the_font_as_truetype():
    setup_matplotlib_fonts()
    mpl.rcParams["pdf.compression"] = 0
    fig = Figure()
    fig.suptitle("获得感")
    buffer = io.BytesIO()
    with strict_glyphs("pdf"):
        fig.savefig(buffer, format="pdf")
    pdf = buffer.getvalue()
    assert b"/FontFile2" in pdf  # embedded TrueType font program
    assert re.search(rb"/BaseFont /[A-Z]{6}\+EvalkitCJK-Regular", pdf) or b"/BaseFont /EvalkitCJK-Regular" in pdf
    assert b"/CIDFontType2" in pdf
    assert re.search(rb"<83[Bb]7>", pdf)  # ToUnicode maps a glyph back to 获: text stays searchable


def test_docx_east_asian_font_and_language():
    import docx
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_heading("试点成效评估", level=1)
    document.add_paragraph("居民获得感显著提升。")
    set_docx_cjk_font(document)
    buffer = io.BytesIO()
    document.save(buffer)
    reopened = docx.Document(io.BytesIO(buffer.getvalue()))
    styles = reopened.styles.element
    default_rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert default_rpr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "Microsoft YaHei"
    assert default_rpr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    heading = reopened.styles["Heading 1"].element.find(qn("w:rPr")).find(qn("w:rFonts"))
    assert heading.get(qn("w:eastAsia")) == "Microsoft YaHei"
    assert not any(f.get(qn("w:eastAsiaTheme")) for f in styles.iter(qn("w:rFonts")))
