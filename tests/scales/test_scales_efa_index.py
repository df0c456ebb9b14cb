"""EFA item-map check and the Anderson (2008) summary index on simulated data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataQualityWarning, DataValidationError
from evalkit.results import Result
from evalkit.scales import EFAResult, AndersonIndexResult, efa, anderson_index
from evalkit.testing import assert_result_close, make_likert_survey


def test_efa_recovers_the_item_map() -> None:
    s = make_likert_survey(n_communities=6, n_per_community_wave=100, seed=11)
    r = efa(s.survey, s.codebook)
    assert r.factors == ["f_gain", "f_belonging", "f_satisfaction"]
    assert r.estimates.fits.all()
    assert (r.estimates.primary_factor == "f_" + r.estimates.construct).all()


def test_efa_flags_an_item_assigned_to_the_wrong_construct() -> None:
    s = make_likert_survey(n_communities=6, n_per_community_wave=100, seed=12)
    from attrs import evolve

    wrong = evolve(s.codebook, variables=tuple(
        evolve(v, construct="satisfaction") if v.name == "gain_1" else v for v in s.codebook.variables
    ))
    with pytest.warns(DataQualityWarning, match=r"'gain_1' \(satisfaction\) loads most on f_gain"):
        r = efa(s.survey, wrong)
    assert r.misfits().item.tolist() == ["gain_1"]


def test_efa_round_trip() -> None:
    s = make_likert_survey(n_communities=4, n_per_community_wave=80, seed=13)
    r = efa(s.survey, s.codebook, rotation="varimax")
    back = Result.from_dict(json.loads(json.dumps(r.to_dict())))
    assert isinstance(back, EFAResult)
    assert_result_close(back, r)
    assert np.allclose(r.factor_correlation.to_numpy(), np.eye(3))  # orthogonal rotation
    assert "varimax" in r.summary(lang="en")


def _outcomes(n: int, corr: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = np.full((3, 3), corr) + np.diag([1 - corr] * 3)
    y = rng.multivariate_normal([0, 0, 0], cov, size=n)
    return pd.DataFrame(y * [1, 2, 0.5] + [3, 10, 1], columns=["a", "b", "c"]).assign(
        control=rng.random(n) < 0.5
    )


def test_index_weights_are_inverse_covariance_row_sums() -> None:
    d = _outcomes(3000, 0.3, seed=21)
    fit = anderson_index(d, outcomes=["a", "b", "c"], reference=d.control, restandardise=False)
    z = (d[["a", "b", "c"]] - d.loc[d.control, ["a", "b", "c"]].mean()) / d.loc[d.control, ["a", "b", "c"]].std()
    w = np.linalg.inv(np.cov(z.to_numpy(), rowvar=False)).sum(axis=1)
    assert fit.estimates.weight.to_numpy() == pytest.approx(w, rel=1e-10)
    manual = (z.to_numpy() @ w) / w.sum()
    assert fit.transform(d).to_numpy() == pytest.approx(manual, rel=1e-10)


def test_index_with_independent_outcomes_is_mean_of_z_scores() -> None:
    d = _outcomes(50_000, 0.0, seed=22)
    fit = anderson_index(d, outcomes=["a", "b", "c"], restandardise=False)
    assert fit.estimates.weight_share.to_numpy() == pytest.approx([1 / 3] * 3, abs=0.02)


def test_index_restandardised_to_reference_and_negative_outcomes_flip() -> None:
    d = _outcomes(2000, 0.4, seed=23)
    fit = anderson_index(d, outcomes=["a", "b", "c"], reference=d.control)
    idx = fit.transform(d)
    assert idx[d.control].mean() == pytest.approx(0.0, abs=1e-12)
    assert idx[d.control].std() == pytest.approx(1.0, rel=1e-12)
    flipped = anderson_index(d.assign(c=-d.c), outcomes=["a", "b", "c"], reference=d.control, negative=["c"])
    assert flipped.transform(d.assign(c=-d.c)).to_numpy() == pytest.approx(idx.to_numpy(), rel=1e-9)


def test_index_uses_available_outcomes_and_round_trips() -> None:
    d = _outcomes(500, 0.3, seed=24)
    d.loc[0, "a"] = np.nan
    d.loc[1, ["a", "b", "c"]] = np.nan
    fit = anderson_index(d, outcomes=["a", "b", "c"], reference={"control": True})
    idx = fit.transform(d)
    assert np.isfinite(idx.iloc[0]) and np.isnan(idx.iloc[1])
    back = Result.from_dict(json.loads(json.dumps(fit.to_dict())))
    assert isinstance(back, AndersonIndexResult)
    assert_result_close(back, fit)
    assert back.transform(d).equals(idx)


def test_index_refuses_constant_outcome() -> None:
    d = _outcomes(100, 0.3, seed=25).assign(c=1.0)
    with pytest.raises(DataValidationError, match="outcome\\(s\\) c have no variance"):
        anderson_index(d, outcomes=["a", "b", "c"])
