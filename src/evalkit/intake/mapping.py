"""Source headers → canonical columns: the config's ``columns:`` map, header normalisation, synonyms.

A programme office's file never uses our headers. :func:`resolve_headers` matches each
header of a raw file to a canonical column of the data model (or a codebook variable), in
this order:

1. the config's ``columns:`` map of that file (``{社区编号: community_id}``);
2. the canonical English name, the data model's Chinese header, a codebook ``source_name``
   or codebook variable name.

Before matching, both sides are normalised (Unicode NFKC, so full-width letters and digits
become half-width; zero-width characters removed; all whitespace removed; case folded). A
header that needed normalisation is matched and reported as a notice, never silently. If
a header still does not match, a leading question number as survey platforms export it
(``7、您对社区环境卫生的满意程度``, ``Q7.``, ``(7)``) is stripped and matching is tried once
more (also reported).

Common synonyms (:data:`SYNONYMS`: 社区编号 for community_id, 出生年份 for birth_year …) are
**never applied**: they are only suggested in the error about a missing column or in the
warning about a dropped one, with the exact ``columns:`` line to add.

Hand-written because it is a small table of names plus ``unicodedata``; the value is in
the report of what was done.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from attrs import field, frozen

from evalkit.codebook import Variable
from evalkit.datamodel import TableSpec

__all__ = ["SYNONYMS", "HeaderMatch", "HeaderResolution", "normalise_header", "resolve_headers",
           "suggest_headers", "NORMALISATIONS"]

#: characters that are invisible in a spreadsheet but make two headers differ
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"), None)
_QUESTION_NUMBER = re.compile(
    r"^\s*(?:[QqＱｑ第]?\s*[0-9０-９]+(?:[.．\-_][0-9０-９]+)*\s*(?:题)?\s*[、.．:：)）\s]\s*"
    r"|[（(]\s*[0-9０-９]+\s*[)）]\s*)"
)

#: what a normalisation did, by reason code (reports turn codes into words)
NORMALISATIONS: dict[str, tuple[str, str]] = {
    "full_width": ("全角字符转为半角", "full-width characters made half-width"),
    "zero_width": ("删除不可见字符", "invisible (zero-width) characters removed"),
    "whitespace": ("删除空格或换行", "spaces or line breaks removed"),
    "case": ("忽略大小写", "letter case ignored"),
    "question_number": ("去掉题号前缀", "question-number prefix removed"),
}

#: headers that often mean a canonical column; suggested in messages, never applied silently
SYNONYMS: dict[str, tuple[str, ...]] = {
    "community_id": ("社区编号", "社区代码", "社区ID", "社区id", "村居编码", "村居编号", "村（居）编码",
                     "社区（村）编码", "居委会编码"),
    "community_name": ("社区名称", "社区名", "村居名称", "村（居）名称", "居委会名称", "社区（村）名称"),
    "respondent_id": ("问卷编号", "序号", "答卷编号", "答卷序号", "问卷ID", "问卷id", "编号", "样本编号",
                      "ID", "id"),
    "wave": ("轮次", "调查轮次", "期次", "批次", "调查期数", "第几轮", "wave_no"),
    "interview_date": ("调查日期", "访问时间", "调查时间", "提交答卷时间", "提交时间", "填写日期",
                       "填答时间", "访谈日期", "开始时间", "date"),
    "gender": ("性别", "您的性别", "sex"),
    "age": ("年龄", "周岁", "您的年龄", "实际年龄"),
    "birth_year": ("出生年份", "出生年", "您的出生年份", "出生年份（年）", "born", "year_of_birth"),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日", "date_of_birth", "dob"),
    "hukou": ("户籍", "户口", "户籍类型", "户口性质", "户籍所在地", "是否本地户籍", "户口类型"),
    "years_resident": ("居住年限", "居住时间", "在本社区居住年限", "在本社区居住时间"),
    "education": ("受教育程度", "文化程度", "学历", "最高学历"),
    "weight": ("权重", "抽样权重", "weight_final"),
    "district": ("区县", "区（县）", "所属区", "区"),
    "street": ("街道", "街道（乡镇）", "乡镇（街道）", "所属街道"),
    "urban_rural": ("城乡类型", "城乡", "社区类型"),
    "population": ("常住人口", "人口数", "总人口", "户籍人口"),
    "households": ("户数", "总户数"),
}


def normalise_header(text: object) -> str:
    """The form headers are compared in: NFKC, no zero-width characters, no whitespace, case-folded."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_ZERO_WIDTH)
    return re.sub(r"\s+", "", t).casefold()


def strip_question_number(text: str) -> str:
    """``7、您对…`` → ``您对…``; text without a leading question number is returned unchanged."""
    stripped = _QUESTION_NUMBER.sub("", text, count=1)
    return stripped if stripped.strip() else text


def _changes(raw: str, wanted: str) -> tuple[str, ...]:
    """Which normalisations make ``raw`` equal ``wanted`` (reason codes)."""
    if raw == wanted:
        return ()
    out = []
    step = raw.translate(_ZERO_WIDTH)
    if step != raw:
        out.append("zero_width")
    nfkc = unicodedata.normalize("NFKC", step)
    if nfkc != step:
        out.append("full_width")
    compact = re.sub(r"\s+", "", nfkc)
    if compact != nfkc:
        out.append("whitespace")
    wanted_c = re.sub(r"\s+", "", unicodedata.normalize("NFKC", wanted))
    if compact != wanted_c and compact.casefold() == wanted_c.casefold():
        out.append("case")
    return tuple(out) or ("full_width",)  # e.g. 区(县) for 区（县）


@frozen
class HeaderMatch:
    """One header of a raw file matched to a canonical column."""

    source: str  # the header as written in the file
    target: str  # canonical column or codebook variable name
    via: str  # "config" | "canonical" | "label_zh" | "codebook"
    matched: str  # the name it matched (the config key, the Chinese header, the source_name …)
    normalised: tuple[str, ...] = ()  # codes of NORMALISATIONS that were needed


@frozen
class HeaderResolution:
    """The header map of one file plus what matching noticed."""

    matches: tuple[HeaderMatch, ...]
    #: config ``columns:`` keys that match no header of the file
    config_unmatched: tuple[str, ...] = ()
    #: headers that matched nothing
    unmatched: tuple[str, ...] = field(default=())

    def mapping(self) -> dict[str, str]:
        return {m.source: m.target for m in self.matches}


def _candidates(spec: TableSpec, variables: Sequence[Variable],
                config_columns: Mapping[str, str]) -> dict[str, tuple[str, str, str]]:
    """normalised name → (target, via, name); earlier sources win (config first)."""
    out: dict[str, tuple[str, str, str]] = {}

    def put(name: str, target: str, via: str) -> None:
        key = normalise_header(name)
        if key and key not in out:
            out[key] = (target, via, name)

    for header, target in config_columns.items():
        put(header, target, "config")
    for col in spec.columns:
        put(col.name, col.name, "canonical")
    for var in variables:
        put(var.source_name, var.name, "codebook")
    for col in spec.columns:
        put(col.label_zh, col.name, "label_zh")
    for var in variables:
        put(var.name, var.name, "codebook")
    return out


def resolve_headers(headers: Iterable[object], *, spec: TableSpec, variables: Sequence[Variable] = (),
                    config_columns: Mapping[str, str] | None = None) -> HeaderResolution:
    """Match every header to a canonical column (see the module docstring for the order)."""
    config_columns = dict(config_columns or {})
    cands = _candidates(spec, variables, config_columns)
    matches: list[HeaderMatch] = []
    unmatched: list[str] = []
    used_config: set[str] = set()
    for header in headers:
        raw = str(header)
        key = normalise_header(raw)
        hit = cands.get(key)
        extra: tuple[str, ...] = ()
        if hit is None:
            stripped = strip_question_number(raw)
            if stripped != raw:
                hit = cands.get(normalise_header(stripped))
                extra = ("question_number",)
                raw_cmp = stripped
            else:
                raw_cmp = raw
        else:
            raw_cmp = raw
        if hit is None:
            unmatched.append(raw)
            continue
        target, via, name = hit
        if via == "config":
            used_config.add(name)
        matches.append(HeaderMatch(raw, target, via, name, extra + _changes(raw_cmp, name)))
    config_unmatched = tuple(h for h in config_columns if h not in used_config)
    return HeaderResolution(tuple(matches), config_unmatched, tuple(unmatched))


def suggest_headers(target: str, headers: Iterable[object]) -> list[str]:
    """Headers of a file that may mean ``target`` (by :data:`SYNONYMS`); for messages only."""
    synonyms = [normalise_header(s) for s in SYNONYMS.get(target, ())]
    out = []
    for header in headers:
        h = normalise_header(strip_question_number(str(header)))
        if not h:
            continue
        if h in synonyms or any(len(s) >= 3 and s in h for s in synonyms if not s.isascii()):
            out.append(str(header))
    return out
