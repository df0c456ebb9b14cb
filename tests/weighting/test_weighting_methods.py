"""Raking, post-stratification, trimming and diagnostics on synthetic communities with known truth."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ConvergenceError, DataValidationError, WeightTrimmingWarning
from evalkit.results import Result
from evalkit.testing import assert_result_close, make_likert_survey
from evalkit.weighting import (
    WeightingResult,
    age_band,
    effective_sample_size,
    kish_deff,
    poststratify,
    rake,
    trim_weights,
    weight_diagnostics,
)


@pytest.fixture(scope="module")
def synth():
    s = make_likert_survey(n_communities=5, n_per_community_wave=80, seed=31)
    return s.survey.assign(age_band=age_band(s.survey.age)), s.population


def test_age_band() -> None:
    bands = age_band(pd.Series([17, 18, 34, 35, 59, 60, 90, None]))
    assert bands.tolist()[1:7] == ["18-34", "18-34", "35-59", "35-59", "60+", "60+"]
    assert pd.isna(bands.iloc[0]) and pd.isna(bands.iloc[7])


def test_rake_reproduces_every_margin_per_community_and_wave(synth) -> None:
    survey, pop = synth
    r = rake(survey, pop, by=["community_id", "wave"])
    assert r.estimates.converged.all()
    assert len(r.estimates) == 10
    m = r.margins
    assert set(m.variable) == {"age_band", "gender", "hukou"}
    assert len(m) == 10 * (3 + 2 + 2)
    np.testing.assert_allclose(m.achieved, m.target, rtol=1e-6)
    # each community-wave's weights sum to that community's population
    sums = r.apply(survey).groupby(["community_id", "wave"]).weight.sum()
    pops = pop.groupby("community_id").population.sum()
    for (c, _), v in sums.items():
        assert v == pytest.approx(pops[c], rel=1e-6)


def test_rake_equals_poststratification_when_cells_are_the_margin(synth) -> None:
    survey, pop = synth
    a = rake(survey, pop, variables=["age_band"], by="community_id", tol=1e-12)
    b = poststratify(survey, pop, cells=["age_band"], by="community_id")
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10)


def test_poststratify_hits_joint_cells(synth) -> None:
    survey, pop = synth
    r = poststratify(survey, pop, cells=["age_band", "gender"], by="community_id")
    m = r.margins
    assert m.variable.unique().tolist() == ["cell"]
    np.testing.assert_allclose(m.achieved, m.target, rtol=1e-10)


def test_poststratify_empty_cell_names_it_and_suggests_rake(synth) -> None:
    survey, pop = synth
    few = survey[~((survey.community_id == "430102001") & (survey.age_band == "60+") & (survey.gender == "male")
                   & (survey.hukou == "migrant"))]
    with pytest.raises(DataValidationError, match=r"community_id=430102001.*cell=60\+\|male\|migrant.*rake\(\)"):
        poststratify(few, pop)


def test_base_weights_are_respected(synth) -> None:
    survey, pop = synth
    base = survey.assign(d=np.where(survey.gender == "male", 2.0, 1.0))
    a = rake(base, pop, variables=["gender"], weights="d")
    b = rake(base, pop, variables=["gender"])
    # with only a gender margin the base weights are rescaled within gender: the result is the same
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10)
    c = rake(base, pop, variables=["age_band"], weights="d")
    d = rake(base, pop, variables=["age_band"])
    assert not np.allclose(c.weights, d.weights)


def test_nonconvergence_raises(synth) -> None:
    survey, pop = synth
    with pytest.raises(ConvergenceError, match=r"did not converge in 1 sweeps.*Fix: raise max_iter"):
        rake(survey, pop, max_iter=1, tol=1e-12)


def test_infeasible_bounds_raise(synth) -> None:
    survey, pop = synth
    with pytest.raises(ConvergenceError, match="widen bounds"):
        rake(survey, pop, bounds=(0.99, 1.01), max_iter=30)


def test_bounded_raking_keeps_margins_and_caps(synth) -> None:
    survey, pop = synth
    free = rake(survey, pop)
    ratio = free.estimates.weight_ratio.max()
    w_free = free.apply(survey)
    hi = 0.9 * (w_free.weight / w_free.groupby("community_id").weight.transform("mean")).max()
    with pytest.warns(WeightTrimmingWarning, match="held at a bound"):
        capped = rake(survey, pop, bounds=(0.0, hi), max_iter=500)
    assert capped.estimates.n_capped.sum() > 0
    w = capped.apply(survey)
    rel = w.weight / w.groupby("community_id").weight.transform("mean")
    assert rel.max() <= hi * (1 + 1e-6)
    np.testing.assert_allclose(capped.margins.achieved, capped.margins.target, rtol=1e-5)
    assert capped.estimates.weight_ratio.max() < ratio


def test_missing_calibration_variable(synth) -> None:
    survey, pop = synth
    d = survey.copy()
    d.loc[d.index[:3], "gender"] = None
    with pytest.raises(DataValidationError, match=r"(?s)3 respondent\(s\) lack a value.*'gender': 3.*on_missing='exclude'"):
        rake(d, pop)
    r = rake(d, pop, on_missing="exclude")
    assert r.weights.isna().sum() == 3
    assert "3 respondent(s) excluded" in r.notes[0]


def test_level_absent_from_population_and_unknown_community(synth) -> None:
    survey, pop = synth
    d = survey.copy()
    d.loc[d.index[0], "hukou"] = "foreign"
    d.loc[d.index[-1], "community_id"] = "999"
    with pytest.raises(DataValidationError, match=r"(?s)2 problem\(s\).*no population margins: 999.*hukou=foreign"):
        rake(d, pop)


def test_kish_deff_and_ess() -> None:
    w = np.array([1.0, 1.0, 2.0, 4.0])
    assert kish_deff(w) == pytest.approx(4 * 22 / 64)
    assert effective_sample_size(w) == pytest.approx(64 / 22)
    assert kish_deff(np.ones(7)) == pytest.approx(1.0)
    assert effective_sample_size(w * 13.0) == pytest.approx(effective_sample_size(w))
    with pytest.raises(ValueError, match="non-negative"):
        kish_deff([1.0, -1.0])


def test_weight_diagnostics_by_group() -> None:
    d = pd.DataFrame({"g": ["a", "a", "b", "b", "b"]})
    w = pd.Series([1.0, 3.0, 2.0, 2.0, 2.0])
    diag = weight_diagnostics(w, data=d, by="g").set_index("g")
    assert diag.loc["b", "deff_kish"] == pytest.approx(1.0)
    assert diag.loc["a", "weight_ratio"] == pytest.approx(3.0)
    assert diag.loc["a", "ess"] == pytest.approx(16 / 10)


def test_trim_relative_proportional_keeps_totals() -> None:
    w = pd.Series([1.0, 1.0, 1.0, 1.0, 20.0], name="w")
    with pytest.warns(WeightTrimmingWarning, match="1 of 5 weight"):
        t = trim_weights(w, upper=2.0)
    assert t.sum() == pytest.approx(w.sum())
    assert t.max() <= 2.0 * t.mean() * (1 + 1e-9)
    assert t.name == "w"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = trim_weights(pd.Series([1.0, 1.1, 0.9]), upper=5)
    assert same.tolist() == [1.0, 1.1, 0.9]


def test_weighting_result_round_trip(synth) -> None:
    survey, pop = synth
    r = rake(survey, pop, by=["community_id", "wave"])
    back = Result.from_dict(json.loads(json.dumps(r.to_dict())))
    assert isinstance(back, WeightingResult)
    assert_result_close(back, r)
    assert "Kish" in r.summary(lang="zh") and "effective n" in r.summary(lang="en")


def test_empty_cells_error_or_drop_variable(synth) -> None:
    survey, pop = synth
    no_migrants = survey[~((survey.community_id == "430102002") & (survey.wave == 1) & (survey.hukou == "migrant"))]
    with pytest.raises(DataValidationError, match=r"(?s)hukou cell\(s\) populated but without respondents.*"
                                                  r"community_id=430102002, wave=1 hukou=migrant.*empty_cells='drop'"):
        rake(no_migrants, pop, by=["community_id", "wave"])
    r = rake(no_migrants, pop, by=["community_id", "wave"], empty_cells="drop")
    assert r.estimates.converged.all()
    assert "hukou left out of the raking in 1 group(s)" in r.notes[0]
    m = r.margins
    other = m[~((m.community_id == "430102002") & (m.wave == 1) & (m.variable == "hukou"))]
    np.testing.assert_allclose(other.achieved, other.target, rtol=1e-6)


def test_unreachable_margins_drop_the_least_supported_variable(synth) -> None:
    """The only young respondent is the only migrant: the 18-34 and migrant margins cannot both be met."""
    survey, pop = synth
    g = (survey.community_id == "430102003") & (survey.wave == 2)
    keep = ~g | ((survey.age_band != "18-34") & (survey.hukou == "local"))
    young = survey[g & (survey.age_band == "18-34")].head(1).assign(hukou="migrant")
    sparse = pd.concat([survey[keep], young])
    with pytest.raises(ConvergenceError):
        rake(sparse, pop, by=["community_id", "wave"], max_iter=200)
    r = rake(sparse, pop, by=["community_id", "wave"], max_iter=200, empty_cells="drop")
    assert r.estimates.converged.all()
    # one respondent stands for the migrants (≈ half the population) and for the 18-34s (≈ a third):
    # hukou is the margin the sample supports least, so it is left out
    pop_g = pop[pop.community_id == "430102003"]
    share = pop_g.groupby("hukou").population.sum() / pop_g.population.sum()
    assert share["migrant"] > pop_g[pop_g.age_band == "18-34"].population.sum() / pop_g.population.sum()
    assert any(n.startswith("hukou left out") and "community_id=430102003, wave=2" in n for n in r.notes)
