"""Wild cluster bootstrap: against brute force, wildboottest, sandwich (CR1) and invariances.

The strongest check is full enumeration: with Rademacher weights and 2^G <= draws the
bootstrap p-value is a deterministic function of the data, so it must equal, exactly,
the p-value of an independent brute-force implementation that refits the regression on
every one of the 2^G bootstrap samples (O(N) per draw, no shared code).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit.inference import WildBootstrapResult, wild_cluster_bootstrap
from evalkit.inference.draws import draw_weights
from evalkit.results import Result

REF = Path(__file__).parents[1] / "reference" / "inference"


# ---- an independent brute-force implementation --------------------------------------------


def _crv1_t(X, y, g, j, r):
    """OLS, CRV1 (G/(G-1)·(N-1)/(N-k)) t statistic for beta_j = r; written out naively."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    u = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    labels = np.unique(g)
    meat = np.zeros((X.shape[1], X.shape[1]))
    for c in labels:
        s = X[g == c].T @ u[g == c]
        meat += np.outer(s, s)
    n, k = X.shape
    G = len(labels)
    V = bread @ meat @ bread * G / (G - 1) * (n - 1) / (n - k)
    return (beta[j] - r) / math.sqrt(V[j, j]), beta


def brute_force_p(y, X, g, j, r=0.0, weights=None, impose_null=True, V=None):
    """Bootstrap p-value by refitting on every bootstrap sample (all sign patterns if V is None)."""
    if weights is not None:
        sw = np.sqrt(weights)
        X, y = X * sw[:, None], y * sw
    labels = np.unique(g)
    code = np.searchsorted(labels, g)
    t, beta = _crv1_t(X, y, g, j, r)
    if impose_null:
        others = [c for c in range(X.shape[1]) if c != j]
        b1, *_ = np.linalg.lstsq(X[:, others], y - r * X[:, j], rcond=None)
        fitted = X[:, others] @ b1 + r * X[:, j]
        centre = r
    else:
        fitted = X @ beta
        centre = beta[j]
    u = y - fitted
    if V is None:
        V = np.array(list(itertools.product([-1.0, 1.0], repeat=len(labels))))
    t_boot = np.array([_crv1_t(X, fitted + u * v[code], g, j, centre)[0] for v in V])
    return float(np.mean(np.abs(t_boot) > np.abs(t) * (1 + 1e-9))), t


def _data(seed, G=9, effect=0.15, weighted=False):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(4, 30, G)
    g = np.repeat(np.arange(G), sizes)
    rng.shuffle(g)  # rows not sorted by cluster
    n = g.size
    d = (g < 3).astype(float)
    x = rng.normal(size=n)
    y = effect * d + 0.4 * x + 0.5 * rng.normal(size=G)[g] + rng.normal(size=n)
    X = np.column_stack([np.ones(n), d, x])
    w = rng.uniform(0.3, 3.0, n) if weighted else None
    return y, X, g, w


# ---- exact agreement with brute force under full enumeration ---------------------------------


@pytest.mark.parametrize(
    ("seed", "weighted", "impose_null", "j", "r"),
    [
        (1, False, True, 1, 0.0),
        (2, False, True, 1, 0.3),
        (3, True, True, 1, 0.0),
        (4, True, True, 2, 0.4),
        (5, False, False, 1, 0.0),
        (6, True, False, 2, 0.2),
    ],
)
def test_enumerated_p_value_equals_brute_force(seed, weighted, impose_null, j, r):
    y, X, g, w = _data(seed, weighted=weighted)
    res = wild_cluster_bootstrap(
        y, X, g, coef_index=j, weights=w, seed=0, null_value=r, impose_null=impose_null, ci=False
    )
    p_bf, t_bf = brute_force_p(y, X, g, j, r, weights=w, impose_null=impose_null)
    assert res.enumerated and res.draws == 2**9
    assert res.p_value == pytest.approx(p_bf, abs=1e-12)
    assert res.t_stat == pytest.approx(t_bf, rel=1e-10)


def test_enumeration_cases_are_not_trivial():
    """Guard against a vacuous comparison: the p-values above are spread over (0, 1)."""
    ps = [
        wild_cluster_bootstrap(*_data(s)[:3], coef_index=1, seed=0, ci=False).p_value for s in range(1, 7)
    ]
    assert min(ps) < 0.5 < max(ps)
    assert all(0 < p < 1 for p in ps)


@pytest.mark.parametrize("weighted", [False, True])
def test_confidence_interval_is_the_test_inversion(weighted):
    """Just inside each end the brute-force p-value exceeds alpha; just outside it does not."""
    y, X, g, w = _data(11, weighted=weighted, effect=0.6)
    res = wild_cluster_bootstrap(y, X, g, coef_index=1, weights=w, seed=0, alpha=0.1)
    assert res.ci_lower < res.estimate < res.ci_upper
    eps = 1e-6 * res.std_error
    for end, outward in ((res.ci_lower, -1), (res.ci_upper, 1)):
        p_in, _ = brute_force_p(y, X, g, 1, end - outward * eps, weights=w)
        p_out, _ = brute_force_p(y, X, g, 1, end + outward * eps, weights=w)
        assert p_in > 0.1 >= p_out


def test_wcu_interval_is_studentized_percentile():
    """Under WCU the t* do not depend on r, so the interval is beta ± se·q, q a |t*| order statistic."""
    y, X, g, _ = _data(12)
    res = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=0, impose_null=False)
    half = (res.ci_upper - res.ci_lower) / 2
    assert res.estimate == pytest.approx((res.ci_upper + res.ci_lower) / 2, abs=1e-9 * res.std_error)
    # the half-width in se units must coincide with one of the bootstrap |t*|
    _, t = brute_force_p(y, X, g, 1, 0.0, impose_null=False)
    code = np.searchsorted(np.unique(g), g)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    u = y - X @ beta
    t_boot = [
        abs(_crv1_t(X, X @ beta + u * np.asarray(v)[code], g, 1, beta[1])[0])
        for v in itertools.product([-1.0, 1.0], repeat=9)
    ]
    assert np.min(np.abs(np.asarray(t_boot) - half / res.std_error)) < 1e-7


def test_webb_draws_match_brute_force_with_the_same_weights():
    y, X, g, w = _data(13, G=20, weighted=True)
    res = wild_cluster_bootstrap(y, X, g, coef_index=1, weights=w, draws=399, weight_type="webb", seed=42, ci=False)
    V, enumerated = draw_weights(20, 399, "webb", 42, enumerate_rademacher=True)
    assert not enumerated and not res.enumerated and res.draws == 399
    p_bf, _ = brute_force_p(y, X, g, 1, weights=w, V=V)
    assert res.p_value == pytest.approx(p_bf, abs=1e-12)


def test_webb_weights_are_the_six_point_distribution():
    V, _ = draw_weights(50, 20000, "webb", 1, enumerate_rademacher=True)
    support = np.sort(np.unique(V))
    expected = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
    np.testing.assert_allclose(support, expected)
    freq = np.array([np.mean(V == s) for s in support])
    np.testing.assert_allclose(freq, 1 / 6, atol=0.005)  # 10^6 draws: sd of a share is 0.0004


def test_enumeration_switches_at_two_to_the_g():
    y, X, g, _ = _data(14, G=13)
    assert wild_cluster_bootstrap(y, X, g, coef_index=1, seed=1, draws=8192, ci=False).enumerated
    res = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=1, draws=8191, ci=False)
    assert not res.enumerated and res.draws == 8191


# ---- peers and references --------------------------------------------------------------------


def test_matches_wildboottest_under_enumeration():
    """wildboottest 0.3 (WCR, bootstrap_type '11') enumerates when 2^G < B; p must be identical."""
    wbt = pytest.importorskip("wildboottest.wildboottest")
    rng = np.random.default_rng(5)
    G = 10
    g = rng.integers(0, G, 400)
    d = (g < 3).astype(float)
    x = rng.normal(size=g.size)
    y = 0.1 * d + 0.5 * x + rng.normal(size=G)[g] + rng.normal(size=g.size)
    X = np.column_stack([np.ones(g.size), d, x])
    boot = wbt.WildboottestCL(X=X, Y=y, cluster=g, R=np.array([0.0, 1.0, 0.0]), B=9999, seed=1, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    res = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=1, ci=False)
    assert boot.B == res.draws == 1024
    assert res.p_value == pytest.approx(float(boot.pvalue), abs=1e-12)
    assert res.t_stat == pytest.approx(float(np.ravel(boot.t_stat)[0]), rel=1e-10)
    assert 0.05 < res.p_value < 0.95


def test_crv1_statistic_matches_sandwich_vcovcl():
    """t_stat / std_error use CRV1 = sandwich::vcovCL(type = "HC1", cadjust = TRUE) (PetersenCL)."""
    ref = json.loads((REF / "cr2_clubsandwich.json").read_text())["cases"]["petersen"]
    data = pd.read_csv(REF / "petersen.csv")
    X = np.column_stack([np.ones(len(data)), data["x"]])
    y, firm = data["y"].to_numpy(), data["firm"].to_numpy()
    res = wild_cluster_bootstrap(y, X, firm, coef_index=1, seed=1, draws=99, ci=False)
    se_ref = math.sqrt(np.asarray(ref["vcov_cr1_stata"])[1][1])
    assert res.std_error == pytest.approx(se_ref, rel=1e-9)
    assert res.estimate == pytest.approx(ref["estimate"][1], rel=1e-10)


# ---- fixed effects, weights, invariances ----------------------------------------------------


def _demean(a, g, w=None):
    frame = pd.DataFrame(a)
    if w is None:
        return a - frame.groupby(g).transform("mean").to_numpy()
    num = frame.mul(w, axis=0).groupby(g).transform("sum").to_numpy()
    den = pd.Series(w).groupby(g).transform("sum").to_numpy()[:, None]
    return a - num / den


@pytest.mark.parametrize("weighted", [False, True])
def test_partialled_out_cluster_fixed_effects_equal_dummies(weighted):
    """FE nested in clusters: demeaned X and y give the bootstrap of the dummy regression."""
    rng = np.random.default_rng(21)
    G, T = 10, 6
    g = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    d = ((g < 3) & (t >= 3)).astype(float)
    x = rng.normal(size=g.size)
    y = 0.2 * d + 0.3 * x + rng.normal(size=G)[g] + rng.normal(size=g.size)
    w = rng.uniform(0.5, 2.0, g.size) if weighted else None
    wave = (t[:, None] == np.arange(1, T)).astype(float)  # wave dummies stay in X (not nested)
    dummies = (g[:, None] == np.arange(G)).astype(float)
    X_full = np.column_stack([d, x, wave, dummies])
    full = wild_cluster_bootstrap(y, X_full, g, coef_index=0, weights=w, seed=3)
    Xd = _demean(np.column_stack([d, x, wave]), g, w)
    yd = _demean(y[:, None], g, w)[:, 0]
    absorbed = wild_cluster_bootstrap(yd, Xd, g, coef_index=0, weights=w, seed=3)
    assert absorbed.estimate == pytest.approx(full.estimate, rel=1e-9)
    assert absorbed.p_value == full.p_value
    assert absorbed.ci_lower == pytest.approx(full.ci_lower, rel=1e-7)
    assert absorbed.ci_upper == pytest.approx(full.ci_upper, rel=1e-7)


def test_integer_weights_equal_duplicated_rows():
    y, X, g, _ = _data(31)
    w = np.random.default_rng(0).integers(1, 4, y.size).astype(float)
    weighted = wild_cluster_bootstrap(y, X, g, coef_index=1, weights=w, seed=2)
    rep = np.repeat(np.arange(y.size), w.astype(int))
    duplicated = wild_cluster_bootstrap(y[rep], X[rep], g[rep], coef_index=1, seed=2)
    unweighted = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=2)
    assert weighted.estimate == pytest.approx(duplicated.estimate, rel=1e-10)
    assert weighted.p_value == duplicated.p_value
    assert weighted.ci_lower == pytest.approx(duplicated.ci_lower, rel=1e-8)
    assert weighted.ci_upper == pytest.approx(duplicated.ci_upper, rel=1e-8)
    assert weighted.estimate != pytest.approx(unweighted.estimate, rel=1e-3)  # weights are used


def test_zero_weight_rows_are_dropped():
    """Weight 0 removes a row; a cluster whose rows all have weight 0 leaves the sample."""
    y, X, g, w = _data(37, G=11, weighted=True)
    w = w.copy()
    w[g == 10] = 0.0  # the whole last cluster
    w[:3] = 0.0
    keep = w > 0
    zero = wild_cluster_bootstrap(y, X, g, coef_index=1, weights=w, seed=4)
    dropped = wild_cluster_bootstrap(y[keep], X[keep], g[keep], coef_index=1, weights=w[keep], seed=4)
    assert zero.n_clusters == dropped.n_clusters == 10 and zero.draws == 2**10
    assert zero.n_obs == dropped.n_obs == int(keep.sum())
    assert (zero.p_value, zero.t_stat, zero.ci_lower) == (dropped.p_value, dropped.t_stat, dropped.ci_lower)


def test_invariant_to_weight_scale_and_row_order():
    y, X, g, w = _data(32, G=30, weighted=True)
    base = wild_cluster_bootstrap(y, X, g, coef_index=1, weights=w, seed=9, draws=999)
    scaled = wild_cluster_bootstrap(y, X, g, coef_index=1, weights=7.5 * w, seed=9, draws=999)
    perm = np.random.default_rng(1).permutation(y.size)
    shuffled = wild_cluster_bootstrap(y[perm], X[perm], g[perm], coef_index=1, weights=w[perm], seed=9, draws=999)
    labelled = wild_cluster_bootstrap(y, X, np.char.add("c", g.astype(str)), coef_index=1, weights=w, seed=9, draws=999)
    for other in (scaled, shuffled):
        assert other.p_value == base.p_value
        assert other.ci_lower == pytest.approx(base.ci_lower, rel=1e-8)
        assert other.ci_upper == pytest.approx(base.ci_upper, rel=1e-8)
    # string labels sort differently ("c10" < "c2"), so draws map to clusters differently
    assert labelled.estimate == pytest.approx(base.estimate, rel=1e-12)


def test_deterministic_from_seed():
    y, X, g, _ = _data(33, G=40)
    a = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=123, draws=499)
    b = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=123, draws=499)
    c = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=124, draws=499)
    assert (a.p_value, a.ci_lower, a.ci_upper) == (b.p_value, b.ci_lower, b.ci_upper)
    assert (a.p_value, a.ci_lower) != (c.p_value, c.ci_lower)


def test_enumerated_p_values_come_in_sign_flip_pairs():
    """v and -v give the same |t*|, so under enumeration p is a multiple of 2/2^G (G = 4: 1/8)."""
    y, X, g, _ = _data(34, G=4, effect=0.0)
    X = np.column_stack([np.ones(y.size), (g < 2).astype(float)])
    for r in (0.0, 0.5, -1.0, 2.0):
        res = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=0, null_value=r, ci=False)
        assert res.draws == 16
        assert res.p_value * 8 == pytest.approx(round(res.p_value * 8), abs=1e-12)


# ---- result contract and errors --------------------------------------------------------------


def test_result_contract():
    y, X, g, _ = _data(35)
    res = wild_cluster_bootstrap(y, X, g, coef_index=1, seed=0, term="treat_post")
    assert isinstance(res, WildBootstrapResult)
    frame = res.to_frame()
    assert list(frame.columns) == ["term", "estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper"]
    assert frame.loc[0, "term"] == "treat_post" and frame.loc[0, "p_value"] == res.p_value
    d = res.to_dict()
    json.dumps(d)
    back = Result.from_dict(d)
    assert isinstance(back, WildBootstrapResult)
    assert back.p_value == res.p_value and back.draws == res.draws and back.enumerated is True
    pd.testing.assert_frame_equal(back.to_frame(), frame)
    assert "野聚类自助法" in res.summary() and "Wild cluster bootstrap" in res.summary(lang="en")
    with pytest.raises(AttributeError):
        res.p_value = 0.5  # frozen


def test_errors_name_the_problem():
    y, X, g, w = _data(36, weighted=True)
    y_bad = y.copy()
    y_bad[4] = np.nan
    with pytest.raises(DataValidationError, match=r"y has 1 missing.*rows 5"):
        wild_cluster_bootstrap(y_bad, X, g, coef_index=1, seed=0)
    w_bad = w.copy()
    w_bad[[2, 7]] = -1
    with pytest.raises(DataValidationError, match=r"2 negative values \(rows 3, 8"):
        wild_cluster_bootstrap(y, X, g, coef_index=1, weights=w_bad, seed=0)
    with pytest.raises(ValueError, match=r"coef_index=3.*\[-3, 2\]"):
        wild_cluster_bootstrap(y, X, g, coef_index=3, seed=0)
    with pytest.raises(ValueError, match="weight_type='mammen'"):
        wild_cluster_bootstrap(y, X, g, coef_index=1, seed=0, weight_type="mammen")
    with pytest.raises(EstimationError, match="1 cluster"):
        wild_cluster_bootstrap(y, X[:, [0, 2]], np.zeros(y.size), coef_index=1, seed=0)
    with pytest.raises(NotIdentifiedError, match=r"columns \[3\]"):
        wild_cluster_bootstrap(y, np.column_stack([X, 2 * X[:, 1]]), g, coef_index=1, seed=0)
    g_bad = g.astype(object)
    g_bad[0] = None
    with pytest.raises(DataValidationError, match="1 missing labels"):
        wild_cluster_bootstrap(y, X, g_bad, coef_index=1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        wild_cluster_bootstrap(y, X, g, coef_index=1, seed=-1)
