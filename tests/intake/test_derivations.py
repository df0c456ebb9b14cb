"""Derived columns (wave, survey year, age, age band) and optional columns that degrade gracefully.

Known truth: every expected age is computed here by hand from the fixture's own dates
(completed years for birth dates; interview year − birth year for birth years).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from own_data_files import CODEBOOK, hashes, registry_csv, survey_frame, write_study

from evalkit import load_study
from evalkit.intake import validate_report
from evalkit.intake.derive import age_band_of

MAPPED = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"


def _frame(n: int = 6) -> pd.DataFrame:
    return survey_frame(waves=((1, 2020),), per=1).drop(columns="_wave").head(n).copy()


def test_age_from_birth_year_and_interview_date(tmp_path):
    registry_csv(tmp_path)
    frame = _frame()
    frame["调查日期"] = ["2020-10-01", "2021-01-15", "2020-12-31", "2021-06-30", "2020-09-09", "2021-03-03"]
    frame["出生年份"] = [1950, 1980, 2002, 1930, 1990, 1961]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    study = load_study(write_study(tmp_path, MAPPED, extra="waves: {1: [2020-09-01, 2021-08-31]}\n"))
    assert study.survey["age"].tolist() == [70, 41, 18, 91, 30, 60]
    assert study.survey["age_band"].tolist() == ["60+", "35-59", "18-34", "60+", "18-34", "60+"]
    assert study.survey["survey_year"].tolist() == [2020, 2021, 2020, 2021, 2020, 2021]
    assert study.survey["wave"].tolist() == [1] * 6
    facts = {d.column: d for d in study.derivations}
    assert facts["age"].method == "age_from_birth_year" and facts["age"].sources == ("birth_year", "interview_date")
    assert (facts["age"].n_rows, facts["age"].n_missing) == (6, 0)
    assert facts["wave"].method == "wave_from_interview_date"
    frame_of = study.derivations_frame()
    assert list(frame_of.columns) == ["table", "column", "method", "sources", "n_rows", "n_missing", "file"]


def test_age_from_birth_date_counts_completed_years(tmp_path):
    registry_csv(tmp_path)
    frame = _frame(4).drop(columns="出生年份")
    frame["调查日期"] = ["2021-10-15", "2021-10-15", "2021-10-15", "2021-02-28"]
    frame["出生日期"] = ["1960-10-15", "1960-10-16", "1999-12-31", "1980-02-29"]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 调查日期: interview_date}"
    study = load_study(write_study(tmp_path, entry, extra="waves: {1: 2021}\n"))
    # birthday on the day: 61; one day short: 60; 21 and, born on 29 Feb, not yet 41 on 28 Feb
    assert study.survey["age"].tolist() == [61, 60, 21, 40]
    assert "birth_date" not in study.survey.columns  # the exact birth date is not kept
    assert next(d for d in study.derivations if d.column == "age").method == "age_from_birth_date"


def test_age_band_edges():
    ages = pd.Series([17, 18, 34, 35, 59, 60, None], dtype="Int64")
    assert age_band_of(ages).tolist()[:6] == [pd.NA, "18-34", "18-34", "35-59", "35-59", "60+"]
    assert pd.isna(age_band_of(ages).iloc[6])


def test_wave_from_windows_rows_outside_are_errors_with_rows(tmp_path):
    registry_csv(tmp_path)
    frame = _frame()
    frame["调查日期"] = ["2020-10-01", "2021-10-01", "2020-11-30", "2022-01-05", "2021-09-01", "2020-09-01"]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    extra = "waves: {1: [2020-09-01, 2020-12-31], 2: [2021-09-01, 2021-12-31]}\n"
    study_path = write_study(tmp_path, MAPPED, extra=extra)
    before = hashes(tmp_path)
    report = validate_report(study_path)
    err = next(p for p in report.errors if p.check == "wave_not_derived")
    assert err.rows == (5,) and "问卷.csv, column wave, row 5: 1 row(s) have no wave" in err.message
    assert "values: 2022-01-05" in err.message and "Widen the windows under waves: in study.yaml" in err.message
    assert hashes(tmp_path) == before


def test_no_interview_dates_survey_year_from_waves_and_date_checks_skipped(tmp_path):
    registry_csv(tmp_path)
    frame = _frame().drop(columns="调查日期")
    frame["轮次"] = [1, 1, 2, 2, 3, 3]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 轮次: wave, 出生年份: birth_year}"
    study_path = write_study(tmp_path, entry, extra="waves: {1: 2020, 2: 2021, 3: 2022}\n")
    study = load_study(study_path)
    assert study.survey["survey_year"].tolist() == [2020, 2020, 2021, 2021, 2022, 2022]
    assert study.survey["age"].tolist() == (study.survey["survey_year"] - frame["出生年份"].to_numpy()).tolist()
    assert study.unavailable["interview_date"] == ("date_checks",)
    assert any(d.method == "survey_year_from_wave_window" for d in study.derivations)


def test_no_dates_and_no_waves_says_which_analysis_needs_the_year(tmp_path):
    registry_csv(tmp_path)
    frame = _frame().drop(columns="调查日期")
    frame["轮次"] = [1, 1, 2, 2, 3, 3]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    entry = "\n    path: 问卷.csv\n    columns: {社区编号: community_id, 轮次: wave, 出生年份: birth_year}"
    report = validate_report(write_study(tmp_path, entry))
    text = report.render()
    assert report.exit_code == 2
    assert "survey year is unknown (needed by impact estimation" in text
    assert "age cannot be computed from birth_year without the survey year" in text


def test_derived_age_out_of_range_names_file_and_row(tmp_path):
    registry_csv(tmp_path)
    frame = _frame()
    frame["出生年份"] = [1950, 2015, 1980, 1880, 1990, 1960]
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    report = validate_report(write_study(tmp_path, MAPPED, extra="waves: {1: 2020}\n"))
    text = report.render()
    assert re.search(r"问卷\.csv, column birth_year, row 5: 1 value\(s\) outside 1900–2100 \(values: 1880\)", text)
    assert re.search(r"问卷\.csv, column age \(derived\), row 3: 1 derived age\(s\) outside 14–110 \(values: 5\)",
                     text)


@pytest.mark.parametrize("drop", ["hukou", "gender"])
def test_optional_column_absent_is_a_notice_naming_the_analyses(tmp_path, drop):
    registry_csv(tmp_path)
    frame = _frame()
    codebook = CODEBOOK
    if drop == "gender":
        frame = frame.drop(columns="性别")
        codebook = "\n".join(line for line in CODEBOOK.splitlines() if "性别" not in line) + "\n"
    else:
        frame["户口"] = ["本地", "外地"] * 3  # a synonym: suggested, not applied
    frame.to_csv(tmp_path / "问卷.csv", index=False)
    report = validate_report(write_study(tmp_path, MAPPED, codebook=codebook, extra="waves: {1: 2020}\n"))
    note = next(p for p in report.notices if p.check == "optional_column_absent" and p.column == drop)
    assert "weighting (raking margin), subgroup analysis, baseline balance table leave it out" in note.message
    if drop == "hukou":
        assert "The header '户口' may be it: if so, add `户口: hukou`" in note.message
    assert report.exit_code in (0, 1)


def test_all_empty_optional_column_counts_as_absent(tmp_path):
    registry_csv(tmp_path)
    _frame().assign(性别="").to_csv(tmp_path / "问卷.csv", index=False)
    report = validate_report(write_study(tmp_path, MAPPED, extra="waves: {1: 2020}\n"))
    assert report.exit_code == 0, report.render()
    assert report.unavailable["gender"] == ("raking_margin", "subgroup", "balance")
