"""The config keys for own data: per-file ``columns:``, several survey files, ``wave:``, ``waves:``."""

from __future__ import annotations

import datetime as dt

import pytest
from own_data_files import new_user_study

from evalkit.config import load_config
from evalkit.errors import ConfigError


@pytest.fixture
def study(tmp_path):
    path = new_user_study(tmp_path)
    (tmp_path / "问卷2.csv").write_bytes((tmp_path / "问卷.csv").read_bytes())
    return path


def _with(path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_sources_columns_and_wave_windows(study):
    _with(study, "  survey:\n    path: 问卷.csv\n",
          "  survey:\n    files:\n      - {path: 问卷.csv, wave: 1}\n      - {path: 问卷2.csv, wave: 2, "
          "columns: {问卷编号: respondent_id}}\n")
    _with(study, "waves: {1: 2020, 2: 2021, 3: 2022}", "waves: {1: [2020-09-01, 2020-12-31], 2: {from: 2021-09-01, to: 2021-12-31}, 3: 2022}")
    cfg = load_config(study)
    first, second = cfg.sources["survey"]
    assert cfg.data["survey"] is first and (first.wave, second.wave) == (1, 2)
    shared = {"社区编号": "community_id", "调查日期": "interview_date", "出生年份": "birth_year"}
    assert first.columns == shared  # the table's columns: apply to every file
    assert second.columns == {**shared, "问卷编号": "respondent_id"}
    assert [(w.wave, w.start, w.end) for w in cfg.waves] == [
        (1, dt.date(2020, 9, 1), dt.date(2020, 12, 31)), (2, dt.date(2021, 9, 1), dt.date(2021, 12, 31)),
        (3, dt.date(2022, 1, 1), dt.date(2022, 12, 31))]
    assert len(cfg.input_files()) == 5  # config, codebook, registry, two survey files


@pytest.mark.parametrize(("old", "new", "pattern"), [
    ("waves: {1: 2020, 2: 2021, 3: 2022}", "waves: {1: [2020-01-01, 2020-12-31], 2: [2020-06-01, 2021-05-31]}",
     r"line 14, key 'waves.2': wave 2 overlaps wave 1 \(line 14\)"),
    ("waves: {1: 2020, 2: 2021, 3: 2022}", "waves: {1: [2020-12-31, 2020-01-01]}",
     r"wave 1 ends \(2020-01-01\) before it starts"),
    ("waves: {1: 2020, 2: 2021, 3: 2022}", "waves: {first: 2020}", r"wave 'first' is not a whole number"),
    ("waves: {1: 2020, 2: 2021, 3: 2022}", "waves: {1: 20}", r"'20' is not a survey year"),
    ("  communities: 社区名单.csv", "  communities: {path: 社区名单.csv, wave: 1}", r"only survey files have a wave"),
    ("  communities: 社区名单.csv", "  communities: [社区名单.csv, 问卷.csv]",
     r"several files are listed for table 'communities'"),
    ("    path: 问卷.csv\n", "    files: [问卷.csv, 问卷.csv]\n", r"file '问卷.csv' is listed twice"),
    ("出生年份: birth_year}", "出生年份: birth_year, 调查年份: birth_year}",
     r"headers '出生年份' and '调查年份' are both mapped to 'birth_year'"),
])
def test_config_mistakes_name_line_key_and_fix(study, old, new, pattern):
    if "files:" in new:
        _with(study, "    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}\n", "")
    _with(study, old, new)
    with pytest.raises(ConfigError, match=pattern):
        load_config(study)
