"""Text encodings of raw files: detect, decode, and spot mojibake.

This module owns one question: *which bytes mean which characters?* It decides
how a CSV's bytes are decoded, and it recognises text that was decoded with the
wrong encoding somewhere upstream (mojibake), in any format.

Why detection is hand-written
-----------------------------
Field data in this domain come in exactly four encodings: UTF-8, UTF-8 with a
BOM (Excel's "CSV UTF-8"), GBK and GB18030 (Excel/WPS "CSV" on Chinese
Windows). For that closed set a deterministic rule is both simpler and more
reliable than a statistical guesser:

1. a BOM decides (UTF-8 or UTF-16);
2. bytes that decode strictly as UTF-8 are UTF-8 (GBK text that happens to be
   valid UTF-8 is vanishingly rare beyond a few characters);
3. anything else is decoded as GB18030, never GBK: GB18030 is a superset of GBK
   (identical on every GBK byte sequence) and also covers characters GBK lacks,
   which do occur in names, e.g. 䶮 (U+4DAE) and 𠮷 (U+20BB7). A GBK decode of
   such a file fails or, worse, drops the character;
4. a file whose lines are partly UTF-8 and partly GBK (two exports pasted
   together) decodes as GB18030 *without error* and garbles the UTF-8 lines.
   The first and last 5,000 lines are sampled for that; if so, each line is
   decoded in its own encoding and an error names the minority lines.

Statistical guessers get short files wrong: charset-normalizer 3.5 (tried
here) reads the GBK bytes of ``姓名\\n张三\\n`` as Big5-HKSCS and
``id,城乡\\n1,城市\\n`` as CP949 (Korean); chardet before 5.0 answered GB2312 for
GB18030 bytes (charade issue #11), and the GB2312 codec then fails on the first
character outside GB2312. A survey export with a two-column header and a
handful of rows is exactly the short file we must get right, and a guesser
would also have to read the whole of a large file to be sure.

Why mojibake detection is hand-written
--------------------------------------
A file that *decodes* is not necessarily *right*: if someone opened a UTF-8 CSV
as GBK in Excel and saved it, or an old Stata file is read as Latin-1, the bytes
are valid and the text is garbage. ftfy repairs UTF-8 misread as Latin-1 or
Windows-125x but not the GBK cases (python-ftfy issue #34), which are the common
ones here; the patterns are few and well known, so they are listed here rather
than adding a dependency that covers half of them:

* UTF-8 read as Latin-1/CP1252: ``Ã¤``, ``é”Ÿ``, ``ï»¿`` (a BOM), runs of
  accented Latin letters where Chinese should be (GBK read as Latin-1: 社区 →
  ``ÉçÇø``);
* ``锟斤拷`` (replacement characters that went through UTF-8 → GBK), ``烫烫烫`` /
  ``屯屯屯`` (uninitialised memory), and U+FFFD replacement characters;
* UTF-8 read as GBK and saved again (你好 → ``浣犲ソ``): detected by a round trip
  (re-encode as GB18030; if those bytes are valid UTF-8 and give Chinese text,
  the cell was mojibake).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.intake.problems import Problem, format_rows

__all__ = [
    "MOJIBAKE_FIX",
    "Decoded",
    "decode_text",
    "normalise_encoding",
    "may_contain_mojibake",
    "mojibake_fragments",
    "mojibake_mask",
    "looks_like_latin1_gbk",
    "looks_like_utf8_read_as_gbk",
    "recover_utf8_read_as_gbk",
]

#: the fix, said once so every message gives the same advice
MOJIBAKE_FIX = (
    "The file was probably saved with the wrong encoding (乱码). Open the original in "
    "WPS/Excel and save it again with 文件 → 另存为 → 'CSV UTF-8（逗号分隔）(*.csv)', "
    "or give the file's real encoding in study.yaml (e.g. `encoding: gb18030`)."
)

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOM_UTF16 = (b"\xff\xfe", b"\xfe\xff")

#: Chinese encodings that are all read as GB18030 (a superset of each)
_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "ms936", "hz", "euc-cn", "euc_cn"}

# characters CP1252 puts in 0x80–0x9F, which appear when UTF-8 continuation bytes
# are read as CP1252
_CP1252_HIGH = (
    "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018\u2019"
    "\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_MOJIBAKE_TAIL = (
    # a UTF-8 lead byte (Â..ô) followed by a continuation byte, read as Latin-1/CP1252
    f"|[\u00c2-\u00f4][\u0080-\u00bf{_CP1252_HIGH}]"
    "|锟斤拷|烫烫烫|屯屯屯|\ufffd"
)
# GBK (or UTF-8) read as Latin-1: a run of high Latin-1 characters, but not NBSP
# indentation and not one character repeated (····)
_MOJIBAKE_RE = re.compile(r"(?!(.)\1{3})[\u0080-\u009f\u00a1-\u00ff]{4,}" + _MOJIBAKE_TAIL)
# the same without the look-ahead, which pyarrow's RE2 engine lacks: a fast first pass
_MOJIBAKE_FAST = "[\u0080-\u009f\u00a1-\u00ff]{4,}" + _MOJIBAKE_TAIL

# byte-level signs that the (UTF-8) text may contain one of the patterns above:
# every U+0080–U+00FF character starts with C2/C3 in UTF-8
_MOJIBAKE_BYTES = (b"\xc2", b"\xc3", *(s.encode() for s in ("\ufffd", "锟斤拷", "烫烫烫", "屯屯屯")))

_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff]")


@frozen
class Decoded:
    """A decoded text and the encoding that was used."""

    text: str
    encoding: str  # "utf-8", "utf-8-sig", "gb18030", "utf-16" or the declared codec
    problems: tuple[Problem, ...] = ()


def normalise_encoding(name: str) -> str:
    """Canonical codec name; every GB encoding becomes ``gb18030`` (a superset)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return name
    if canonical in _GB_FAMILY or name.lower().replace("_", "-") in _GB_FAMILY:
        return "gb18030"
    return canonical


def _lines_of(data: bytes, positions: Iterable[int]) -> list[int]:
    """1-based line numbers of byte positions."""
    pos = np.asarray(list(positions), dtype=np.int64)
    if pos.size == 0:
        return []
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    return sorted(set((np.searchsorted(newlines, pos) + 1).tolist()))


def _bad_positions(data: bytes, encoding: str, limit: int = 1000) -> list[int]:
    """Byte positions where ``encoding`` fails (at most ``limit``)."""
    out: list[int] = []
    decoder = codecs.getincrementaldecoder(encoding)()
    start = 0
    while len(out) < limit:
        try:
            decoder.decode(data[start:], final=True)
            break
        except UnicodeDecodeError as exc:
            out.append(start + exc.start)
            start = start + exc.end
            decoder.reset()
    return out


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def decode_text(data: bytes, *, file: str, declared: str | None = None) -> Decoded:
    """Decode a text file's bytes; report what was used and anything odd.

    Parameters
    ----------
    data
        The file's bytes (NUL bytes already removed).
    file
        The path as the user gave it, for messages.
    declared
        The encoding the study config gives, if any. GBK/GB2312/CP936 are read as
        GB18030. A declaration is honoured unless the bytes are valid UTF-8 with
        non-ASCII text (then UTF-8 wins, with a warning) or it fails to decode.

    Returns
    -------
    Decoded
        The text, the encoding used, and problems: a warning when the declared
        encoding was overridden, an error naming the lines that decode in no
        candidate encoding (those bytes become U+FFFD so the rest can be checked).
    """
    problems: list[Problem] = []
    if data.startswith(_BOM_UTF16):
        text = _strict(data, "utf-16")
        if text is not None:
            return Decoded(text, "utf-16")
    if data.startswith(_BOM_UTF8):
        text = _strict(data, "utf-8-sig")
        if text is not None:
            return Decoded(text, "utf-8-sig")
        return _undecodable(data, file, "utf-8-sig", "the file starts with a UTF-8 BOM but")

    is_ascii = data.isascii()
    as_utf8 = None if is_ascii else _strict(data, "utf-8")
    if declared is not None:
        want = normalise_encoding(declared)
        if as_utf8 is not None and want not in ("utf-8", "utf-8-sig"):
            msg = (
                f"{file}: study.yaml gives `encoding: {declared}`, but the file is valid UTF-8 "
                f"with Chinese text, so it was read as UTF-8 (reading it as {declared} would "
                "garble every Chinese character). Remove `encoding:` for this file."
            )
            problems.append(Problem(file, "encoding_mismatch", msg, "warning"))
            return Decoded(as_utf8, "utf-8", tuple(problems))
        text = _strict(data, want)
        if text is not None:
            return Decoded(text, want)
        for other in ("utf-8", "gb18030"):
            text = as_utf8 if other == "utf-8" else _strict(data, other)
            if other != want and text is not None:
                msg = (
                    f"{file}: study.yaml gives `encoding: {declared}`, but the file does not "
                    f"decode as {declared}; it decodes as {other.upper()} and was read so. "
                    "Remove `encoding:` for this file (it is detected)."
                )
                problems.append(Problem(file, "encoding_mismatch", msg, "warning"))
                return Decoded(text, other, tuple(problems))
        return _undecodable(data, file, want, f"the file does not decode as {declared}:")

    if is_ascii:
        return Decoded(data.decode("ascii"), "utf-8")
    if as_utf8 is not None:
        return Decoded(as_utf8, "utf-8")
    if _looks_mixed(data):
        return _decode_per_line(data, file)
    text = _strict(data, "gb18030")
    if text is not None:
        return Decoded(text, "gb18030")
    # neither: pick the candidate with fewer bad bytes (often a mix of files)
    bad_utf8 = len(_bad_positions(data, "utf-8"))
    bad_gb = len(_bad_positions(data, "gb18030"))
    best = "utf-8" if bad_utf8 <= bad_gb else "gb18030"
    return _undecodable(data, file, best, "the file is neither valid UTF-8 nor valid GB18030:")


def _utf8_cjk_line(line: bytes) -> bool:
    """A non-ASCII line that is valid UTF-8 with at least two CJK characters."""
    if line.isascii():
        return False
    text = _strict(line, "utf-8")
    return text is not None and len(_CJK_RE.findall(text)) >= 2


def _looks_mixed(data: bytes, sample: int = 5000) -> bool:
    """Some lines are UTF-8 and others are not (two exports pasted together).

    Only the first and last ``sample`` lines are looked at; a file is judged by
    its whole content in :func:`_decode_per_line` only when this says yes.
    """
    lines = data.split(b"\n")
    lines = lines if len(lines) <= 2 * sample else lines[:sample] + lines[-sample:]
    utf8 = other = False
    for line in lines:
        if line.isascii():
            continue
        if _utf8_cjk_line(line):
            utf8 = True
        elif _strict(line, "utf-8") is None:
            other = True
        if utf8 and other:
            return True
    return False


def _decode_per_line(data: bytes, file: str) -> Decoded:
    """Decode each line in its own encoding (UTF-8 if valid, else GB18030) and say so."""
    out: list[str] = []
    utf8_lines: list[int] = []
    gb_lines: list[int] = []
    bad_lines: list[int] = []
    for i, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            out.append(line.decode("ascii"))
        elif (text := _strict(line, "utf-8")) is not None:
            out.append(text)
            utf8_lines.append(i)
        elif (text := _strict(line, "gb18030")) is not None:
            out.append(text)
            gb_lines.append(i)
        else:
            out.append(line.decode("gb18030", errors="replace"))
            bad_lines.append(i)
    fewer, more = sorted([("UTF-8", utf8_lines), ("GB18030/GBK", gb_lines)], key=lambda kv: len(kv[1]))
    msg = (
        f"{file}: the file mixes two encodings: {format_rows(fewer[1]).replace('row', 'line')} "
        f"{'is' if len(fewer[1]) == 1 else 'are'} {fewer[0]} while {len(more[1])} other line(s) are "
        f"{more[0]} (usually two exports pasted together). Each line was decoded in its own encoding "
        "so the rest of the file can be checked, but short lines can be ambiguous: save the whole "
        "file again in one encoding ('CSV UTF-8（逗号分隔）')."
    )
    problems = [Problem(file, "mixed_encoding", msg, "error", rows=tuple(fewer[1]))]
    if bad_lines:
        msg = (f"{file}: {format_rows(bad_lines).replace('row', 'line')} decode in no known encoding; "
               f"unreadable bytes were replaced by '\ufffd'. {MOJIBAKE_FIX}")
        problems.append(Problem(file, "undecodable", msg, "error", rows=tuple(bad_lines)))
    return Decoded("\n".join(out), "utf-8+gb18030", tuple(problems))


def _undecodable(data: bytes, file: str, encoding: str, lead: str) -> Decoded:
    positions = _bad_positions(data, encoding)
    lines = _lines_of(data, positions)
    more = "+" if len(positions) >= 1000 else ""
    msg = (
        f"{file}: {lead} {len(positions)}{more} byte sequence(s) on "
        f"{format_rows(lines).replace('row', 'line')} cannot be decoded as {encoding.upper()} and "
        "were replaced by '\ufffd'. The file is damaged or parts of it were saved in another "
        "encoding. Open the original in WPS/Excel and save it again with 文件 → 另存为 → "
        "'CSV UTF-8（逗号分隔）(*.csv)', or give the file's real encoding in study.yaml."
    )
    problem = Problem(file, "undecodable", msg, "error", rows=tuple(lines))
    return Decoded(data.decode(encoding, errors="replace"), encoding, (problem,))


# --------------------------------------------------------------------------- mojibake


def may_contain_mojibake(utf8: bytes) -> bool:
    """Cheap byte-level pre-check: False means no regex pattern can match."""
    return any(sig in utf8 for sig in _MOJIBAKE_BYTES)


def mojibake_fragments(text: str, *, max_len: int = 3) -> list[str]:
    """The garbled fragments in a string, each cut to ``max_len`` characters; empty when clean.

    Three characters are enough to recognise the pattern (``Ã¤``, ``锟斤拷``) and
    decode to at most one Chinese character, no more of a name than
    :func:`evalkit.privacy.mask` keeps (``张**``).
    """
    return [m.group(0)[:max_len] for m in _MOJIBAKE_RE.finditer(text)]


def mojibake_mask(series: pd.Series) -> np.ndarray:
    """Vectorised: True where a string cell contains a mojibake pattern."""
    if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
        return np.zeros(len(series), dtype=bool)
    text = series.astype("str") if series.dtype == object else series
    hit = text.str.contains(_MOJIBAKE_FAST, regex=True, na=False)
    hit = hit.to_numpy(dtype=bool, na_value=False, copy=True)
    if hit.any():  # confirm the candidates with the exact pattern
        hit[hit] = [_MOJIBAKE_RE.search(v) is not None for v in text[hit]]
    return hit


def looks_like_latin1_gbk(strings: Iterable[str], *, min_share: float = 0.8) -> bool:
    """True if the non-ASCII strings are GB18030 bytes that were decoded as Latin-1.

    Each Chinese character becomes two high Latin-1 characters (社区 → ``ÉçÇø``),
    so every run of high characters has even length and the Latin-1 bytes decode
    as GB18030 to Chinese. European text (``Müller``: a run of one) fails the
    test. ``min_share`` of the non-ASCII strings must pass.
    """
    candidates = passed = 0
    for s in strings:
        if s.isascii():
            continue
        candidates += 1
        runs = re.findall("[\u0080-\u00ff]+", s)
        if not runs or any(len(r) % 2 for r in runs) or max(s) > "\u00ff":
            continue
        try:
            decoded = s.encode("latin-1").decode("gb18030")
        except UnicodeError:
            continue
        if _CJK_RE.search(decoded):
            passed += 1
    return candidates > 0 and passed >= min_share * candidates


def recover_utf8_read_as_gbk(s: str) -> str | None:
    """The original text if ``s`` is UTF-8 that was decoded as GBK (你好 → ``浣犲ソ``), else None.

    Re-encoding such a string as GB18030 gives back the UTF-8 bytes, which decode
    strictly to different Chinese text. Only strings with at least two CJK
    characters are judged.
    """
    if len(_CJK_RE.findall(s)) < 2:
        return None
    try:
        back = s.encode("gb18030").decode("utf-8")
    except UnicodeError:
        return None
    return back if back != s and _CJK_RE.search(back) else None


def looks_like_utf8_read_as_gbk(strings: Iterable[str], *, min_share: float = 0.5) -> bool:
    """True if most Chinese-looking strings are UTF-8 that was decoded as GBK.

    Genuine Chinese text almost never survives the round trip of
    :func:`recover_utf8_read_as_gbk`; to be safe, ``min_share`` of the strings
    with at least two CJK characters, and at least three of them (or all, when
    fewer), must pass.
    """
    candidates = passed = 0
    for s in strings:
        if len(_CJK_RE.findall(s)) < 2:
            continue
        candidates += 1
        passed += recover_utf8_read_as_gbk(s) is not None
    return candidates > 0 and passed >= min(3, candidates) and passed >= min_share * candidates
