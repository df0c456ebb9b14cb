"""绩效评估 scoring: AHP, entropy weights, roll-up, grades and sensitivity."""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import pytest

from evalkit.programme.scoring import (
    ScoringDimension,
    ScoringFramework,
    ScoringIndicator,
    ahp_weights,
    entropy_weights,
    grade_of,
    grade_sensitivity,
    load_scoring_framework,
    score_indicators,
)

_DRINKS = ("coffee", "wine", "tea", "beer", "soda", "milk", "water")
_UPPER = {("coffee", "wine"): 9, ("coffee", "tea"): 5, ("coffee", "beer"): 2, ("coffee", "soda"): 1,
          ("coffee", "milk"): 1, ("coffee", "water"): 1 / 2, ("wine", "tea"): 1 / 3, ("wine", "beer"): 1 / 9,
          ("wine", "soda"): 1 / 9, ("wine", "milk"): 1 / 9, ("wine", "water"): 1 / 9, ("tea", "beer"): 1 / 3,
          ("tea", "soda"): 1 / 4, ("tea", "milk"): 1 / 3, ("tea", "water"): 1 / 9, ("beer", "soda"): 1 / 2,
          ("beer", "milk"): 1, ("beer", "water"): 1 / 3, ("soda", "milk"): 2, ("soda", "water"): 1 / 2,
          ("milk", "water"): 1 / 3}


def test_ahp_reproduces_saaty_drinks_example() -> None:
    """Saaty (2008), "Decision making with the analytic hierarchy process", Int. J. Services
    Sciences 1(1):83–98, the example "Which drink is consumed more in the U.S.?": the derived
    priorities coffee .177, wine .019, tea .042, beer .116, soda .190, milk .129, water .327
    (published to 3 decimals); CR = 0.022 as AHPy reports for the same matrix with Saaty's RI."""
    a = np.ones((7, 7))
    for (r, c), v in _UPPER.items():
        i, j = _DRINKS.index(r), _DRINKS.index(c)
        a[i, j], a[j, i] = v, 1 / v
    res = ahp_weights(a)
    published = np.array([0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327])
    np.testing.assert_allclose(res["weights"], published, atol=5e-4)
    assert res["cr"] == pytest.approx(0.022, abs=5e-4)
    assert res["ri"] == 1.32 and res["reason"] == ""


def test_ahp_consistent_matrix_recovers_the_weights_exactly() -> None:
    w = np.array([0.5, 0.3, 0.15, 0.05])
    res = ahp_weights(w[:, None] / w[None, :])
    np.testing.assert_allclose(res["weights"], w, rtol=1e-12)
    assert res["lambda_max"] == pytest.approx(4.0, abs=1e-12)
    assert res["cr"] == pytest.approx(0.0, abs=1e-12)


def test_ahp_flags_inconsistency_and_refuses_non_reciprocal() -> None:
    cyclic = np.array([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
    assert ahp_weights(cyclic)["reason"] == "ahp_inconsistent"
    with pytest.raises(ValueError, match="reciprocal"):
        ahp_weights([[1, 2], [2, 1]])


def test_entropy_weights_hand_computed() -> None:
    # column 1 constant → e = 1 → weight 0; column 2 = (1, 3): p = (.25, .75),
    # e = −(.25 ln .25 + .75 ln .75) / ln 2 = 0.811278; so all weight on column 2
    w = entropy_weights([[2, 1], [2, 3]])
    np.testing.assert_allclose(w, [0.0, 1.0])
    # two informative columns: weights ∝ 1 − e_j
    x = np.array([[1.0, 1.0], [3.0, 2.0], [6.0, 2.0]])
    p = x / x.sum(0)
    e = -(p * np.log(p)).sum(0) / np.log(3)
    np.testing.assert_allclose(entropy_weights(x), (1 - e) / (1 - e).sum(), rtol=1e-12)


def test_grade_cutoffs_at_the_boundaries() -> None:
    out = grade_of(np.array([90.0, 89.999, 80.0, 60.0, 59.99, np.nan]))
    assert list(out) == ["excellent", "good", "good", "pass", "fail", ""]


def _tiny_framework() -> ScoringFramework:
    return ScoringFramework(
        id="t", label_zh="t", label_en="t", weighting="given",
        dimensions=(
            ScoringDimension("a", "a", "a", (ScoringIndicator("x", "x", "x", "x", floor=0, target=10),
                                             ScoringIndicator("y", "y", "y", "y", floor=1, target=0, weight=3)),
                             weight=0.75),
            ScoringDimension("b", "b", "b", (ScoringIndicator("z", "z", "z", "z", floor=0, target=1),), weight=0.25),
        ))


def test_rollup_hand_computed_with_missing_indicator_and_lower_is_better() -> None:
    panel = pd.DataFrame({"community_id": ["c1", "c2", "c3"], "x": [5.0, 20.0, np.nan],
                          "y": [0.5, 0.0, np.nan], "z": [1.0, 0.0, 0.5]})
    long, totals, info = score_indicators(panel, _tiny_framework())
    # c1: x → 50, y (lower better, floor 1, target 0) → 50; a = (50 + 3·50)/4 = 50; b = 100; total = .75·50 + .25·100
    assert totals.loc[0, "score"] == pytest.approx(62.5)
    # c2: x capped at 100, y → 100, a = 100; b = 0; total 75
    assert totals.loc[1, "score"] == pytest.approx(75.0)
    # c3: dimension a has no data → total from b alone (weights renormalised) = 50, with a reason
    assert totals.loc[2, "score"] == pytest.approx(50.0)
    assert totals.loc[2, "reason"] == "dimension_without_data"
    assert list(totals["grade"]) == ["pass", "pass", "fail"]
    assert info["weights"] == {"a": 0.75, "b": 0.25}
    assert len(long) == 9


def test_sensitivity_shows_grades_move_only_near_cutoffs() -> None:
    fw = _tiny_framework()
    panel = pd.DataFrame({"community_id": ["flat", "edge"], "x": [9.5, 10.0], "y": [0.05, 0.0], "z": [0.95, 0.0]})
    out = grade_sensitivity(panel, fw, seed=1, draws=200)
    flat = out.iloc[0]
    assert flat["grade"] == "excellent" and flat["share_same_grade"] == 1.0  # both dimensions 95
    edge = out.iloc[1]  # a = 100, b = 0 → 75; ±20 % on a's weight crosses 80 (good) or 60
    assert edge["score"] == pytest.approx(75.0)
    assert edge["score_min"] < 75 < edge["score_max"] and "good" in edge["grades_seen"]


def test_shipped_framework_weightings() -> None:
    fw = load_scoring_framework()
    panel = pd.DataFrame({"community_id": ["a", "b", "c"], "social_workers_per_10k": [1.0, 3.0, 6.0],
                          "share_resolved": [0.9, 0.95, 1.0], "share_satisfied": [0.6, 0.7, 0.9]})
    _, _, given = score_indicators(panel, fw)
    assert sum(given["weights"].values()) == pytest.approx(1.0)
    _, _, ahp = score_indicators(panel, attrs.evolve(fw, weighting="ahp"))
    assert 0 < ahp["cr"] < 0.1 and ahp["weights"]["outputs"] > ahp["weights"]["inputs"]
    _, totals, ent = score_indicators(panel, attrs.evolve(fw, weighting="entropy"))
    assert sum(ent["weights"].values()) == pytest.approx(1.0) and totals["score"].notna().all()
