"""Callaway–Sant'Anna: published R `did` numbers on mpdta, diff-diff agreement, weights,
known truth on simulated staggered designs (where TWFE is biased), no-effect coverage and
the few-clusters routing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.estimators import did_staggered, twfe

pytest.importorskip("evalkit.inference")


@pytest.fixture(scope="module")
def cs_mpdta(mpdta):
    return did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first_treat")


def _get(res, agg, **where):
    rows = res.aggregation(agg)
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, (agg, where)
    return rows.iloc[0]


def test_group_time_atts_match_r_did(cs_mpdta, published):
    """R did README/vignette: att_gt(lemp ~ ., xformla = ~1) on mpdta; point estimates to the
    printed 4 decimals, bootstrap SEs within 15 %."""
    pub = published["mpdta_cs"]
    tol = pub["tolerance"]
    for g, t, att, se in pub["att_gt"]:
        row = _get(cs_mpdta, "group_time", group=g, time=t)
        assert row["estimate"] == pytest.approx(att, abs=tol["estimate_abs"]), (g, t)
        assert row["std_error"] == pytest.approx(se, rel=tol["se_rel"]), (g, t)


def test_aggregations_match_r_did(cs_mpdta, published):
    pub = published["mpdta_cs"]
    tol = pub["tolerance"]["estimate_abs"]
    head = cs_mpdta.estimates.iloc[0]
    assert head["term"] == "ATT (group)"  # R's recommended headline comes first
    assert head["estimate"] == pytest.approx(pub["group_overall"][0], abs=tol)
    assert head["std_error"] == pytest.approx(pub["group_overall"][1], rel=0.15)
    for g, att, se in pub["group"]:
        row = _get(cs_mpdta, "group", group=g)
        assert row["estimate"] == pytest.approx(att, abs=tol)
        assert row["std_error"] == pytest.approx(se, rel=0.15)
    for e, att, se in pub["dynamic"]:
        row = _get(cs_mpdta, "event", event_time=e)
        assert row["estimate"] == pytest.approx(att, abs=tol)
        assert row["std_error"] == pytest.approx(se, rel=0.15)
    assert cs_mpdta.term("ATT (event)")["estimate"] == pytest.approx(pub["dynamic_overall"][0], abs=tol)
    assert cs_mpdta.term("ATT (simple)")["estimate"] == pytest.approx(pub["simple_overall_derived"], abs=tol)
    pre = _get(cs_mpdta, "pretest")
    assert pre["p_value"] == pytest.approx(pub["pretest_p"], abs=pub["tolerance"]["pretest_p_abs"])
    assert pre["df"] == 5  # five pre-treatment cells


def test_balanced_event_study_matches_r(mpdta, published):
    pub = published["mpdta_cs"]
    r = did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first_treat",
                      balance_e=1, headline="event")
    es = r.event_study()
    assert es["event_time"].tolist() == [e for e, _, _ in pub["dynamic_balance_e1"]]
    for e, att, se in pub["dynamic_balance_e1"]:
        row = _get(r, "event", event_time=e)
        assert row["estimate"] == pytest.approx(att, abs=6e-5)
        assert row["std_error"] == pytest.approx(se, rel=0.15)
    assert r.estimate == pytest.approx(pub["dynamic_balance_e1_overall"][0], abs=6e-5)


def test_standard_errors_agree_with_diff_diff(mpdta, cs_mpdta):
    """Each county its own cluster: evalkit's analytic SEs are R did's (``bstrap = FALSE``:
    sqrt(Σψ²)/n, no G/(G−1)), which diff-diff reproduces; agreement to 1e-9."""
    from diff_diff import CallawaySantAnna

    d = mpdta.copy()
    res = CallawaySantAnna().fit(d, outcome="lemp", unit="countyreal", time="year",
                                 first_treat="first_treat")
    factor = 1.0
    simple = res.aggregate("simple")
    assert cs_mpdta.term("ATT (simple)")["std_error"] == pytest.approx(float(simple.se[0]) * factor, rel=1e-9)
    grp = res.aggregate("group").to_dataframe()
    for _, row in grp.iterrows():
        mine = _get(cs_mpdta, "group", group=int(row["label"]))
        assert mine["std_error"] == pytest.approx(row["se"] * factor, rel=1e-9)
    es = res.aggregate("event_study").to_dataframe()
    for _, row in es.iterrows():
        mine = _get(cs_mpdta, "event", event_time=int(row["event_time"]))
        assert mine["std_error"] == pytest.approx(row["se"] * factor, rel=1e-9)


def test_methods_agree_without_covariates_and_differ_with(mpdta):
    base = dict(outcome="lemp", unit="countyreal", time="year", cohort="first_treat")
    ests = {m: did_staggered(mpdta, method=m, **base).estimate for m in ("dr", "ipw", "reg")}
    assert ests["dr"] == pytest.approx(ests["reg"], abs=1e-12)
    assert ests["ipw"] == pytest.approx(ests["reg"], abs=1e-12)
    withx = {m: did_staggered(mpdta, method=m, covariates=["lpop"], **base).estimate
             for m in ("dr", "ipw", "reg")}
    assert withx["dr"] != pytest.approx(ests["dr"], abs=1e-6)
    assert len({round(v, 8) for v in withx.values()}) == 3


def test_weights_scale_invariant_and_matter(mpdta):
    base = dict(outcome="lemp", unit="countyreal", time="year", cohort="first_treat")
    rng = np.random.default_rng(3)
    w_unit = pd.Series(rng.uniform(0.2, 3.0, mpdta["countyreal"].nunique()),
                       index=np.sort(mpdta["countyreal"].unique()))
    d = mpdta.assign(w=mpdta["countyreal"].map(w_unit), w10=lambda x: 10 * x["w"],
                     one=1.0)
    a = did_staggered(d, weights="w", **base)
    b = did_staggered(d, weights="w10", **base)
    u = did_staggered(d, **base)
    one = did_staggered(d, weights="one", **base)
    pd.testing.assert_series_equal(a.estimates["estimate"], b.estimates["estimate"], rtol=1e-10)
    pd.testing.assert_series_equal(a.estimates["std_error"], b.estimates["std_error"], rtol=1e-8)
    pd.testing.assert_series_equal(u.estimates["estimate"], one.estimates["estimate"], rtol=1e-10)
    assert abs(a.estimate - u.estimate) > 1e-3  # non-uniform weights change the estimate


def test_cs_recovers_heterogeneous_dynamic_truth_where_twfe_fails(staggered_sim):
    """Known truth: ATT(g,t) = slope_g·(t−g+1) with slopes 1, .5, .2 for cohorts 3, 5, 7."""
    panel, truth = staggered_sim
    r = did_staggered(panel, outcome="y", unit="unit", time="time", cohort="cohort",
                      control="not_yet_treated")
    gt = r.aggregation("group_time").merge(truth, on=["group", "time"], suffixes=("", "_true"))
    post = gt[gt["time"] >= gt["group"]]
    z = (post["estimate"] - post["att"]) / post["std_error"]
    assert (np.abs(z) < 4).all()
    # the cohort-size weighted average of post cells ("simple") against its true value
    w = post["n_units"]
    true_simple = float((post["att"] * w).sum() / w.sum())
    simple = r.term("ATT (simple)")
    assert abs(simple["estimate"] - true_simple) < 3 * simple["std_error"]
    # TWFE on the same data is far from every sensible summary of the truth
    tw = twfe(panel, outcome="y", unit="unit", time="time", treat="treat", bacon=True)
    assert abs(tw.estimate - true_simple) > 8 * simple["std_error"]
    assert tw.tables["bacon_summary"].set_index("comparison_type").loc["later_vs_earlier", "weight"] > 0.05
    # pre-period pseudo-ATTs are zero in truth: the pre-test should not reject at 0.1 %
    assert r.term("pre-trend Wald")["p_value"] > 0.001


def test_repeated_cross_sections_recover_truth(simulate):
    data, truth = simulate(n_units=60, periods=5, cohorts=(3, 4), slopes=(1.0, 0.5), respondents=8,
                           seed=5)
    data = data.assign(resp_id=np.arange(len(data)))
    r = did_staggered(data, outcome="y", unit="resp_id", time="time", cohort="cohort", panel=False,
                      cluster="unit")
    assert r.n_clusters == 60
    post = r.aggregation("group_time").merge(truth, on=["group", "time"])
    post = post[post["time"] >= post["group"]]
    assert (np.abs(post["estimate"] - post["att"]) < 4 * post["std_error"]).all()


def test_no_effect_coverage(simulate):
    """No-effect DGP: the 95 % interval of the cohort summary covers 0 close to 95 % of the time."""
    cover = []
    for s in range(60):
        data, _ = simulate(n_units=120, periods=5, cohorts=(3, 4), slopes=(0, 0), effect=False, seed=100 + s)
        r = did_staggered(data, outcome="y", unit="unit", time="time", cohort="cohort")
        cover.append(r.estimates.iloc[0]["ci_lower"] <= 0 <= r.estimates.iloc[0]["ci_upper"])
    rate = float(np.mean(cover))
    assert 0.85 <= rate <= 1.0, rate


def test_few_state_clusters_route_to_multiplier_bootstrap(mpdta):
    """29 states, 13 treated: no plain cluster-robust p-values; the result says so."""
    r = did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first_treat",
                      cluster="state", draws=499, seed=11)
    assert (r.n_clusters, r.n_treated_clusters) == (29, 13)
    assert r.inference.method == "multiplier_bootstrap"
    head = r.estimates.iloc[0]
    assert head["inference"] == "multiplier_bootstrap"
    assert head["ci_lower"] < head["estimate"] < head["ci_upper"]
    assert "29" in r.summary(lang="zh") and "13" in r.summary(lang="en")


def test_one_treated_cluster_uses_randomization(simulate):
    data, _ = simulate(n_units=16, periods=4, cohorts=(3,), slopes=(0.0,), never_share=0.5,
                       effect=False, seed=2)
    keep = data.loc[data["cohort"] > 0, "unit"].unique()[:1]  # exactly one treated community
    data = data[(data["cohort"] == 0) | data["unit"].isin(keep)]
    from evalkit.errors import SmallSampleWarning

    r = did_staggered(data, outcome="y", unit="unit", time="time", cohort="cohort", draws=99, seed=1)
    assert r.n_treated_clusters == 1
    assert r.inference.method == "randomization"
    head = r.estimates.iloc[0]
    # one treated of G clusters: the exact permutation distribution has G assignments
    assert head["p_value"] >= 1 / r.n_clusters and np.isnan(head["ci_lower"])
    assert "随机化推断" in r.summary(lang="zh")
    with pytest.warns(SmallSampleWarning):
        did_staggered(data, outcome="y", unit="unit", time="time", cohort="cohort",
                      inference="wild_bootstrap", draws=99, seed=1)
