"""The issue's bar: a new user's study runs end to end after ``evalkit init`` and a few edits.

Different headers (社区编号, 调查日期), 出生年份 instead of age, gender coded 1/2, no 户籍
question, a registry with only 社区编码/社区名称, no population margins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from own_data_files import edit_starter, hashes, personal_values, registry_csv, survey_frame

from evalkit import run_study
from evalkit.intake import init_study, validate_report


@pytest.mark.slow
def test_new_user_study_runs_end_to_end_after_init(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    frame = survey_frame()
    frame.drop(columns="_wave").to_csv(raw / "问卷.csv", index=False, encoding="gb18030")
    registry_csv(raw)
    before = hashes(raw)
    study_path = init_study(tmp_path / "study", [raw / "问卷.csv", raw / "社区名单.csv"])
    edit_starter(study_path, outcomes="[satisfaction, belonging]", waves="{1: 2020, 2: 2021, 3: 2022}",
                  constructs={**{f"满意{j}": "satisfaction" for j in range(1, 5)},
                              **{f"归属{j}": "belonging" for j in range(1, 4)}})
    report = validate_report(study_path)
    assert report.exit_code == 0, report.render()
    assert report.unavailable["hukou"] == ("raking_margin", "subgroup", "balance")

    summary = run_study(study_path, reports=tmp_path / "reports", run_id="t")
    assert [p.name for p in summary.html] == ["01_data_quality.html", "02_measurement.html", "03_impact.html",
                                              "04_programme.html"]
    results = summary.results
    assert set(results["impact"]["estimates"]) == {"satisfaction", "belonging"}
    dq = (summary.folder / "01_data_quality.html").read_text(encoding="utf-8")
    assert "由出生年份推算" in dq or "访问年份减出生年份" in dq  # the derivations are listed
    measurement = (summary.folder / "02_measurement.html").read_text(encoding="utf-8")
    assert "未加权" in measurement  # no population margins: stated
    impact = (summary.folder / "03_impact.html").read_text(encoding="utf-8")
    assert "问卷未包含户籍" in impact  # no hukou: the subgroup analysis says so
    manifest = json.loads((summary.folder / "manifest.json").read_text(encoding="utf-8"))
    outputs = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in summary.folder.rglob("*")
                      if p.is_file() and p.suffix in {".html", ".json", ".csv"})
    for value in personal_values(frame):
        assert value not in outputs
    # inputs are recorded relative to the study's folder (no user names or absolute paths)
    assert os.path.relpath(raw / "问卷.csv", Path(study_path).parent) in manifest["inputs"]
    assert hashes(raw) == before
