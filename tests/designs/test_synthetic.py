"""Known truth on simulated panels for the synthetic designs, the community panel helper, and
the error messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.designs import community_panel, synthetic_control, synthetic_did
from evalkit.errors import DataValidationError, NotIdentifiedError


def _factor_panel(effect: float, *, seed: int = 3, n_donors: int = 14, n_pre: int = 20, n_post: int = 5,
                  noise: float = 0.05) -> tuple[pd.DataFrame, dict[str, float]]:
    """Factor model plus a random walk per donor (so no other convex combination tracks the pilot, and
    with more pre-periods than donors the weights are identified); the pilot is 0.5·d00 + 0.3·d01 +
    0.2·d02 plus noise and the effect. Its trend differs from the donors' average, so plain DiD is
    biased and the synthetic designs are not."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_pre + n_post)
    factors = np.vstack([np.ones_like(t, dtype=float), t / 5.0, np.sin(t / 2.0)])
    load = rng.normal(0, 1, (n_donors, 3))
    load[:3, 1] += 2.0  # the three true donors trend up
    y0 = load @ factors + np.cumsum(rng.normal(0, 0.3, (n_donors, len(t))), axis=1)
    truth = {"d00": 0.5, "d01": 0.3, "d02": 0.2}
    y_pilot = 0.5 * y0[0] + 0.3 * y0[1] + 0.2 * y0[2]
    y = np.vstack([y0, y_pilot]) + rng.normal(0, noise, (n_donors + 1, len(t)))
    y[-1, n_pre:] += effect
    names = [f"d{i:02d}" for i in range(n_donors)] + ["pilot"]
    panel = pd.DataFrame([(names[i], 2010 + k, y[i, k]) for i in range(len(names)) for k in range(len(t))],
                         columns=["community", "year", "score"])
    return panel, truth


def test_synthetic_control_recovers_weights_effect_and_ranks_first():
    panel, truth = _factor_panel(effect=1.5)
    r = synthetic_control(panel, outcome="score", unit="community", time="year", treated_unit="pilot", start=2030)
    assert r.estimate == pytest.approx(1.5, abs=0.2)  # SE here ≈ 1: the random walks drift after the start
    w = r.tables["weights"].set_index("unit")["weight"]
    for unit, weight in truth.items():
        assert w[unit] == pytest.approx(weight, abs=0.1)
    assert r.estimates["p_value"].iloc[0] == pytest.approx(1 / 15)  # largest RMSPE ratio of 15 units
    assert r.estimates["pre_rmspe"].iloc[0] < 0.1
    assert r.term("att")["std_error"] > 0

def test_synthetic_control_null_effect_is_not_significant():
    panel, _ = _factor_panel(effect=0.0, seed=4)
    r = synthetic_control(panel, outcome="score", unit="community", time="year", treated_unit="pilot", start=2030)
    assert abs(r.estimate) < 0.25
    assert r.estimates["ci_lower"].iloc[0] < 0 < r.estimates["ci_upper"].iloc[0]


def test_synthetic_did_recovers_the_effect_where_did_is_biased():
    panel, _ = _factor_panel(effect=1.0, seed=5)
    r = synthetic_did(panel, outcome="score", unit="community", time="year", treated_units=["pilot"], start=2030,
                      draws=50, seed=1)
    assert r.term("sdid")["estimate"] == pytest.approx(1.0, abs=0.3)  # its placebo SE is ≈ 0.75
    assert abs(r.term("did")["estimate"] - 1.0) > 1.0
    assert r.inference.seed == 1 and r.provenance.seed == 1


def _residents() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for c, level in [("A", 3.0), ("B", 4.0)]:
        for wave in (1, 2):
            for k in range(6):
                rows.append((c, wave, level + wave, 1.0 + (k % 2), 2024 if c == "A" else 0))
    d = pd.DataFrame(rows, columns=["community_id", "wave", "belonging", "w", "pilot_wave"])
    d.loc[0, "belonging"] = np.nan
    d["trust"] = d["belonging"] * 2 + rng.normal(0, 0, len(d))
    return d


def test_community_panel_weighted_means_and_counts():
    d = _residents()
    d.loc[1, "belonging"] = 10.0  # weight 2 (k = 1) in cell A-1, whose others are 4.0
    p = community_panel(d, outcomes=["belonging"], weights="w", keep="pilot_wave")
    a1 = p[(p.community_id == "A") & (p.wave == 1)].iloc[0]
    # cell A-1: k = 0 missing; k = 1 (w 2) → 10; k = 2..5 weights 1, 2, 1, 2 at 4.0
    assert a1["belonging"] == pytest.approx((2 * 10 + (1 + 2 + 1 + 2) * 4.0) / 8)
    assert a1["n_belonging"] == 5 and a1["n_respondents"] == 6 and a1["pilot_wave"] == 2024
    assert list(p.columns[:3]) == ["community_id", "wave", "pilot_wave"]
    assert len(p) == 4
    thin = community_panel(d, outcomes="belonging", min_respondents=6)
    assert thin["belonging"].isna().sum() == 1


def test_community_panel_keep_must_be_constant():
    d = _residents()
    d.loc[3, "pilot_wave"] = 2025
    with pytest.raises(DataValidationError, match=r"vary for 'pilot_wave' in community_id A"):
        community_panel(d, outcomes="belonging", keep=["pilot_wave"])


def test_errors_name_the_users_columns_and_the_fix():
    panel, _ = _factor_panel(effect=0.0)
    holes = panel.drop(index=panel.index[(panel.community == "d03") & (panel.year == 2013)])
    with pytest.raises(DataValidationError, match=r"column 'score' is missing for 1 community-period.*d03.*donors=") as e:
        synthetic_control(holes, outcome="score", unit="community", time="year", treated_unit="pilot", start=2030)
    assert e.value.failure_cases.iloc[0]["unit"] == "d03"
    with pytest.raises(NotIdentifiedError, match=r"start=2011 leaves 1 pre-period"):
        synthetic_did(panel, outcome="score", unit="community", time="year", treated_units="pilot", start=2011)
    with pytest.raises(DataValidationError, match=r"pilot\(s\) \['nowhere'\] not found in column 'community'"):
        synthetic_control(panel, outcome="score", unit="community", time="year", treated_unit="nowhere", start=2030)


def test_diagnostics_flag_a_short_pre_period_and_a_pilot_outside_the_donors():
    """Known weak design: 3 pre-periods, the pilot above every donor, 6 donors → all four codes."""
    rng = np.random.default_rng(9)
    rows = [(f"d{i}", t, rng.normal(0, 1) + 0.1 * t) for i in range(6) for t in range(5)]
    rows += [("pilot", t, 5.0 + rng.normal(0, 0.5) + 0.1 * t) for t in range(5)]
    panel = pd.DataFrame(rows, columns=["community", "wave", "score"])
    r = synthetic_control(panel, outcome="score", unit="community", time="wave", treated_unit="pilot", start=3)
    diag = r.tables["diagnostics"].set_index("code")
    assert diag.loc["few_pre_periods", "flagged"] and diag.loc["few_pre_periods", "value"] == 3
    assert diag.loc["outside_hull", "value"] == 1.0
    assert diag.loc["poor_pre_fit", "flagged"]
    assert diag.loc["p_value_floor", "value"] == pytest.approx(1 / 7) and diag.loc["p_value_floor", "flagged"]
    zh, en = r.summary(lang="zh"), r.summary(lang="en")
    assert "只有 3 期" in zh and "100%" in zh and "only 3 periods" in en
    s = synthetic_did(panel, outcome="score", unit="community", time="wave", treated_units="pilot", start=3,
                      draws=20, seed=2)
    sd = s.tables["diagnostics"].set_index("code")
    assert sd.loc["few_placebos", "flagged"] and sd.loc["few_placebos", "value"] == 6
    assert "p_value_floor" not in sd.index


def test_two_pilots_starting_together():
    """Synthetic DiD with two pilots: the gap of their mean reproduces the estimate; the DiD row's placebo SE
    enumerates all C(14, 2) = 91 pseudo-pilot pairs."""
    panel, _ = _factor_panel(effect=1.0, seed=7)
    twin = panel[panel.community == "pilot"].assign(community="pilot2")
    twin["score"] += np.random.default_rng(1).normal(0, 0.05, len(twin))
    panel = pd.concat([panel, twin], ignore_index=True)
    r = synthetic_did(panel, outcome="score", unit="community", time="year", treated_units=["pilot", "pilot2"],
                      start=2030, draws=200, seed=3)
    assert r.n_treated_clusters == 2 and r.n_clusters == 16
    gaps = r.tables["gaps"]
    assert gaps.loc[gaps["phase"] == "post", "gap"].mean() == pytest.approx(r.estimate, rel=1e-8)
    assert r.estimate == pytest.approx(1.0, abs=0.35)
    assert r.tables["diagnostics"].set_index("code").loc["few_placebos", "value"] == 91


def test_rescaling_the_outcome_rescales_every_number():
    """Outcome × 10 + 3: estimates and SEs × 10, weights and p-values unchanged (ADH's and SDID's
    estimators are equivariant to affine changes of the outcome's units)."""
    panel, _ = _factor_panel(effect=0.5, seed=8, n_donors=8, n_pre=12, n_post=4)
    scaled = panel.assign(score=panel["score"] * 10 + 3)
    args = dict(outcome="score", unit="community", time="year", treated_unit="pilot", start=2022)
    a, b = synthetic_control(panel, **args), synthetic_control(scaled, **args)
    assert b.estimate == pytest.approx(10 * a.estimate, rel=1e-6)
    assert b.std_error == pytest.approx(10 * a.std_error, rel=1e-6)
    assert b.estimates["p_value"].iloc[0] == a.estimates["p_value"].iloc[0]
    np.testing.assert_allclose(b.tables["weights"]["weight"], a.tables["weights"]["weight"], atol=1e-6)
    sd_args = dict(outcome="score", unit="community", time="year", treated_units="pilot", start=2022, draws=30,
                   seed=4)
    c, d = synthetic_did(panel, **sd_args), synthetic_did(scaled, **sd_args)
    np.testing.assert_allclose(d.estimates["estimate"], 10 * c.estimates["estimate"], rtol=1e-6)
    np.testing.assert_allclose(d.estimates["std_error"], 10 * c.estimates["std_error"], rtol=1e-5)
