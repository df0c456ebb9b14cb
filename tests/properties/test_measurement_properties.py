"""Hypothesis properties of the measurement code: invariances that must hold for any data.

Five other libraries silently ignored weights; these properties catch that
(weights change estimates when the sample is unbalanced) and the opposite
mistake (rescaling all weights changes nothing).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evalkit.results import Result
from evalkit.scales import cronbach_alpha, item_reliability
from evalkit.survey import icc, survey_means
from evalkit.testing import assert_result_close
from evalkit.weighting import poststratify, rake

# derandomize: CI sees the same examples on every run (no flaky failures, no example database)
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: weighting and survey properties run whole pipelines per example: fewer examples keep the suite fast
HEAVY = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def likert_items(draw, min_rows: int = 8, max_rows: int = 40):
    n = draw(st.integers(min_rows, max_rows))
    k = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1)) * draw(st.floats(0, 2))
    x = np.clip(np.round(3 + common + rng.normal(size=(n, k))), 1, 5)
    frame = pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])
    assume((frame.std() > 0).all())
    return frame


@st.composite
def clustered_sample(draw):
    """Respondents in communities with age band / gender cells and a weight column."""
    n_comm = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_comm):
        m = int(rng.integers(12, 40))
        rows.append(pd.DataFrame({
            "community_id": f"c{c}",
            "age_band": rng.choice(["18-34", "35-59", "60+"], m),
            "gender": rng.choice(["female", "male"], m),
            "y": rng.normal(3 + 0.3 * c, 1, m),
            "w": rng.uniform(0.2, 5, m),
        }))
    d = pd.concat(rows, ignore_index=True)
    # every community needs respondents in every age band × gender cell (else the margins may be unreachable)
    for _, g in d.groupby("community_id"):
        assume(g.groupby(["age_band", "gender"]).ngroups == 6)
    pop = pd.DataFrame([
        {"community_id": f"c{c}", "age_band": a, "gender": s, "population": int(rng.integers(50, 2000))}
        for c in range(n_comm) for a in ("18-34", "35-59", "60+") for s in ("female", "male")
    ])
    return d, pop


@SETTINGS
@given(items=likert_items(), shift=st.floats(-50, 50, allow_nan=False))
def test_alpha_invariant_to_adding_a_constant(items: pd.DataFrame, shift: float) -> None:
    a = cronbach_alpha(np.cov(items.to_numpy(), rowvar=False))
    b = cronbach_alpha(np.cov((items + shift).to_numpy(), rowvar=False))
    assert b == pytest.approx(a, rel=1e-9, abs=1e-9)


@SETTINGS
@given(items=likert_items())
def test_alpha_at_most_one(items: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flags on random items are expected
        e = item_reliability(items, min_obs=2).estimates.iloc[0]
    assert e.alpha <= 1 + 1e-12
    assert e.alpha_std <= 1 + 1e-12
    assert e.alpha_ci_upper <= 1 + 1e-12


@SETTINGS
@given(items=likert_items(), seed=st.integers(0, 1000))
def test_reliability_row_order_changes_nothing(items: pd.DataFrame, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(len(items))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = item_reliability(items, min_obs=2)
        b = item_reliability(items.iloc[perm], min_obs=2)
    # ω comes from a numerical optimiser: agreement to its tolerance (absolute near ω ≈ 0), the rest to rounding
    assert_result_close(a.estimates, b.estimates, rtol=1e-6, atol=1e-6)
    assert_result_close(a.estimates.drop(columns="omega_total"), b.estimates.drop(columns="omega_total"), rtol=1e-9)


@HEAVY
@given(sample=clustered_sample())
def test_raked_weights_reproduce_every_margin(sample) -> None:
    d, pop = sample
    r = rake(d, pop, variables=["age_band", "gender"], tol=1e-9, max_iter=500)
    m = r.margins
    np.testing.assert_allclose(m.achieved, m.target, rtol=1e-8)
    w = r.apply(d)
    for (c, a), v in w.groupby(["community_id", "age_band"]).weight.sum().items():
        target = pop[(pop.community_id == c) & (pop.age_band == a)].population.sum()
        assert v == pytest.approx(target, rel=1e-8)


@HEAVY
@given(sample=clustered_sample(), factor=st.floats(1e-3, 1e3))
def test_scaling_all_weights_changes_no_estimate(sample, factor: float) -> None:
    d, pop = sample
    kw = {"outcomes": "y", "weights": "w", "cluster": "community_id"}
    for by in (None, "age_band", ["community_id", "gender"]):
        a = survey_means(d, by=by, **kw)
        b = survey_means(d.assign(w=d.w * factor), by=by, **kw)
        cols = ["estimate", "std_error", "ci_lower", "ci_upper", "deff", "df", "n_obs"]
        assert_result_close(a.estimates[cols], b.estimates[cols], rtol=1e-9)
    # base weights' scale does not change calibrated weights either
    r1 = rake(d, pop, variables=["age_band", "gender"], weights="w", tol=1e-10, max_iter=500)
    r2 = rake(d.assign(w=d.w * factor), pop, variables=["age_band", "gender"], weights="w", tol=1e-10, max_iter=500)
    np.testing.assert_allclose(r1.weights, r2.weights, rtol=1e-7)


@HEAVY
@given(n_low=st.integers(5, 60), n_high=st.integers(5, 60), ratio=st.floats(1.5, 20), gap=st.floats(0.5, 5))
def test_weights_change_estimates_when_sample_is_unbalanced(n_low: int, n_high: int, ratio: float, gap: float) -> None:
    """Group B scores `gap` higher and carries `ratio` × the weight: the weighted mean must move towards B."""
    rng = np.random.default_rng(n_low * 100 + n_high)
    d = pd.DataFrame({
        "g": ["A"] * n_low + ["B"] * n_high,
        "y": np.r_[rng.normal(0, 0.1, n_low), rng.normal(gap, 0.1, n_high)],
        "w": np.r_[np.ones(n_low), np.full(n_high, ratio)],
        "community_id": [f"c{i % 3}" for i in range(n_low + n_high)],
    })
    unweighted = survey_means(d, outcomes="y", cluster="community_id").estimates.estimate.iloc[0]
    weighted = survey_means(d, outcomes="y", weights="w", cluster="community_id").estimates.estimate.iloc[0]
    expected = (d.y * d.w).sum() / d.w.sum()
    assert weighted == pytest.approx(expected, rel=1e-10)
    assert weighted > unweighted + 0.01 * gap


@HEAVY
@given(sample=clustered_sample(), seed=st.integers(0, 1000))
def test_row_order_changes_no_weight_or_estimate(sample, seed: int) -> None:
    d, pop = sample
    perm = np.random.default_rng(seed).permutation(len(d))
    shuffled = d.iloc[perm]
    r1 = rake(d, pop, variables=["age_band", "gender"], tol=1e-10, max_iter=500)
    r2 = rake(shuffled, pop, variables=["age_band", "gender"], tol=1e-10, max_iter=500)
    np.testing.assert_allclose(r1.weights.sort_index(), r2.weights.sort_index(), rtol=1e-8)
    kw = {"outcomes": "y", "weights": "w", "cluster": "community_id", "by": "gender"}
    assert_result_close(survey_means(d, **kw).estimates, survey_means(shuffled, **kw).estimates, rtol=1e-9)


@HEAVY
@given(sample=clustered_sample())
def test_json_round_trip_of_results(sample) -> None:
    d, pop = sample
    results: list[Result] = [
        rake(d, pop, variables=["age_band", "gender"], tol=1e-8, max_iter=500),
        poststratify(d, pop, cells=["age_band"]),
        survey_means(d, outcomes="y", by=["community_id", "age_band"], weights="w", cluster="community_id"),
        icc(d, outcomes="y", cluster="community_id", by="gender"),
    ]
    for r in results:
        back = Result.from_dict(json.loads(json.dumps(r.to_dict())))
        assert_result_close(back, r)
