"""Shared data for the estimator tests: reference data sets and simulated designs with known truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "did"


@pytest.fixture(scope="session")
def ref_r() -> dict:
    return json.loads((REF / "did_reference_r.json").read_text())


@pytest.fixture(scope="session")
def published() -> dict:
    return json.loads((REF / "published_values.json").read_text())


@pytest.fixture(scope="session")
def mpdta() -> pd.DataFrame:
    d = pd.read_csv(REF / "mpdta.csv")
    d["state"] = d["countyreal"] // 1000
    return d


@pytest.fixture(scope="session")
def mpdta_2x2(mpdta: pd.DataFrame) -> pd.DataFrame:
    """2007 cohort vs never treated, 2006 vs 2007 (the R reference case)."""
    s = mpdta[mpdta["year"].isin([2006, 2007]) & mpdta["first_treat"].isin([0, 2007])].copy()
    s["d"] = (s["first_treat"] == 2007).astype(int)
    s["p"] = (s["year"] == 2007).astype(int)
    s["w"] = np.exp(s["lpop"])
    return s.reset_index(drop=True)


def simulate_staggered(*, n_units: int = 300, periods: int = 8, cohorts=(3, 5, 7),
                       slopes=(1.0, 0.5, 0.2), never_share: float = 0.3, seed: int = 1,
                       effect: bool = True, respondents: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staggered adoption with dynamic, cohort-specific effects ATT(g,t) = slope_g·(t−g+1).

    Effects that grow with exposure and differ by cohort are the case where TWFE uses
    already-treated units as controls and is biased (Goodman-Bacon 2021). Returns the panel
    (or, with ``respondents > 0``, repeated cross-sections of that many respondents per
    unit-period) and the true ATT(g,t) table.
    """
    rng = np.random.default_rng(seed)
    probs = np.r_[never_share, np.repeat((1 - never_share) / len(cohorts), len(cohorts))]
    g = rng.choice(np.r_[0, cohorts], size=n_units, p=probs)
    alpha = rng.normal(0, 1, n_units) + 0.3 * (g > 0)
    lam = np.linspace(0, 1, periods)
    slope = dict(zip(cohorts, slopes, strict=True))
    rows = []
    truth = []
    for t in range(1, periods + 1):
        for i in range(n_units):
            tau = slope[g[i]] * (t - g[i] + 1) if (effect and g[i] > 0 and t >= g[i]) else 0.0
            n_obs = max(respondents, 1)
            for r in range(n_obs):
                y = alpha[i] + lam[t - 1] + tau + rng.normal(0, 0.5)
                rows.append((i, t, g[i], y, r))
    for c in cohorts:
        for t in range(1, periods + 1):
            truth.append((c, t, slope[c] * (t - c + 1) if (effect and t >= c) else 0.0,
                          int((g == c).sum())))
    df = pd.DataFrame(rows, columns=["unit", "time", "cohort", "y", "resp"])
    df["treat"] = ((df["cohort"] > 0) & (df["time"] >= df["cohort"])).astype(int)
    df["unit"] = df["unit"].map(lambda i: f"{i:04d}")
    truth_df = pd.DataFrame(truth, columns=["group", "time", "att", "n_units"])
    return df, truth_df


@pytest.fixture(scope="session")
def staggered_sim():
    return simulate_staggered()


@pytest.fixture(scope="session")
def simulate():
    """The simulator itself, for tests that need other designs."""
    return simulate_staggered


@pytest.fixture(scope="session")
def ref_dir() -> Path:
    return REF
