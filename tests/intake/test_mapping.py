"""Mapping a programme office's headers to the data model, and value labels in every format.

Each case builds the files the way people have them (pandas/openpyxl, a 问卷星 CSV in
GB18030), runs ``validate_report`` or ``load_study`` and asserts the outcome, that the
message names file/row/column, that no personal value appears, and that the raw files are
unchanged (SHA-256 before and after).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from own_data_files import (CODEBOOK, hashes, new_user_study, personal_values, registry_csv, survey_frame,
                            tencent_csv, wjx_csv, write_study)

from evalkit import load_study
from evalkit.datamodel import TABLES
from evalkit.errors import ConfigError
from evalkit.intake import validate_report
from evalkit.intake.mapping import normalise_header, resolve_headers, suggest_headers


def _no_personal(text: str, frame: pd.DataFrame) -> None:
    for value in personal_values(frame):
        assert value not in text, "a personal value appears in the output"


def test_reproduce_issue_every_file_refused_then_suggestions(tmp_path):
    """The issue's new user, before any mapping: refused, and every message says what to add."""
    study = new_user_study(tmp_path, mapped=False)
    before = hashes(tmp_path)
    report = validate_report(study)
    text = report.render("en")
    assert report.exit_code == 2
    assert re.search(r"问卷\.csv, column community_id: required column 'community_id' \(社区编码\) is "
                     r"missing \(needed by every analysis\)", text)
    assert "add `社区编号: community_id` under data.survey.columns" in text
    # gender 1/2 without labels: the error suggests declaring the codes, it does not guess
    assert re.search(r"column gender, rows 2, 3, 4, 5, 6 … \(1080 rows\): value\(s\) not among the allowed",
                     text)
    assert "value_labels: {1: 男, 2: 女}" in text
    assert "add `调查日期: interview_date`" in text  # the synonym is suggested for the survey year
    # the registry with only id and name is not refused
    assert "社区名单.csv (" not in text or "ERROR" not in text.split("== 社区名单.csv")[1].split("==")[0]
    _no_personal(text, survey_frame())
    assert hashes(tmp_path) == before


def test_mapped_new_user_study_loads_with_facts(tmp_path):
    study_path = new_user_study(tmp_path)
    before = hashes(tmp_path)
    study = load_study(study_path)
    survey = study.survey
    assert len(survey) == 1080 and set(survey["gender"].dropna()) == {"male", "female"}
    assert "hukou" not in survey.columns
    assert study.unavailable["hukou"] == ("raking_margin", "subgroup", "balance")
    assert study.unavailable["population_margins"] == ("weighting",)
    assert {d.column for d in study.derivations} >= {"wave", "survey_year", "age", "age_band"}
    assert not {"name", "phone", "id_number", "姓名", "身份证号", "手机号"} & set(survey.columns)
    assert survey["person_key"].notna().all()
    assert hashes(tmp_path) == before


def test_header_normalisation_is_a_notice_not_silent(tmp_path):
    registry_csv(tmp_path)
    frame = survey_frame(per=3).drop(columns="_wave").rename(columns={
        "问卷编号": "问卷 编号", "社区编号": "社区编码\u200b", "调查日期": "ＩＮＴＥＲＶＩＥＷ_ＤＡＴＥ",
        "出生年份": "Birth_Year"})
    frame.to_csv(tmp_path / "问卷.csv", index=False, encoding="utf-8-sig")
    study_path = write_study(tmp_path, " 问卷.csv", extra="waves: {1: 2020, 2: 2021, 3: 2022}\n")
    report = validate_report(study_path)
    notes = [p for p in report.notices if p.check == "header_normalised"]
    assert report.exit_code in (0, 1) and len(notes) == 1
    msg = notes[0].message
    assert "问卷.csv" in msg and "4 header(s) matched after normalisation" in msg
    assert "'社区编码\\u200b' → community_id (invisible (zero-width) characters removed)" in msg
    assert "→ interview_date (full-width characters made half-width, letter case ignored)" in msg
    assert "'问卷 编号' → respondent_id (spaces or line breaks removed)" in msg
    assert "'Birth_Year' → birth_year (letter case ignored)" in msg


def test_synonyms_are_suggested_never_applied():
    spec = TABLES["survey"]
    res = resolve_headers(["社区编号", "出生年份", "户口性质"], spec=spec)
    assert [m.target for m in res.matches] == ["birth_year"]  # 出生年份 is the model's own header
    assert set(res.unmatched) == {"社区编号", "户口性质"}
    assert suggest_headers("community_id", ["社区编号", "社区名称"]) == ["社区编号"]
    assert suggest_headers("hukou", ["户口性质"]) == ["户口性质"]
    assert normalise_header("　Ｑ１\u200b ") == "q1"


def test_config_map_unknown_target_and_absent_header_name_the_config_line(tmp_path):
    registry_csv(tmp_path)
    survey_frame(per=2).drop(columns="_wave").to_csv(tmp_path / "问卷.csv", index=False)
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 出生年: birth_year, 调查日期: visit_day}"
    report = validate_report(write_study(tmp_path, entry))
    text = report.render()
    assert report.exit_code == 2
    assert re.search(r"study\.yaml, line 7, data\.survey\.columns: '调查日期' is mapped to 'visit_day', "
                     r"which is neither a column", text)
    assert re.search(r"line 7, data\.survey\.columns: no file has the header '出生年'", text)
    with pytest.raises(ConfigError, match=r"line 7, key 'data.survey.columns.社区编号': '社区编码' is not a "
                                          r"canonical column name"):
        write_study(tmp_path, "\n    path: 问卷.csv\n    columns: {社区编号: 社区编码}")
        load_study(tmp_path / "study.yaml")


def test_wjx_export_with_question_numbers_and_option_text(tmp_path):
    """问卷星 CSV (GB18030): question-number headers, option text answers, IP and phone columns."""
    registry_csv(tmp_path)
    frame = survey_frame(per=4)
    raw = wjx_csv(tmp_path / "问卷星导出.csv", frame.drop(columns="_wave"))
    codebook = """\
constructs: {env: {zh: 社区环境满意度, en: Satisfaction with the community}}
value_label_sets:
  sat5: {1: 非常不满意, 2: 不太满意, 3: 一般, 4: 比较满意, 5: 非常满意}
variables:
  phone: {source_name: 您的手机号码：, privacy: direct_identifier}
  ip: {source_name: 来自IP, privacy: direct_identifier}
  sat_env: {source_name: 您对社区环境卫生的满意程度, construct: env, scale: [1, 5], value_labels: sat5}
  sat_safe: {source_name: 您对社区治安的满意程度, construct: env, scale: [1, 5], value_labels: sat5}
  sat_fun: {source_name: 您对社区文体活动的满意程度, construct: env, scale: [1, 5], value_labels: sat5}
  sat_eff: {source_name: 您对社区办事效率的满意程度, construct: env, scale: [1, 5], value_labels: sat5}
"""
    entry = ("\n    path: 问卷星导出.csv\n    columns: {序号: respondent_id, 提交答卷时间: interview_date, "
             "您所在的社区编号：: community_id, 您的出生年份：: birth_year, 您的性别：: gender}")
    study_path = write_study(tmp_path, entry, codebook=codebook,
                             extra="waves: {1: 2020, 2: 2021, 3: 2022}\n")
    study_path.write_text(study_path.read_text(encoding="utf-8").replace(
        "outcomes: [satisfaction, belonging]", "outcomes: [env]"), encoding="utf-8")
    before = hashes(tmp_path)
    report = validate_report(study_path)
    text = report.render("zh")
    assert report.exit_code == 1, text  # 所用时间/来源 dropped with a warning
    assert any(p.check == "encoding_detected" and "gb18030" in p.message for p in report.notices)
    normalised = next(p for p in report.notices if p.check == "header_normalised")
    assert "'2、您的性别：' → gender (question-number prefix removed)" in normalised.message  # via columns:
    assert "'5、您对社区环境卫生的满意程度' → sat_env (question-number prefix removed)" in normalised.message
    assert re.search(r"column 所用时间: column is not in the data model", text)
    study = load_study(study_path)
    expected = frame["满意1"].to_numpy(dtype=float)
    assert (study.survey["sat_env"].to_numpy() == expected).all()  # option text → codes
    assert set(study.survey["gender"]) == {"male", "female"}
    _no_personal(text, frame)
    assert not any(ip in text for ip in ("221.0.0.0", "湖南-长沙"))
    assert hashes(tmp_path) == before and raw.exists()


def test_tencent_export_q_numbered_headers(tmp_path):
    """腾讯问卷 CSV: 编号/开始答题时间/结束答题时间/答题时长 and ``Q7.`` headers; the codebook's
    source names are the question texts, the Q numbers are stripped (and reported)."""
    registry_csv(tmp_path)
    frame = survey_frame(per=2)
    tencent_csv(tmp_path / "腾讯问卷.csv", frame.drop(columns="_wave"))
    codebook = "\n".join(line for line in CODEBOOK.splitlines() if "性别" not in line) + "\n"
    entry = ("\n    path: 腾讯问卷.csv\n    columns: {编号: respondent_id, 结束答题时间: interview_date, "
             "所在社区编号: community_id, 性别: gender, 出生年份: birth_year}")
    study_path = write_study(tmp_path, entry, codebook=codebook, extra="waves: {1: 2020, 2: 2021, 3: 2022}\n")
    before = hashes(tmp_path)
    report = validate_report(study_path)
    assert report.exit_code == 1, report.render()  # 开始答题时间 and 答题时长 dropped with warnings
    assert {p.column for p in report.warnings} == {"开始答题时间", "答题时长"}
    note = next(p for p in report.notices if p.check == "header_normalised").message
    assert "'Q1.所在社区编号' → community_id (question-number prefix removed)" in note
    assert "'Q11.归属4'" not in note and "'Q10.归属3' → bel_3" in note
    study = load_study(study_path)
    assert study.survey["wave"].tolist() == frame["_wave"].tolist()
    assert study.survey["sat_2"].tolist() == frame["满意2"].astype(float).tolist()
    assert hashes(tmp_path) == before


@pytest.mark.parametrize(("codes", "expected"), [
    (["男", "女", "女性", "M", "F", "male"], ["male", "female", "female", "male", "female", "male"]),
    ([1, 2, 2, 1, 1, 2], ["male", "female", "female", "male", "male", "female"]),
])
def test_gender_as_codes_or_text_labels(tmp_path, codes, expected):
    registry_csv(tmp_path)
    frame = survey_frame(waves=((1, 2020),), per=1).drop(columns="_wave").head(6).copy()
    frame["性别"] = codes
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"
    study = load_study(write_study(tmp_path, entry, extra="waves: {1: 2020}\n"))
    assert study.survey["gender"].tolist() == expected


def test_mixed_codings_in_one_column_are_flagged_with_rows(tmp_path):
    registry_csv(tmp_path)
    frame = survey_frame(waves=((1, 2020),), per=1).drop(columns="_wave").head(8).copy()
    frame["性别"] = [1, 2, "女", 1, 2, 1, "男", 2]
    frame["满意1"] = [1, 2, "非常满意", 4, 5, 3, 2, 1]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    codebook = CODEBOOK.replace("sat_1: {source_name: 满意1, construct: satisfaction, scale: [1, 5]}",
                                "sat_1: {source_name: 满意1, construct: satisfaction, scale: [1, 5], "
                                "value_labels: {1: 非常不满意, 2: 不太满意, 3: 一般, 4: 比较满意, 5: 非常满意}}")
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"
    study_path = write_study(tmp_path, entry, codebook=codebook, extra="waves: {1: 2020}\n")
    report = validate_report(study_path)
    mixed = {p.column: p for p in report.warnings if p.check == "mixed_coding"}
    assert set(mixed) == {"gender", "'满意1' (sat_1)"}
    assert mixed["gender"].rows == (4, 8) and "问卷.csv, column gender, rows 4, 8" in mixed["gender"].message
    assert mixed["'满意1' (sat_1)"].rows == (4,)
    study = load_study(study_path)
    assert study.survey["gender"].tolist()[2] == "female" and study.survey["sat_1"].tolist()[2] == 5.0


def test_codebook_type_and_range_checked_for_every_declared_column(tmp_path):
    registry_csv(tmp_path)
    frame = survey_frame(waves=((1, 2020),), per=1).drop(columns="_wave").head(5).copy()
    frame["居住年数"] = ["3", "75", "12", "两年", "0"]
    frame["入住日期"] = ["2010-05-01", "2019-02-30", "2015/3/1", "", "2001年4月1日"]
    frame["楼栋类型"] = ["高层", "多层", "平房", "高层", "多层"]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    codebook = CODEBOOK + """\
  years_here: {source_name: 居住年数, type: integer, scale: [0, 60]}
  moved_in: {source_name: 入住日期, type: date}
  building: {source_name: 楼栋类型, type: text}
"""
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"
    report = validate_report(write_study(tmp_path, entry, codebook=codebook, extra="waves: {1: 2020}\n"))
    text = report.render()
    assert report.exit_code == 2
    assert re.search(r"问卷\.csv, column '居住年数' \(years_here\), row 3: 1 row\(s\) outside 0–60 "
                     r"\(values: 75\)", text)
    assert re.search(r"column 居住年数 \(years_here\), row 5: 1 answer\(s\) are neither codes", text)
    assert re.search(r"column moved_in, row 3: 1 value\(s\) are not valid dates \(values: 2019-02-30\)", text)
    assert "building" not in {p.column for p in report.errors}
