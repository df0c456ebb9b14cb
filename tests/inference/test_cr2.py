"""CR2 covariance and Satterthwaite dof: against R clubSandwich and against exact known truth.

Reference values: tests/reference/inference/cr2_clubsandwich.json, produced by
cr2_clubsandwich.R (R 4.2.2, clubSandwich 0.5.8, sandwich 3.0-2) on datasets that ship
with those packages (exported beside it as CSV). Tolerance: rtol = 1e-8 for the CR2
covariance entries and the Satterthwaite degrees of freedom (the agreement observed is
about 1e-11; the slack covers BLAS and the 15 significant digits of the CSV export).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.errors import DataValidationError, EstimationError
from evalkit.inference import cr2_vcov

REF = Path(__file__).parents[1] / "reference" / "inference"
RTOL = 1e-8
CASES = json.loads((REF / "cr2_clubsandwich.json").read_text())["cases"]


def _wls(X, y, w=None):
    sw = np.ones(len(y)) if w is None else np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    return beta, y - X @ beta


def _mortality():
    mv = pd.read_csv(REF / "mortality_mv.csv")
    states = (mv["state"].to_numpy()[:, None] == np.unique(mv["state"])).astype(float)
    years = (mv["year"].to_numpy()[:, None] == np.unique(mv["year"])[1:]).astype(float)
    return mv, states, years


def _achievement():
    return pd.read_csv(REF / "achievement_2001.csv")


def _design(name):
    """X, y, cluster, weights and the positions of the reference coefficients in X."""
    if name.startswith("mortality"):
        mv, states, years = _mortality()
        X = np.column_stack([mv["legal"], mv["beertaxa"], states, years])
        w = mv["pop"].to_numpy(float) if name == "mortality_weighted" else None
        return X, mv["mrate"].to_numpy(), mv["state"].to_numpy(), w, [0, 1]
    if name == "petersen":
        p = pd.read_csv(REF / "petersen.csv")
        return np.column_stack([np.ones(len(p)), p["x"]]), p["y"].to_numpy(), p["firm"].to_numpy(), None, [0, 1]
    aa = _achievement()
    one = np.ones(len(aa))
    if name == "achievement_all":
        cols = [one, aa["treated"], aa["girl"], aa["siblings"], aa["immigrant"], aa["father_ed"], aa["mother_ed"],
                aa["lagscore"], (aa["school_type"] == "Religious"), (aa["school_type"] == "Secular")]
        X = np.column_stack(cols).astype(float)
        return X, aa["bagrut"].to_numpy(float), aa["school_id"].to_numpy(), None, list(range(10))
    aa6 = aa[aa["pair"] <= 6]
    one = np.ones(len(aa6))
    if name == "achievement_pairs1to6":
        X = np.column_stack([one, aa6["treated"], aa6["girl"], aa6["siblings"], aa6["lagscore"]])
        return X, aa6["bagrut"].to_numpy(float), aa6["school_id"].to_numpy(), None, list(range(5))
    X = np.column_stack([one, aa6["treated"], aa6["girl"], aa6["siblings"]])
    w = aa6["siblings"].to_numpy(float) + 1
    return X, aa6["bagrut"].to_numpy(float), aa6["school_id"].to_numpy(), w, list(range(4))


@pytest.mark.reference_r
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_clubsandwich(name):
    """clubSandwich::vcovCR(fit, cluster, type = "CR2") and coef_test(..., test = "Satterthwaite")."""
    ref = CASES[name]
    X, y, cluster, w, pos = _design(name)
    beta, resid = _wls(X, y, w)
    vcov, dof = cr2_vcov(X, resid, cluster, weights=w)
    np.testing.assert_allclose(beta[pos], ref["estimate"], rtol=1e-9)
    expected = np.asarray(ref["vcov_cr2"]).reshape(len(pos), len(pos))
    np.testing.assert_allclose(vcov[np.ix_(pos, pos)], expected, rtol=RTOL)
    np.testing.assert_allclose(dof[pos], ref["df_satterthwaite"], rtol=RTOL)
    p = 2 * stats.t.sf(np.abs(beta[pos]) / np.sqrt(np.diag(vcov)[pos]), dof[pos])
    np.testing.assert_allclose(p, ref["p_satterthwaite"], rtol=1e-6)
    assert len(np.unique(cluster)) == ref["n_clusters"]


@pytest.mark.reference_r
def test_absorbed_state_effects_match_dummies_unweighted():
    """State FE nested in state clusters, no weights: demeaned X gives clubSandwich's dummy-model CR2
    (Pustejovsky & Tipton 2018, Theorem 2). Reference: case mortality_unweighted."""
    ref = CASES["mortality_unweighted"]
    mv, _, years = _mortality()
    g = mv["state"].to_numpy()
    raw = np.column_stack([mv["legal"], mv["beertaxa"], years, mv["mrate"]])
    dm = raw - pd.DataFrame(raw).groupby(g).transform("mean").to_numpy()
    beta, resid = _wls(dm[:, :-1], dm[:, -1])
    vcov, dof = cr2_vcov(dm[:, :-1], resid, g)
    np.testing.assert_allclose(vcov[:2, :2], ref["vcov_cr2"], rtol=RTOL)
    np.testing.assert_allclose(dof[:2], ref["df_satterthwaite"], rtol=RTOL)


def test_absorbed_effects_with_weights_differ_as_documented():
    """With weights, absorbing the FE is not exact (clubSandwich keeps the dummies); the module says
    so. Pin the size of the difference on the reference data: below 1 %, but not zero."""
    ref = CASES["mortality_weighted"]
    mv, _, years = _mortality()
    g, w = mv["state"].to_numpy(), mv["pop"].to_numpy(float)
    raw = np.column_stack([mv["legal"], mv["beertaxa"], years, mv["mrate"]])
    frame = pd.DataFrame(raw * w[:, None])
    w_sum = pd.Series(w).groupby(g).transform("sum").to_numpy()[:, None]
    dm = raw - frame.groupby(g).transform("sum").to_numpy() / w_sum
    beta, resid = _wls(dm[:, :-1], dm[:, -1], w)
    np.testing.assert_allclose(beta[:2], ref["estimate"], rtol=1e-9)
    vcov, _ = cr2_vcov(dm[:, :-1], resid, g, weights=w)
    rel = np.abs(vcov[:2, :2] / np.asarray(ref["vcov_cr2"]) - 1)
    assert 1e-6 < rel.max() < 0.01


# ---- known truth ---------------------------------------------------------------------------


def _expected_vcov(X, g, w=None):
    """E[V_CR2] under the working model ε ~ (0, I): V is linear in e e', e = (I − H) ε, so
    E[V] = Σ_i V(e = (I − H) u_i) over the unit vectors u_i."""
    n = X.shape[0]
    W = np.ones(n) if w is None else w
    H = X @ np.linalg.solve(X.T @ (W[:, None] * X), (W[:, None] * X).T)
    IH = np.eye(n) - H
    return sum(cr2_vcov(X, IH[:, i], g, weights=w)[0] for i in range(n))


@pytest.mark.parametrize("weighted", [False, True])
def test_cr2_is_exactly_unbiased_under_the_working_model(weighted):
    """Bell & McCaffrey (2002): E[V_CR2] = B X'W Φ W X B with Φ = I (B = (X'WX)^-1)."""
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(6), [3, 5, 8, 4, 6, 7])
    X = np.column_stack([np.ones(g.size), (g < 2).astype(float), rng.normal(size=g.size)])
    w = rng.uniform(0.5, 2.0, g.size) if weighted else None
    W = np.ones(g.size) if w is None else w
    B = np.linalg.inv(X.T @ (W[:, None] * X))
    truth = B @ (X.T @ (W[:, None] ** 2 * X)) @ B
    np.testing.assert_allclose(_expected_vcov(X, g, w), truth, rtol=1e-10, atol=1e-14)


def test_satterthwaite_dof_intercept_only_balanced_is_g_minus_1():
    g = np.repeat(np.arange(7), 5)
    resid = np.random.default_rng(0).normal(size=35)
    _, dof = cr2_vcov(np.ones((35, 1)), resid - resid.mean(), g)
    assert dof[0] == pytest.approx(6.0, rel=1e-12)


@pytest.mark.parametrize(("G", "G1"), [(8, 2), (8, 4), (12, 3), (20, 5)])
def test_satterthwaite_dof_cluster_treatment_is_welch(G, G1):
    """Cluster-level treatment, equal cluster sizes: CR2 is the unequal-variance two-sample
    variance of cluster means and its dof under Φ = I is Welch–Satterthwaite with σ1 = σ0:
    ν = (1/G1 + 1/G0)² / (1/(G1²(G1−1)) + 1/(G0²(G0−1)))."""
    m = 6
    g = np.repeat(np.arange(G), m)
    X = np.column_stack([np.ones(G * m), (g < G1).astype(float)])
    _, dof = cr2_vcov(X, np.random.default_rng(1).normal(size=G * m), g)
    G0 = G - G1
    welch = (1 / G1 + 1 / G0) ** 2 / (1 / (G1**2 * (G1 - 1)) + 1 / (G0**2 * (G0 - 1)))
    assert dof[1] == pytest.approx(welch, rel=1e-10)


# ---- behaviour -----------------------------------------------------------------------------


def test_zero_weight_rows_are_dropped_and_scale_is_irrelevant():
    X, y, g, w, _ = _design("achievement_pairs1to6_weighted")
    w = w.copy()
    w[:10] = 0.0
    beta, resid = _wls(X, y, w)
    v_zero, d_zero = cr2_vcov(X, resid, g, weights=w)
    v_drop, d_drop = cr2_vcov(X[10:], resid[10:], g[10:], weights=w[10:])
    v_scaled, d_scaled = cr2_vcov(X, resid, g, weights=3.7 * w)
    np.testing.assert_allclose(v_zero, v_drop, rtol=1e-12)
    np.testing.assert_allclose(d_zero, d_drop, rtol=1e-12)
    np.testing.assert_allclose(v_scaled, v_zero, rtol=1e-10)
    np.testing.assert_allclose(d_scaled, d_zero, rtol=1e-10)


def test_row_order_and_bread_argument():
    X, y, g, _, _ = _design("achievement_pairs1to6")
    beta, resid = _wls(X, y)
    base = cr2_vcov(X, resid, g)
    perm = np.random.default_rng(2).permutation(len(y))
    shuffled = cr2_vcov(X[perm], resid[perm], g[perm])
    with_bread = cr2_vcov(X, resid, g, bread=np.linalg.inv(X.T @ X))
    for other in (shuffled, with_bread):
        np.testing.assert_allclose(other[0], base[0], rtol=1e-10)
        np.testing.assert_allclose(other[1], base[1], rtol=1e-10)
    with pytest.raises(DataValidationError, match="bread is not the inverse of X'WX"):
        cr2_vcov(X, resid, g, bread=2 * np.linalg.inv(X.T @ X))
    with pytest.raises(DataValidationError, match=r"bread has shape \(2, 2\)"):
        cr2_vcov(X, resid, g, bread=np.eye(2))


def test_errors():
    X, y, g, _, _ = _design("achievement_pairs1to6")
    _, resid = _wls(X, y)
    with pytest.raises(DataValidationError, match=r"resid has shape \(3,\)"):
        cr2_vcov(X, resid[:3], g)
    with pytest.raises(EstimationError, match="1 cluster"):
        cr2_vcov(X, resid, np.ones(len(y)))
    with pytest.raises(DataValidationError, match="cluster has shape"):
        cr2_vcov(X, resid, g[:-1])
