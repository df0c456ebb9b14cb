"""Reliability on simulated data with known truth, flags, groups, messages and the result contract."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataQualityWarning
from evalkit.results import Result
from evalkit.scales import ReliabilityResult, cronbach_alpha, item_reliability, omega_total, reliability
from evalkit.scales.reliability import feldt_ci
from evalkit.testing import assert_result_close, make_likert_survey


def _congeneric(n: int, loadings: list[float], seed: int) -> tuple[pd.DataFrame, float, float]:
    """Items x_j = λ_j·F + e_j with var(e_j) = 1 - λ_j²; returns data, true α, true ω."""
    rng = np.random.default_rng(seed)
    lam = np.array(loadings)
    f = rng.normal(size=n)
    x = f[:, None] * lam + rng.normal(size=(n, len(lam))) * np.sqrt(1 - lam**2)
    cov = np.outer(lam, lam) + np.diag(1 - lam**2)
    true_alpha = cronbach_alpha(cov)
    true_omega = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(len(lam))]), true_alpha, true_omega


def test_alpha_and_omega_recover_truth_on_congeneric_items() -> None:
    data, true_alpha, true_omega = _congeneric(20_000, [0.8, 0.7, 0.6, 0.5, 0.75], seed=1)
    e = item_reliability(data, warn=False).estimates.iloc[0]
    assert e.alpha == pytest.approx(true_alpha, abs=0.01)
    assert e.omega_total == pytest.approx(true_omega, abs=0.01)
    assert true_omega > true_alpha  # α is a lower bound for congeneric items
    assert e.omega_total > e.alpha


def test_parallel_items_alpha_equals_omega_in_population() -> None:
    lam = np.full(4, 0.7)
    cov = np.outer(lam, lam) + np.diag(1 - lam**2)
    omega, note = omega_total(cov)
    assert note == ""
    assert omega == pytest.approx(cronbach_alpha(cov), abs=1e-6)


def test_feldt_ci_covers_true_alpha_at_nominal_rate() -> None:
    """Parallel normal items: Feldt's interval is exact; 2000 draws of n = 60, k = 4."""
    rng = np.random.default_rng(9)
    lam = np.full(4, 0.6)
    true_alpha = cronbach_alpha(np.outer(lam, lam) + np.diag(1 - lam**2))
    reps, hits = 2000, 0
    for _ in range(reps):
        x = rng.normal(size=(60, 1)) * lam + rng.normal(size=(60, 4)) * np.sqrt(1 - lam**2)
        lo, hi = feldt_ci(cronbach_alpha(np.cov(x, rowvar=False)), 60, 4)
        hits += lo <= true_alpha <= hi
    # binomial SD at 0.95 with 2000 draws ≈ 0.005
    assert 0.935 <= hits / reps <= 0.965


def test_reverse_coding_error_is_flagged_with_a_warning() -> None:
    data, _, _ = _congeneric(2_000, [0.8, 0.7, 0.6, 0.7], seed=2)
    data["x3"] = -data["x3"]  # an item the codebook forgot to reverse
    with pytest.warns(DataQualityWarning, match=r"item 'x3': correlates negatively.*reverse coding"):
        r = item_reliability(data)
    flags = r.items.set_index("item").flag
    assert flags["x3"] == "negative_r"
    assert (flags.drop("x3") == "").all()
    assert r.flagged_items().item.tolist() == ["x3"]


def test_no_warning_on_a_clean_scale() -> None:
    data, _, _ = _congeneric(2_000, [0.8, 0.7, 0.6, 0.7], seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        item_reliability(data)


def test_by_wave_and_group_rows_match_subset_analysis() -> None:
    s = make_likert_survey(n_communities=4, n_per_community_wave=80, seed=4)
    r = reliability(s.survey, s.codebook, by=["wave", "gender"], warn=False)
    assert set(r.estimates.group_var) == {"all", "wave", "gender"}
    row = r.estimates[(r.estimates.construct == "gain") & (r.estimates.group_var == "wave") & (r.estimates.group == "2")]
    sub = reliability(s.survey[s.survey.wave == 2], s.codebook, constructs=["gain"], warn=False).overall()
    assert row.alpha.iloc[0] == pytest.approx(sub.alpha.iloc[0], rel=1e-12)
    assert row.n_obs.iloc[0] == sub.n_obs.iloc[0]


def test_small_group_gets_na_and_a_note() -> None:
    s = make_likert_survey(n_communities=2, n_per_community_wave=30, seed=5)
    data = s.survey.copy()
    data["tiny"] = np.where(np.arange(len(data)) < 5, "a", "b")
    r = reliability(data, s.codebook, by="tiny", constructs=["gain"], warn=False)
    small = r.estimates[r.estimates.group == "a"]
    assert np.isnan(small.alpha.iloc[0])
    assert any("fewer than min_obs=10" in n for n in r.notes)


def test_two_item_scale_has_alpha_but_no_omega() -> None:
    data, _, _ = _congeneric(500, [0.8, 0.7], seed=6)
    with pytest.warns(DataQualityWarning, match="ω needs at least 3 items"):
        r = item_reliability(data)
    assert np.isfinite(r.estimates.alpha.iloc[0])
    assert np.isnan(r.estimates.omega_total.iloc[0])


def test_bad_options_are_refused() -> None:
    data, _, _ = _congeneric(50, [0.8, 0.7, 0.6], seed=7)
    with pytest.raises(ValueError, match="deletion='casewise'.*'listwise', 'pairwise'"):
        item_reliability(data, deletion="casewise")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ci_level=95"):
        item_reliability(data, ci_level=95)


def test_result_contract_and_round_trip() -> None:
    s = make_likert_survey(n_communities=3, seed=8)
    r = reliability(s.survey, s.codebook, by="wave", warn=False)
    d = r.to_dict()
    json.dumps(d)
    back = Result.from_dict(json.loads(json.dumps(d)))
    assert isinstance(back, ReliabilityResult)
    assert_result_close(back, r)
    text = r.summary(lang="zh")
    assert "获得感" in text and "Feldt" in text and "列删除" in text
    assert "Sense of gain" in r.summary(lang="en")
    assert "<table" in r._repr_html_()
    frame = r.to_frame()
    frame.loc[0, "alpha"] = -1
    assert r.estimates.loc[0, "alpha"] != -1  # to_frame is a copy
