"""One conformance test over every estimator's result: frozen, the five members, canonical
columns, JSON round-trip, summary in both languages, HTML, and plot."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import matplotlib
import numpy as np
import pandas as pd
import pytest

import evalkit.designs as designs
import evalkit.estimators as ek
import evalkit.power as power
from evalkit.estimators.results import ESTIMATE_COLUMNS, ImpactResult
from evalkit.results import Result

matplotlib.use("Agg")
pytest.importorskip("evalkit.inference")

REF = Path(__file__).resolve().parents[1] / "reference" / "did"
DESIGNS = Path(__file__).resolve().parents[1] / "reference" / "designs"
_LALONDE_COVS = ["age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75"]


def _lalonde() -> pd.DataFrame:
    return pd.read_csv(DESIGNS / "lalonde.csv")


def _mp() -> pd.DataFrame:
    d = pd.read_csv(REF / "mpdta.csv")
    d["state"] = d["countyreal"] // 1000
    return d


def _two_by_two() -> pd.DataFrame:
    d = _mp()
    s = d[d["year"].isin([2006, 2007]) & d["first_treat"].isin([0, 2007])].copy()
    s["d"] = (s["first_treat"] == 2007).astype(int)
    s["p"] = (s["year"] == 2007).astype(int)
    s["big"] = np.where(s["lpop"] > s["lpop"].median(), "big", "small")
    s["k"] = pd.qcut(s["lemp"], 4, labels=False) + 1
    s["lemp2"] = s["lemp"] + np.random.default_rng(0).normal(0, 0.1, len(s))
    return s


def _synthetic_panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [(f"c{i}", 2010 + t, rng.normal(i % 3, 0.3) + 0.1 * t + (1.0 if i == 0 and t >= 7 else 0.0))
            for i in range(8) for t in range(10)]
    return pd.DataFrame(rows, columns=["community", "year", "score"])


CASES = {
    "did": lambda: ek.did(_two_by_two(), outcome="lemp", treat="d", post="p", cluster="state",
                          draws=199, seed=1),
    "twfe": lambda: ek.twfe(pd.read_csv(REF / "castle.csv"), outcome="l_homicide", unit="sid",
                            time="year", treat="post"),
    "staggered": lambda: ek.did_staggered(_mp(), outcome="lemp", unit="countyreal", time="year",
                                          cohort="first_treat"),
    "subgroup": lambda: ek.subgroup_effects(_two_by_two(), outcome="lemp", treat="d", post="p",
                                            by="big", cluster="state", draws=199, seed=1),
    "multiple": lambda: ek.multiple_outcomes(_two_by_two(), outcomes=["lemp", "lemp2"], treat="d",
                                             post="p", cluster="state", draws=99, seed=1),
    "ordinal": lambda: ek.ordered_logit_did(_two_by_two(), item="k", treat="d", post="p"),
    # designs (evalkit.designs)
    "matching": lambda: designs.match_nearest(_lalonde(), outcome="re78", treat="treat",
                                              covariates=_LALONDE_COVS, caliper=0.2),
    "ipw": lambda: designs.ipw(_lalonde(), outcome="re78", treat="treat",
                               covariates=_LALONDE_COVS, estimand="ATT"),
    "entropy": lambda: designs.entropy_balance(_lalonde(), outcome="re78", treat="treat",
                                               covariates=_LALONDE_COVS),
    "multilevel": lambda: designs.multilevel_model(
        pd.read_csv(DESIGNS / "sleepstudy.csv"), outcome="Reaction", group="Subject",
        covariates=["Days"], random_slopes=["Days"]),
    "ordered_logit": lambda: designs.ordered_logit(
        pd.read_csv(DESIGNS / "wine.csv"), outcome="rating", covariates=["warm", "contact"],
        weights="w", cluster="judge"),
    "pre_post": lambda: designs.pre_post(_two_by_two().query("d == 1"), outcome="lemp", post="p",
                                         cluster="state"),
    "regression": lambda: designs.linear_regression(
        pd.read_csv(DESIGNS / "petersen_cl.csv"), outcome="y", regressors=["x"], vcov="twoway",
        cluster="firm", cluster2="year"),
    "synthetic_control": lambda: designs.synthetic_control(_synthetic_panel(), outcome="score", unit="community",
                                                           time="year", treated_unit="c0", start=2017),
    "synthetic_did": lambda: designs.synthetic_did(_synthetic_panel(), outcome="score", unit="community",
                                                   time="year", treated_units="c0", start=2017, draws=20, seed=1),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def result(request) -> ImpactResult:
    return CASES[request.param]()


def test_contract(result):
    assert isinstance(result, Result)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.n_obs = 0  # type: ignore[misc]
    assert list(result.to_frame().columns[: len(ESTIMATE_COLUMNS)]) == list(ESTIMATE_COLUMNS)
    assert result.to_frame() is not result.estimates
    d = result.to_dict()
    json.dumps(d)
    back = Result.from_dict(json.loads(json.dumps(d)))
    assert type(back) is type(result)
    pd.testing.assert_frame_equal(back.estimates.reset_index(drop=True),
                                  result.estimates.reset_index(drop=True), check_dtype=False)
    assert back.inference == result.inference and back.spec == result.spec
    assert getattr(back, "caveats", ()) == getattr(result, "caveats", ())
    for k, v in result.tables.items():
        pd.testing.assert_frame_equal(back.tables[k], v.reset_index(drop=True), check_dtype=False)
    zh, en = result.summary(lang="zh"), result.summary(decimals=2, lang="en")
    assert zh != en and result.title("zh") in zh
    if result.n_clusters is not None:
        assert str(result.n_clusters) in zh and str(result.n_clusters) in en
    assert "<table" in result._repr_html_()


def test_plot_returns_axes(result):
    import matplotlib.pyplot as plt

    ax = result.plot(lang="en")
    assert ax.get_xlabel() or ax.get_ylabel()
    plt.close("all")


def test_plot_in_chinese_embeds_no_missing_glyphs(result):
    pytest.importorskip("evalkit.reporting.fonts")
    import matplotlib.pyplot as plt

    ax = result.plot(lang="zh")
    ax.figure.canvas.draw()  # a missing glyph warns, which filterwarnings=error turns into a failure
    plt.close("all")


# ---- every other result class ------------------------------------------------------------------
# The same contract for the results outside the impact estimators: frozen, summary in both
# languages, to_frame a copy, JSON round trip (assert_result_close), HTML and a plot. The last
# test checks that every registered result kind has a case here, so a new class cannot skip it.


def _synth():
    from evalkit.testing import make_likert_survey
    from evalkit.weighting import age_band

    s = make_likert_survey(n_communities=6, n_per_community_wave=40, seed=3)
    return attrs.evolve(s, survey=s.survey.assign(age_band=age_band(s.survey.age)))


def _scored():
    from evalkit.scales import score

    s = _synth()
    names = ["gain", "belonging", "satisfaction"]
    return score(s.survey, s.codebook, constructs=names), names


def _case_efa():
    from evalkit.scales import efa

    s = _synth()
    return efa(s.survey, s.codebook)


def _case_reliability():
    from evalkit.scales import reliability

    s = _synth()
    return reliability(s.survey, s.codebook)


def _case_anderson():
    from evalkit.scales import anderson_index

    scored, names = _scored()
    return anderson_index(scored, outcomes=names)


def _case_icc():
    from evalkit.survey import icc

    scored, names = _scored()
    return icc(scored, outcomes=names, cluster="community_id")


def _case_survey():
    from evalkit.survey import survey_means
    from evalkit.weighting import rake

    scored, names = _scored()
    s = _synth()
    cal = rake(scored, s.population, by=["community_id", "wave"])
    return survey_means(cal.apply(scored), outcomes=names, by="wave", weights="weight",
                        cluster="community_id", calibration=cal)


def _case_weighting():
    from evalkit.weighting import rake

    s = _synth()
    return rake(s.survey, s.population, by=["community_id", "wave"])


def _case_ri():
    from evalkit.inference import permute_cohorts, randomization_inference

    y = np.array([3.1, 2.9, 3.4, 1.2, 0.8, 1.1, 0.9, 1.3])
    a = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    return randomization_inference(lambda x: y[x == 1].mean() - y[x == 0].mean(), a,
                                   permute=permute_cohorts(a), seed=1)


def _case_wild():
    from evalkit.inference import wild_cluster_bootstrap

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(12), 20)
    d = (g < 4).astype(float)
    y = 0.5 * d + rng.normal(size=12)[g] + rng.normal(size=g.size)
    return wild_cluster_bootstrap(y, np.column_stack([np.ones_like(d), d]), g, coef_index=1, seed=7,
                                  draws=999)


def _case_sensitivity():
    from evalkit.estimators.sensitivity import parallel_trends_sensitivity

    fit = ek.did_staggered(_mp(), outcome="lemp", unit="countyreal", time="year",
                           cohort="first_treat", base_period="universal")
    return parallel_trends_sensitivity(fit, relative_magnitudes=(0.0, 1.0), smoothness=(0.0,))


def _case_measurement():
    from evalkit.measurement import measure

    s = _synth()
    return measure(s.survey, s.codebook, population=s.population, run_efa=False)


def _demo_study(tmp_path_factory):
    from evalkit.intake.load import load_study
    from evalkit.run.paths import demo_config

    return load_study(demo_config(tmp_path_factory.mktemp("demo_contract")))


OTHER_CASES = {
    "efa": _case_efa,
    "reliability": _case_reliability,
    "anderson_index": _case_anderson,
    "icc": _case_icc,
    "survey_estimates": _case_survey,
    "weighting": _case_weighting,
    "randomization_inference": _case_ri,
    "wild_cluster_bootstrap": _case_wild,
    "trend_sensitivity": _case_sensitivity,
    "measurement": _case_measurement,
    "power": lambda: power.power_cluster(n_clusters=[10, 20, 40], cluster_size=[10, 20], icc=0.05, power=0.8),
    "power_simulation": lambda: power.simulate_power_staggered(
        _mp(), outcome="lemp", unit="countyreal", time="year", cohort="first_treat", effects=[0.0, 0.1],
        n_pilots=5, draws=2, seed=1),
}
#: built from the demo study (slow): kind -> function of the loaded study
STUDY_CASES = {
    "data_quality": lambda study: __import__("evalkit.profiling", fromlist=["x"]).profile_study(study),
    "impact_report": lambda study: __import__("evalkit.impact", fromlist=["x"]).estimate_impact(
        study, draws=99),
    "community_effects": lambda study: __import__("evalkit.community", fromlist=["x"]).community_effects(study),
    "programme_report": lambda study: __import__("evalkit.programme", fromlist=["x"]).analyse_programme(
        study, draws=49, ri_draws=99),
    "showcase": lambda study: __import__("evalkit.showcase", fromlist=["x"]).analyse_showcase(study),
    "designs_report": lambda study: __import__("evalkit.design_analysis", fromlist=["x"]).evaluate_designs(study),
}
#: abstract bases, not results of any function
ABSTRACT_KINDS = {"result", "impact", "design"}


def _other_contract(result) -> None:
    import matplotlib.pyplot as plt

    from evalkit.testing import assert_result_close

    assert isinstance(result, Result)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.estimates = pd.DataFrame()  # type: ignore[misc]
    assert isinstance(result.estimates, pd.DataFrame) and not result.estimates.empty
    frame = result.to_frame()
    assert frame is not result.estimates
    pd.testing.assert_frame_equal(frame, result.estimates)
    d = result.to_dict()
    back = Result.from_dict(json.loads(json.dumps(d)))
    assert type(back) is type(result)
    assert_result_close(back, result)
    zh, en = result.summary(lang="zh"), result.summary(decimals=2, lang="en")
    assert isinstance(zh, str) and isinstance(en, str) and zh and en
    assert str(result) == result.summary()
    assert "<" in result._repr_html_()
    ax = result.plot()  # the contract: plot(ax=None) -> Axes
    assert hasattr(ax, "figure")
    plt.close("all")


@pytest.mark.parametrize("kind", sorted(OTHER_CASES))
def test_other_results_honour_the_contract(kind):
    result = OTHER_CASES[kind]()
    assert result.kind == kind
    _other_contract(result)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(STUDY_CASES))
def test_study_results_honour_the_contract(kind, tmp_path_factory):
    result = STUDY_CASES[kind](_demo_study(tmp_path_factory))
    assert result.kind == kind
    _other_contract(result)


def test_every_result_kind_is_covered():
    import evalkit  # noqa: F401 - registers every result class
    import evalkit.design_analysis  # noqa: F401
    import evalkit.estimators.sensitivity  # noqa: F401
    import evalkit.impact  # noqa: F401
    import evalkit.measurement  # noqa: F401
    import evalkit.profiling  # noqa: F401
    import evalkit.showcase  # noqa: F401

    impact_kinds = {c.kind for c in Result._registry.values() if issubclass(c, ImpactResult)}
    covered = (set(OTHER_CASES) | set(STUDY_CASES) | ABSTRACT_KINDS
               | {CASES_KIND.get(k, k) for k in CASES})
    assert set(Result._registry) - covered == set(), "add a contract case for these result kinds"
    assert impact_kinds <= covered


CASES_KIND = {"multiple": "multiple_outcomes", "ipw": "design_weighting", "entropy": "design_weighting"}
