"""``validate_report``: every error, warning and notice in one pass, grouped by file, exit 0/1/2."""

from __future__ import annotations

import re

import pandas as pd
from openpyxl import Workbook
from own_data_files import hashes, new_user_study, personal_values, registry_csv, survey_frame, write_study

from evalkit.intake import validate_report

MAPPED = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"


def test_clean_study_exits_0_and_lists_notices_and_facts(tmp_path):
    report = validate_report(new_user_study(tmp_path))
    assert report.exit_code == 0 and not report.errors and not report.warnings
    text = report.render("en")
    assert text.splitlines()[1] == "0 error(s), 0 warning(s), 5 notice(s) in 3 file(s)"
    assert "== 问卷.csv (2 notice(s))" in text and "== 社区名单.csv (2 notice(s))" in text
    assert "text encoding detected as utf-8-sig" in text
    assert "age: interview year minus birth year (may exceed completed age by one) (from birth_year, " \
           "interview_date; 1080 rows)" in text
    assert "hukou: weighting (raking margin), subgroup analysis, baseline balance table" in text
    assert text.endswith("Result: clean, no errors or warnings.")
    zh = report.render("zh")
    assert "共 0 个错误、0 个警告、5 条提示，涉及 3 个文件" in zh and "结果：通过" in zh
    assert report.to_dict()["exit_code"] == 0


def test_warnings_only_exit_1_and_every_problem_of_every_file_in_one_pass(tmp_path):
    registry_csv(tmp_path)
    frame = survey_frame(waves=((1, 2020),), per=1).drop(columns="_wave").head(6)
    frame = frame.assign(备注="无")
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    report = validate_report(write_study(tmp_path, MAPPED, extra="waves: {1: 2020}\n"))
    assert report.exit_code == 1
    assert [p.check for p in report.warnings] == ["extra_column"]

    frame.loc[2, "满意1"] = 7  # now also errors, in two files
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    pd.DataFrame({"社区编码": ["43010001", "43010001"], "社区名称": ["甲", "乙"]}).to_csv(
        tmp_path / "社区名单.csv", index=False)
    report = validate_report(tmp_path / "study.yaml")
    assert report.exit_code == 2
    groups = report.by_file()
    # row 4 answers 3 to every item it has a valid answer for: flagged as straight-lining (kept)
    assert [p.severity for p in groups["问卷.csv"]] == ["error", "error", "warning", "warning", "notice", "notice"]
    assert [p.check for p in groups["问卷.csv"] if p.severity == "warning"] == ["extra_column", "straight_lining"]
    assert {p.check for p in groups["问卷.csv"] if p.severity == "error"} == {"out_of_range", "unknown_community"}
    assert any(p.check == "duplicate_id" for p in groups["社区名单.csv"])
    text = report.render()
    heads = re.findall(r"^== (.*) \((.*)\)$", text, flags=re.M)
    assert ("社区名单.csv", "1 error(s), 2 notice(s)") in heads
    assert any(name == "问卷.csv" and "error(s)" in counts and "2 warning(s)" in counts for name, counts in heads)
    for p in report.problems:  # errors listed before warnings before notices within a file
        assert p.message in text
    assert text.endswith("Result: errors; fix all of them and run evalkit validate again.")


def test_config_mistake_is_the_one_error_and_stops(tmp_path):
    study = new_user_study(tmp_path)
    study.write_text(study.read_text(encoding="utf-8").replace("outcomes:", "outcome:"), encoding="utf-8")
    report = validate_report(study)
    assert report.exit_code == 2 and report.stopped and len(report.problems) == 1
    assert re.search(r"study\.yaml, line \d+, key 'outcome': unknown key 'outcome'", report.render())
    assert "the data files were not checked" in report.render()


def test_folder_or_data_file_as_config_never_echoes_content(tmp_path):
    new_user_study(tmp_path)
    report = validate_report(tmp_path)
    assert report.exit_code == 2 and "is a folder; give the study config file" in report.render()
    data = survey_frame(per=1).drop(columns="_wave")
    for suffix, encoding in ((".csv", "utf-8"), (".yaml", "utf-8")):
        wrong = tmp_path / f"data{suffix}"
        data.to_csv(wrong, index=False, encoding=encoding)
        text = validate_report(wrong).render()
        assert "ERROR" in text
        for value in personal_values(data) + data["问卷编号"].tolist()[:3]:
            assert value not in text


def test_merged_two_row_header_excel_reads_the_second_row_and_says_so(tmp_path):
    """An Excel sheet with a two-row header (a merged 大类 row over its columns), as offices lay them out."""
    registry_csv(tmp_path)
    frame = survey_frame(waves=((1, 2020),), per=1).drop(columns="_wave").head(5)
    wb = Workbook()
    ws = wb.active
    ws.title = "问卷"
    cols = ["问卷编号", "社区编号", "调查日期", "性别", "出生年份", "满意1", "满意2", "满意3", "满意4",
            "归属1", "归属2", "归属3"]
    ws.append(["基本信息"] * 5 + ["满意度"] * 4 + ["归属感"] * 3)
    ws.append(cols)
    for row in frame[cols].itertuples(index=False):
        ws.append(list(row))
    ws.merge_cells("A1:E1")
    ws.merge_cells("F1:I1")
    ws.merge_cells("J1:L1")
    wb.save(tmp_path / "问卷.xlsx")
    study_path = write_study(tmp_path, MAPPED.replace("问卷.csv", "问卷.xlsx"), extra="waves: {1: 2020}\n")
    before = hashes(tmp_path)
    report = validate_report(study_path)
    text = report.render()
    assert report.exit_code == 1, text
    warn = next(p for p in report.warnings if p.check == "title_rows")
    assert warn.message.startswith(f'{tmp_path / "问卷.xlsx"}, sheet "问卷": the header is on row 2')
    from evalkit import load_study

    survey = load_study(study_path).survey
    assert survey["respondent_id"].tolist() == frame["问卷编号"].tolist()
    assert survey["sat_4"].tolist() == frame["满意4"].astype(float).tolist()
    for value in personal_values(frame):
        assert value not in text
    assert hashes(tmp_path) == before
