"""Known truth recovered on simulated data, invariances, and pinned error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.designs import (aipw, entropy_balance, ipw, linear_regression, love_plot,
                             match_nearest, multilevel_model, ordered_logit, pre_post)
from evalkit.errors import (DataValidationError, MissingColumnError, NotIdentifiedError,
                            TreatmentReversalWarning)
from evalkit.estimators import twfe


def _confounded(n: int = 3000, seed: int = 11) -> pd.DataFrame:
    """Age and income drive both take-up and the outcome; effect 2 + 1·x1 (ATE 2, ATT > 2)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    e = 1 / (1 + np.exp(-(-0.5 + 0.8 * x1 - 0.6 * x2)))
    t = rng.binomial(1, e)
    tau = 2 + 1.0 * x1
    y = 1 + 1.5 * x1 + 1.0 * x2 + tau * t + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "tau": tau,
                         "community": rng.integers(0, 60, n)})


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return _confounded()


def test_weighting_recovers_ate_and_att_where_naive_difference_fails(sim):
    """True ATE = 2 (mean of 2 + x1); true ATT = 2 + E[x1 | T = 1]; 99.9 % normal bounds."""
    naive = sim.loc[sim.t == 1, "y"].mean() - sim.loc[sim.t == 0, "y"].mean()
    att_true = sim.loc[sim.t == 1, "tau"].mean()
    r_ate = ipw(sim, outcome="y", treat="t", covariates=["x1", "x2"])
    r_att = ipw(sim, outcome="y", treat="t", covariates=["x1", "x2"], estimand="ATT")
    r_dr = aipw(sim, outcome="y", treat="t", covariates=["x1", "x2"])
    r_eb = entropy_balance(sim, outcome="y", treat="t", covariates=["x1", "x2"])
    assert abs(naive - 2.0) > 0.5  # confounding is real
    for r, truth in [(r_ate, 2.0), (r_dr, 2.0), (r_att, att_true), (r_eb, att_true)]:
        assert abs(r.estimate - truth) < 3.3 * r.std_error, (r.spec.estimator, r.estimate, truth)
    assert r_dr.std_error < r_ate.std_error  # the outcome model removes variance


def test_matching_recovers_att(sim):
    att_true = sim.loc[sim.t == 1, "tau"].mean()
    r = match_nearest(sim, outcome="y", treat="t", covariates=["x1", "x2"], replace=True)
    assert abs(r.estimate - att_true) < 3.3 * r.std_error
    assert (r.tables["balance"]["smd_after"].abs() < 0.1).all()
    r_cal = match_nearest(sim, outcome="y", treat="t", covariates=["x1", "x2"], caliper=0.01,
                          distance="logit")
    coef = r_cal.tables["propensity"]["estimate"].to_numpy()
    eta = coef[0] + coef[1] * sim.x1.to_numpy() + coef[2] * sim.x2.to_numpy()
    pairs = r_cal.tables["pairs"]
    assert pairs["distance"].max() <= 0.01 * np.std(eta, ddof=1)
    np.testing.assert_allclose(pairs["distance"], np.abs(eta[pairs.treated_row] - eta[pairs.control_row]))
    assert len(pairs) < (sim.t == 1).sum() and "caliper_dropped_treated" in r_cal.caveats


def test_weighting_with_sampling_weights_is_scale_invariant_and_clusters_widen(sim):
    s = sim.assign(w=np.random.default_rng(3).uniform(0.5, 2, len(sim)))
    a = ipw(s, outcome="y", treat="t", covariates=["x1", "x2"], weights="w")
    b = ipw(s.assign(w=s.w * 7), outcome="y", treat="t", covariates=["x1", "x2"], weights="w")
    assert a.estimate == pytest.approx(b.estimate, rel=1e-10)
    assert a.std_error == pytest.approx(b.std_error, rel=1e-6)
    c = ipw(s, outcome="y", treat="t", covariates=["x1", "x2"], weights="w", cluster="community")
    assert c.inference.n_clusters == 60 and np.isfinite(c.std_error)


def test_multilevel_recovers_variance_components_and_did_effect():
    """60 communities × 40 residents, two waves; σ²_u = 0.5, slope var 0.2, σ²_e = 1, DiD 0.4."""
    rng = np.random.default_rng(5)
    G, m = 60, 40
    g = np.repeat(np.arange(G), m)
    x = rng.normal(size=G * m)
    u0 = rng.normal(0, np.sqrt(0.5), G)
    u1 = rng.normal(0, np.sqrt(0.2), G)
    treat = (np.arange(G) < 30).astype(int)[g]
    post = rng.integers(0, 2, G * m)
    y = 1 + 0.3 * x + 0.1 * treat + 0.2 * post + 0.4 * treat * post + u0[g] + u1[g] * x \
        + rng.normal(size=G * m)
    d = pd.DataFrame({"y": y, "x": x, "community": g, "treat": treat, "post": post})
    r = multilevel_model(d, outcome="y", group="community", covariates=["x"], treat="treat",
                         period="post", random_slopes=["x"])
    row = r.term("treat:post")
    assert abs(row["estimate"] - 0.4) < 3.3 * row["std_error"]
    vc = r.tables["variance_components"].set_index(["term_1", "term_2"])["variance"]
    assert vc[("(Intercept)", "(Intercept)")] == pytest.approx(0.5, rel=0.4)
    assert vc[("x", "x")] == pytest.approx(0.2, rel=0.4)
    assert vc[("residual", "residual")] == pytest.approx(1.0, rel=0.1)
    icc = r.tables["icc"].set_index("measure")["value"]
    assert 0 < icc["icc_conditional"] < icc["icc_adjusted"] < 1


def test_ordered_logit_recovers_truth_and_frequency_weights_equal_replication():
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.normal(size=n)
    z = rng.binomial(1, 0.4, n)
    eta = 0.8 * x - 0.5 * z
    cuts = np.array([-1.0, 0.0, 1.2, 2.5])
    latent = eta + rng.logistic(size=n)
    yv = 1 + np.searchsorted(cuts, latent)
    d = pd.DataFrame({"y": yv, "x": x, "z": z})
    r = ordered_logit(d, outcome="y", covariates=["x", "z"])
    e = r.estimates.set_index("term")
    for t, truth in [("x", 0.8), ("z", -0.5), ("1|2", -1.0), ("4|5", 2.5)]:
        assert abs(e.loc[t, "estimate"] - truth) < 3.3 * e.loc[t, "std_error"]
    small = d.iloc[:400].assign(w=np.where(np.arange(400) % 2 == 0, 2.0, 1.0))
    rep = pd.concat([small, small[small.w == 2]], ignore_index=True)
    a = ordered_logit(small, outcome="y", covariates=["x", "z"], weights="w", weight_type="frequency")
    b = ordered_logit(rep, outcome="y", covariates=["x", "z"], weight_type="frequency")
    np.testing.assert_allclose(a.estimates["estimate"], b.estimates["estimate"], rtol=1e-8)
    np.testing.assert_allclose(a.estimates["std_error"], b.estimates["std_error"], rtol=1e-8)


def test_ordered_logit_matches_statsmodels_unweighted():
    """statsmodels OrderedModel (no weights) as an independent implementation: rtol 1e-6."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    y = 1 + np.searchsorted([-0.5, 0.5, 1.5], 0.7 * x + rng.logistic(size=500))
    d = pd.DataFrame({"y": y, "x": x})
    r = ordered_logit(d, outcome="y", covariates=["x"], weight_type="frequency")
    sm = OrderedModel(pd.Series(pd.Categorical(y, ordered=True)), d[["x"]], distr="logit").fit(
        method="newton", disp=False, maxiter=200)
    assert r.term("x")["estimate"] == pytest.approx(sm.params["x"], rel=1e-6)
    assert r.term("x")["std_error"] == pytest.approx(sm.bse["x"], rel=1e-4)


def test_pre_post_recovers_change_and_is_labelled_weakest():
    rng = np.random.default_rng(4)
    c = np.repeat(np.arange(12), 80)
    post = np.tile(np.repeat([0, 1], 40), 12)
    y = rng.normal(0, 0.5, 12)[c] + 0.3 * post + rng.normal(size=len(c))
    d = pd.DataFrame({"y": y, "post": post, "community": c})
    r = pre_post(d, outcome="y", post="post", cluster="community")
    assert abs(r.estimate - 0.3) < 3.3 * r.std_error
    assert r.caveats[0] == "pre_post_no_comparison" and "few_clusters" in r.caveats
    assert r.spec.options["design_strength"] == "weakest" and r.inference.method == "cr2"
    assert "无对照组" in r.summary(lang="zh") and "weakest design" in r.summary(lang="en")


def test_twfe_accepts_treatment_switching_off_with_warning_naming_user_columns():
    """Homogeneous, instantaneous effect 1.5 that switches off: TWFE recovers it; the warning
    names 'pilot_on' and 'village', never an internal column."""
    rng = np.random.default_rng(9)
    units, T = 30, 6
    u = np.repeat(np.arange(units), T)
    t = np.tile(np.arange(T), units)
    on = ((u < 15) & (t >= 2) & (t <= 3)).astype(int)  # on in periods 2–3, then off
    y = rng.normal(size=units)[u] + 0.2 * t + 1.5 * on + rng.normal(0, 0.3, units * T)
    d = pd.DataFrame({"y": y, "village": u, "wave": t, "pilot_on": on})
    with pytest.warns(TreatmentReversalWarning, match=r"'pilot_on' switches off.*'village'") as rec:
        r = twfe(d, outcome="y", unit="village", time="wave", treat="pilot_on", inference="cr2")
    assert all("__" not in str(w.message) for w in rec)
    assert abs(r.estimate - 1.5) < 3.3 * r.std_error
    assert "bacon" not in r.tables and r.spec.options["treatment_switches_off"] is True


def test_linear_regression_weighted_hc1_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    d = pd.DataFrame({"x": rng.normal(size=200), "w": rng.uniform(0.5, 2, 200)})
    d["y"] = 1 + 2 * d.x + rng.normal(size=200) * (1 + d.x.abs())
    r = linear_regression(d, outcome="y", regressors=["x"], weights="w", vcov="hc1")
    ref = sm.WLS(d.y, sm.add_constant(d.x), weights=d.w).fit(cov_type="HC1")
    np.testing.assert_allclose(r.estimates["std_error"], ref.bse.to_numpy(), rtol=1e-10)


def test_love_plot_returns_axes(sim):
    import matplotlib.pyplot as plt

    r = ipw(sim, outcome="y", treat="t", covariates=["x1", "x2"])
    ax = love_plot(r.tables["balance"], lang="en")
    assert ax.get_xlabel().startswith("Absolute standardised")
    plt.close("all")


# ---- messages -------------------------------------------------------------------------------
def test_errors_name_the_users_columns(sim):
    with pytest.raises(DataValidationError, match=r"treatment column 't' has only treated rows"):
        ipw(sim.assign(t=1), outcome="y", treat="t", covariates=["x1"])
    with pytest.raises(MissingColumnError, match=r"'age'"):
        match_nearest(sim, outcome="y", treat="t", covariates=["age"])
    with pytest.raises(NotIdentifiedError, match=r"covariate\(s\) 'k' take a single value"):
        ipw(sim.assign(k=1.0), outcome="y", treat="t", covariates=["x1", "k"])
    with pytest.raises(ValueError, match=r"vcov='twoway' needs cluster= and cluster2="):
        linear_regression(sim, outcome="y", regressors=["x1"], vcov="twoway", cluster="community")
    with pytest.raises(ValueError, match=r"argument estimand='ATC' is not allowed"):
        ipw(sim, outcome="y", treat="t", covariates=["x1"], estimand="ATC")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match=r"random slope\(s\) 'x2' are not fixed effects"):
        multilevel_model(sim, outcome="y", group="community", covariates=["x1"], random_slopes=["x2"])
    with pytest.raises(DataValidationError, match=r"column 'post' is 1 in every row"):
        pre_post(sim.assign(post=1), outcome="y", post="post")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NotIdentifiedError, match=r"separate treated and comparison"):
            ipw(sim.assign(sep=sim.t.astype(float)), outcome="y", treat="t", covariates=["x1", "sep"])


def test_ordered_logit_did_takes_weights_through_the_general_engine():
    """The DiD special case with sampling weights equals the general model with treat, post and
    treat·post as covariates (same likelihood, same sandwich)."""
    from evalkit.estimators import ordered_logit_did

    rng = np.random.default_rng(12)
    n = 1500
    treat, post = rng.integers(0, 2, n), rng.integers(0, 2, n)
    y = 1 + np.searchsorted([-1, 0, 1], 0.3 * treat + 0.2 * post + 0.5 * treat * post
                            + rng.logistic(size=n))
    d = pd.DataFrame({"y": y, "treat": treat, "post": post, "tp": treat * post,
                      "w": rng.uniform(0.5, 2, n)})
    a = ordered_logit_did(d, item="y", treat="treat", post="post", weights="w")
    b = ordered_logit(d, outcome="y", covariates=["treat", "post", "tp"], weights="w")
    assert a.estimate == pytest.approx(b.term("tp")["estimate"], rel=1e-10)
    assert a.std_error == pytest.approx(b.term("tp")["std_error"], rel=1e-10)
    assert abs(a.estimate - 0.5) < 3.3 * a.std_error
