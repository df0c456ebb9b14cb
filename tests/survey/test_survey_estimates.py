"""Design-based estimates on simulated data: within-community SEs, coverage, ICC truth, messages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataValidationError, MissingColumnError
from evalkit.results import Result
from evalkit.survey import ICCResult, SurveyEstimates, icc, survey_means, survey_proportions
from evalkit.testing import assert_result_close


def _clustered(n_clusters: int, m: int, icc_true: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.normal(0, np.sqrt(icc_true), n_clusters)
    c = np.repeat(np.arange(n_clusters), m)
    y = 5 + u[c] + rng.normal(0, np.sqrt(1 - icc_true), len(c))
    return pd.DataFrame({"community_id": [f"c{i:03d}" for i in c], "y": y,
                         "wave": rng.integers(1, 3, len(c)), "w": rng.uniform(0.5, 2, len(c))})


def test_within_community_se_is_srs_se_of_that_community() -> None:
    d = _clustered(6, 40, 0.2, seed=1)
    r = survey_means(d, outcomes="y", by="community_id", cluster="community_id")
    assert r.within_cluster
    one = d[d.community_id == "c002"].y
    e = r.estimates.set_index("community_id").loc["c002"]
    assert e.estimate == pytest.approx(one.mean())
    assert e.std_error == pytest.approx(one.std(ddof=1) / np.sqrt(len(one)), rel=1e-10)
    assert e.df == len(one) - 1
    assert e.deff == pytest.approx(1.0)


def test_clustered_se_exceeds_srs_se_and_deff_tracks_icc() -> None:
    d = _clustered(30, 50, 0.1, seed=2)
    clustered = survey_means(d, outcomes="y", cluster="community_id").estimates.iloc[0]
    srs = survey_means(d, outcomes="y").estimates.iloc[0]
    assert clustered.std_error > 2 * srs.std_error
    assert clustered.df == 29
    # Kish: deff ≈ 1 + (m - 1)·ICC = 5.9 for equal clusters
    assert clustered.deff == pytest.approx(1 + 49 * 0.1, rel=0.5)


def test_clustered_t_interval_covers_at_nominal_rate() -> None:
    """20 clusters, ICC 0.15: the t(df = 19) interval covers the true mean 5 in ~95% of 250 draws (±3 SD)."""
    hits = 0
    for seed in range(250):
        e = survey_means(_clustered(20, 15, 0.15, seed=100 + seed), outcomes="y", cluster="community_id").estimates
        hits += e.ci_lower.iloc[0] <= 5 <= e.ci_upper.iloc[0]
    assert 0.91 <= hits / 250 <= 0.99


def test_weights_matter_and_scale_does_not() -> None:
    d = _clustered(10, 30, 0.1, seed=3)
    d["w"] = np.where(d.y > 5, 3.0, 1.0)
    a = survey_means(d, outcomes="y", weights="w", cluster="community_id").estimates
    b = survey_means(d.assign(w=d.w * 17.5), outcomes="y", weights="w", cluster="community_id").estimates
    c = survey_means(d, outcomes="y", cluster="community_id").estimates
    for col in ("estimate", "std_error", "ci_lower", "ci_upper", "deff"):
        assert a[col].iloc[0] == pytest.approx(b[col].iloc[0], rel=1e-12)
    assert a.estimate.iloc[0] > c.estimate.iloc[0] + 0.1


def test_domain_with_missing_answers_equals_subset_estimate() -> None:
    d = _clustered(12, 20, 0.1, seed=4)
    d.loc[d.index[::7], "y"] = np.nan
    by = survey_means(d, outcomes="y", by="wave", weights="w", cluster="community_id").estimates.set_index("wave")
    sub = d[d.wave == 2]
    assert by.loc[2, "estimate"] == pytest.approx(np.average(sub.y.dropna(), weights=sub.w[sub.y.notna()]))
    assert by.loc[2, "n_obs"] == sub.y.notna().sum()


def test_proportions_sum_to_one_and_stay_in_unit_interval() -> None:
    d = _clustered(8, 25, 0.1, seed=5)
    d["hukou"] = np.where(d.y > 5.8, "migrant", "local")
    d.loc[d.index[:3], "hukou"] = None
    r = survey_proportions(d, variables="hukou", by="wave", weights="w", cluster="community_id")
    sums = r.estimates.groupby("wave").estimate.sum()
    assert np.allclose(sums, 1.0)
    assert (r.estimates.ci_lower > 0).all() and (r.estimates.ci_upper < 1).all()
    wald = survey_proportions(d, variables="hukou", weights="w", cluster="community_id", ci_method="wald").estimates
    assert np.allclose(wald.ci_upper - wald.estimate, wald.estimate - wald.ci_lower)


def test_icc_recovers_truth() -> None:
    d = _clustered(200, 30, 0.2, seed=6)
    r = icc(d, outcomes="y", cluster="community_id")
    e = r.estimates.iloc[0]
    assert e.icc == pytest.approx(0.2, abs=0.04)
    assert e.ci_lower < 0.2 < e.ci_upper
    assert e.deff_cluster == pytest.approx(1 + 29 * e.icc)
    reml = icc(d, outcomes="y", cluster="community_id", method="reml").estimates.iloc[0]
    assert reml.icc == pytest.approx(e.icc, abs=0.01)  # balanced design: REML ≈ ANOVA


def test_icc_by_wave_rows() -> None:
    d = _clustered(20, 20, 0.1, seed=7)
    r = icc(d, outcomes="y", cluster="community_id", by="wave")
    assert r.estimates.group_var.tolist() == ["all", "wave", "wave"]
    assert r.estimates.group.tolist() == ["all", "1", "2"]


def test_messages() -> None:
    d = _clustered(4, 5, 0.1, seed=8)
    with pytest.raises(MissingColumnError, match="'weight'"):
        survey_means(d, outcomes="y", weights="weight")
    with pytest.raises(DataValidationError, match="use survey_proportions"):
        survey_means(d.assign(y="a"), outcomes="y")
    with pytest.raises(DataValidationError, match="fpc column 'f' varies within a stratum"):
        survey_means(d.assign(f=np.arange(len(d)) + 100.0), outcomes="y", cluster="community_id", fpc="f")


def test_results_round_trip() -> None:
    d = _clustered(6, 10, 0.1, seed=9)
    for r in (survey_means(d, outcomes="y", by=["community_id", "wave"], weights="w", cluster="community_id"),
              survey_proportions(d.assign(g=np.where(d.y > 5, "hi", "lo")), variables="g", by="wave",
                                 cluster="community_id"),
              icc(d, outcomes="y", cluster="community_id", by="wave")):
        back = Result.from_dict(json.loads(json.dumps(r.to_dict())))
        assert isinstance(back, SurveyEstimates | ICCResult)
        assert_result_close(back, r)
        assert r.summary(lang="en") and r.summary(lang="zh") and "<table" in r._repr_html_()
