"""The one inference toolbox: covariance registry (against statsmodels), cluster coding, draw
weights, the Literal-aware option validator."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pytest

from evalkit._checks import check_choice
from evalkit.errors import DataValidationError
from evalkit.estimators.linear_model import fit_wls
from evalkit.inference import (Covariance, cluster_codes, vcov, vcov_kinds,
                               draw_weights, register_covariance)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(4)
    n, G = 400, 17
    g = rng.integers(0, G, n)
    X = pd.DataFrame({"const": 1.0, "x": rng.normal(size=n), "d": (g < 6).astype(float)})
    y = X.to_numpy() @ [1.0, 0.5, 0.3] + rng.normal(size=G)[g] + rng.normal(size=n) * (1 + X.x.abs())
    w = rng.uniform(0.5, 2.0, n)
    return X, y, w, g


@pytest.mark.parametrize("weighted", [False, True])
def test_hc1_and_cr1_match_statsmodels(fitted, weighted):
    """statsmodels WLS ``cov_type="HC1"`` and ``cov_type="cluster"`` (default correction
    G/(G−1)·(N−1)/(N−K), Stata's CR1); rtol 1e-10."""
    import statsmodels.api as sm

    X, y, w, g = fitted
    ww = w if weighted else None
    fit = fit_wls(y, X, ww)
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    hc1 = model.fit(cov_type="HC1").cov_params().to_numpy()
    cl = model.fit(cov_type="cluster", cov_kwds={"groups": g}).cov_params().to_numpy()
    np.testing.assert_allclose(vcov("hc1", fit).vcov, hc1, rtol=1e-10)
    cov = vcov("cr1", fit, cluster=g)
    np.testing.assert_allclose(cov.vcov, cl, rtol=1e-10)
    assert cov.n_clusters == 17 and (cov.df == 16).all()
    cr2 = vcov("cr2", fit, cluster=g)
    assert cr2.kind == "cr2" and cr2.df.shape == (3,) and (cr2.df < 16).all()


def test_registry_takes_new_options_and_names_the_known_ones(fitted):
    X, y, _, g = fitted
    fit = fit_wls(y, X)
    assert set(vcov_kinds()) >= {"hc1", "cr1", "cr2"}

    def hc0(f, *, cluster=None, fe_nested=True):
        s = f.X * f.resid[:, None]
        return Covariance(vcov=f.bread @ (s.T @ s) @ f.bread, df=np.full(3, np.inf), kind="hc0_test")

    register_covariance("hc0_test", hc0, clustered=False)
    try:
        n, k = X.shape
        np.testing.assert_allclose(vcov("hc0_test", fit).vcov * n / (n - k),
                                   vcov("hc1", fit).vcov, rtol=1e-12)
    finally:
        import sys

        sys.modules["evalkit.inference.covariance"]._REGISTRY.pop("hc0_test")
    with pytest.raises(ValueError, match=r"vcov='hc9' is not allowed; use one of 'hc1', 'cr1', 'cr2'"):
        vcov("hc9", fit)
    with pytest.raises(DataValidationError, match=r"cluster-robust but no cluster"):
        vcov("cr1", fit)


def test_cluster_codes_orders():
    labels = pd.Series(["b", "a", "10", "2", "a", "b"])
    np.testing.assert_array_equal(cluster_codes(labels), [0, 1, 2, 3, 1, 0])
    np.testing.assert_array_equal(cluster_codes(labels, order="sorted"), [3, 2, 0, 1, 2, 3])
    ints = pd.Series([10, 2, 10, 1])
    np.testing.assert_array_equal(cluster_codes(ints, order="sorted"), [2, 1, 2, 0])
    np.testing.assert_array_equal(cluster_codes(ints, order="string_sorted"), [1, 2, 1, 0])
    # ids are compared as strings: 1 and "1" are the same community
    np.testing.assert_array_equal(cluster_codes(pd.Series([1, "1", "x"], dtype=object)), [0, 0, 1])
    with pytest.raises(DataValidationError, match=r"cluster has 1 missing labels \(rows 2"):
        cluster_codes(pd.Series(["a", None, "b"]))


def test_draw_weights_one_stream():
    V, enum = draw_weights(5, 20, "rademacher", 3)
    assert not enum
    np.testing.assert_array_equal(V, np.random.default_rng(3).choice([-1.0, 1.0], size=(20, 5)))
    E, enum = draw_weights(4, 16, "rademacher", 3, enumerate_rademacher=True)
    assert enum and E.shape == (16, 4) and len({tuple(r) for r in E}) == 16
    W, _ = draw_weights(3, 6000, "webb", 1)
    assert len(np.unique(W)) == 6 and abs(W.mean()) < 0.05 and abs((W**2).mean() - 1) < 0.03


def test_check_choice_reads_literal_types():
    Kind = Literal["a", "b"]
    assert check_choice("kind", "a", Kind) == "a"
    with pytest.raises(ValueError, match=r"f\(\): argument kind='c' is not allowed; use one of 'a', 'b'"):
        check_choice("kind", "c", Kind, where="f()")
    with pytest.raises(ValueError, match=r"use one of 'x', 'y'"):
        check_choice("kind", "z", ("x", "y"))
