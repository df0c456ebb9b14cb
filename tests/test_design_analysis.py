"""The further designs of the impact report (:mod:`evalkit.design_analysis`) on the demo city.

Known truth: the demo city plants effects on every construct (none on 安全感 security);
:func:`design_truth` aggregates them for each row's own estimand (community-level ATT: the
effect in the last wave averaged over the pilots; multilevel and pre-post: the overall ATT over
treated respondent-waves). Fixed seed 20240901. The estimators themselves are checked against
R (MatchIt, lme4, ordinal, clubSandwich) in ``tests/designs``; here the specifications and the
report are checked.
"""

from __future__ import annotations

import json
import re

import attrs
import numpy as np
import pandas as pd
import pytest

from evalkit.config import DesignChoice
from evalkit.design_analysis import (DesignsReport, community_changes, design_truth, evaluate_designs,
                                     resident_frame, truth_file)
from evalkit.impact import ImpactReport
from evalkit.intake.load import load_study
from evalkit.reporting.design_display import (add_design_checks, design_balance_table, designs_summary_table,
                                              designs_variance_table)
from evalkit.reporting.document import ReportDocument
from evalkit.run.paths import demo_config
from evalkit.scales import score
from evalkit.testing import assert_result_close

ALL = (DesignChoice("matching", {"replace": True}), DesignChoice("weighting", {"method": "aipw"}),
       DesignChoice("multilevel", {"random_slope": True}), DesignChoice("ordered_logit", {}),
       DesignChoice("pre_post", {}))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return load_study(demo_config(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="module")
def report(study):
    return evaluate_designs(study, designs=ALL)


@pytest.fixture(scope="module")
def rows(report, study):
    est = report.estimates.assign(truth=design_truth(report, truth_file(study), study))
    return est.set_index(["design", "outcome"])


def test_the_demo_asks_for_designs_and_every_row_is_there(study, report):
    assert [d.name for d in study.config.designs] == ["matching", "weighting", "multilevel", "ordered_logit"]
    assert report.designs == tuple(d.name for d in ALL)
    assert len(report.estimates) == len(ALL) * len(study.config.outcomes)
    assert (report.estimates.groupby("design").size() == len(study.config.outcomes)).all()


@pytest.mark.parametrize("design", ["matching", "weighting"])
def test_community_designs_recover_the_truth(rows, study, design):
    """Matched / weighted DiD on community changes: within 3 SE of the last-wave ATT for every
    outcome, and the null effect on security is not found. (AIPW estimates the ATE; the demo
    defines no effect for comparison communities, so it is held against the ATT truth, which
    the demo's moderate heterogeneity keeps close.)"""
    part = rows.loc[design]
    truth = rows.loc["matching", "truth"]  # the ATT at the last wave
    assert (part["status"] == "ok").all()
    assert ((part["estimate"] - truth).abs() < 3 * part["std_error"]).all(), part[["estimate", "std_error"]]
    assert part.loc["security", "ci_lower"] < 0 < part.loc["security", "ci_upper"]
    assert (part["n_treated"] == 32).all() and (part["n_comparison"] == 16).all()
    assert truth.loc["gain"] == pytest.approx((0.37950 * 10 + 0.36706 * 12 + 0.28696 * 10) / 32, abs=1e-4)


def test_matching_on_the_baseline_level_creates_regression_to_the_mean(study):
    """Daw & Hatfield (2018): the module docstring's reason for leaving the baseline level out."""
    choice = (DesignChoice("matching", {"replace": True}),)
    with_level = evaluate_designs(study, designs=choice, outcomes=["security"], match_baseline_outcome=True)
    r = with_level.estimates.iloc[0]
    assert r["ci_lower"] > 0  # a "significant" effect where the truth is 0
    assert "baseline_outcome" in with_level.specification["covariates"].iloc[0]


def test_multilevel_is_near_the_overall_truth(rows, report):
    """treat × post with year effects: within 0.07 points of the overall ATT (it weights early,
    smaller effects more, as two-way fixed effects do under growing effects) and security ≈ 0."""
    part = rows.loc["multilevel"]
    assert ((part["estimate"] - part["truth"]).abs() < 0.07).all(), part[["estimate", "truth"]]
    assert part.loc["security", "ci_lower"] < 0 < part.loc["security", "ci_upper"]
    icc = report.icc.pivot(index="outcome", columns="measure", values="value")
    assert ((icc["icc_adjusted"] > 0.02) & (icc["icc_adjusted"] < 0.2)).all()
    slope = report.variance_components
    assert ((slope["term_1"] == "pilot_post") & (slope["term_2"] == "pilot_post")).sum() == 6


def test_ordered_logit_direction_and_binary_items(rows):
    part = rows.loc["ordered_logit"]
    for o in ("gain", "belonging", "satisfaction"):
        assert part.loc[o, "ci_lower"] > 1, o  # odds ratios: improvement
    assert part.loc["security", "ci_lower"] < 1 < part.loc["security", "ci_upper"]
    assert part.loc["participation", "status"] == "not_estimable"
    assert part.loc["participation", "caveats"] == "item_not_ordinal"


def test_pre_post_is_labelled_the_weakest_and_picks_up_the_trend(rows):
    part = rows.loc["pre_post"]
    assert part["caveats"].str.contains("pre_post_no_comparison").all()
    assert (part["n_comparison"] == 0).all()
    # no comparison group: the secular trend is counted as effect (security: truth 0)
    assert part.loc["security", "ci_lower"] > 0


def test_community_changes_match_a_direct_computation(study):
    """The change outcome equals last-wave minus first-wave community means of the scores."""
    scored = score(study.tables["survey"], study.codebook, constructs=["gain"])
    frame, facts = community_changes(scored, study, ["gain"])
    assert (facts["baseline_year"], facts["last_year"], facts["n_started_before_baseline"]) == (2020, 2024, 0)
    means = scored.groupby(["community_id", "survey_year"])["gain"].mean().unstack()
    direct = (means[2024] - means[2020]).reindex(frame["community_id"])
    np.testing.assert_allclose(frame["change_gain"], direct.to_numpy(), rtol=1e-12)
    assert set(frame.loc[frame["treat"] == 0, "community_id"]) == set(study.comparison_ids())
    residents = resident_frame(scored, study)
    start = study.pilots.set_index("community_id")["start_year"].astype(float)
    expect = residents["survey_year"] >= residents["community_id"].map(start).fillna(np.inf)
    assert (residents["pilot_post"] == expect.astype(int)).all()


def test_pilots_started_before_baseline_are_left_out(study):
    pilots = study.pilots.copy()
    first = pilots["community_id"].iloc[0]
    pilots.loc[pilots.index[0], "start_year"] = 2020  # started in the baseline year
    moved = attrs.evolve(study, tables={**study.tables, "pilots": pilots})
    scored = score(study.tables["survey"], study.codebook, constructs=["gain"])
    frame, facts = community_changes(scored, moved, ["gain"])
    assert facts["n_started_before_baseline"] == 1 and first not in set(frame["community_id"])
    rep = evaluate_designs(moved, designs=(DesignChoice("matching", {"replace": True}),), outcomes=["gain"],
                           scored=scored)
    assert "pilots_started_before_baseline" in rep.estimates["caveats"].iloc[0]
    assert rep.estimates["n_treated"].iloc[0] == 31


def test_a_design_that_cannot_be_estimated_gives_a_reason_code(study):
    one = attrs.evolve(study, config=attrs.evolve(study.config, comparison=(study.comparison_ids()[0],)))
    rep = evaluate_designs(one, designs=(DesignChoice("matching", {}), DesignChoice("pre_post", {})),
                           outcomes=["gain"])
    m = rep.estimates.set_index("design")
    assert m.loc["matching", "status"] == "not_estimable" and m.loc["matching", "caveats"] == "too_few_comparison"
    assert np.isnan(m.loc["matching", "estimate"]) and m.loc["pre_post", "status"] == "ok"
    other = evaluate_designs(study, designs=(DesignChoice("weighting", {"method": "entropy"}),
                                             DesignChoice("matching", {"caliper": 0.0001})), outcomes=["gain"])
    codes = other.estimates.set_index("design")["caveats"]
    # entropy balancing cannot reach the pilots' means with 16 comparison communities
    assert codes["weighting"] == "did_not_converge"
    assert codes["matching"] == "not_identified"  # a caliper nobody fits in
    wrong = evaluate_designs(study, designs=(DesignChoice("weighting", {"method": "aipw", "estimand": "ATT"}),),
                             outcomes=["gain"])
    assert wrong.estimates["caveats"].iloc[0] == "estimand_not_offered"


def test_no_designs_shows_nothing(study):
    empty = evaluate_designs(attrs.evolve(study, config=attrs.evolve(study.config, designs=())))
    assert empty.is_empty and empty.estimates.empty
    assert empty.published() == {} and empty.results_entry() == {}
    doc = ReportDocument(name="t", lang="zh", title="t", show=False)
    before = len(doc.blocks)
    add_design_checks(doc, empty, None, study, "zh")
    assert len(doc.blocks) == before and doc.table_count == 0


_CODE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\bpilot_post\b|\bATT\b(?=:)|nan")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tables_are_in_words_not_codes(report, study, lang):
    impact = _main_rows(study)
    doc = ReportDocument(name="t", lang=lang, title="t", show=False)
    add_design_checks(doc, report, impact, study, lang)
    tables = [b for b in doc.blocks if b["kind"] == "table"]
    figures = [b for b in doc.blocks if b["kind"] == "figure"]
    assert [t["number"] for t in tables] == [1, 2, 3, 4] and [f["number"] for f in figures] == [1, 2]
    assert all(t["label"] == ("表 {}" if lang == "zh" else "Table {}").format(t["number"]) for t in tables)
    for t in tables:
        text = " ".join([t["title"], *t["columns"], *(c for row in t["rows"] for c in row), *t["notes"]])
        assert not _CODE.search(text), (_CODE.search(text), t["title"])
        if lang == "zh":
            assert all(re.search(r"[\u4e00-\u9fff]", c) for c in t["columns"])
    summary = designs_summary_table(report, impact, study, lang)
    assert len(summary.frame) == len(report.estimates) + len(impact.estimates)
    main_label = "交错双重差分" if lang == "zh" else "Staggered DiD"
    assert summary.frame.iloc[0, 1].startswith(main_label)
    assert design_balance_table(report, study, "matching", lang).frame.shape[0] == 4
    assert designs_variance_table(report, study, lang).frame.shape == (6, 7)


def test_results_are_json_and_round_trip(report):
    assert set(report.published()) == {"designs", "estimates", "balance", "variance_components", "icc",
                                       "specification"}
    json.dumps(report.published())
    again = DesignsReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert_result_close(again, report)
    assert again.designs == report.designs and set(again.results) == set(report.results)


def _main_rows(study) -> ImpactReport:
    """A stand-in for the main estimates (estimate_impact takes a minute): the shape the table reads."""
    outcomes = list(study.config.outcomes)
    return ImpactReport(estimates=pd.DataFrame({
        "outcome": outcomes, "label": outcomes, "estimate": 0.2, "std_error": 0.03, "ci_lower": 0.14,
        "ci_upper": 0.26, "p_value": 0.004, "inference": "wild_bootstrap", "n_clusters": 48,
        "n_treated_clusters": 32, "pretrend_p": 0.5}))


# ---- a programme with no comparison data ---------------------------------------------------
@pytest.fixture(scope="module")
def pilots_only(tmp_path_factory):
    """The demo city with every non-pilot community removed from the registry and every table."""
    from evalkit.datasets.demo import generate_demo_city
    from evalkit.datasets.demo_files import write_city

    city = generate_demo_city()
    ids = set(city.pilots["community_id"])

    def keep(frame, col="community_id"):
        return frame[frame[col].isin(ids)].reset_index(drop=True)

    city = attrs.evolve(city, communities=keep(city.communities), community_panel=keep(city.community_panel),
                        population=keep(city.population), survey=keep(city.survey),
                        survey_raw=keep(city.survey_raw, "社区编码"), services=keep(city.services),
                        requests=keep(city.requests))
    path = write_city(city, tmp_path_factory.mktemp("pilots_only"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("# a showcase report")], encoding="utf-8")  # its donors would be comparisons
    return load_study(path)


def test_without_comparisons_the_impact_report_runs_on_pre_post(pilots_only):
    """A programme with no comparison data: estimate_impact says why it estimates nothing, the
    designs fall back to pre-post (labelled the weakest), the configured designs say why they
    cannot run, and every call of the impact notebook runs in both languages."""
    from evalkit import reporting
    from evalkit.impact import estimate_impact
    from evalkit.programme.report import target_attainment

    impact = estimate_impact(pilots_only, draws=99)
    assert impact.estimates.empty and impact.caveats[0] == {"code": "no_comparison", "n_pilots": 32}
    designs = evaluate_designs(pilots_only)
    est = designs.estimates.set_index("design")
    assert designs.designs[-1] == "pre_post" and (est.loc["pre_post", "status"] == "ok").all()
    assert set(est.loc["matching", "caveats"]) == {"too_few_comparison"}
    assert set(est.loc["multilevel", "caveats"]) == {"too_few_comparison"}
    targets = target_attainment(pilots_only)
    for lang in ("zh", "en"):
        doc = ReportDocument(name="03_impact", lang=lang, title="t", show=False)
        doc.section("summary", reporting.impact_summary(impact, pilots_only, lang))
        doc.section("impact_intro", reporting.impact_intro(impact, lang))
        for name in ("design", "balance", "main", "subgroups", "many_outcomes", "robustness"):
            doc.table(reporting.impact_table(impact, pilots_only, name, lang, refer_to=3))
        doc.figure(reporting.impact_estimates_figure(impact, pilots_only, lang), name="f", title="f")
        assert reporting.add_truth_check(doc, impact, pilots_only, lang) is None
        reporting.add_event_studies(doc, impact, pilots_only, lang)
        doc.table(reporting.sensitivity_report_table(impact, lang))
        add_design_checks(doc, designs, impact, pilots_only, lang)
        doc.bullets(reporting.caveat_sentences(impact.caveats, lang, codebook=pilots_only.codebook))
        doc.section("recommendations", reporting.impact_recommendations(impact, pilots_only, lang, targets=targets))
        tables = [b for b in doc.blocks if b["kind"] == "table"]
        assert [t["number"] for t in tables] == [1, 2] and not any(b["kind"] == "figure" for b in doc.blocks)
        weakest = "证据最弱" if lang == "zh" else "weakest design"
        assert weakest in tables[1]["title"] and len(tables[1]["rows"]) == 6
        assert any(("需要对照社区" if lang == "zh" else "need comparison") in n for n in tables[1]["notes"])
        json.dumps({**impact.published(), **designs.results_entry()})


def test_ordered_logit_items_from_the_config(study):
    """A reverse-keyed item is turned round (belong_4 is asked reversed: the pilots' improvement
    must show as an odds ratio above 1); an unknown name gives a row with a reason code."""
    rep = evaluate_designs(study, designs=(DesignChoice("ordered_logit", {"items": ("belong_4", "belong_9")}),))
    rows = rep.estimates.set_index("item")
    assert rows.loc["belong_4", "outcome"] == "belonging" and rows.loc["belong_4", "ci_lower"] > 1
    assert rows.loc["belong_9", "caveats"] == "item_not_found" and rows.loc["belong_9", "status"] == "not_estimable"
    assert set(rep.results) == {"ordered_logit:belong_4"}
    table = designs_summary_table(rep, None, study, "en")
    assert "not a scored item" in " ".join(table.note_lines())


def test_the_run_cache_computes_the_designs_once(study, tmp_path, monkeypatch):
    from evalkit.run import study as run_study_module

    monkeypatch.setenv(run_study_module.CACHE_ENV, str(tmp_path))
    loaded = run_study_module.load_study(study.config)
    choice = (DesignChoice("pre_post", {}),)
    first = run_study_module.evaluate_designs(loaded, designs=choice, outcomes=["gain"])
    assert len(list(tmp_path.glob("evaluate_designs-*.pkl"))) == 1
    again = run_study_module.evaluate_designs(loaded, designs=choice, outcomes=["gain"])
    assert again is not first  # read back from the cache file
    assert_result_close(again, first)


def test_specifications_match_r_on_the_demo(report):
    """lme4::lmer, ordinal::clm and clubSandwich CR2 on the same demo frame
    (tests/reference/design_analysis/, tolerances in its README)."""
    from pathlib import Path

    ref = pd.read_csv(Path(__file__).parent / "reference" / "design_analysis" / "design_analysis_reference.csv",
                      keep_default_na=False)
    r = {(c, q, t): v for c, q, t, v in ref.itertuples(index=False)}
    ml = report.results["multilevel:gain"]
    row = ml.estimates.set_index("term").loc["pilot_post"]
    assert row["estimate"] == pytest.approx(r["multilevel", "estimate", "pilot_post"], rel=1e-3)
    assert row["std_error"] == pytest.approx(r["multilevel", "std_error", "pilot_post"], rel=1e-2)
    vc = ml.tables["variance_components"].set_index(["term_1", "term_2"])
    assert vc.loc[("(Intercept)", "(Intercept)"), "variance"] == pytest.approx(
        r["multilevel", "variance", "(Intercept)"], rel=5e-3)
    assert vc.loc[("pilot_post", "pilot_post"), "variance"] == pytest.approx(
        r["multilevel", "variance", "pilot_post"], rel=5e-3)
    assert vc.loc[("residual", "residual"), "variance"] == pytest.approx(r["multilevel", "variance", "residual"],
                                                                         rel=5e-3)
    assert vc.loc[("(Intercept)", "pilot_post"), "correlation"] == pytest.approx(
        r["multilevel", "correlation", "(Intercept):pilot_post"], abs=5e-3)
    fit = ml.tables["fit"].set_index("measure")["value"]
    assert fit["loglik"] == pytest.approx(r["multilevel", "loglik", ""], rel=1e-6)
    ol = report.results["ordered_logit:gain_1"]
    assert ol.estimates.set_index("term").loc["pilot_post", "estimate"] == pytest.approx(
        r["ordered_logit", "estimate", "pilot_post"], rel=1e-6)
    assert ol.tables["fit"].set_index("measure").loc["loglik", "value"] == pytest.approx(
        r["ordered_logit", "loglik", ""], rel=1e-8)
    pp = report.results["pre_post:gain"].estimates.set_index("term").loc["pilot_post"]
    for q, col in (("estimate", "estimate"), ("std_error", "std_error"), ("df", "df")):
        assert pp[col] == pytest.approx(r["pre_post", q, "pilot_post"], rel=1e-6), q


def test_without_comparisons_the_programme_report_says_why_it_compares_no_effects(pilots_only):
    """Delivery, inputs and targets need no comparison communities; effects and the 三社 vs 五社
    comparison do: the analysis returns none (every pilot: no_comparison) and the report says why."""
    from evalkit.programme import analyse_programme
    from evalkit.reporting.programme_display import comparison_paragraph

    report = analyse_programme(pilots_only, draws=19, ri_draws=39)
    assert report.estimates.empty and report.difference.empty and len(report.reach)
    assert (report.unit_effects["reason"] == "no_comparison").all()
    assert "没有未开展试点的对照社区" in comparison_paragraph(report, "zh")
    assert "no communities without the programme" in comparison_paragraph(report, "en")
