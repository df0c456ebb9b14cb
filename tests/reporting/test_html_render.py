"""Self-contained HTML: the embedded, subset CJK font, and what a browser actually draws.

The browser tests run headless Chromium with a fontconfig that sees only DejaVu Sans (copied
from matplotlib's data), i.e. a machine with no Chinese font. The page without the embedded
font is the control: every hanzi is drawn as the same placeholder box, which proves the
environment has no CJK fallback and that the pixel comparison detects tofu.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from fontTools.ttLib import TTFont

from evalkit.errors import FontError
from evalkit.reporting import CJK_FONT_FAMILY, embed_cjk_font
from evalkit.reporting import html_fonts

FONT_FACE = re.compile(r"src:url\(data:font/(woff2?);base64,([A-Za-z0-9+/=]+)\) format\(\"(woff2?)\"\)")
CELL_CHARS = "获得感幸福归属社区名"
SCREENSHOT = Path("/tmp/evalkit_cjk_chromium.png")


def _page(body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>报告</title>'
        f"{head}</head><body>{body}</body></html>"
    )


def _embedded_font(html: str) -> tuple[str, TTFont]:
    matches = FONT_FACE.findall(html)
    assert len(matches) == 1
    flavor, data, declared = matches[0]
    assert flavor == declared
    return flavor, TTFont(io.BytesIO(base64.b64decode(data)))


def _typical_report_text() -> str:
    """3,000 characters of Chinese report text: ~650 distinct hanzi, as in a real 3,000-character report."""
    level1 = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF) if (hi, lo) < (0xD7, 0xFA)]
    rng = np.random.default_rng(20240901)
    vocabulary = rng.choice(level1, size=650, replace=False)
    text = "".join(rng.choice(vocabulary, size=2700))
    punctuation = "，。、：；“”（）"
    return "".join(ch + (punctuation[i % len(punctuation)] if i % 9 == 8 else "") for i, ch in enumerate(text))[:3000]


# --- embedding (no browser) --------------------------------------------------------------


def test_font_is_subset_to_exactly_the_characters_shown():
    html = _page(
        '<p title="提示">获得感 &#x5E78;福感</p><img alt="图一"><script>var s = "脚本";</script>',
        head="<style>p::after { content: ''; } /* 样式 */</style>",
    )
    out = embed_cjk_font(html)
    flavor, font = _embedded_font(out)
    shown = set("报告提示获得感幸福图一") | {" "}
    assert {chr(cp) for cp in font.getBestCmap()} == shown  # not 脚本 (script), not 样式 (style)
    assert font["name"].getDebugName(1) == CJK_FONT_FAMILY
    assert "Open Font License" in font["name"].getDebugName(13)  # the licence travels with the copy
    assert flavor == ("woff2" if html_fonts._brotli_available() else "woff")


def test_block_goes_at_end_of_head_and_sets_the_font_stack():
    html = _page("<p>获得感</p>", head="<style>body { color: #333 }</style>")
    out = embed_cjk_font(html)
    head = out[: out.index("</head>")]
    assert head.count('<style id="evalkit-cjk-font">') == 1
    assert head.index("color: #333") < head.index("evalkit-cjk-font")  # later rule wins for body
    assert out.replace(re.search(r'<style id="evalkit-cjk-font">.*?</style>\n', out, re.S).group(0), "") == html
    assert 'html,body,table{font-family:"evalkit CJK", "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;}' in out
    assert "--jp-content-font-family:" in out  # nbconvert (JupyterLab) reports use the variable
    assert re.search(r'pre,code,kbd,samp\{font-family:[^}]*monospace, "evalkit CJK";\}', out)


def test_embedding_twice_is_the_same_as_once_and_deterministic():
    html = _page("<p>归属感</p>")
    once = embed_cjk_font(html)
    assert embed_cjk_font(once) == once
    assert embed_cjk_font(html) == once


def test_fragment_and_head_less_documents():
    fragment = embed_cjk_font("<p>社区</p>")
    assert fragment.startswith('<style id="evalkit-cjk-font">') and fragment.endswith("<p>社区</p>")
    no_head = embed_cjk_font("<html><body><p>社区</p></body></html>")
    assert no_head.index("evalkit-cjk-font") < no_head.index("<body>")


def test_character_missing_from_the_font_fails_loudly():
    with pytest.raises(
        FontError,
        match=r"reports/r1/did\.html: 2 character\(s\).*'𠀀' \(U\+20000 .*\) in \"社区𠀀 😀\"; '😀' \(U\+1F600 GRINNING FACE\)",
    ):
        embed_cjk_font(_page("<p>社区\U00020000 😀</p>"), where="reports/r1/did.html")


def test_both_font_formats_are_valid():
    codepoints = {ord(ch) for ch in "获得感"}
    woff = html_fonts._subset_font(codepoints, "woff")
    assert woff[:4] == b"wOFF"
    assert {chr(cp) for cp in TTFont(io.BytesIO(woff)).getBestCmap()} == set("获得感 ")
    if html_fonts._brotli_available():
        woff2 = html_fonts._subset_font(codepoints, "woff2")
        assert woff2[:4] == b"wOF2"
        assert len(woff2) < len(woff)


def test_typical_report_adds_a_small_font():
    text = _typical_report_text()
    assert len(text) == 3000
    html = _page(f"<h1>示范市社区治理试点评估</h1><p>{text}</p>")
    added = len(embed_cjk_font(html)) - len(html)
    # measured (648 distinct characters): 134 kB added with WOFF2 (brotli installed), 168 kB with WOFF
    assert added < 200_000, f"{added} bytes added"


# --- Chromium ----------------------------------------------------------------------------


def _cells_page() -> str:
    spans = "".join(
        f'<span style="position:absolute;left:{20 + 80 * i}px;top:20px">{ch}</span>' for i, ch in enumerate(CELL_CHARS)
    )
    return _page(
        spans + '<p style="position:absolute;left:20px;top:120px;font-size:24px">社区名称：获得感、幸福感、归属感 <b>加粗</b> abc 123 <code>代码 x=1</code></p>',
        head="<style>body{margin:0;background:#fff;color:#000} span{font-size:64px;line-height:1}</style>",
    )


def _cell_inks(png: Path) -> list[np.ndarray]:
    image = matplotlib.image.imread(png)[..., :3].mean(axis=2)
    return [image[10:100, 20 + 80 * i : 100 + 80 * i] < 0.5 for i in range(len(CELL_CHARS))]


@pytest.mark.browser
def test_chromium_draws_embedded_chinese_on_a_machine_without_cjk_fonts(browser, tmp_path):
    plain_png, embedded_png = tmp_path / "plain.png", tmp_path / "embedded.png"
    browser(_cells_page(), "--window-size=900,200", f"--screenshot={plain_png}")
    browser(embed_cjk_font(_cells_page()), "--window-size=900,200", f"--screenshot={embedded_png}")
    shutil.copy(embedded_png, SCREENSHOT)  # for a human look

    tofu = _cell_inks(plain_png)
    assert tofu[0].sum() > 50, "control page drew nothing at all"
    assert all(np.array_equal(tofu[0], cell) for cell in tofu), (
        "control page drew distinct hanzi without the embedded font: Chromium found a system CJK font, "
        "so this test cannot tell embedded from fallback glyphs"
    )
    cells = _cell_inks(embedded_png)
    for ch, cell in zip(CELL_CHARS, cells, strict=True):
        assert cell.sum() > 200, f"{ch}: almost no ink"
        assert not np.array_equal(cell, tofu[0]), f"{ch}: drawn as the missing-glyph box"
    assert len({cell.tobytes() for cell in cells}) == len(CELL_CHARS)


@pytest.mark.browser
def test_chromium_reports_the_font_face_loaded(browser):
    script = (
        "<script>document.fonts.ready.then(() => document.body.setAttribute('data-fonts',"
        " [...document.fonts].map(f => f.family.replace(/\"/g, '') + '|' + f.status).join(';')"
        " + ';check=' + document.fonts.check('16px \"evalkit CJK\"', '获得感')));</script>"
    )
    dom = browser(embed_cjk_font(_page("<p>获得感、幸福感、归属感</p>" + script)), "--dump-dom")
    status = re.search(r'data-fonts="([^"]*)"', dom)
    assert status is not None, dom[-500:]
    assert status.group(1) == f"{CJK_FONT_FAMILY}|loaded;check=true"
