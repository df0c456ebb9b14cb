"""Display tables of the measurement report: every table exists in both languages, numbers unchanged."""

from __future__ import annotations

import warnings

import pytest

from evalkit.intake.load import load_study
from evalkit.measurement import measure
from evalkit.run.paths import demo_config
from evalkit.reporting.measurement_display import measurement_table


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    study = load_study(demo_config(tmp_path_factory.mktemp("demo")))
    assert study.sources["file"].tolist()[0] == "communities.csv"  # relative, no disk paths in reports
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data-quality notes are tested in tests/test_measurement.py
        return measure(study.survey, study.codebook, population=study.tables["population"],
                       constructs=list(study.config.outcomes))


@pytest.mark.parametrize("name", ["overview", "items", "efa", "weights", "means", "icc"])
def test_tables_in_both_languages(report, name):
    zh, en = measurement_table(report, name, "zh").frame, measurement_table(report, name, "en").frame
    assert len(zh) == len(en) > 0 and zh.shape == en.shape
    assert not any(c.isascii() and "_" in c for c in zh.columns), zh.columns


def test_numbers_are_not_changed(report):
    zh = measurement_table(report, "overview", "zh").frame
    alpha = report.to_frame()
    assert zh["α [95% 置信区间]"].tolist() == [
        f"{a:.2f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in zip(alpha["alpha"], alpha["alpha_ci_lower"],
                                                            alpha["alpha_ci_upper"], strict=True)]
    weights = measurement_table(report, "weights", "en").frame
    assert weights["N"].str.replace(",", "").astype(int).sum() == report.weighting.to_frame()["n_obs"].sum()
