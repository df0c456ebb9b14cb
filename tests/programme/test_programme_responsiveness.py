"""Responsiveness: Kaplan–Meier time to resolution with open (censored) requests and ties,
checked against hand computations of the product-limit estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.programme.responsiveness import kaplan_meier_summary, request_volumes, resolution_times, satisfaction_table


def test_kaplan_meier_by_hand_with_ties_and_censoring() -> None:
    # hours: 10, 20, 20 (tie), 30 open, 50, 80 open; at 10: S = 5/6; at 20: 2 events among 5 at risk,
    # S = 5/6 · 3/5 = 1/2; at 50: 1 event among 2 at risk (30 censored), S = 1/4; 80 censored.
    hours = np.array([10, 20, 20, 30, 50, 80], float)
    resolved = np.array([1, 1, 1, 0, 1, 0], bool)
    out = kaplan_meier_summary(hours, resolved)
    assert out["median_hours"] == 20.0  # first time with S ≤ 0.5
    assert np.isnan(out["p90_hours"]) and out["reason"] == "p90_not_reached"
    assert out["km_within_24h"] == pytest.approx(0.5)
    assert out["km_within_72h"] == pytest.approx(0.75)
    assert (out["n"], out["n_resolved"], out["n_open"]) == (6, 4, 2)


def test_censoring_is_not_ignored() -> None:
    # dropping the four open requests would put the median at 10 h; with them S(20) = 4/7 > 0.5
    hours = np.array([5, 10, 20, 100, 100, 100, 100], float)
    resolved = np.array([1, 1, 1, 0, 0, 0, 0], bool)
    out = kaplan_meier_summary(hours, resolved)
    assert np.isnan(out["median_hours"]) and "median_not_reached" in out["reason"]
    assert out["km_within_24h"] == pytest.approx(3 / 7)


def test_degenerate_groups() -> None:
    assert kaplan_meier_summary(np.array([]), np.array([], bool))["reason"] == "no_requests"
    none = kaplan_meier_summary(np.array([5.0, 6.0]), np.array([False, False]))
    assert none["reason"] == "none_resolved" and none["km_within_24h"] == 0.0


def test_resolution_times_censor_open_requests_at_as_of() -> None:
    t0 = pd.Timestamp("2024-01-01 08:00")
    req = pd.DataFrame({
        "community_id": ["A"] * 4,
        "received_at": [t0, t0, t0, t0 + pd.Timedelta(hours=90)],
        "resolved_at": [t0 + pd.Timedelta(hours=2), t0 + pd.Timedelta(hours=30), pd.NaT, pd.NaT],
    })
    out = resolution_times(req, by=("community_id",), as_of=t0 + pd.Timedelta(hours=100)).iloc[0]
    # durations 2, 30 (resolved), 100 open, 10 open (received 10 h before as_of)
    # KM: at 2 → 3/4; at 30, at risk 2 (10 censored) → 3/8; so within 24 h = 1/4, median = 30
    assert out["km_within_24h"] == pytest.approx(0.25) and out["median_hours"] == 30.0
    assert out["naive_within_24h"] == pytest.approx(0.25) and out["naive_within_72h"] == pytest.approx(0.5)


def test_volumes_and_satisfaction_with_zero_ratings() -> None:
    agg = pd.DataFrame({"group": ["g", "g", "h"], "channel": ["a", "b", "a"], "requests": [3, 1, 2],
                        "resolved": [3, 0, 1], "within_24h": [1, 0, 0], "within_72h": [2, 0, 1],
                        "rated": [2, 0, 0], "satisfied": [1, 0, 0], "satisfaction_sum": [7, 0, 0]})
    vol = request_volumes(agg, by=("group", "channel"))
    assert list(vol["share_of_requests"]) == [0.75, 0.25, 1.0] and vol.loc[1, "share_resolved"] == 0.0
    sat = satisfaction_table(agg, by=("group",)).set_index("group")
    assert sat.loc["g", "mean_score"] == 3.5 and sat.loc["g", "share_satisfied"] == 0.5
    assert sat.loc["h", "reason"] == "no_ratings" and np.isnan(sat.loc["h", "mean_score"])
