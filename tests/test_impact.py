"""The impact analysis on the demo city recovers the known true effects.

The demo city (``evalkit.datasets.demo``) is generated with known effects on every construct
(zero for 安全感); ``truth_comparison`` aggregates the truth exactly as the main estimate
aggregates ATT(g, t). These are fixed-seed checks: with seed 20240901 every 95% interval
covers its true value.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evalkit.impact import (
    ImpactReport,
    balance_table,
    community_year_panel,
    estimate_impact,
    stacked_survey,
    truth_comparison,
)
from evalkit.intake.load import load_study
from evalkit.run.paths import demo_config
from evalkit.reporting.impact_display import impact_table
from evalkit.scales import score
from evalkit.testing import assert_result_close


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return load_study(demo_config(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="module")
def report(study):
    return estimate_impact(study, draws=199)


def test_main_estimates_cover_the_true_effects(report, study):
    truth = pd.read_csv(study.config.folder / "truth.csv")
    table = truth_comparison(report, truth, study)
    assert table["covered"].all(), table
    se = report.estimates.set_index("outcome")["std_error"]
    assert ((table["estimate"] - table["true_effect"]).abs() < 3 * table["outcome"].map(se)).all()
    security = report.estimates.set_index("outcome").loc["security"]
    assert security["ci_lower"] < 0 < security["ci_upper"]  # the null effect is not "found"


def test_guardrail_facts_are_reported(report):
    est = report.estimates
    assert (est["n_clusters"] == 48).all() and (est["n_treated_clusters"] == 32).all()
    assert set(est["inference"]) <= {"multiplier_bootstrap", "wild_bootstrap", "randomization", "cr2"}
    assert any("48" in line for line in report.limitations("zh"))
    assert any("synthetic" in line for line in report.limitations("en"))


def test_twfe_differs_from_cs_and_heterogeneity_found(report):
    gain = report.robustness[report.robustness["outcome"] == "gain"].set_index("design")
    assert gain.loc["twfe", "estimate"] < gain.loc["cs_never_treated", "estimate"]
    sub = report.subgroups[(report.subgroups["by"] == "age_band") & (report.subgroups["outcome"] == "gain")]
    effects = sub.set_index("term")["estimate"]
    assert effects["treat:post[60_plus]"] > effects["treat:post[under_60]"]  # as the demo DGP says


def test_report_round_trips_and_displays(report, study):
    d = report.to_dict()
    json.dumps(d)
    assert_result_close(ImpactReport.from_dict(d), report)
    assert ImpactReport.from_dict(d).caveats == report.caveats
    for name in ("main", "design", "balance", "robustness", "subgroups", "many_outcomes"):
        zh, en = impact_table(report, study, name, "zh").frame, impact_table(report, study, name, "en").frame
        assert len(zh) == len(en) > 0
    assert "获得感" in impact_table(report, study, "main", "zh").frame.iloc[:, 0].tolist()
    many = impact_table(report, study, "many_outcomes", "en").frame.iloc[:, 0].tolist()
    assert "summary index (Kling–Liebman–Katz 2007, equal weights)" in many
    assert not any("Anderson" in str(t) for t in many)


def test_sensitivity_facts_are_reported(report):
    """HonestDiD intervals widen with M̄ and contain the event-study average; the pre-test's
    minimal detectable trend is positive; the display has one row per outcome."""
    from evalkit.reporting.impact_display import sensitivity_table

    power = report.pretrend_power.set_index("outcome")
    assert set(power.index) == set(report.estimates["outcome"])
    assert (power["mdv_80"] > power["mdv_50"]).all() and (power["mdv_50"] > 0).all()
    for outcome, rows in report.sensitivity.groupby("outcome"):
        rm = rows[rows["restriction"] == "relative_magnitude"].sort_values("m")
        assert (np.diff((rm["ci_upper"] - rm["ci_lower"]).to_numpy()) >= -1e-12).all()
        est = power.loc[outcome, "estimate"]
        assert (rm["ci_lower"] <= est).all() and (est <= rm["ci_upper"]).all()
    zh, en = sensitivity_table(report, "zh"), sensitivity_table(report, "en")
    assert len(zh) == len(en) == len(report.estimates)


def test_stacked_survey_definitions(study):
    scored = score(study.survey, study.codebook, constructs=["gain"])
    stacked = stacked_survey(scored, study)
    cohorts = sorted(study.pilots["start_year"].astype(int).unique())
    assert sorted(stacked["stack"].unique()) == cohorts
    never = set(study.comparison_ids())
    per_stack = stacked[stacked["community_id"].isin(never)].groupby("stack").size()
    n_never = scored["community_id"].isin(never).sum()
    assert (per_stack == n_never).all()  # comparison residents appear once in every stack
    treated = stacked[stacked["treat"] == 1]
    assert (treated["post"] == (treated["year"] >= treated["stack"])).all()


def test_panel_weights_are_honoured(study):
    scored = score(study.survey, study.codebook, constructs=["gain"])
    rng = np.random.default_rng(1)
    scored["w"] = rng.uniform(0.2, 5, len(scored))
    scored["w10"] = scored["w"] * 10
    plain = community_year_panel(scored, study, ["gain"])
    weighted = community_year_panel(scored, study, ["gain"], weights="w")
    scaled = community_year_panel(scored, study, ["gain"], weights="w10")
    np.testing.assert_allclose(weighted["gain"], scaled["gain"], rtol=1e-12)
    assert not np.allclose(weighted["gain"], plain["gain"])


def test_balance_smd_formula(study):
    scored = score(study.survey, study.codebook, constructs=["gain"])
    table = balance_table(scored, study, ["gain"]).set_index("variable")
    base = scored[scored["wave"] == 1]
    pilot = base["community_id"].isin(study.pilots["community_id"])
    t, c = base.loc[pilot, "age"].astype(float), base.loc[~pilot, "age"].astype(float)
    expected = (t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2)
    assert table.loc["age", "smd"] == pytest.approx(expected)
