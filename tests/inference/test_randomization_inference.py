"""Randomisation inference over pilot assignments: enumeration, p-value rules, exactness."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit.inference import RIResult, permute_cohorts, randomization_inference
from evalkit.results import Result


def _diff_in_means(y):
    def stat(a):
        a = np.asarray(a)
        return y[a == 1].mean() - y[a == 0].mean()

    return stat


# ---- the permutation scheme -------------------------------------------------------------------


def test_enumeration_lists_every_distinct_assignment_once():
    a = np.array([2019, 2019, 2021, 0, 0, 0, 0])
    perm = permute_cohorts(a)
    listed = [tuple(x) for x in perm.enumerate()]
    brute = set(itertools.permutations(a.tolist()))
    assert perm.n_assignments == math.factorial(7) // (2 * 1 * 24) == 105
    assert len(listed) == len(set(listed)) == 105
    assert set(listed) == brute
    assert tuple(a) in set(listed)


def test_random_draws_keep_cohort_sizes_and_strata():
    a = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    district = np.array(["A"] * 5 + ["B"] * 5)
    perm = permute_cohorts(a, strata=district)
    assert perm.n_assignments == math.comb(5, 2) * math.comb(5, 1)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        b = perm(rng)
        assert b[:5].sum() == 2 and b[5:].sum() == 1
        seen.add(tuple(b))
    assert len(seen) == perm.n_assignments  # 50 assignments, 300 draws: all reached
    assert {tuple(x) for x in perm.enumerate()} == seen


def test_never_treated_coded_as_missing_is_its_own_cohort():
    a = np.array([2019.0, np.nan, 2021.0, np.nan, np.nan])
    perm = permute_cohorts(a)
    assert perm.n_assignments == 20
    b = perm(np.random.default_rng(3))
    assert np.isnan(b).sum() == 3 and sorted(b[~np.isnan(b)].tolist()) == [2019.0, 2021.0]


# ---- p-values ---------------------------------------------------------------------------------


def test_exact_p_value_equals_hand_enumeration():
    """8 communities, 3 treated: compare with an explicit loop over the C(8,3) = 56 choices."""
    rng = np.random.default_rng(10)
    y = rng.normal(size=8) + np.array([0.8, 0.8, 0.8, 0, 0, 0, 0, 0])
    treated = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    stat = _diff_in_means(y)
    res = randomization_inference(stat, treated, permute=permute_cohorts(treated), seed=1)
    obs = stat(treated)
    hand = []
    for chosen in itertools.combinations(range(8), 3):
        a = np.zeros(8, int)
        a[list(chosen)] = 1
        hand.append(stat(a))
    hand = np.array(hand)
    assert res.exact and res.n_assignments == 56 and res.draws == 56
    assert res.observed == pytest.approx(obs)
    assert res.p_value == pytest.approx(np.mean(np.abs(hand) >= abs(obs) - 1e-12))
    assert res.p_value == pytest.approx(np.mean(np.abs(res.null_draws) >= abs(obs) - 1e-12))
    greater = randomization_inference(stat, treated, permute=permute_cohorts(treated), seed=1, alternative="greater")
    assert greater.p_value == pytest.approx(np.mean(hand >= obs - 1e-12))
    assert 1 / 56 <= res.p_value < 1


def test_sampled_p_value_uses_plus_one_correction():
    a = np.array([1] * 6 + [0] * 24)  # C(30, 6) = 593,775 assignments: sampled
    y = np.arange(30.0)
    y_extreme = np.where(a == 1, 100.0, 0.0)
    res = randomization_inference(_diff_in_means(y_extreme), a, permute=permute_cohorts(a), draws=199, seed=5)
    assert not res.exact and res.draws == 199 and res.n_assignments == 593775
    assert res.p_value == pytest.approx(1 / 200)  # no draw as extreme: (1 + 0) / (B + 1), never 0
    const = randomization_inference(lambda _: 2.5, a, permute=permute_cohorts(a), draws=99, seed=5)
    assert const.p_value == 1.0  # every draw ties with the observed value
    res = randomization_inference(_diff_in_means(y), a, permute=permute_cohorts(a), draws=499, seed=7)
    count = np.count_nonzero(np.abs(res.null_draws) >= abs(res.observed) * (1 - 1e-10))
    assert res.p_value == pytest.approx((1 + count) / 500)


def test_sampled_agrees_with_exact_and_is_deterministic():
    rng = np.random.default_rng(11)
    a = np.array([1] * 4 + [0] * 8)  # 495 assignments
    y = rng.normal(size=12) + 0.7 * a
    stat = _diff_in_means(y)
    exact = randomization_inference(stat, a, permute=permute_cohorts(a), draws=999, seed=1)
    s1 = randomization_inference(stat, a, permute=permute_cohorts(a), draws=400, seed=1)
    s2 = randomization_inference(stat, a, permute=permute_cohorts(a), draws=400, seed=1)
    assert exact.exact and not s1.exact
    assert s1.p_value == s2.p_value
    np.testing.assert_array_equal(s1.null_draws, s2.null_draws)
    se = math.sqrt(exact.p_value * (1 - exact.p_value) / 400)
    assert abs(s1.p_value - exact.p_value) < 4 * se + 1 / 401


def test_plain_callable_without_enumeration_is_sampled():
    a = np.array([1, 1, 0, 0, 0])
    stat = _diff_in_means(np.arange(5.0))
    res = randomization_inference(stat, a, permute=lambda rng: rng.permutation(a), draws=50, seed=0)
    assert not res.exact and res.n_assignments is None and res.draws == 50


def test_exact_test_has_level_alpha_under_the_null():
    """Known truth: under the sharp null the exact RI test rejects at most alpha of the time."""
    rng = np.random.default_rng(2024)
    a = np.array([1] * 3 + [0] * 9)  # 220 assignments
    perm = permute_cohorts(a)
    p = np.array([
        randomization_inference(_diff_in_means(rng.standard_t(3, size=12)), a, permute=perm, draws=999, seed=0).p_value
        for _ in range(250)
    ])
    assert np.mean(p <= 0.05) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 250)
    assert np.mean(p <= 0.5) == pytest.approx(0.5, abs=0.1)


# ---- contract and errors --------------------------------------------------------------------


def test_result_contract():
    a = np.array([1, 1, 0, 0, 0, 0])
    res = randomization_inference(_diff_in_means(np.arange(6.0)), a, permute=permute_cohorts(a), seed=3, term="att")
    assert isinstance(res, RIResult)
    assert res.to_frame().loc[0, "term"] == "att"
    d = res.to_dict()
    json.dumps(d)
    back = Result.from_dict(d)
    assert isinstance(back, RIResult) and back.p_value == res.p_value and back.exact
    np.testing.assert_array_equal(back.null_draws, res.null_draws)
    assert "随机化推断" in res.summary() and "Randomisation inference" in res.summary(lang="en")


def test_errors():
    a = np.array([1, 1, 0, 0])
    with pytest.raises(NotIdentifiedError, match="only 1 assignment"):
        randomization_inference(lambda _: 1.0, np.ones(4), permute=permute_cohorts(np.ones(4)), seed=0)
    with pytest.raises(EstimationError, match=r"returned nan for enumerated assignment"):
        randomization_inference(lambda x: 1.0 if x[0] == 1 else float("nan"), a, permute=permute_cohorts(a), seed=0)
    with pytest.raises(DataValidationError, match="strata has shape"):
        permute_cohorts(a, strata=[1, 2])
    with pytest.raises(ValueError, match="alternative='both'"):
        randomization_inference(lambda _: 1.0, a, permute=permute_cohorts(a), seed=0, alternative="both")
