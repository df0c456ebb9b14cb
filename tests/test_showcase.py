"""The showcase analysis: one pilot against a synthetic comparison, on the demo city.

The estimators themselves are checked against Arkhangelsky et al. (2021) Table 1 in
``tests/designs/test_synthetic_reference.py``; here: what the showcase adds around them —
the community-year panel it feeds them, the donors it chooses, a planted effect recovered
exactly, the p-value it leads with, reason codes instead of crashes, and the report's wording.
"""

from __future__ import annotations

import re
import shutil

import attrs
import numpy as np
import pandas as pd
import pytest

from evalkit.config import Showcase
from evalkit.errors import ConfigError, DataValidationError
from evalkit.intake.load import load_study
from evalkit.reporting import showcase_display as show
from evalkit.run.paths import demo_config
from evalkit.run.pipeline import report_templates
from evalkit.scales import score
from evalkit.showcase import analyse_showcase


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_config(tmp_path_factory.mktemp("demo_showcase"))


@pytest.fixture(scope="module")
def study(demo):
    return load_study(demo)


@pytest.fixture(scope="module")
def scored(study):
    return score(study.tables["survey"], study.codebook, constructs=list(study.config.outcomes))


@pytest.fixture(scope="module")
def report(study, scored):
    return analyse_showcase(study, scored=scored)


def test_demo_config_asks_for_a_last_cohort_pilot_and_synthetic_control(study, report):
    pilots = study.pilots.set_index("community_id")
    cid = study.config.showcase.community_id
    assert int(pilots.loc[cid, "start_year"]) == int(pilots["start_year"].max())  # most pre-start years
    assert report.method == "synthetic_control"
    assert report.pilot["years_before"] == [2020, 2021, 2022] and report.pilot["years_after"] == [2023, 2024]
    never = sorted(set(study.communities["community_id"]) - set(pilots.index))
    assert report.pilot["donors_offered"] == len(never) == 16
    assert (report.estimates["status"] == "estimated").all()
    assert set(report.results) == set(study.config.outcomes)


def test_the_panel_fed_to_the_estimator_is_the_community_year_mean(study, scored, report):
    cid = study.config.showcase.community_id
    gaps = report.result("gain").tables["gaps"].set_index("time")
    data = scored.assign(year=scored["survey_year"].astype(int))
    direct = data[data["community_id"] == cid].groupby("year")["gain"].mean()
    np.testing.assert_allclose(gaps["treated"].to_numpy(), direct.reindex(gaps.index).to_numpy(), rtol=1e-12)
    weights = report.weights("gain")
    assert weights["weight"].sum() == pytest.approx(1.0, abs=1e-9) and (weights["weight"] >= -1e-12).all()
    assert set(weights["unit"]) <= set(study.comparison_ids())


def test_a_planted_effect_is_recovered_exactly(study, scored, report):
    """Add δ to the pilot's residents after the start: the donor weights (fitted on the years
    before) do not move, so the synthetic-control effect moves by exactly δ, and so does the
    plain DiD; the effect-rank p-value can only fall."""
    cid = study.config.showcase.community_id
    start = report.pilot["start_year"]
    delta = 0.5
    after = (scored["community_id"] == cid) & (scored["survey_year"].astype(int) >= start)
    shifted = scored.assign(gain=scored["gain"].where(~after, scored["gain"] + delta))
    moved = analyse_showcase(study, scored=shifted, outcomes=["gain"])
    before = report.estimates.set_index("outcome").loc["gain"]
    now = moved.estimates.set_index("outcome").loc["gain"]
    assert now["estimate"] - before["estimate"] == pytest.approx(delta, abs=1e-9)
    did = lambda r: r.cross_check.set_index(["outcome", "design"]).loc[("gain", "did"), "estimate"]  # noqa: E731
    assert did(moved) - did(report) == pytest.approx(delta, abs=1e-9)
    pd.testing.assert_frame_equal(moved.weights("gain"), report.weights("gain"))
    assert now["p_value_effect"] <= before["p_value_effect"]
    # robustness: every leave-one-out refit moves by δ too; the in-time placebo uses no post-start year
    rob = lambda r, check: r.robustness[(r.robustness["outcome"] == "gain") & (r.robustness["check"] == check)]  # noqa: E731
    np.testing.assert_allclose(rob(moved, "leave_one_out")["estimate"].to_numpy()
                               - rob(report, "leave_one_out")["estimate"].to_numpy(), delta, atol=1e-9)
    np.testing.assert_allclose(rob(moved, "in_time_placebo")["estimate"], rob(report, "in_time_placebo")["estimate"],
                               atol=1e-12)
    assert now["p_value_effect"] == pytest.approx(1 / 17)  # larger than every placebo: the floor 1/(J + 1)


def test_robustness_checks_are_the_referees(report, study):
    """Leave-one-out: one refit per donor carrying weight, none with the dropped donor; in-time
    placebo: the start moved to the last pre-start year (2022)."""
    rob = report.robustness
    for outcome in study.config.outcomes:
        weighted = report.weights(outcome).query("weight >= 0.005")["unit"]
        loo = rob[(rob["outcome"] == outcome) & (rob["check"] == "leave_one_out")]
        assert sorted(loo["dropped"]) == sorted(weighted)
        placebo = rob[(rob["outcome"] == outcome) & (rob["check"] == "in_time_placebo")]
        assert placebo["start"].tolist() == [2022]
    # three pre-start years and sixteen donors: the pre-period fit is exact for some outcomes, and flagged
    exact = report.estimates[report.estimates["pre_rmspe"] < 1e-6]
    assert len(exact) and exact["flags"].str.contains("exact_pre_fit").all()


def test_few_pre_years_lead_with_the_effect_rank_p_value(report):
    """Three pre-start years and 16 donors: placebo pre-fits are nearly exact, the RMSPE ratios
    explode, so the report leads with the effect-rank p-value and flags why."""
    est = report.estimates
    assert (est["headline_p"] == "effect_rank").all()
    assert (est["p_value"] == est["p_value_effect"]).all()
    assert est["flags"].str.contains("few_pre_periods").all() and est["flags"].str.contains("p_value_floor").all()
    assert ((est["p_value_effect"] >= 1 / 17 - 1e-12) & (est["p_value_effect"] <= 1)).all()


def test_synthetic_did_when_the_config_asks(study, scored):
    r = analyse_showcase(study, scored=scored, outcomes=["gain"],
                         showcase=Showcase(study.config.showcase.community_id, "synthetic_did"))
    row = r.estimates.iloc[0]
    sdid = r.cross_check.set_index("design").loc["synthetic_did"]
    assert row["method"] == "synthetic_did" and row["estimate"] == pytest.approx(sdid["estimate"])
    assert bool(sdid["chosen"]) and r.result("gain").kind == "synthetic_did"


def test_thin_donor_cells_are_left_out_and_named(study, scored):
    """A donor whose year has fewer answering residents than min_respondents is not fitted."""
    cid = study.config.showcase.community_id
    donor = sorted(set(study.communities["community_id"]) - set(study.pilots["community_id"]))[0]
    drop = scored.index[(scored["community_id"] == donor) & (scored["survey_year"].astype(int) == 2021)][5:]
    r = analyse_showcase(study, scored=scored.drop(index=drop), outcomes=["gain"], showcase=cid)
    assert r.pilot["dropped_donors"]["gain"] == [donor]
    assert donor not in set(r.weights("gain")["unit"])
    assert "donors_dropped" in r.estimates["flags"].iloc[0] and int(r.estimates["n_donors"].iloc[0]) == 15


def test_a_pilot_without_a_usable_year_is_a_reason_not_a_crash(study, scored):
    cid = study.config.showcase.community_id
    thin = scored.drop(index=scored.index[(scored["community_id"] == cid)
                                          & (scored["survey_year"].astype(int) == 2020)][3:])
    r = analyse_showcase(study, scored=thin, outcomes=["gain", "belonging"])
    assert (r.estimates["status"] == "not_estimable").all()
    assert (r.estimates["reason"] == "pilot_cells_missing").all() and r.results == {}
    table = show.showcase_main_table(r, study, "zh")
    assert table.frame.empty and any("无法估计" in n for n in table.note_lines())


def test_showcase_must_name_a_pilot(study):
    with pytest.raises(ConfigError, match="not a pilot"):
        analyse_showcase(study, showcase=sorted(study.comparison_ids())[0])
    with pytest.raises(ConfigError, match="no showcase pilot"):
        analyse_showcase(attrs.evolve(study, config=attrs.evolve(study.config, showcase=None)))


def test_config_naming_a_comparison_community_is_refused_at_intake(demo, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(demo.parent, folder)
    config = folder / "study.yaml"
    text = config.read_text(encoding="utf-8")
    comparison = sorted(set(pd.read_csv(folder / "communities.csv", dtype=str).iloc[:, 0])
                        - set(pd.read_csv(folder / "pilots.csv", dtype=str, encoding="gbk").iloc[:, 0]))[0]
    pilot = re.search(r'community: "(\d+)"', text).group(1)
    config.write_text(text.replace(f'community: "{pilot}"', f'community: "{comparison}"'), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_study(config)
    message = str(info.value)
    assert f"'{comparison}' is not a pilot" in message and "line " in message and "showcase" in message


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_blocks_speak_the_report_language(report, study, lang):
    tables = [show.showcase_facts_table(report, study, lang), show.showcase_main_table(report, study, lang),
              show.showcase_cross_table(report, study, lang), show.showcase_weights_table(report, study, lang),
              show.showcase_robustness_table(report, study, lang),
              show.showcase_truth_table(report, study, lang)[0]]
    for table in tables:
        assert not table.frame.empty
        cells = " ".join([*map(str, table.frame.columns), *table.frame.astype(str).to_numpy().ravel()])
        codes = ("community_id", "synthetic_control", "start_year", "pre_rmspe", "n_donors", "nan", "None")
        codes += ("gain", "belonging", "participation") if lang == "zh" else ()  # English labels use these words
        for code in codes:
            assert not re.search(rf"\b{code}\b", cells), (table.title, code)
    summary = show.showcase_summary(report, study, lang)
    limits = show.showcase_limitations(report, study, lang)
    body = summary + " ".join(limits)
    if lang == "zh":
        assert "合成控制法" in summary and "0.059" in summary
    else:  # one language: not even the registry's Chinese place names
        tables_text = " ".join(" ".join([*map(str, t.frame.columns), *t.frame.astype(str).to_numpy().ravel(),
                                         t.title, *t.note_lines()]) for t in tables)
        assert "synthetic control" in summary
        assert not re.search(r"[\u4e00-\u9fff]", body + tables_text + show.showcase_title(report, study, lang))
    weights = show.showcase_weights_table(report, study, lang).frame
    sums = weights.drop(columns=weights.columns[0]).replace("—", "0").astype(float).sum()
    assert ((sums >= 97) & (sums <= 103)).all()  # whole per cents of weights that sum to 1


def test_truth_table_on_the_demo(report, study):
    table, facts = show.showcase_truth_table(report, study, "en")
    assert set(facts) == set(study.config.outcomes)
    # the gain effect planted for the 2023 cohort (mean over 2023–2024) lies in the pilot's interval
    assert facts["gain"]["covered"] and 0.15 < facts["gain"]["true_cohort_effect"] < 0.3
    assert facts["security"]["true_cohort_effect"] == 0


def test_showcase_template_is_made_only_when_the_config_asks(study):
    names = [t.name for t in report_templates(config=study.config)]
    assert names[-1] == "05_showcase.ipynb"
    plain = attrs.evolve(study.config, showcase=None)
    assert "05_showcase.ipynb" not in [t.name for t in report_templates(config=plain)]
    assert "05_showcase.ipynb" in [t.name for t in report_templates()]  # no config: every template


def test_unknown_ordered_logit_item_is_named_at_intake(demo, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(demo.parent, folder)
    config = folder / "study.yaml"
    text = config.read_text(encoding="utf-8").replace("ordered_logit: {}", "ordered_logit: {items: [gain_01]}")
    config.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"designs.ordered_logit.items.*'gain_01'.*Did you mean gain_1"):
        load_study(config)


def test_one_donor_is_too_few_and_the_summary_says_what_to_do(study, scored):
    cid = study.config.showcase.community_id
    donor = sorted(set(study.communities["community_id"]) - set(study.pilots["community_id"]))[0]
    r = analyse_showcase(study, scored=scored, outcomes=["gain"], showcase=Showcase(cid, donors=(donor,)))
    assert r.estimates["reason"].tolist() == ["too_few_donors"] and r.results == {}
    summary = show.showcase_summary(r, study, "zh")
    assert "无法为" in summary and "至少需要 2 个" in summary and "区间" not in summary
    assert show.showcase_trajectory_figure(r, study, "zh") is None and show.showcase_gap_figure(r, study, "en") is None


def test_weighted_community_means_are_stated_in_the_table_notes(study, scored):
    cid = study.config.showcase.community_id
    weighted = analyse_showcase(study, scored=scored.assign(w=1.0), weights="w", outcomes=["gain"], showcase=cid)
    plain = analyse_showcase(study, scored=scored, outcomes=["gain"], showcase=cid)
    assert weighted.estimates["estimate"].iloc[0] == pytest.approx(plain.estimates["estimate"].iloc[0], abs=1e-12)
    assert show.showcase_main_table(weighted, study, "en").weighted == "yes"
    assert show.showcase_main_table(plain, study, "en").weighted == "no"
