"""Detectors for personal data in free text; each returns finding kinds, never the matched value.

All regular expressions are compiled once at import. Text is first normalised
(full-width digits and letters to ASCII, ideographic space to space) so that
``１１０１０５…`` and ``110105…`` are the same to every detector. Numbers are
matched only when not glued to other letters or digits (ASCII), so hashes,
base64 and decimals do not produce findings; ID numbers must pass the date
and ISO 7064 check-digit tests.
"""

from __future__ import annotations

import datetime as dt
import enum
import re

from evalkit.privacy import valid_id_number

__all__ = ["FindingKind", "normalise", "scan_text", "looks_like_person_name", "strip_data_uris", "safe_label"]


class FindingKind(enum.StrEnum):
    """What the audit found (reporting renders these in zh/en)."""

    ID_NUMBER = "id_number"
    ID_NUMBER_EXCEL = "id_number_excel_mangled"
    MOBILE = "mobile_number"
    LANDLINE = "landline_number"
    EMAIL = "email"
    ADDRESS = "street_address"
    PERSON_NAME = "person_name"
    TRACEBACK = "traceback"
    ROW_LEVEL_TABLE = "row_level_table"
    SMALL_CELL = "small_cell"
    RECOVERABLE_CELL = "recoverable_cell"
    DOMINANCE = "dominance"
    EXTREME_STATISTIC = "extreme_statistic"
    ABSOLUTE_PATH = "absolute_path"
    USER_NAME = "user_name"
    PAPERMILL_METADATA = "papermill_metadata"
    NOTEBOOK_PARAMETERS = "notebook_parameters"
    UNREADABLE = "unreadable_file"
    DATA_FILE = "data_file"  # a microdata file (SPSS, Stata, Parquet, pickle …) in a reports folder


_FULLWIDTH = {**{0xFF10 + i: 0x30 + i for i in range(10)},
              **{0xFF21 + i: 0x41 + i for i in range(26)},
              **{0xFF41 + i: 0x61 + i for i in range(26)},
              0x3000: 0x20, 0xFF0D: 0x2D, 0xFF0B: 0x2B, 0xFF08: 0x28, 0xFF09: 0x29, 0xFF20: 0x40,
              0x2010: 0x2D, 0x2011: 0x2D, 0x2012: 0x2D, 0x2013: 0x2D, 0x2212: 0x2D}


def normalise(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII; other text unchanged."""
    return text.translate(_FULLWIDTH)


_DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+")


def strip_data_uris(text: str) -> str:
    """Drop embedded base64 payloads (images, fonts) before scanning."""
    return _DATA_URI.sub(" ", text) if "base64," in text else text


_NB = r"(?<![0-9A-Za-z.])"  # not glued to a preceding letter, digit or decimal point
_NA = r"(?![0-9A-Za-z])"
_SEP = r"[ \-]?"
# 15-18 digits, possibly grouped by single spaces or dashes, optional trailing X
_RUN_SRC = _NB + r"(?P<run>\d(?:" + _SEP + r"\d){14,16}(?:" + _SEP + r"[\dXx])?)" + _NA
_EXCEL_ID_SRC = _NB + r"[1-9](?:\.\d{1,16})?[Ee]\+?17" + _NA
_EXCEL_MOBILE_SRC = _NB + r"1\.[3-9]\d{0,9}[Ee]\+?10" + _NA
_MOBILE_SRC = _NB + r"(?:(?:\+|00)?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}" + _NA
_LANDLINE_SRC = (_NB + r"(?:\(0\d{2,3}\)[ \-]?|0\d{2,3}[ \-])[2-9]\d{2,3}[ \-]?\d{4}" + _NA
                 + r"|(?:电话|座机|联系电话|Tel\.?|TEL)[:： ]*0\d{2,3}[2-9]\d{6,7}" + _NA)
# one pass over the text finds every number-shaped candidate; each is then classified
_NUMBERS = re.compile("|".join(f"(?P<{name}>{src})" for name, src in (
    ("xid", _EXCEL_ID_SRC), ("xmob", _EXCEL_MOBILE_SRC), ("mob", _MOBILE_SRC), ("land", _LANDLINE_SRC),
    ("digits", _RUN_SRC))))
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
                    r"(?![A-Za-z0-9])")
_CN_NUM = r"[0-9一二三四五六七八九十百零〇两]+"
_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{1,12}(?:路|街|大道|巷|胡同|弄)" + _CN_NUM + r"(?:号|弄)"
    r"|" + r"\d{1,3}(?:栋|幢|号楼|座)\s*\d{1,2}\s*单元"
    r"|" + r"\d{1,3}\s*单元\s*\d{2,4}\s*(?:室|号|房)"
    r"|" + r"\d{1,3}(?:栋|幢|号楼)\s*\d{2,4}\s*(?:室|房)"
    r"|" + r"(?:住址|家庭住址|地址|居住地址)[:：]\s*[\u4e00-\u9fff]{2,}")
_WIN_USER = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]:[\\/]+(?:Users|Documents and Settings)[\\/]+[^\\/\s\"'<>]+",
                       re.IGNORECASE)
_POSIX_USER = re.compile(r"(?<![\w.~])/(?:home|Users)/[A-Za-z0-9._\-]+")
_ABS_PATH = re.compile(r"(?<![\w.~])/(?:root|tmp|var|opt|mnt|srv|work|data|usr|etc|private)/[^\s\"'<>]+"
                       r"|(?<![A-Za-z0-9])[A-Za-z]:\\[^\s\"'<>]+")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \"[^\"]+\", line \d+, in ", re.MULTILINE)

# common single-character surnames (the top ~100 by population), for name cues
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严覃"
            "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符")
_SUR = f"[{SURNAMES}]"
_GIVEN = r"(?:某某|某|[\u4e00-\u9fff]{1,2})"
_NAME_AFTER_LABEL = re.compile(
    r"(?:姓名|名字|联系人|户主姓名|受访者姓名|申请人姓名|居民姓名|老人姓名)['\"]?\s*[:：=]\s*['\"]?" + _SUR
    + r"(?:某某|某|[\u4e00-\u9fff]{1,2})")
_NAME_CUE = r"(?:受访者|被访者|居民|老人|户主|申请人|志愿者|患者|残疾人|低保户|儿童|学生)"
_NAME_IN_SENTENCE = re.compile(
    _NAME_CUE + _SUR + _GIVEN + r"(?=说|表示|反映|称|介绍|提到|认为)" + r"|" + _NAME_CUE + _SUR + r"某{1,2}")
_MASKED_NAME = re.compile(r"(?<![位属对关于由在])" + _SUR + r"某某(?:(?![\u4e00-\u9fff])|(?=说|表示|反映|称|家|是|的))")
_NAME_WITH_TITLE = re.compile(_SUR + r"[\u4e00-\u9fff]{1,2}(?=(?:先生|女士|阿姨|大爷|大妈|奶奶|爷爷)(?:说|表示|反映|家|，|,|。|$))")
_PERSON_NAME_VALUE = re.compile(r"^" + _SUR + r"(?:某某|某|[\u4e00-\u9fff]{1,2}|\*{1,2})$"
                                r"|^[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}$")


# gates: text without these cannot match the patterns they guard. Every ID, mobile and landline
# number has two groups of 3+ digits (at most one space or dash between), or is an Excel float
# (ASCII classes: text is normalised first, and [0-9] scans faster than \d)
_CANDIDATE = re.compile(r"[0-9]{3,}[ \-]?[0-9]{3,}(?:[ \-]?[0-9Xx]+)*")
_EXCEL_CANDIDATE = re.compile(r"[0-9]\.[0-9]{1,16}[Ee]\+?1[07]")
_ADDRESS_CHARS = "路街道巷弄同栋幢楼座单址"
_NAME_GATE = ("某", "名", "联系人", "受访者", "被访者", "居民", "老人", "户主", "申请人", "志愿者", "患者", "残疾人",
              "低保户", "儿童", "学生", "先生", "女士", "阿姨", "大爷", "大妈", "奶奶", "爷爷")


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return 1900 <= y <= dt.date.today().year


def _is_id(digits: str) -> bool:
    if len(digits) == 18:
        return (digits[0] != "0" and _valid_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
                and valid_id_number(digits))
    if len(digits) == 15 and digits.isdigit():
        return digits[0] in "12345678" and _valid_date(1900 + int(digits[6:8]), int(digits[8:10]),
                                                       int(digits[10:12]))
    return False


def looks_like_person_name(value: str) -> bool:
    """A cell value shaped like a person's name: a common surname + 1–2 characters, or 'First Last'."""
    return bool(_PERSON_NAME_VALUE.match(normalise(value).strip()))


def scan_text(text: str) -> list[FindingKind]:
    """The kinds of personal data in ``text`` (each kind once, in a fixed order)."""
    if not text:
        return []
    text = normalise(strip_data_uris(text))
    kinds: list[FindingKind] = []
    # cheap gates first (substring tests run at C speed); the full patterns only where they can match
    found: set[FindingKind] = set()
    candidates = list(_CANDIDATE.finditer(text))  # fast: starts with a digit, no look-behind
    if "E+1" in text or "e+1" in text or "E1" in text or "e1" in text:
        candidates += _EXCEL_CANDIDATE.finditer(text)
    for cand in candidates:
        window = text[max(0, cand.start() - 8):cand.end() + 2]
        for m in _NUMBERS.finditer(window):
            group = m.lastgroup
            if group == "digits" or m.group("run"):
                digits = m.group("run").replace(" ", "").replace("-", "").upper()
                if _is_id(digits):
                    found.add(FindingKind.ID_NUMBER)
            elif group == "xid":
                found.add(FindingKind.ID_NUMBER_EXCEL)
            elif group in ("mob", "xmob"):
                found.add(FindingKind.MOBILE)
            elif group == "land":
                found.add(FindingKind.LANDLINE)
    kinds.extend(k for k in (FindingKind.ID_NUMBER, FindingKind.ID_NUMBER_EXCEL, FindingKind.MOBILE,
                             FindingKind.LANDLINE) if k in found)
    if "@" in text and _EMAIL.search(text):
        kinds.append(FindingKind.EMAIL)
    if any(ch in text for ch in _ADDRESS_CHARS) and _ADDRESS.search(text):
        kinds.append(FindingKind.ADDRESS)
    if any(cue in text for cue in _NAME_GATE) and (
            _NAME_AFTER_LABEL.search(text) or _NAME_IN_SENTENCE.search(text) or _MASKED_NAME.search(text)
            or _NAME_WITH_TITLE.search(text)):
        kinds.append(FindingKind.PERSON_NAME)
    if "/" in text or "\\" in text:
        if _WIN_USER.search(text) or _POSIX_USER.search(text):
            kinds.append(FindingKind.USER_NAME)
        elif _ABS_PATH.search(text):
            kinds.append(FindingKind.ABSOLUTE_PATH)
    if ("Traceback" in text or 'File "' in text) and _TRACEBACK.search(text):
        kinds.append(FindingKind.TRACEBACK)
    return kinds


def safe_label(label: str, fallback: str) -> str:
    """``label`` for use inside a location, or ``fallback`` when it might itself be personal data."""
    if len(label) > 40 or scan_text(label) or looks_like_person_name(label):
        return fallback
    return label
