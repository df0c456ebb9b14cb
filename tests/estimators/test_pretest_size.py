"""The parallel-trends pre-test holds its size on small community designs.

Known truth: panels from :func:`evalkit.testing.make_community_panel` satisfy parallel
trends, so a 5 % test should reject in about 5 % of them. Before the pre-test followed the
few-clusters guardrail, its asymptotic χ² version rejected in most (0.80 of 1,000 panels with 8
communities and 2 pilots; see ``benchmarks/pretest_size.py`` for the full run).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from pretest_size import DESIGNS, rejection_rates  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DESIGNS))
def test_pretest_rejection_rate_is_near_nominal(name):
    """200 null panels: the guardrailed test rejects at most 0.05 + 3 MC sd (sd 0.015), and
    the χ² test it replaces rejects far more often (so the test could fail)."""
    reps = 200
    out = rejection_rates(DESIGNS[name], reps=reps, draws=199)
    sd = np.sqrt(0.05 * 0.95 / reps)
    assert out["method"] == "wald_randomization"
    assert out["guardrailed"] <= 0.05 + 3 * sd
    assert out["chi2"] > 0.3


def test_pretest_detects_a_real_pre_trend():
    """Power check: pilots on a diverging trend (0.15 per year, about twice the noise of a
    community mean) are flagged by the guardrailed test in most panels."""
    design = dict(DESIGNS["8 communities, 2 pilots (2021, 2022)"])
    from evalkit.estimators import did_staggered
    from evalkit.testing import make_community_panel

    hits = 0
    for r in range(10):
        panel = make_community_panel(seed=500 + r, trend_gap=0.15, **design)
        res = did_staggered(panel, outcome="y", unit="community_id", time="year",
                            cohort="cohort", draws=199, seed=r)
        pre = res.estimates[res.estimates["aggregation"] == "pretest"].iloc[0]
        hits += pre["p_value"] < 0.1
    assert hits >= 6


def test_pretest_falls_back_to_the_bootstrap_when_cohorts_vary_within_clusters():
    """12 communities in 8 districts, four of which hold a pilot and a comparison community:
    no assignment of cohorts to districts to permute, so the re-studentised multiplier
    bootstrap is used, and the result says it may over-reject."""
    from evalkit.estimators import did_staggered
    from evalkit.testing import make_community_panel

    panel = make_community_panel(n_communities=12, cohorts=(2021,) * 3 + (2022,) * 3, seed=3)
    code = panel["community_id"].str[1:].astype(int)
    panel["district"] = np.where((code >= 6) & (code <= 9), code - 6, code)
    res = did_staggered(panel, outcome="y", unit="community_id", time="year", cohort="cohort",
                        cluster="district", draws=199, seed=1)
    pre = res.estimates[res.estimates["aggregation"] == "pretest"].iloc[0]
    assert pre["inference"] == "wald_multiplier_bootstrap"
    assert 0 < pre["p_value"] <= 1 and pre["df"] == 5
    from evalkit.reporting.notes import note_sentences

    assert any("over-reject" in n for n in note_sentences(res.notes, "en"))
