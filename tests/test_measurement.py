"""measure(): the measurement section in one call, its report object, figures, and the demo city."""

from __future__ import annotations

import json
import warnings

import attrs
import matplotlib
import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataQualityWarning
from evalkit.measurement import MeasurementReport, measure
from evalkit.results import Result
from evalkit.scales import efa, reliability, score, anderson_index
from evalkit.survey import icc, survey_means, survey_proportions
from evalkit.testing import assert_result_close, make_likert_survey
from evalkit.weighting import age_band, poststratify, rake

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def synth():
    return make_likert_survey(n_communities=6, n_per_community_wave=70, age_effect=0.8, oversample_old=3.0, seed=41)


@pytest.fixture(scope="module")
def report(synth) -> MeasurementReport:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the synthetic scales are clean: no warning expected
        return measure(synth.survey, synth.codebook, population=synth.population)


def test_headline_rows_and_known_structure(report, synth) -> None:
    head = report.to_frame()
    assert head.construct.tolist() == ["gain", "belonging", "satisfaction"]
    assert head.label.tolist() == ["获得感", "归属感", "满意度"]
    assert (head.alpha_ci_lower < head.alpha).all() and (head.alpha < head.alpha_ci_upper).all()
    assert (head.n_flagged_items == 0).all()
    assert report.efa is not None and report.efa.estimates.fits.all()
    # ICC of the observed scores is below the latent ICC (0.1) but clearly positive
    assert ((head.icc > 0.01) & (head.icc < 0.15)).all()


def test_weighting_removes_the_oversampling_bias(report, synth) -> None:
    """Older residents are oversampled 3× and score 0.8 SD higher: raking must pull the means down."""
    scored = score(synth.survey, synth.codebook)
    scored_unweighted = survey_means(scored, outcomes=["gain"], cluster="community_id").estimates.estimate.iloc[0]
    weighted = report.to_frame().set_index("construct").loc["gain", "weighted_mean"]
    assert weighted < scored_unweighted - 0.05
    # weighted age composition equals the population's in every community-wave
    data = synth.survey.assign(age_band=age_band(synth.survey.age), weight=report.weighting.weights)
    got = data.groupby(["community_id", "wave", "age_band"]).weight.sum()
    pop = synth.population.groupby(["community_id", "age_band"]).population.sum()
    for (c, _, a), v in got.items():
        assert v == pytest.approx(pop[(c, a)], rel=1e-5)


def test_parts_are_consistent(report) -> None:
    rel = report.reliability.estimates
    assert set(rel.group_var) == {"all", "wave", "gender", "hukou", "age_band"}
    by_cw = report.means_by_community.to_frame()
    assert len(by_cw) == 6 * 2 * 3 and report.means_by_community.within_cluster
    assert set(report.means_by_group) == {"gender", "hukou", "age_band"}
    assert (report.means_by_wave.to_frame().df == 5).all()  # 6 communities − 1
    assert set(report.icc.estimates.group) == {"all", "1", "2"}
    d = report.item_distribution
    assert np.allclose(d.groupby("item").share.sum(), 1.0)


def test_summary_html_and_tables(report) -> None:
    zh = report.summary(lang="zh")
    assert "获得感" in zh and "Feldt" in zh and "raking" in zh
    en = report.summary(lang="en")
    assert "Sense of gain" in en and "clustered by community" in en
    html = report._repr_html_()
    assert "<table" in html and "各轮加权均值" in html
    tables = report.tables()
    assert {"reliability", "means_by_community", "icc", "weighting_margins"} <= set(tables)
    json.dumps({k: v.to_dict("records") for k, v in tables.items()}, default=str)


def test_round_trip(report) -> None:
    d = json.loads(json.dumps(report.to_dict()))
    back = Result.from_dict(d)
    assert isinstance(back, MeasurementReport)
    assert_result_close(back, report)


def test_figures(report) -> None:
    import matplotlib.pyplot as plt

    for ax in (report.plot(), report.plot_items("belonging"), report.plot_means("gain"),
               report.plot_means("gain", by="wave", lang="en"), report.efa.plot(), report.icc.plot()):
        assert ax.get_title() or ax.get_xlabel()
        ax.figure.canvas.draw()
        plt.close(ax.figure)


def test_without_population_uses_weight_column_or_equal_weights(synth) -> None:
    data = synth.survey.assign(w=np.where(synth.survey.hukou == "migrant", 4.0, 1.0))
    a = measure(data, synth.codebook, weights="w", run_efa=False)
    b = measure(data, synth.codebook, run_efa=False)
    assert a.weighting is None and a.spec.weighting == "column" and b.spec.weighting == "none"
    assert not np.allclose(a.to_frame().weighted_mean, b.to_frame().weighted_mean)
    assert "未加权" in b.summary()


def test_flagged_item_warns_and_is_noted(synth) -> None:
    data = synth.survey.copy()
    data["gain_2"] = 6 - data["gain_2"]  # answers flipped but codebook not told
    with pytest.warns(DataQualityWarning, match="gain_2"):
        r = measure(data, synth.codebook, run_efa=False)
    assert r.to_frame().set_index("construct").loc["gain", "n_flagged_items"] == 1
    assert any("gain_2" in n for n in r.notes)


def _all_results(synth):
    s = synth.survey.assign(age_band=age_band(synth.survey.age))
    scored = score(s, synth.codebook)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            reliability(s, synth.codebook, by="wave"),
            efa(s, synth.codebook),
            anderson_index(scored, outcomes=["gain", "belonging", "satisfaction"], reference={"wave": 1}),
            rake(s, synth.population),
            poststratify(s, synth.population, cells=["age_band"]),
            survey_means(scored, outcomes=["gain"], by="wave", cluster="community_id"),
            survey_proportions(s, variables="hukou", cluster="community_id"),
            icc(scored, outcomes=["gain"]),
            measure(synth.survey, synth.codebook, population=synth.population, run_efa=False),
        ]


def test_result_contract_for_every_measurement_result(synth) -> None:
    """The Result contract: frozen attrs, five members, to_frame copy, JSON round trip."""
    for r in _all_results(synth):
        assert isinstance(r, Result) and attrs.has(type(r))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            r.estimates = pd.DataFrame()  # type: ignore[misc]
        for member in ("summary", "to_frame", "to_dict", "from_dict", "_repr_html_", "plot"):
            assert callable(getattr(r, member)), member
        assert isinstance(r.summary(decimals=2, lang="en"), str) and isinstance(r.summary(lang="zh"), str)
        assert str(r) == r.summary()
        frame = r.to_frame()
        assert frame.equals(r.estimates) and frame is not r.estimates
        d = r.to_dict()
        json.dumps(d)
        assert_result_close(Result.from_dict(json.loads(json.dumps(d))), r)


@pytest.mark.slow
def test_demo_city() -> None:
    """The demo city: reliabilities as DEMO.md states them, weighting to its skewed sample."""
    from evalkit.datasets import generate_demo_city

    city = generate_demo_city()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = measure(city.survey, city.codebook, population=city.population)
    alpha = report.to_frame().set_index("construct").alpha
    stated = {"gain": 0.76, "happiness": 0.77, "security": 0.77, "belonging": 0.77, "satisfaction": 0.78,
              "participation": 0.64}  # DEMO.md, default seed
    for construct, value in stated.items():
        assert alpha[construct] == pytest.approx(value, abs=0.006)
    assert report.weighting.estimates.converged.all()
    assert any("hukou left out" in n for n in report.notes)  # community-waves without migrants
    # the sample has ≈47 % aged 60+, the population ≈25 %: weighted shares follow the population
    data = city.survey.assign(age_band=age_band(city.survey.age), w=report.weighting.weights)
    old_weighted = data.w[data.age_band == "60+"].sum() / data.w.sum()
    old_pop = city.population[city.population.age_band == "60+"].population.sum() / city.population.population.sum()
    assert (data.age_band == "60+").mean() > 0.4
    assert old_weighted == pytest.approx(old_pop, abs=0.01)
    assert report.efa is not None and report.efa.estimates.fits.all()
    assert len(report.means_by_community.to_frame()) == 48 * 5 * 6


def test_validation_note_states_true_agreement() -> None:
    """The closing note's agreement figures are re-measured here from the stored R output."""
    from pathlib import Path

    from evalkit.measurement import VALIDATION, validation_note
    from evalkit.scales import item_reliability
    from evalkit.testing import read_reference_values

    ref_dir = Path(__file__).resolve().parent / "reference" / "measurement"
    ref = read_reference_values(ref_dir / "reference_values.csv")
    stated = {v["quantity"].split(" ")[0]: float(v["agreement"].split(" ")[0]) for v in VALIDATION}
    bfi = pd.read_csv(ref_dir / "bfi.csv")
    bfi["A1"] = 7 - bfi["A1"]
    r = item_reliability(bfi[[f"A{i}" for i in range(1, 6)]], warn=False).estimates.iloc[0]
    assert abs(r.alpha - ref.get("alpha_agree_listwise", "alpha")) <= stated["Cronbach's"]
    assert abs(r.omega_total - ref.get("omega_agree", "omega_total")) <= stated["McDonald's"]
    clus1 = pd.read_csv(ref_dir / "apiclus1.csv")
    e = survey_means(clus1, outcomes="api00", weights="pw", cluster="dnum").estimates.iloc[0]
    theirs = ref.get("clus1_nofpc_mean", "std_error", "api00")
    assert abs(e.std_error - theirs) / theirs <= stated["design-based"]
    note = validation_note("zh")
    assert "psych::alpha" in note and "lavaan" in note and "svymean" in note and "lme4" in note
    assert "Cronbach" in validation_note("en")


def test_figures_dict(report) -> None:
    import matplotlib.pyplot as plt

    figs = report.figures(lang="en")
    assert list(figs)[:2] == ["alpha_by_wave", "items_gain"] and "means_satisfaction" in figs
    for ax in figs.values():
        plt.close(ax.figure)
