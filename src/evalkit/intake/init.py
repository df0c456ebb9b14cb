"""``evalkit init``: a starter study.yaml and codebook.yaml written from the user's own files.

:func:`init_study` reads each file the way intake does (encoding detected, header row
found, SPSS/Stata labels and user-missing codes kept), guesses which table each file is
(survey, community registry, …) and what each header means, and writes two files a user
edits rather than writes from scratch. Every guess is marked ``# check me``; nothing
guessed is hidden. Personal-data columns (names, ID numbers, phones, addresses, IP
addresses, free text) are declared as such so intake drops them; ID numbers keep a keyed
pseudonym for linking. Values from the data never enter the written files, except the
value labels the file itself declares and the observed range of numeric answers.

Written by hand (YAML text with comments) because the comments are the point: PyYAML
cannot write them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evalkit.codebook import CONSTRUCTS
from evalkit.datamodel import TABLES
from evalkit.errors import ConfigError
from evalkit.intake.mapping import SYNONYMS, normalise_header, resolve_headers, strip_question_number, suggest_headers
from evalkit.intake.readers import RawTable, read_raw
from evalkit.privacy import looks_personal

__all__ = ["init_study"]

CHECK = "# check me"
_PERSONAL_HEADER = re.compile(r"姓名|名字|手机|电话|联系方式|身份证|证件号|住址|地址|门牌|微信|QQ|IP|邮箱|e-?mail",
                              re.IGNORECASE)
_ID_HEADER = re.compile(r"身份证|证件号")
_OPEN_HEADER = re.compile(r"意见|建议|其他[(（]?请|说明|备注|原因|为什么")
#: English names for columns survey platforms and field teams commonly add, by header
_PERSONAL_NAMES = (("身份证|证件号", "id_number"), ("姓名|名字", "name"), ("手机|电话|联系方式", "phone"),
                   ("住址|地址|门牌", "address"), ("IP", "ip_address"), ("微信|QQ|邮箱|mail", "contact"),
                   ("所用时间|答题时长|作答时长", "duration"), ("^来源", "response_source"),
                   ("开始答题时间|开始时间", "start_time"), ("结束答题时间|结束时间", "end_time"),
                   ("访员|调查员", "interviewer"))
_CSV_ENCODINGS = {"gbk", "gb2312", "gb18030"}
_KNOWN = [n for spec in TABLES.values() for c in spec.columns for n in (c.name, c.label_zh)] + [
    s for syn in SYNONYMS.values() for s in syn]


def _q(text: object) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _guess_table(raw: RawTable) -> tuple[str, int]:
    """The table whose columns the headers match best (ties and wide files: survey)."""
    headers = list(raw.frame.columns)
    best, best_score = "survey", -1
    for name, spec in TABLES.items():
        res = resolve_headers(headers, spec=spec)
        direct = {m.target for m in res.matches}
        near = {c.name for c in spec.columns if c.name not in direct and suggest_headers(c.name, headers)}
        required = [c.name for c in spec.columns if c.required]
        score = 2 * len(direct & set(required)) + len(direct) + len(near & set(required))
        if name == "survey":  # wide files with rating items are surveys
            score += len(headers) // 4 + sum(_likert_range(raw.frame[h]) is not None
                                             or _text_scale(raw.frame[h]) is not None for h in headers)
        if score > best_score:
            best, best_score = name, score
    return best, best_score


#: answer texts survey platforms export for common rating scales (问卷星/腾讯问卷 "按选项文本")
LIKERT_SETS: dict[str, dict[int, str]] = {
    "satisfied5": {1: "非常不满意", 2: "不太满意", 3: "一般", 4: "比较满意", 5: "非常满意"},
    "satisfied5b": {1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意"},
    "agree5": {1: "非常不同意", 2: "不太同意", 3: "一般", 4: "比较同意", 5: "非常同意"},
    "agree5b": {1: "非常不同意", 2: "不同意", 3: "一般", 4: "同意", 5: "非常同意"},
    "agree5c": {1: "完全不同意", 2: "不同意", 3: "说不清", 4: "同意", 5: "完全同意"},
}


def _text_scale(series: pd.Series) -> dict[int, str] | None:
    """The rating scale whose labels hold every answer of a text column, if one does."""
    answers = set(series.dropna().astype("string").str.strip()) - {""}
    if len(answers) < 2:
        return None
    for labels in LIKERT_SETS.values():
        if answers <= set(labels.values()):
            return labels
    return None


def _likert_range(series: pd.Series) -> tuple[int, int] | None:
    """(min, max) of a column of small whole numbers (a rating scale), else None."""
    nums = pd.to_numeric(series.astype("string").str.strip(), errors="coerce").dropna() \
        if not pd.api.types.is_numeric_dtype(series) else series.dropna().astype(float)
    if len(nums) < max(3, 0.5 * series.notna().sum()) or not (nums % 1 == 0).all():
        return None
    lo, hi = int(nums.min()), int(nums.max())
    if 0 <= lo and hi <= 11 and nums.nunique() >= 3 and hi - lo >= 2:
        return lo, hi
    return None


def _var_name(header: str, used: set[str], index: int) -> str:
    base = re.sub(r"[^0-9a-zA-Z_]+", "_", header).strip("_").lower()
    if not base or not base[0].isalpha() or not header.isascii():
        m = re.match(r"\s*[QqＱｑ第]?\s*([0-9０-９]+)", header)
        base = f"q{int(normalise_header(m.group(1))):02d}" if m else f"v{index:02d}"
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _kind(series: pd.Series) -> str:
    text = series.dropna().astype("string").str.strip()
    if text.empty:
        return "text"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    nums = pd.to_numeric(text, errors="coerce")
    if nums.notna().mean() > 0.95:
        return "integer" if (nums.dropna() % 1 == 0).all() else "number"
    dates = pd.to_datetime(text.str.replace(r"[/.年月]", "-", regex=True).str.replace("日", ""),
                           errors="coerce", format="ISO8601")
    return "date" if dates.notna().mean() > 0.95 else "text"


def _codebook_entry(header: str, name: str, raw: RawTable, table: str) -> list[str]:
    series = raw.frame[header]
    out = [f"  {name}:", f"    source_name: {_q(header)}"]
    if table != "survey":
        out.append(f"    table: {table}")
    label = raw.variable_labels.get(header) or strip_question_number(header)
    out.append(f"    label: {_q(label)}")
    personal = looks_personal(series.astype("string")) or _PERSONAL_HEADER.search(header)
    if personal:
        out.append(f"    privacy: direct_identifier   {CHECK}: personal data, dropped at intake")
        if _ID_HEADER.search(header) or (isinstance(personal, str) and "ID" in personal):
            out.append("    pseudonymise: true          # a keyed pseudonym (person_key) links waves")
        return out
    text = series.dropna().astype("string").str.strip()
    text = text[text != ""]
    if not pd.api.types.is_numeric_dtype(series) and len(text) and _kind(series) == "text" and (
            _OPEN_HEADER.search(header) or (text.str.len().mean() > 15 and text.nunique() > 0.5 * len(text))):
        out.append(f"    privacy: free_text           {CHECK}: open answers may name people; dropped")
        return out
    labels = raw.value_labels.get(header, {}) or _text_scale(series) or {}
    missing = raw.missing_codes.get(header, [])
    scale = _likert_range(series[~series.isin(missing)]) if missing else _likert_range(series)
    if labels:
        valid = [k for k in labels if k not in missing]
        if valid:  # the labelled answers define the scale better than the data do
            scale = (int(min(valid)), int(max(valid)))
        pairs = ", ".join(f"{int(k) if float(k).is_integer() else k}: {_q(v)}" for k, v in labels.items()
                          if k not in missing)
        out.append(f"    value_labels: {{{pairs}}}")
    if missing:
        pairs = ", ".join(f"{int(k) if float(k).is_integer() else k}: {_q(labels.get(k, '缺失'))}" for k in missing)
        out.append(f"    missing_codes: {{{pairs}}}")
    if scale is not None:
        out.append(f"    scale: [{scale[0]}, {scale[1]}]               {CHECK}: range seen in the data")
        out.append(f"    # construct: ?               {CHECK}: one of {', '.join(CONSTRUCTS)} (or declare it)")
        out.append("    # reverse: true              # if agreeing means a worse outcome")
    else:
        kind = "code" if labels else _kind(series)
        out.append(f"    type: {kind}" + ("" if labels else f"                {CHECK}"))
    return out


#: a first guess for numeric codes of standard category columns (marked "check me")
_CODE_GUESS = {"gender": {1: "男", 2: "女"}, "hukou": {1: "本地户籍", 2: "外地户籍"}}


def _category_codes(raw: RawTable, spec, table: str, guesses: list[str],
                    seen: set[tuple[str, str]]) -> list[str]:
    """Codebook entries giving the meaning of numeric codes in standard category columns (性别 1/2)."""
    res = resolve_headers(raw.frame.columns, spec=spec)
    pairs = [(m.source, m.target) for m in res.matches]
    pairs += [(json.loads(g.split(": ")[0]), g.split(": ")[1].split()[0]) for g in guesses]
    out: list[str] = []
    for header, target in pairs:
        col = spec.column(target)
        if col.kind != "category" or (table, target) in seen:
            continue
        labels = raw.value_labels.get(header)
        values = pd.to_numeric(raw.frame[header].astype("string").str.strip(), errors="coerce")
        if not labels and not values.notna().any():
            continue  # written as text (男/女): intake reads it as it is
        note = "" if labels else f"   {CHECK}: codes found {sorted(int(v) for v in values.dropna().unique()[:8])}"
        seen.add((table, target))
        labels = labels or _CODE_GUESS.get(target) or {int(v): "?" for v in sorted(values.dropna().unique()[:8])}
        shown = ", ".join(f"{int(k) if float(k).is_integer() else k}: {_q(v)}" for k, v in labels.items())
        out += [f"  {target}:", f"    source_name: {_q(header)}"] + (
            [f"    table: {table}"] if table != "survey" else []) + [f"    value_labels: {{{shown}}}{note}"]
    return out


def _personal_name(header: str) -> str:
    for pattern, name in _PERSONAL_NAMES:
        if re.search(pattern, header, re.IGNORECASE):
            return name
    return header


def _label_target(raw: RawTable, header: str, spec, taken: set[str]) -> str | None:
    label = raw.variable_labels.get(header)
    if not label:
        return None
    res = resolve_headers([label], spec=spec)
    hits = [m.target for m in res.matches] or [c.name for c in spec.columns if suggest_headers(c.name, [label])]
    hits = [t for t in hits if t not in taken and t not in spec.key]
    return hits[0] if hits else None


def _standard_entry(header: str, target: str, raw: RawTable, table: str) -> list[str]:
    out = [f"  {target}:", f"    source_name: {_q(header)}   {CHECK}: matched by its label "
           f"{_q(raw.variable_labels.get(header, ''))}"]
    if table != "survey":
        out.append(f"    table: {table}")
    labels = raw.value_labels.get(header)
    if labels:
        shown = ", ".join(f"{int(k) if float(k).is_integer() else k}: {_q(v)}" for k, v in labels.items())
        out.append(f"    value_labels: {{{shown}}}")
    return out


def _relative(path: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def _wave_of(path: Path) -> int | None:
    m = re.search(r"(?:wave|w|第)\s*_?([0-9]{1,2})\s*(?:轮|期|wave)?", path.stem, re.IGNORECASE)
    return int(m.group(1)) if m else None


def _file_waves(paths: Sequence[Path]) -> tuple[dict[Path, int], dict[int, int]]:
    """Wave per survey file (from 第2轮 / wave2 in the name, else the year in the name, in order)
    and, when names carry years, each wave's year."""
    years = {p: re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", p.stem) for p in paths}
    named = {p: _wave_of(p) for p in paths}
    if all(named.values()) and len(set(named.values())) == len(paths):
        waves = {p: int(w) for p, w in named.items()}  # type: ignore[arg-type]
    elif all(years.values()) and len({m.group(1) for m in years.values()}) == len(paths):  # type: ignore[union-attr]
        order = sorted(paths, key=lambda p: years[p].group(1))  # type: ignore[union-attr]
        waves = {p: i for i, p in enumerate(order, 1)}
    else:
        waves = {p: i for i, p in enumerate(paths, 1)}
    year_of = {waves[p]: int(m.group(1)) for p, m in years.items() if m}
    return waves, year_of if len(year_of) == len(paths) else {}


def init_study(folder: str | os.PathLike[str], files: Sequence[str | os.PathLike[str]], *,
               name: str | None = None) -> Path:
    """Write ``study.yaml`` and ``codebook.yaml`` into ``folder`` from the user's data files.

    Parameters
    ----------
    folder
        Where to write (created if needed). Existing study.yaml/codebook.yaml are never
        overwritten.
    files
        The data files (survey exports, the community registry …); any format intake reads.
    name
        The study's name; default a placeholder marked "check me".

    Returns
    -------
    Path
        The written study.yaml. Run ``evalkit validate`` on it: its messages say what to edit.
    """
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    study_path, codebook_path = out_dir / "study.yaml", out_dir / "codebook.yaml"
    for p in (study_path, codebook_path):
        if p.exists():
            msg = f"{p}: already exists; evalkit init never overwrites. Choose another folder or move it away"
            raise ConfigError(msg)
    if not files:
        msg = "evalkit init needs at least one data file (--from survey.csv registry.xlsx …)"
        raise ConfigError(msg)
    out_dir = out_dir.resolve()
    reads = []
    for f in files:
        raw = read_raw(f, expected_columns=tuple(_KNOWN))
        reads.append((Path(f).resolve(), raw, *_guess_table(raw)))
    # one file per table except the survey; the best-scoring file wins, the others are survey files
    others: dict[str, tuple[Path, RawTable]] = {}
    for path, raw, table, _ in sorted(reads, key=lambda r: -r[3]):
        if table != "survey" and table not in others:
            others[table] = (path, raw)
    surveys = [(path, raw) for path, raw, _, _ in reads if all(path != p for p, _ in others.values())]
    lines = ["# Starter study config written by `evalkit init` from your files.",
             f"# Edit every line marked '{CHECK}', then run: evalkit validate study.yaml",
             "# Format: docs/guide-own-data.en.md (中文：docs/guide-own-data.zh.md)",
             f"name: {_q(name) if name else _q('我的试点评估') + '   ' + CHECK + ': the study name'}",
             "language: zh-CN",
             "codebook: codebook.yaml",
             "data:"]
    cb = ["# Codebook written by `evalkit init`: one entry per column that is not a standard column.",
          f"# Give each rating item its construct (lines '{CHECK}'); check every guessed type and range.",
          "variables:"]
    used: set[str] = set()
    survey_lines: list[str] = []
    wave_of, year_of = _file_waves([p for p, _ in surveys])
    seen: set[tuple[str, str]] = set()  # codebook entries written: (table, target or source header)
    entries = [(t, p, r) for t, (p, r) in others.items()] + [("survey", p, r) for p, r in surveys]
    for table, path, raw in entries:
        spec = TABLES[table]
        direct = {m.source for m in resolve_headers(raw.frame.columns, spec=spec).matches}
        targets = {m.target for m in resolve_headers(raw.frame.columns, spec=spec).matches}
        guesses: list[str] = []
        for col in spec.columns:
            near = [h for h in suggest_headers(col.name, raw.frame.columns) if h not in direct]
            if col.name not in targets and near:
                guesses.append(f"{_q(near[0])}: {col.name}   {CHECK} (guessed from the header)")
                direct.add(near[0])
                targets.add(col.name)
        block = [f"path: {_q(_relative(path, out_dir))}"]
        if raw.sheet:
            block.append(f"sheet: {_q(raw.sheet)}")
        if raw.format == "csv" and raw.encoding in _CSV_ENCODINGS:
            block.append(f"encoding: {raw.encoding}   # detected")
        if table == "survey" and len(surveys) > 1:
            block.append(f"wave: {wave_of[path]}   {CHECK}: the wave of this file")
        if guesses:
            block.append("columns:")
        if table == "survey":
            survey_lines += [f"    - {block[0]}"] + [f"      {b}" for b in block[1:]]
            survey_lines += [f"        {g}" for g in guesses]
        else:
            lines += [f"  {table}:"] + [f"    {b}" for b in block] + [f"      {g}" for g in guesses]
        cb += _category_codes(raw, spec, table, guesses, seen)
        for i, header in enumerate(raw.frame.columns, start=1):
            if header in direct:
                continue
            target = _label_target(raw, str(header), spec, targets)
            if target is not None:  # an SPSS/Stata name whose label is a standard header (S1 = 性别)
                targets.add(target)
                if (table, target) not in seen:  # several survey files: declared once
                    seen.add((table, target))
                    used.add(target)
                    cb += _standard_entry(str(header), target, raw, table)
                continue
            if (table, f"source:{header}") in seen:
                continue
            seen.add((table, f"source:{header}"))
            cb += _codebook_entry(str(header), _var_name(_personal_name(str(header)), used, i), raw, table)
    if survey_lines:
        lines += ["  survey:"] + survey_lines
    else:
        lines += [f"  # survey: my_survey.csv   {CHECK}: no file looked like the survey"]
    if "communities" not in others:
        lines += [f"  # communities: registry.csv   {CHECK}: the community registry (社区编码, 社区名称)"]
    lines += [
        "",
        (f"waves: {{{', '.join(f'{w}: {y}' for w, y in sorted(year_of.items()))}}}   {CHECK}: years from the "
         "file names; or windows [2020-09-01, 2020-12-31]" if year_of else
         f"# waves: {{1: 2020, 2: 2021}}   {CHECK}: each wave's year or window [2020-09-01, 2020-12-31];"),
        "#   needed when the survey has no wave column or no interview dates",
    ]
    if "pilots" not in others:
        lines += [f"# pilots:                      {CHECK}: every pilot community and its start date",
                  "#   - {community: \"0012\", programme: 五社联动, start: 2021-03-01}"]
    lines += [
        "comparison: never_treated",
        f"# outcomes: [satisfaction, belonging]   {CHECK}: constructs the codebook's items measure",
        "seed: 20240901",
    ]
    study_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    codebook_path.write_text("\n".join(cb) + "\n", encoding="utf-8")
    return study_path
