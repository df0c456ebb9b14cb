"""Small hand-checkable fixtures for the programme indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _make_services(n: int, seed: int = 0, communities: int = 5) -> pd.DataFrame:
    """A synthetic ledger with the data model's columns (costs with 2 decimals, hours in halves)."""
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2022-01-01") + rng.integers(0, 3 * 365, n)
    return pd.DataFrame({
        "service_id": [f"S{i:07d}" for i in range(n)],
        "community_id": np.array([f"C{k:02d}" for k in range(communities)], dtype=object)[
            rng.integers(0, communities, n)],
        "service_date": pd.to_datetime(dates).astype("datetime64[ns]"),
        "block": np.array(["为老服务", "儿童关爱", "助残服务", "文体活动"], dtype=object)[rng.integers(0, 4, n)],
        "method": np.array(["casework", "group", "event", "home_visit"], dtype=object)[rng.integers(0, 4, n)],
        **{f"actor_{a}": rng.random(n) < p for a, p in
           (("community", 0.9), ("social_org", 0.5), ("social_worker", 0.4), ("volunteer", 0.4), ("charity", 0.1))},
        "participants": rng.integers(1, 60, n).astype("int64"),
        "volunteer_hours": rng.integers(0, 20, n) / 2,
        "cost_yuan": np.round(rng.uniform(0, 5000, n), 2),
    })


@pytest.fixture
def make_services():
    """Factory of synthetic ledgers: make_services(n, seed=0, communities=5)."""
    return _make_services


@pytest.fixture
def services_small() -> pd.DataFrame:
    """Four services in two communities, hand-checkable."""
    return pd.DataFrame({
        "service_id": ["a", "b", "c", "d"],
        "community_id": ["X", "X", "X", "Y"],
        "service_date": pd.to_datetime(["2023-01-05", "2023-01-20", "2024-03-01", "2023-06-30"]),
        "block": ["为老服务", "儿童关爱", "为老服务", "文体活动"],
        "method": ["casework", "group", "event", "event"],
        "actor_community": [True, True, True, False],
        "actor_social_org": [True, False, True, False],
        "actor_social_worker": [False, False, True, False],
        "actor_volunteer": [False, True, True, False],
        "actor_charity": [False, False, True, False],
        "participants": [1, 8, 40, 25],
        "volunteer_hours": [0.0, 1.5, 3.0, 0.0],
        "cost_yuan": [199.995, 800.0, 2000.01, 0.0],
    })


@pytest.fixture
def context_small() -> pd.DataFrame:
    return pd.DataFrame({
        "community_id": ["X", "Y", "Z"], "urban_rural": ["urban", "rural", "urban"],
        "population": [10_000.0, 0.0, 5_000.0], "adults": [8_000.0, 0.0, 4_000.0],
        "elderly": [2_000.0, 0.0, np.nan], "migrants": [1_000.0, 0.0, 500.0], "under18": [2_000.0, 0.0, 1_000.0],
        "group": ["wushe", "sanshe", "comparison"],
        "start_date": pd.to_datetime(["2023-06-15", "2024-01-01", pd.NaT]),
        "start_year": [2023, 2024, 0],
    })
