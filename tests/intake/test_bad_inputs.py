"""The bad-input corpus: each broken study gives a message naming file, row and column.

Every case starts from one small valid study (written by ``write_small_study``), breaks one
thing the way field data break, runs ``evalkit validate`` as a user would, and pins the
message. The last tests check that all problems of a file come together and that raw files
are never modified.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from evalkit.cli import main

CODEBOOK = """\
variables:
  respondent_id: {source_name: 问卷编号}
  gain_1: {source_name: A1, label: 社区服务让我的生活更方便了, construct: gain, scale: [1, 5],
           missing_codes: {8: 不知道, 9: 拒答}}
  gain_2: {source_name: A2, label: 我从社区建设中得到了实惠, construct: gain, scale: [1, 5],
           missing_codes: {8: 不知道, 9: 拒答}}
  name: {source_name: 姓名, privacy: direct_identifier}
  phone: {source_name: 手机号, privacy: direct_identifier}
"""


def survey_frame(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame({
        "问卷编号": [f"R{i:04d}" for i in range(n)],
        "社区编码": ["0012", "0034", "0056"] * (n // 3),
        "调查轮次": [1, 2] * (n // 2),
        "访问日期": ["2021-10-01", "2022-10-01"] * (n // 2),
        "性别": ["男", "女", "女"] * (n // 3),
        "年龄": [35 + i for i in range(n)],
        "户籍": ["本地户籍", "外地户籍"] * (n // 2),
        "A1": [4, 5, 3, 8] * (n // 4),
        "A2": [3, 4, 9, 5] * (n // 4),
        "姓名": ["张伟", "王芳", "李娜"] * (n // 3),
        "手机号": [f"139{i:08d}" for i in range(n)],
    })


def communities_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "社区编码": ["0012", "0034", "0056"], "社区名称": ["东湖社区", "西岭社区", "南桥社区"],
        "区（县）": ["示范区"] * 3, "街道（乡镇）": ["一街道"] * 3, "城乡类型": ["城市", "城市", "农村"],
        "常住人口": [5000, 6000, 3000], "户数": [1800, 2100, 1000],
    })


def write_small_study(folder: Path, *, survey: pd.DataFrame | None = None,
                      communities: pd.DataFrame | None = None, pilots: str | None = None,
                      extra: str = "") -> Path:
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    (communities if communities is not None else communities_frame()).to_csv(
        folder / "communities.csv", index=False, encoding="utf-8-sig")
    (survey if survey is not None else survey_frame()).to_csv(folder / "survey.csv", index=False,
                                                              encoding="utf-8")
    pilots = pilots or '  - {community: "0012", programme: 五社联动, start: 2022-03-01}\n'
    (folder / "study.yaml").write_text(textwrap.dedent("""\
        name: 小型测试研究
        codebook: codebook.yaml
        data:
          communities: communities.csv
          survey: survey.csv
        pilots:
        """) + pilots + "outcomes: [gain]\n" + extra, encoding="utf-8")
    return folder / "study.yaml"


def validate(path: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(path), "--lang", "en"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_small_study_is_valid(tmp_path, capsys):
    code, out = validate(write_small_study(tmp_path), capsys)
    assert code == 0, out
    assert "survey 12 rows" in out


def _survey_with(changes: dict) -> pd.DataFrame:
    df = survey_frame()
    for (col, idx), value in changes.items():
        df[col] = df[col].astype(object)
        df.loc[idx, col] = value
    return df


# (case id, how to break the survey: {(column, 0-based data index): value}, patterns the message must hold)
# data index i is CSV line i + 2 (the header is line 1)
SURVEY_CASES = [
    ("likert_out_of_range", {("A1", 3): 7},
     [r"survey\.csv", r"'A1' \(gain_1\)", r"row 5\b", r"outside 1–5", r"missing_codes"]),
    ("duplicate_respondent_id", {("问卷编号", 4): "R0001"},
     [r"survey\.csv", r"column respondent_id", r"rows 3, 6", r"unique"]),
    ("community_not_in_registry", {("社区编码", 6): "0099"},
     [r"survey\.csv", r"column community_id", r"row 8\b", r"0099", r"not in the registry"]),
    ("impossible_date", {("访问日期", 2): "2021-02-30"},
     [r"column interview_date", r"row 4\b", r"not valid dates", r"2021-02-30"]),
    ("excel_serial_date", {("访问日期", 9): "44470"},
     [r"column interview_date", r"row 11\b", r"Excel serial", r"2021-10-01"]),
    ("age_not_a_number", {("年龄", 1): "三十五"},
     [r"column age", r"row 3\b", r"not numbers", r"三十五"]),
    ("age_out_of_range", {("年龄", 5): 150},
     [r"column age", r"row 7\b", r"outside 14–110"]),
    ("bad_gender_code", {("性别", 7): "未知"},
     [r"column gender", r"row 9\b", r"not among the allowed", r"female, male"]),
    ("empty_required_cell", {("调查轮次", 10): ""},
     [r"column wave", r"row 12\b", r"must be filled"]),
    ("item_text_not_code", {("A2", 0): "很好"},
     [r"A2 \(gain_2\)", r"row 2\b", r"neither codes nor value labels"]),
]


@pytest.mark.parametrize(("changes", "patterns"), [c[1:] for c in SURVEY_CASES],
                         ids=[c[0] for c in SURVEY_CASES])
def test_survey_case(tmp_path, capsys, changes, patterns):
    code, out = validate(write_small_study(tmp_path, survey=_survey_with(changes)), capsys)
    assert code == 2, out
    for pattern in patterns:
        assert re.search(pattern, out), (pattern, out)


def test_missing_required_column(tmp_path, capsys):
    code, out = validate(write_small_study(tmp_path, survey=survey_frame().drop(columns=["调查轮次"])), capsys)
    assert code == 2
    assert "required column 'wave' (调查轮次) is missing" in out and "survey.csv" in out


def test_pilot_community_unknown_names_config_line(tmp_path, capsys):
    pilots = ('  - {community: "0012", programme: 五社联动, start: 2022-03-01}\n'
              '  - {community: "12", programme: 三社联动, start: 2022-03-01}\n')
    code, out = validate(write_small_study(tmp_path, pilots=pilots), capsys)
    assert code == 2
    assert "study.yaml, line 8, key 'pilots': community '12' is not in the community registry" in out


def test_comparison_community_is_a_pilot(tmp_path, capsys):
    code, out = validate(write_small_study(tmp_path, extra='comparison: ["0012", "0034"]\n'), capsys)
    assert code == 2
    assert "'0012' is a pilot and cannot be a comparison community" in out


def test_ids_that_lost_leading_zeros(tmp_path, capsys):
    df = survey_frame()
    df["社区编码"] = df["社区编码"].astype(int)  # as Excel would save them
    df.to_csv(tmp_path / "x.csv", index=False)
    code, out = validate(write_small_study(tmp_path, survey=df), capsys)
    assert code == 2
    assert "lost their leading zeros" in out


def test_unknown_column_with_phone_numbers_is_dropped_and_masked(tmp_path, capsys):
    df = survey_frame()
    df["联系电话"] = [f"158{i:08d}" for i in range(len(df))]
    code, out = validate(write_small_study(tmp_path, survey=df), capsys)
    assert code == 1, out  # a warning, no error: exit code 1
    assert "联系电话" in out and "mobile numbers" in out and "dropped" in out
    assert "15800000003" not in out


def test_all_problems_in_a_file_are_reported_together(tmp_path, capsys):
    df = _survey_with({("A1", 3): 7, ("年龄", 1): "三十五", ("性别", 7): "未知", ("社区编码", 6): "0099"})
    code, out = validate(write_small_study(tmp_path, survey=df), capsys)
    assert code == 2
    assert "4 error(s)" in out
    for col in ("gain_1", "column age", "column gender", "column community_id"):
        assert col in out


def test_personal_values_never_appear_in_messages(tmp_path, capsys):
    df = _survey_with({("A1", 3): 7})
    code, out = validate(write_small_study(tmp_path, survey=df), capsys)
    assert "张伟" not in out and "13900000000" not in out


def test_xlsx_survey_with_instructions_sheet_and_bad_cell(tmp_path, capsys):
    """An Excel survey: instructions sheet first, title row above the header, bad value on row 9."""
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active["A1"] = "请在“问卷数据”工作表中录入，每行一名受访者。"
    ws = wb.create_sheet("问卷数据")
    ws.append(["2022年居民问卷（录入表）"])
    df = _survey_with({("A1", 6): 6})
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    wb.save(tmp_path / "survey.xlsx")
    study = write_small_study(tmp_path)
    text = study.read_text(encoding="utf-8").replace("survey: survey.csv", "survey: survey.xlsx")
    study.write_text(text, encoding="utf-8")
    code, out = validate(study, capsys)
    assert code == 2, out
    # header on sheet row 2, so data index 6 is sheet row 9
    assert "survey.xlsx" in out and '"问卷数据"' in out and "row 9" in out and "gain_1" in out


def test_raw_files_are_never_modified(tmp_path, capsys):
    study = write_small_study(tmp_path, survey=_survey_with({("A1", 3): 7}))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    validate(study, capsys)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert before == after
