"""Several survey files (one per wave or district) declared in the config, stacked and cross-checked."""

from __future__ import annotations

import re

import pandas as pd
import pyreadstat
from own_data_files import CODEBOOK, hashes, id_number, personal_values, registry_csv, survey_frame, write_study

from evalkit import load_study
from evalkit.intake import validate_report

COLUMNS = "columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"


def _two_waves(folder, *, per: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = survey_frame(waves=((1, 2020), (2, 2021)), per=per)
    w1 = frame[frame["_wave"] == 1].drop(columns="_wave").reset_index(drop=True)
    w2 = frame[frame["_wave"] == 2].drop(columns="_wave").reset_index(drop=True)
    return w1, w2


def _entry(*files: str) -> str:
    listed = "\n".join(f"        - {{path: {f}, wave: {i}}}" for i, f in enumerate(files, 1))
    return f"\n    files:\n{listed}\n    {COLUMNS}"


def test_csv_and_excel_waves_are_stacked_with_wave_filled(tmp_path):
    registry_csv(tmp_path)
    w1, w2 = _two_waves(tmp_path)
    w1.to_csv(tmp_path / "2020年问卷.csv", index=False, encoding="gb18030")
    w2.to_excel(tmp_path / "2021年问卷.xlsx", index=False, sheet_name="问卷数据")
    study_path = write_study(tmp_path, _entry("2020年问卷.csv", "2021年问卷.xlsx"),
                             extra="waves: {1: 2020, 2: 2021}\n")
    before = hashes(tmp_path)
    study = load_study(study_path)
    survey = study.survey
    assert len(survey) == len(w1) + len(w2)
    assert survey["wave"].tolist() == [1] * len(w1) + [2] * len(w2)
    assert survey["respondent_id"].tolist() == w1["问卷编号"].tolist() + w2["问卷编号"].tolist()
    from_file = [d for d in study.derivations if d.method == "wave_from_file"]
    assert [(d.file.rsplit("/", 1)[-1], d.n_rows) for d in from_file] == [
        ("2020年问卷.csv", len(w1)), ("2021年问卷.xlsx", len(w2))]
    assert list(study.sources["file"]) == ["社区名单.csv", "2020年问卷.csv", "2021年问卷.xlsx"]
    assert hashes(tmp_path) == before


def test_wave1_row_inside_wave2_file_by_wave_column_and_by_date(tmp_path):
    registry_csv(tmp_path)
    w1, w2 = _two_waves(tmp_path)
    w2["轮次"] = 2
    w2.loc[3, "轮次"] = 1  # row 5 of the file says wave 1
    w2.loc[6, "调查日期"] = "2020-10-20"  # row 8 was interviewed in wave 1's window
    w1.to_csv(tmp_path / "w1.csv", index=False)
    w2.to_csv(tmp_path / "w2.csv", index=False)
    entry = _entry("w1.csv", "w2.csv").replace("出生年份: birth_year}", "出生年份: birth_year, 轮次: wave}")
    report = validate_report(write_study(tmp_path, entry, extra="waves: {1: 2020, 2: 2021}\n"))
    mism = [p for p in report.errors if p.check == "wave_mismatch"]
    assert {p.column: p.rows for p in mism} == {"wave": (5,), "interview_date": (8,)}
    text = report.render()
    assert re.search(r"w2\.csv, column wave, row 5: 1 row\(s\) say another wave than the file's declared "
                     r"wave 2 in study\.yaml \(line \d+\) \(values: 1\)", text)
    assert re.search(r"w2\.csv, column interview_date, row 8: 1 row\(s\) were interviewed in another wave's "
                     r"window, but the file is declared wave 2 .* \(values: 2020-10-20 = wave 1\)", text)


def test_same_questionnaire_in_two_files_and_same_id_number_under_two_numbers(tmp_path):
    registry_csv(tmp_path)
    w1, w2 = _two_waves(tmp_path)
    district_b = w1.iloc[:4].copy()
    district_b.loc[0, "问卷编号"] = w1.loc[10, "问卷编号"]  # same questionnaire number as district A's row 12
    district_b.loc[1:, "问卷编号"] = ["B0001", "B0002", "B0003"]
    district_b["身份证号"] = [id_number("430103", "19800101", k) for k in range(4)]  # other people
    district_b.loc[2, "身份证号"] = w1.loc[20, "身份证号"]  # the same person under B0002
    w1.to_csv(tmp_path / "A区.csv", index=False)
    district_b.to_csv(tmp_path / "B区.csv", index=False)
    entry = f"\n    files:\n        - {{path: A区.csv, wave: 1}}\n        - {{path: B区.csv, wave: 1}}\n    {COLUMNS}"
    study_path = write_study(tmp_path, entry, extra="waves: {1: 2020}\n")
    before = hashes(tmp_path)
    report = validate_report(study_path)
    text = report.render()
    dup = next(p for p in report.errors if p.check == "duplicate_across_files")
    assert f"({w1.loc[10, '问卷编号']})" in dup.message
    assert re.search(r"A区\.csv: row 12; \S*B区\.csv: row 2\. The same questionnaire was entered twice",
                     dup.message)
    same_all = [p for p in report.errors if p.check == "same_person_two_ids"]
    assert len(same_all) == 1
    same = same_all[0]
    assert "the same ID number (compared by its pseudonym; not shown)" in same.message
    assert re.search(r"A区\.csv, row 22 \(questionnaire Q\d+\); .*B区\.csv, row 4 \(questionnaire B0002\)",
                     same.message)
    for value in personal_values(w1) + personal_values(district_b):
        assert value not in text
        assert value[:6] + "*" not in text  # not even masked
    assert hashes(tmp_path) == before


def test_columns_in_one_file_only_are_named(tmp_path):
    registry_csv(tmp_path)
    w1, w2 = _two_waves(tmp_path)
    w2 = w2.drop(columns=["归属3"])
    w1.to_csv(tmp_path / "w1.csv", index=False)
    w2.to_csv(tmp_path / "w2.csv", index=False)
    codebook = CODEBOOK.replace("bel_3: {source_name: 归属3, construct: belonging, scale: [1, 5]}",
                                "bel_3: {source_name: 归属3, type: integer, scale: [1, 5]}")
    report = validate_report(write_study(tmp_path, _entry("w1.csv", "w2.csv"), codebook=codebook,
                                         extra="waves: {1: 2020, 2: 2021}\n"))
    warn = next(p for p in report.warnings if p.check == "column_not_in_all_files")
    assert warn.column == "bel_3"
    assert re.search(r"column bel_3 is in .*w1\.csv but not in .*w2\.csv", warn.message)


def _sav(path, frame, labels):
    df = frame.rename(columns={"问卷编号": "qid", "社区编号": "cid", "调查日期": "date", "出生年份": "born",
                               "性别": "sex", "满意1": "s1", "满意2": "s2"})[
        ["qid", "cid", "date", "born", "sex", "s1", "s2"]]
    pyreadstat.write_sav(df, str(path), variable_value_labels={"s1": labels, "s2": labels,
                                                               "sex": {1: "男", 2: "女"}})


def test_satisfaction_scale_reversed_in_wave1_names_both_files(tmp_path):
    registry_csv(tmp_path)
    w1, w2 = _two_waves(tmp_path)
    labels = {1: "非常不满意", 2: "不太满意", 3: "一般", 4: "比较满意", 5: "非常满意"}
    reversed_ = {k: labels[6 - k] for k in labels}
    _sav(tmp_path / "wave1.sav", w1, reversed_)
    _sav(tmp_path / "wave2.sav", w2, labels)
    codebook = """\
variables:
  sat_1: {source_name: s1, construct: satisfaction, scale: [1, 5]}
  sat_2: {source_name: s2, construct: satisfaction, scale: [1, 5]}
  gender: {source_name: sex}
"""
    entry = ("\n    files:\n        - {path: wave1.sav, wave: 1}\n        - {path: wave2.sav, wave: 2}\n"
             "    columns: {qid: respondent_id, cid: community_id, date: interview_date, born: birth_year}")
    study_path = write_study(tmp_path, entry, codebook=codebook, extra="waves: {1: 2020, 2: 2021}\n")
    study_path.write_text(study_path.read_text(encoding="utf-8").replace(
        "outcomes: [satisfaction, belonging]", "outcomes: [satisfaction]"), encoding="utf-8")
    before = hashes(tmp_path)
    report = validate_report(study_path)
    conflicts = [p for p in report.errors if p.check == "label_conflict"]
    assert {p.column for p in conflicts} == {"sat_1", "sat_2"}
    msg = next(p.message for p in conflicts if p.column == "sat_1")
    assert re.search(r"wave2\.sav, column sat_1: value labels differ from .*wave1\.sav: code 1 is '非常不满意' "
                     r"here but '非常满意' there \(4 of 5 codes differ: 1, 2, 4, 5\)", msg)
    # against the codebook's own labels too
    codebook_labelled = codebook.replace("scale: [1, 5]}", "scale: [1, 5], value_labels: {1: 非常不满意, "
                                         "2: 不太满意, 3: 一般, 4: 比较满意, 5: 非常满意}}")
    (tmp_path / "codebook.yaml").write_text(codebook_labelled, encoding="utf-8")
    report = validate_report(study_path)
    first = [p for p in report.errors if p.check == "label_conflict" and p.file.endswith("wave1.sav")]
    assert first and "differ from the codebook (codebook.yaml)" in first[0].message
    assert hashes(tmp_path) | {"codebook.yaml": ""} == before | {"codebook.yaml": ""}
