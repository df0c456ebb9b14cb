"""The bad-input corpus: ≥ 60 named cases, each a file as it arrives from the field.

For every case the test asserts

* the outcome: ``refused`` (IntakeError/ConfigError before parsing), ``error``
  (a Problem of severity error), ``warning`` or ``ok``;
* that the message names what the case is about (file, row, column, value) and the fix;
* that no personal value planted in the files (ID numbers, phones, names;
  ``corpus_files.PERSONAL``) appears anywhere in the output;
* that the raw file is byte-for-byte unchanged (sha256 before and after).

Files are generated once per module (``corpus`` fixture) the way real tools write them
(问卷星/腾讯问卷 exports, WPS GB18030 CSV, SPSS from Chinese Windows, Stata 13 GBK, an
encrypted workbook's OLE container, pickles, zip bombs …); see ``corpus_files.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corpus_files as cf
from evalkit.codebook import Codebook, Variable
from evalkit.errors import ConfigError, DataValidationError, IntakeError
from evalkit.intake.load import load_study
from evalkit.intake.quality import QualitySettings, run_quality_checks
from evalkit.intake.readers import read_raw
from evalkit.intake.safety import SafetyLimits, check_config_file
from evalkit.privacy import pseudonymise

# --------------------------------------------------------------------------- a clean survey to break


def _ids(n: int) -> list[str]:
    return [cf._id_number(f"430102{1955 + i % 40}0{1 + i % 9}1{i % 10}{i:03d}"[:17]) for i in range(n)]


def survey_frame(n: int = 40) -> pd.DataFrame:
    """A clean survey: items follow a latent level (item-rest r > 0.8), no row answers all alike."""
    level = 1 + (np.arange(n) * 7) % 5
    items = {f"A{j}": np.clip(level + ((np.arange(n) + j) % 3 - 1), 1, 5) for j in range(1, 6)}
    return pd.DataFrame({
        "问卷编号": [f"R{i:04d}" for i in range(n)],
        "社区编码": ["0012", "0034"] * (n // 2),
        "社区名称": ["东湖社区", "西岭社区"] * (n // 2),
        "调查轮次": [1] * n,
        "访问日期": [f"2023-05-{1 + i % 28:02d}" for i in range(n)],
        "年龄": [30 + i for i in range(n)],
        "所用时间": [f"{300 + 5 * i}秒" for i in range(n)],
        "姓名": [cf.NAMES[i % 3] for i in range(n)],
        "手机号": [cf.PHONES[i % 3] for i in range(n)],
        "身份证号": _ids(n),
        **items,
    })


RENAME = {"问卷编号": "respondent_id", "社区编码": "community_id", "调查轮次": "wave", "年龄": "age",
          **{f"A{j}": f"gain_{j}" for j in range(1, 6)}}
REGISTRY = pd.DataFrame({"community_id": ["0012", "0034"], "community_name": ["东湖社区", "西岭社区"]})


def codebook(labels: dict[float, str] | None = None, reverse: tuple[int, ...] = ()) -> Codebook:
    return Codebook(variables=tuple(
        Variable(f"gain_{j}", f"A{j}", construct="gain", scale_min=1, scale_max=5,
                 value_labels=labels or {}, reverse=j in reverse) for j in range(1, 6)))


def write_survey(folder: Path, changes: dict | None = None, frame: pd.DataFrame | None = None,
                 name: str = "survey.csv", encoding: str = "utf-8") -> Path:
    df = survey_frame() if frame is None else frame
    for (col, idx), value in (changes or {}).items():
        df[col] = df[col].astype(object)
        df.loc[idx, col] = value
    path = folder / name
    df.to_csv(path, index=False, encoding=encoding)
    return path


# --------------------------------------------------------------------------- running a case


@dataclass
class Outcome:
    kind: str  # refused | error | warning | ok
    text: str  # everything a user would see
    checks: set[str] = field(default_factory=set)


def _from_problems(problems, extra: str = "") -> Outcome:
    text = "\n".join([p.message for p in problems] + [", ".join(p.values) for p in problems]) + extra
    kind = ("error" if any(p.severity == "error" for p in problems)
            else "warning" if problems else "ok")
    return Outcome(kind, text, {p.check for p in problems})


def run_read(path: Path, **kw) -> Outcome:
    try:
        table = read_raw(path, **kw)
    except IntakeError as exc:
        return Outcome("refused", str(exc))
    cells = "\n".join(table.frame.columns.astype(str))  # headers only; cells are the data itself
    return _from_problems(table.problems, cells)


def run_config(path: Path) -> Outcome:
    try:
        check_config_file(path)
    except ConfigError as exc:
        return Outcome("refused", str(exc))
    return Outcome("ok", "")


def run_quality(path: Path, *, settings: QualitySettings = QualitySettings(), cb: Codebook | None = None,
                files: list[str] | None = None, registry: pd.DataFrame | None = REGISTRY) -> Outcome:
    """Read the CSV(s) as intake does, build the conformed survey, run the field-team checks."""
    paths = [path] if files is None else [path.parent / f for f in files]
    raws = [read_raw(p) for p in paths]
    raw = pd.concat([r.frame for r in raws], ignore_index=True)
    survey = raw[[c for c in RENAME if c in raw.columns]].rename(columns=RENAME)
    for c in survey.columns:
        if c.startswith("gain_") or c in ("age", "wave"):
            survey[c] = pd.to_numeric(survey[c], errors="coerce")
    if "身份证号" in raw.columns:
        survey["person_key"] = pseudonymise(raw["身份证号"], b"test-key")
    rows = np.concatenate([r.row_numbers for r in raws])
    files_arr = np.concatenate([[r.file] * len(r.frame) for r in raws])
    problems = [p for r in raws for p in r.problems]
    problems += run_quality_checks(survey, rows=rows, files=files_arr, raw=raw, registry=registry,
                                   codebook=cb if cb is not None else codebook(), settings=settings)
    return _from_problems(problems)


STUDY = """\
name: 语料测试
codebook: codebook.yaml
data:
  communities: communities.csv
  survey: {survey}
pilots:
  - {{community: "0012", programme: 五社联动, start: 2022-03-01}}
outcomes: [gain]
"""
CODEBOOK = """\
variables:
  respondent_id: {source_name: 问卷编号}
  name: {source_name: 姓名, privacy: direct_identifier}
  phone: {source_name: 手机号, privacy: direct_identifier}
  id_number: {source_name: 身份证号, privacy: direct_identifier, pseudonymise: true}
""" + "".join(f"  gain_{j}: {{source_name: A{j}, construct: gain, scale: [1, 5]}}\n" for j in range(1, 6))


def write_study(folder: Path, survey: pd.DataFrame, survey_name: str = "survey.csv") -> Path:
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    pd.DataFrame({
        "社区编码": ["0012", "0034"], "社区名称": ["东湖社区", "西岭社区"], "区（县）": ["示范区"] * 2,
        "街道（乡镇）": ["一街道"] * 2, "城乡类型": ["城市", "农村"], "常住人口": [5000, 3000], "户数": [1800, 1000],
    }).to_csv(folder / "communities.csv", index=False, encoding="utf-8-sig")
    if survey_name.endswith(".csv"):
        survey.to_csv(folder / survey_name, index=False, encoding="utf-8")
    study = folder / "study.yaml"
    study.write_text(STUDY.format(survey=survey_name), encoding="utf-8")
    return study


def study_survey(n: int = 40) -> pd.DataFrame:
    df = survey_frame(n)
    df["访问日期"] = "2023-05-08"
    df["性别"] = ["男", "女"] * (n // 2)
    df["户籍"] = "本地户籍"
    return df.drop(columns=["社区名称", "所用时间"])


def run_study(path: Path) -> Outcome:
    try:
        study = load_study(path)
    except DataValidationError as exc:
        checks = set(exc.failure_cases["check"]) if exc.failure_cases is not None else set()
        return Outcome("error", str(exc), checks)
    except (IntakeError, ConfigError) as exc:
        return Outcome("refused", str(exc))
    return _from_problems(study.warnings)


# --------------------------------------------------------------------------- the cases


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]
    run: Callable[[Path], Outcome]
    outcome: str
    patterns: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    xfail: str | None = None  # a known gap outside intake-safety's modules, with its owner


def _q(settings: QualitySettings = QualitySettings(), **kw) -> Callable[[Path], Outcome]:
    return lambda p: run_quality(p, settings=settings, **kw)


TINY = SafetyLimits(ratio_floor_bytes=1 << 20)

CASES = [
    # ---- security: never parsed, whatever the name
    Case("pickle_named_csv", lambda d: cf.pickle_file(d, "survey.csv"), run_read, "refused",
         (r"survey\.csv: this is a Python pickle", "never opens such files", "to_csv")),
    Case("pickle_named_xlsx", lambda d: cf.pickle_file(d, "survey.xlsx"), run_read, "refused",
         (r"survey\.xlsx: this is a Python pickle",)),
    Case("pickle_protocol0_named_dta", lambda d: cf.pickle_file(d, "survey.dta", protocol=0), run_read, "refused",
         (r"survey\.dta: this is a Python pickle",)),
    Case("pickle_protocol2_named_parquet", lambda d: cf.pickle_file(d, "log.parquet", protocol=2), run_read,
         "refused", (r"log\.parquet: this is a Python pickle",)),
    Case("joblib_zlib_named_sav", lambda d: cf.joblib_like(d, "survey.sav"), run_read, "refused",
         (r"survey\.sav: this is a zlib-compressed stream \(as joblib writes\)", "never opens")),
    Case("npy_object_array_named_csv", lambda d: cf.npy_object(d, "names.csv"), run_read, "refused",
         (r"names\.csv: this is a NumPy array file \(\.npy\) holding Python objects",)),
    Case("npz_named_xlsx", lambda d: cf.npz_file(d, "arrays.xlsx"), run_read, "refused",
         (r"arrays\.xlsx: this is a NumPy archive \(\.npz\)",)),
    Case("torch_zip_named_xlsx", lambda d: cf.torch_like_zip(d, "model.xlsx"), run_read, "refused",
         (r"model\.xlsx: this is an archive holding a Python pickle",)),
    Case("gzip_named_csv", lambda d: cf.gzip_csv(d, "survey.csv"), run_read, "refused",
         (r"survey\.csv: this is a gzip-compressed file", "Unpack it")),
    Case("zip_bomb_xlsx", cf.zip_bomb_xlsx, lambda p: run_read(p, limits=TINY), "refused",
         (r"居民问卷\.xlsx: workbook part 'xl/worksheets/sheet1\.xml' declares 12 MB", "zip bomb",
          "not opened")),
    Case("workbook_uncompressed_over_limit", lambda d: cf.small_workbook(d / "big.xlsx"),
         lambda p: run_read(p, limits=SafetyLimits(max_uncompressed_bytes=1000)), "refused",
         (r"big\.xlsx: the workbook declares .* MB of uncompressed content", "CSV or Parquet")),
    Case("workbook_too_many_parts", lambda d: cf.small_workbook(d / "parts.xlsx"),
         lambda p: run_read(p, limits=SafetyLimits(max_members=3)), "refused",
         (r"parts\.xlsx: the workbook archive declares \d+ parts \(limit 3\)",)),
    Case("file_over_size_limit", lambda d: write_survey(d),
         lambda p: run_read(p, limits=SafetyLimits(max_file_bytes=1000)), "refused",
         (r"survey\.csv: the file is 0 MB, above the limit", "split it")),
    Case("zip_with_ten_thousand_parts", lambda d: _many_parts(d), run_read, "refused",
         (r"many\.xlsx: this is a zip archive declaring 10,050 files", "not opened")),
    Case("xml_entity_expansion_xlsx", cf.entity_xlsx, run_read, "refused",
         (r"survey\.xlsx: workbook part 'xl/\w+\.xml' declares a DOCTYPE/ENTITY", "entity expansion")),
    Case("xml_entity_after_long_prolog", cf.entity_after_long_prolog_xlsx, run_read, "refused",
         (r"padded\.xlsx: workbook part 'xl/workbook\.xml' declares a DOCTYPE/ENTITY",)),
    Case("encrypted_workbook", lambda d: cf.ole_file(d / "加密问卷.xlsx",
                                                      ["EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]),
         run_read, "refused", (r"加密问卷\.xlsx: this is a password-protected \(encrypted\) workbook",
                               "remove the password", "never asks for or stores passwords")),
    Case("old_xls_binary", lambda d: cf.ole_file(d / "名录.xls", ["Workbook", "\x05SummaryInformation"]),
         run_read, "refused", (r"名录\.xls: this is an old Excel 97–2003 workbook", "另存为")),
    Case("old_xls_renamed_csv", lambda d: cf.ole_file(d / "名录.csv", ["Workbook"]), run_read, "refused",
         (r"名录\.csv: this is an old Excel 97–2003 workbook \(\.xls\), not a CSV",)),
    Case("word_doc_named_xls", lambda d: cf.ole_file(d / "台账.xls", ["WordDocument"]), run_read, "refused",
         (r"台账\.xls: this is a Word 97–2003 document",)),
    Case("html_table_saved_as_xls", cf.html_xls, run_read, "refused",
         (r"服务台账导出\.xls: this is a web page \(an HTML table\)", "另存为", "CSV UTF-8")),
    Case("html_table_saved_as_xlsx", lambda d: cf.html_xls(d, "导出.xlsx"), run_read, "refused",
         (r"导出\.xlsx: this is a web page",)),
    Case("excel_2003_xml_as_xls", cf.xml2003_xls, run_read, "refused",
         (r"名录\.xls: this is an Excel 2003 XML spreadsheet", r"\.xlsx")),
    Case("xlsx_renamed_csv", lambda d: (cf.small_workbook(d / "a.xlsx").rename(d / "survey.csv"), d / "survey.csv")[1],
         run_read, "refused", (r"survey\.csv: this is an Excel workbook \(\.xlsx\), not a CSV", "Rename it to .xlsx")),
    Case("xlsx_renamed_xls_is_read", lambda d: (cf.small_workbook(d / "a.xlsx").rename(d / "问卷.xls"), d / "问卷.xls")[1],
         run_read, "warning", (r"问卷\.xls: named \.xls but it is an \.xlsx workbook; it was read",),
         ("renamed_workbook",)),
    Case("ods_named_xlsx", lambda d: cf.ods_file(d / "survey.xlsx"), run_read, "refused",
         (r"survey\.xlsx: this is an OpenDocument spreadsheet",)),
    Case("docx_named_xlsx", lambda d: cf.docx_file(d / "survey.xlsx"), run_read, "refused",
         (r"survey\.xlsx: this is a Word document",)),
    Case("sav_renamed_csv", lambda d: (cf.spss_chinese_windows(d).rename(d / "s.csv"), d / "s.csv")[1], run_read,
         "refused", (r"s\.csv: this is an SPSS data file \(\.sav\), not a CSV", "Rename it to .sav")),
    Case("dta_renamed_xlsx", lambda d: (cf.stata13_gbk(d).rename(d / "s.xlsx"), d / "s.xlsx")[1], run_read,
         "refused", (r"s\.xlsx: this is a Stata data file",)),
    Case("parquet_renamed_csv", lambda d: (survey_frame().astype(str).to_parquet(d / "p.csv"), d / "p.csv")[1],
         run_read, "refused", (r"p\.csv: this is a Parquet file, not a CSV",)),
    Case("pdf_named_csv", lambda d: ((d / "r.csv").write_bytes(b"%PDF-1.7\n%\xe2\xe3\n1 0 obj"), d / "r.csv")[1],
         run_read, "refused", (r"r\.csv: this is a PDF document",)),
    Case("tsv_text_named_xls", lambda d: ((d / "t.xls").write_text("社区编码\t人口\n0012\t5\n", encoding="utf-8"),
                                          d / "t.xls")[1],
         run_read, "refused", (r"t\.xls: named \.xls but this is a text file", r"Rename it to \.txt or \.csv")),
    Case("zip_of_csv_named_csv", lambda d: _zip_of_csv(d), run_read, "refused",
         (r"data\.csv: this is a zip archive of 1 file\(s\) \(survey\.csv\)", "Unpack it")),
    Case("folder_where_file_expected", lambda d: _folder(d), run_read, "refused",
         (r"问卷数据: is a folder, not a file\. It holds 2 data file\(s\), e\.g\. wave1\.csv, wave2\.xlsx",)),
    # ---- a data file where the config belongs: refused without echoing it
    Case("config_is_xlsx", lambda d: cf.small_workbook(d / "survey.xlsx"), run_config, "refused",
         (r"survey\.xlsx: this is an Excel workbook \(\.xlsx\), a data file, not the study config",
          "not read or shown")),
    Case("config_is_csv", lambda d: write_survey(d), run_config, "refused",
         (r"survey\.csv: looks like a data table with 15 columns, not the study config",)),
    Case("config_is_csv_named_yaml", lambda d: (write_survey(d).rename(d / "study.yaml"), d / "study.yaml")[1],
         run_config, "refused", (r"study\.yaml: looks like a data table with 15 columns",)),
    Case("config_is_gbk_csv", lambda d: cf.wjx_csv_gbk(d), run_config, "refused", (r"looks like a data table",)),
    Case("config_is_pickle", lambda d: cf.pickle_file(d, "study.yaml"), run_config, "refused",
         (r"study\.yaml: this is a Python pickle \(or joblib\) file, a data file",)),
    Case("config_is_sav", cf.spss_chinese_windows, run_config, "refused", (r"this is an SPSS data file",)),
    Case("config_is_folder", lambda d: d, run_config, "refused", (r"is a folder, not a config file",)),
    Case("config_is_real_yaml", lambda d: write_study(d, study_survey()), run_config, "ok"),
    # ---- encodings and mojibake
    Case("utf16_unicode_text_export", lambda d: _utf16(d, bom=True), run_read, "warning",
         (r"社区名录\.txt: UTF-16 text \(Excel/WPS 'Unicode 文本' export\) was read as such \(tab-separated\)",),
         ("utf16_text",)),
    Case("utf16_without_bom", lambda d: _utf16(d, bom=False), run_read, "warning",
         (r"UTF-16 text without a byte-order mark", "read as UTF-16"), ("utf16_no_bom",)),
    Case("one_column_csv_is_not_a_pickle", lambda d: _write(d / "ids.csv", "community\nR0012\nR0034\n"),
         run_read, "ok", ("community",)),
    Case("wjx_gbk_csv_reads", cf.wjx_csv_gbk, run_read, "ok", (r"6、您参加过哪些社区活动？",)),
    Case("wps_gb18030_rare_characters", cf.wps_gb18030_csv, run_read, "ok", ("负责人",)),
    Case("utf8_declared_gbk", lambda d: write_survey(d), lambda p: run_read(p, encoding="gbk"), "warning",
         (r"survey\.csv: study\.yaml gives `encoding: gbk`, but the file is valid UTF-8",), ("encoding_mismatch",)),
    Case("mojibake_utf8_saved_as_gbk", lambda d: _mojibake(d), run_read, "error",
         (r"mojibake\.csv, column '社区名称': 3 cell\(s\) look garbled", "CSV UTF-8"), ("mojibake",)),
    Case("mojibake_latin1_in_cells", lambda d: _latin1(d), run_read, "error",
         (r"column '社区名称'", "garbled", r"rows 2, 3"), ("mojibake",)),
    Case("replacement_chars_kunkao", lambda d: _write(d / "k.csv", "社区编码,社区名称\n0012,锟斤拷社区\n0034,西岭社区\n"),
         run_read, "error", (r"k\.csv, column '社区名称': 1 cell\(s\) look garbled \(row 2; e\.g\. '锟斤拷'\)",)),
    Case("mixed_utf8_and_gbk_lines", lambda d: _mixed(d), run_read, "error",
         (r"mixed\.csv: the file mixes two encodings: line 4",), ("mixed_encoding",)),
    # ---- statistical packages as Chinese installs write them
    Case("spss_chinese_windows_cp936", cf.spss_chinese_windows, run_read, "ok", ("xm",)),
    Case("stata13_gbk_strings", cf.stata13_gbk, run_read, "warning",
         (r"an old Stata file \(format 117, Stata ≤ 13\) whose text is GB18030", "unicode translate"),
         ("encoding_fallback",)),
    Case("stata_extended_missing", cf.stata_extended_missing, run_read, "warning",
         (r"wave2\.dta, column 'q1': 2 value\(s\) are Stata extended missing values \(\.a, \.b; rows 2, 4\)",
          "read as missing"), ("stata_extended_missing",)),
    # ---- structure
    Case("tencent_xlsx_title_row", cf.tencent_xlsx,
         lambda p: run_read(p, expected_columns=("编号", "开始答题时间", "结束答题时间")), "warning",
         (r"腾讯问卷_导出\.xlsx, sheet \"问卷数据\": the header is on row 2",), ("title_rows",)),
    Case("duplicate_headers", lambda d: _write(d / "dup.csv", "社区编码,人口,人口\n0012,1,2\n"), run_read, "error",
         (r"dup\.csv: the header '人口' appears 2 times \(columns 2 and 3",), ("duplicate_header",)),
    Case("short_row", lambda d: _write(d / "short.csv", "社区编码,人口,户数\n0012,1,2\n0034,5\n"), run_read, "error",
         (r"short\.csv: 1 line\(s\) have fewer fields than the header's 3 \(line 3",), ("field_count",)),
    Case("header_only", lambda d: _write(d / "h.csv", "社区编码,人口\n"), run_read, "error",
         (r"h\.csv: no data rows",), ("no_data_rows",)),
    # ---- field-team checks (问卷星-shaped and survey files)
    Case("wjx_speeding_356s_format", lambda d: _wjx_fast(d), _q(), "warning",
         (r"问卷星_社区满意度调查_原始数据\.csv, column '所用时间', row 5: 1 interview\(s\) took less than",
          r"values: 41s"), ("speeding",)),
    Case("speeding_absolute_threshold", lambda d: write_survey(d, {("所用时间", 7): "2分1秒"}),
         _q(QualitySettings(min_seconds=180)), "warning", (r"column '所用时间', row 9: 1 interview", "121s"),
         ("speeding",)),
    Case("speeding_from_start_and_end", lambda d: _start_end(d), _q(), "warning",
         (r"column '开始答题时间–提交答卷时间', row 4",), ("speeding",)),
    Case("straight_lining", lambda d: write_survey(d, {(f"A{j}", 6): 3 for j in range(1, 6)}), _q(), "warning",
         (r"survey\.csv, row 8: 1 respondent\(s\) gave the same answer to every item they answered \(at least 5 of 5\)",), ("straight_lining",)),
    Case("duplicate_exact_rows", lambda d: _dup_exact(d), _q(), "warning",
         (r"survey\.csv, rows 4, 42: 2 rows are identical in every answer",), ("duplicate_exact",)),
    Case("duplicate_person_across_files_same_wave", lambda d: _two_waves(d, same_wave=True),
         lambda p: run_quality(p, files=["wave1.csv", "wave1_补录.csv"]), "warning",
         (r"wave1\.csv, column 'person_key', row 2: 2 rows are the same person", r"wave1_补录\.csv, column 'person_key', row 2"),
         ("duplicate_conflicting",)),
    Case("same_questionnaire_number_in_two_district_files", lambda d: _two_districts(d),
         lambda p: run_quality(p, files=["东区.csv", "西区.csv"]), "warning",
         (r"东区\.csv, column 'respondent_id', row 4: .*same questionnaire number in different files",
          r"西区\.csv, column 'respondent_id', row 2"), ("duplicate_conflicting",)),
    Case("same_person_in_two_waves_is_fine", lambda d: _two_waves(d, same_wave=False),
         lambda p: run_quality(p, files=["wave1.csv", "wave2.csv"]), "ok"),
    Case("minor_where_design_is_adults", lambda d: write_survey(d, {("年龄", 3): 16}),
         _q(QualitySettings(min_age=18)), "warning", (r"column 'age', row 5: 1 respondent\(s\) are younger than 18",),
         ("minor",)),
    Case("impossible_birth_year", lambda d: _birth_years(d), _q(), "warning",
         (r"column '出生年份', rows 3, 4: 2 birth year\(s\) are impossible", r"values: 1890, 2090"), ("birth_year",)),
    Case("all_empty_item", lambda d: write_survey(d, {("A3", i): "" for i in range(40)}), _q(), "error",
         (r"column 'A3': item 'gain_3' has no answer in any row", "silently average"), ("empty_item",)),
    Case("item_already_reverse_coded", lambda d: _reversed(d), _q(), "warning",
         (r"column 'A4': item 'gain_4' correlates negatively", r"item-rest r = -0\.\d\d"), ("reversed_item",)),
    Case("scale_reversed_in_one_wave", lambda d: _reversed_wave(d),
         lambda p: run_quality(p, files=["w1.csv", "w2.csv"]), "warning",
         (r"w1\.csv, column 'A2': item 'gain_2' correlates negatively",), ("reversed_item",)),
    Case("community_name_not_matching_id", lambda d: write_survey(d, {("社区名称", 4): "西岭社区"}), _q(), "warning",
         (r"column '社区名称', row 6: 1 row\(s\) give a community name that differs",
          r"0012 = 西岭社区 \(registry: 东湖社区\)"), ("community_name",)),
    Case("id_number_mangled_by_excel", lambda d: write_survey(d, {("身份证号", 2): "4.30102E+17"}), _q(), "warning",
         (r"column '身份证号', row 4: 1 ID number\(s\) were turned into numbers by Excel", "cannot be linked"),
         ("id_number_mangled",)),
    Case("wps_xlsx_id_numbers_typed_as_numbers", lambda d: _xlsx_numeric_ids(d), _q(), "warning",
         (r"问卷\.xlsx, column '身份证号', rows 2, 3, 4: 3 ID number\(s\) were turned into numbers by Excel",),
         ("id_number_mangled",)),
    Case("id_number_bad_check_digit", lambda d: write_survey(d, {("身份证号", 5): cf.ID_B[:17] + _wrong(cf.ID_B)}),
         _q(), "warning", (r"column '身份证号', row 7: 1 ID number\(s\) are invalid: a wrong check digit \(GB 11643\)",
                           r"430\*{11}"), ("id_number_invalid",)),
    Case("id_number_impossible_birth_date", lambda d: write_survey(d, {("身份证号", 1): cf._id_number("43010219900230001")}),
         _q(), "warning", (r"row 3: 1 ID number\(s\) are invalid: an impossible birth date",), ("id_number_invalid",)),
    Case("excel_serial_date_in_submit_time", lambda d: _wjx_changed(d, {("提交答卷时间", 2): "45054"}), _q(), "warning",
         (r"column '提交答卷时间', row 4: 1 date\(s\) are Excel serial numbers \(e\.g\. 45054 = 2023-05-08\)",),
         ("excel_serial_date",)),
    Case("mixed_date_formats", lambda d: write_survey(d, {("访问日期", 3): "2023/5/4", ("访问日期", 9): "5/10/2023"}),
         _q(), "warning", (r"column '访问日期', rows 5, 11: dates are written in 3 formats", "ambiguous"),
         ("mixed_date_formats",)),
    Case("birth_dates_are_never_quoted", lambda d: _birth_dates(d), _q(), "warning",
         (r"column '出生日期', rows 3, 5: 2 date\(s\) do not exist", r"column '出生日期', row 4: 1 date\(s\) are Excel serial numbers\. "),
         ("impossible_date", "excel_serial_date")),
    Case("impossible_calendar_date", lambda d: write_survey(d, {("访问日期", 8): "2023-02-30"}), _q(), "warning",
         (r"column '访问日期', row 10: 1 date\(s\) do not exist", "2023-02-30"), ("impossible_date",)),
    Case("undeclared_code", lambda d: write_survey(d), _q(cb=codebook({1: "很不满意", 2: "不满意", 4: "满意",
                                                                          5: "很满意"})),
         "warning", (r"column 'A1', rows .*: code\(s\) 3 of 'gain_1' have no value label",), ("undeclared_code",)),
    # ---- whole studies: problems reach the user, personal data never does
    Case("study_id_number_typed_as_key_is_masked", lambda d: _study(d, {("问卷编号", 3): cf.ID_A, ("问卷编号", 4): cf.ID_A}),
         run_study, "error", (r"column respondent_id, rows 5, 6", r"110\*{11}002X"), ("duplicate_id",)),
    Case("study_all_empty_item_is_an_error", lambda d: _study(d, {("A2", i): "" for i in range(40)}), run_study,
         "error", (r"survey\.csv, column 'A2': item 'gain_2' has no answer in any row",), ("empty_item",)),
    Case("study_duplicate_respondent", lambda d: _study(d, {("问卷编号", 5): "R0001"}), run_study, "error",
         (r"survey\.csv, column respondent_id, rows 3, 7",), ("duplicate_id",)),
    Case("study_survey_is_a_folder", lambda d: _study_folder(d), run_study, "refused",
         (r"survey\.csv.*is a folder, not a file",)),
    # refused unread, and reported with every other problem of the study (one pass, exit 2)
    Case("study_survey_is_pickle", lambda d: _study_pickle(d), run_study, "error",
         (r"survey\.csv: this is a Python pickle",)),
]


# --------------------------------------------------------------------------- small builders


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _wrong(id_number: str) -> str:
    return "0" if id_number[-1] != "0" else "1"


def _zip_of_csv(d: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(d / "data.csv", "w") as z:
        z.writestr("survey.csv", cf.personal_frame().to_csv(index=False))
    return d / "data.csv"


def _many_parts(d: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(d / "many.xlsx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for i in range(10_049):
            z.writestr(f"xl/p{i}.bin", b"")
    return d / "many.xlsx"


def _folder(d: Path) -> Path:
    folder = d / "问卷数据"
    folder.mkdir()
    write_survey(folder, name="wave1.csv")
    cf.small_workbook(folder / "wave2.xlsx")
    return folder


def _utf16(d: Path, *, bom: bool) -> Path:
    text = "社区编码\t社区名称\t负责人\r\n0012\t东湖社区\t周建国\r\n0034\t西岭社区\t张伟\r\n"
    data = text.encode("utf-16-le")
    (d / "社区名录.txt").write_bytes((b"\xff\xfe" if bom else b"") + data)
    return d / "社区名录.txt"


def _mojibake(d: Path) -> Path:
    body = "0012,东湖社区\n0034,西岭社区\n0056,南桥社区\n"
    garbled = body.encode("utf-8").decode("gbk", errors="replace")  # opened as GBK …
    return _write(d / "mojibake.csv", "社区编码,社区名称\n" + garbled, "utf-8")  # … and saved as UTF-8


def _latin1(d: Path) -> Path:
    text = "社区编码,社区名称\n0012,东湖社区\n0034,西岭社区\n"
    garbled = text.encode("gbk").decode("latin-1")
    lines = garbled.splitlines()
    return _write(d / "latin.csv", "社区编码,社区名称\n" + "\n".join(lines[1:]) + "\n")


def _mixed(d: Path) -> Path:
    head = "社区编码,社区名称\n0012,东湖社区\n0034,西岭社区\n".encode()
    (d / "mixed.csv").write_bytes(head + "0056,南桥社区\n".encode("gbk"))
    return d / "mixed.csv"


def _xlsx_numeric_ids(d: Path) -> Path:
    """A WPS/Excel workbook where the first three ID numbers were typed into General-format cells."""
    import openpyxl

    df = survey_frame()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for i, row in enumerate(df.itertuples(index=False)):
        values = [v.item() if hasattr(v, "item") else v for v in row]
        if i < 3:
            values[list(df.columns).index("身份证号")] = float(values[list(df.columns).index("身份证号")])
        ws.append(values)
    wb.save(d / "问卷.xlsx")
    return d / "问卷.xlsx"


def _wjx_changed(d: Path, changes: dict) -> Path:
    df = cf.wjx_frame(12)
    for (col, idx), value in changes.items():
        df[col] = df[col].astype(object)
        df.loc[idx, col] = value
    return cf.wjx_csv_gbk(d, df)


def _wjx_fast(d: Path) -> Path:
    return _wjx_changed(d, {("所用时间", 3): "41秒"})


def _start_end(d: Path) -> Path:
    df = survey_frame().drop(columns=["所用时间"])
    df["开始答题时间"] = "2023/5/8 10:00:00"
    df["提交答卷时间"] = [f"2023/5/8 10:{6 + i % 20:02d}:00" for i in range(len(df))]
    df.loc[2, "提交答卷时间"] = "2023/5/8 10:00:50"
    return write_survey(d, frame=df)


def _dup_exact(d: Path) -> Path:
    df = survey_frame()
    copy = df.iloc[[2]].copy()
    copy["问卷编号"] = "R9999"
    return write_survey(d, frame=pd.concat([df, copy], ignore_index=True))


def _two_waves(d: Path, *, same_wave: bool) -> Path:
    a = survey_frame(20)
    b = survey_frame(40).iloc[20:].reset_index(drop=True)
    b.loc[0, "身份证号"] = a.loc[0, "身份证号"]  # the same person …
    b.loc[0, "A1"] = 5 if a.loc[0, "A1"] != 5 else 1  # … answering differently
    b["调查轮次"] = 1 if same_wave else 2
    write_survey(d, frame=a, name="wave1.csv")
    write_survey(d, frame=b, name="wave1_补录.csv" if same_wave else "wave2.csv")
    return d / "wave1.csv"


def _two_districts(d: Path) -> Path:
    a = survey_frame(20)
    b = survey_frame(40).iloc[20:].reset_index(drop=True)
    b.loc[0, "问卷编号"] = a.loc[2, "问卷编号"]  # two districts numbered their questionnaires alike
    write_survey(d, frame=a, name="东区.csv")
    write_survey(d, frame=b, name="西区.csv")
    return d / "东区.csv"


BIRTH_DATES = ("1987-02-29", "24107", "1990-13-01")


def _birth_dates(d: Path) -> Path:
    df = survey_frame()
    df["出生日期"] = [f"{1950 + i}-0{1 + i % 9}-1{i % 9}" for i in range(len(df))]
    df.loc[1:3, "出生日期"] = list(BIRTH_DATES)
    return write_survey(d, frame=df)


def _birth_years(d: Path) -> Path:
    df = survey_frame().drop(columns=["年龄"])
    df["出生年份"] = [1950 + i for i in range(len(df))]
    df.loc[1, "出生年份"], df.loc[2, "出生年份"] = 1890, 2090
    return write_survey(d, frame=df)


def _reversed(d: Path) -> Path:
    df = survey_frame()
    df["A4"] = 6 - df["A4"]
    return write_survey(d, frame=df)


def _reversed_wave(d: Path) -> Path:
    a = survey_frame(40)
    a["A2"] = 6 - a["A2"]
    write_survey(d, frame=a, name="w1.csv")
    write_survey(d, frame=survey_frame(40).assign(调查轮次=2), name="w2.csv")
    return d / "w1.csv"


def _study(d: Path, changes: dict) -> Path:
    df = study_survey()
    for (col, idx), value in changes.items():
        df[col] = df[col].astype(object)
        df.loc[idx, col] = value
    return write_study(d, df)


def _study_folder(d: Path) -> Path:
    study = write_study(d, study_survey())
    (d / "survey.csv").unlink()
    (d / "survey.csv").mkdir()
    return study


def _study_pickle(d: Path) -> Path:
    study = write_study(d, study_survey())
    cf.pickle_file(d, "survey.csv")
    return study


# --------------------------------------------------------------------------- the test


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, tuple[Path, Path, dict[str, str]]]:
    out = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.name)
        path = case.build(folder)
        out[case.name] = (folder, path, _digest(folder))
    return out


def test_corpus_has_at_least_60_named_cases():
    names = [c.name for c in CASES]
    assert len(names) >= 60 and len(set(names)) == len(names)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(reason=c.xfail, strict=True))
                                  if c.xfail else c for c in CASES], ids=[c.name for c in CASES])
def test_case(case: Case, corpus) -> None:
    folder, path, before = corpus[case.name]
    result = case.run(path)
    assert result.kind == case.outcome, result.text
    for pattern in case.patterns:
        assert pd.Series([result.text]).str.contains(pattern, regex=True).iloc[0], (pattern, result.text)
    assert set(case.checks) <= result.checks, (case.checks, result.checks)
    leaked = [v for v in (*cf.PERSONAL, *BIRTH_DATES) if v in result.text]
    assert not leaked, (leaked, result.text)
    assert "Traceback" not in result.text
    assert _digest(folder) == before  # raw inputs are never modified
