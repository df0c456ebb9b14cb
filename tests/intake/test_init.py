"""``evalkit init``: a starter study.yaml and codebook from the user's own files, then a few edits."""

from __future__ import annotations

import re

import pandas as pd
import pyreadstat
import pytest
from own_data_files import COMMUNITIES, edit_starter, hashes, personal_values, survey_frame, wjx_csv

from evalkit import load_study
from evalkit.errors import ConfigError
from evalkit.intake import init_study, validate_report


def _wjx_and_registry(raw_dir):
    raw_dir.mkdir()
    frame = survey_frame(per=3)
    wjx_csv(raw_dir / "问卷星导出.csv", frame.drop(columns="_wave"))
    pd.DataFrame({"社区代码": COMMUNITIES, "社区名称": [f"第{i}社区" for i in range(1, 13)]}).to_excel(
        raw_dir / "社区名录.xlsx", index=False, sheet_name="名录")
    return frame


def test_init_from_wjx_export_and_registry_then_a_few_edits(tmp_path):
    raw = tmp_path / "raw"
    frame = _wjx_and_registry(raw)
    before = hashes(raw)
    study_path = init_study(tmp_path / "study", [raw / "问卷星导出.csv", raw / "社区名录.xlsx"])
    text = study_path.read_text(encoding="utf-8")
    codebook = (tmp_path / "study" / "codebook.yaml").read_text(encoding="utf-8")
    assert "encoding: gb18030   # detected" in text
    assert 'path: "../raw/社区名录.xlsx"' in text and 'sheet: "名录"' in text
    assert '"社区代码": community_id   # check me (guessed from the header)' in text
    for header, target in (("序号", "respondent_id"), ("提交答卷时间", "interview_date"),
                           ("1、您所在的社区编号：", "community_id"), ("2、您的性别：", "gender"),
                           ("3、您的出生年份：", "birth_year")):
        assert f'"{header}": {target}   # check me' in text
    assert re.search(r'source_name: "来自IP"\n    label: "来自IP"\n    privacy: direct_identifier', codebook)
    assert re.search(r'source_name: "4、您的手机号码："\n.*\n    privacy: direct_identifier', codebook)
    assert re.search(r'source_name: "5、您对社区环境卫生的满意程度"\n.*\n    value_labels: \{1: "非常不满意"', codebook)
    for value in personal_values(frame):
        assert value not in text + codebook
    assert codebook.count("# construct: ?") == 4

    edit_starter(study_path, outcomes="[env]", waves="{1: 2020, 2: 2021, 3: 2022}",
                  constructs={f"{n}、您对社区{t}的满意程度": "satisfaction"
                              for n, t in zip(range(5, 9), "环境卫生 治安 文体活动 办事效率".split())})
    cb = (tmp_path / "study" / "codebook.yaml").read_text(encoding="utf-8")
    assert cb.count("construct: satisfaction") == 4
    study_path.write_text(study_path.read_text(encoding="utf-8").replace("[env]", "[satisfaction]"),
                          encoding="utf-8")
    report = validate_report(study_path)
    assert report.exit_code in (0, 1), report.render()
    study = load_study(study_path)
    assert len(study.survey) == len(frame)
    assert study.survey["age"].tolist() == (study.survey["survey_year"] - frame["出生年份"].to_numpy()).tolist()
    assert hashes(raw) == before


def test_init_reads_spss_labels_and_user_missing_codes(tmp_path):
    frame = survey_frame(waves=((1, 2020),), per=2).drop(columns="_wave")
    df = frame.rename(columns={"问卷编号": "QID", "社区编号": "CID", "调查日期": "DATE", "性别": "S1",
                               "出生年份": "S2", "满意1": "A1", "满意2": "A2"})[
        ["QID", "CID", "DATE", "S1", "S2", "A1", "A2", "身份证号"]]
    df.loc[0, "A1"] = 9
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(df, str(path), column_labels=["问卷编号", "社区编码", "访问日期", "性别", "出生年份",
                                                      "社区服务让生活更方便", "遇到困难能得到帮助", "身份证号"],
                         variable_value_labels={"S1": {1: "男", 2: "女"},
                                                "A1": {1: "非常不同意", 5: "非常同意", 9: "拒答"}},
                         missing_ranges={"A1": [9]})
    before = hashes(tmp_path)
    study_path = init_study(tmp_path / "study", [path])
    cb = (tmp_path / "study" / "codebook.yaml").read_text(encoding="utf-8")
    assert re.search(r'  gender:\n    source_name: "S1"   # check me: matched by its label "性别"\n'
                     r'    value_labels: \{1: "男", 2: "女"\}', cb)
    assert re.search(r'  birth_year:\n    source_name: "S2"', cb)
    assert re.search(r'  a1:\n    source_name: "A1"\n    label: "社区服务让生活更方便"\n'
                     r'    value_labels: \{1: "非常不同意", 5: "非常同意"\}\n    missing_codes: \{9: "拒答"\}\n'
                     r'    scale: \[1, 5\]', cb)
    assert re.search(r'  id_number:\n    source_name: "身份证号"\n.*\n    privacy: direct_identifier.*\n'
                     r'    pseudonymise: true', cb)
    for value in personal_values(frame):
        assert value not in cb
    assert hashes(tmp_path) == before


def test_init_never_overwrites(tmp_path):
    raw = tmp_path / "raw"
    _wjx_and_registry(raw)
    init_study(tmp_path / "study", [raw / "社区名录.xlsx"])
    with pytest.raises(ConfigError, match=r"study\.yaml: already exists; evalkit init never overwrites"):
        init_study(tmp_path / "study", [raw / "社区名录.xlsx"])
    with pytest.raises(ConfigError, match="needs at least one data file"):
        init_study(tmp_path / "other", [])


def test_init_one_file_per_wave_guesses_waves_from_the_years_in_the_names(tmp_path):
    frame = survey_frame(waves=((1, 2020), (2, 2021)), per=1)
    frame[frame["_wave"] == 2].drop(columns="_wave").to_csv(tmp_path / "2021年问卷.csv", index=False)
    frame[frame["_wave"] == 1].drop(columns="_wave").to_excel(tmp_path / "2020年问卷.xlsx", index=False)
    study_path = init_study(tmp_path / "study", [tmp_path / "2021年问卷.csv", tmp_path / "2020年问卷.xlsx"])
    text = study_path.read_text(encoding="utf-8")
    assert re.search(r'- path: "\.\./2021年问卷\.csv"\n      wave: 2   # check me', text)
    assert re.search(r'- path: "\.\./2020年问卷\.xlsx"\n      sheet: "Sheet1"\n      wave: 1   # check me', text)
    assert "waves: {1: 2020, 2: 2021}   # check me: years from the file names" in text
    codebook = (tmp_path / "study" / "codebook.yaml").read_text(encoding="utf-8")
    assert codebook.count('source_name: "满意1"') == 1 and codebook.count("  gender:") == 1
