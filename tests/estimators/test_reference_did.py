"""2×2 DiD and TWFE against published and R reference values (tests/reference/did)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from evalkit.estimators import did, ordered_logit_did, twfe
from evalkit.estimators.did import DID_TERM
from evalkit.estimators.linear_model import design_matrix, fit_wls, vcov_cr1, vcov_cr2

from pathlib import Path

REF = Path(__file__).resolve().parents[1] / "reference" / "did"

pytest.importorskip("evalkit.inference")


def test_kielmc_matches_wooldridge_example_13_3(published, ref_r):
    """Wooldridge (2020), Example 13.3: δ̂ = −11,863.9 (7,456.65), n = 321 (Kiel & McClain 1995)."""
    k = pd.read_csv(REF / "kielmc.csv")
    r = did(k, outcome="rprice", treat="nearinc", post="y81")
    pub = published["wooldridge"]["kielmc"]
    assert r.n_obs == pub["n"]
    assert r.estimate == pytest.approx(pub["estimate"], abs=0.05)
    assert r.estimate == pytest.approx(ref_r["kielmc"]["hc1"]["estimate"], rel=1e-10)
    # no cluster → HC1, checked against R sandwich::vcovHC(type = "HC1")
    assert r.std_error == pytest.approx(ref_r["kielmc"]["hc1"]["std_error"], rel=1e-8)
    assert r.inference.method == "hc1"
    assert "cluster" in r.inference.message("en")


def test_injury_matches_wooldridge_example_13_4(published, ref_r):
    """Wooldridge (2020), Example 13.4 (Kentucky): coefficient .191 (.069), n = 5,626."""
    inj = pd.read_csv(REF / "injury.csv")
    inj = inj[inj["ky"] == 1]
    r = did(inj, outcome="ldurat", treat="highearn", post="afchnge")
    pub = published["wooldridge"]["injury_ky"]
    assert r.n_obs == pub["n"]
    assert r.estimate == pytest.approx(pub["estimate"], abs=5e-4)
    assert r.std_error == pytest.approx(ref_r["injury_ky"]["hc1"]["std_error"], rel=1e-8)


def _fit_2x2(s: pd.DataFrame, weights=None, covariates=()):
    X = design_matrix(s, {"treat": s["d"], "post": s["p"], DID_TERM: s["d"] * s["p"],
                          **{c: s[c] for c in covariates}})
    return fit_wls(s["lemp"].to_numpy(), X, None if weights is None else s[weights].to_numpy())


@pytest.mark.parametrize("case", ["plain", "weighted", "covariate"])
def test_mpdta_2x2_cluster_robust_matches_r(mpdta_2x2, ref_r, case):
    """CR1 = sandwich::vcovCL(type = "HC1"); CR2 and BM dof = clubSandwich::coef_test(CR2, Satterthwaite)."""
    ref = ref_r["mpdta_2x2"]
    refc = ref if case == "plain" else ref[case]
    fit = _fit_2x2(mpdta_2x2, weights="w" if case == "weighted" else None,
                   covariates=("lpop",) if case == "covariate" else ())
    j = fit.index(DID_TERM)
    assert fit.coef[j] == pytest.approx(refc["estimate"], rel=1e-8)
    cl = mpdta_2x2["state"].to_numpy()
    v2, dof2 = vcov_cr2(fit, cl)
    assert np.sqrt(v2[j, j]) == pytest.approx(refc["cr2_se"], rel=1e-6)
    assert np.asarray(dof2)[j] == pytest.approx(refc["cr2_df"], rel=1e-5)
    if "cr1_se" in refc:
        v1, dof1 = vcov_cr1(fit, cl)
        assert np.sqrt(v1[j, j]) == pytest.approx(refc["cr1_se"], rel=1e-8)
        assert dof1 == ref["n_clusters"] - 1


def test_did_routes_25_clusters_to_wild_bootstrap(mpdta_2x2, ref_r):
    """25 clusters (9 treated): plain CRVE p-values are refused, the wild bootstrap is used."""
    r = did(mpdta_2x2, outcome="lemp", treat="d", post="p", cluster="state", inference="cr2",
            draws=999, seed=7)
    row = r.term(DID_TERM)
    assert (r.n_clusters, r.n_treated_clusters) == (25, 9)
    assert row["inference"] == "wild_bootstrap" and r.inference.requested == "cr2"
    assert row["std_error"] == pytest.approx(ref_r["mpdta_2x2"]["cr2_se"], rel=1e-6)  # descriptive
    assert row["ci_lower"] < row["estimate"] < row["ci_upper"]
    assert "不可靠" in r.summary(lang="zh") and "unreliable" in r.summary(lang="en")


def test_castle_twfe_matches_r_and_bacon_adds_up(ref_r):
    """TWFE = lm(... + factor(sid) + factor(year)); CR2/BM = clubSandwich on plm(within); the
    Goodman-Bacon 2×2 estimates average (with their weights) to the TWFE coefficient."""
    c = pd.read_csv(REF / "castle.csv")
    ref = ref_r["castle_twfe"]
    r = twfe(c, outcome="l_homicide", unit="sid", time="year", treat="post", inference="cr2")
    row = r.term("treat")
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-8)
    assert row["inference"] == "cr2"  # 50 clusters, 21 treated: CRVE reliable
    assert row["std_error"] == pytest.approx(ref["cr2_se"], rel=1e-6)
    assert row["df"] == pytest.approx(ref["cr2_df"], rel=1e-5)
    bacon = r.tables["bacon"]
    assert (bacon["weight"] * bacon["estimate"]).sum() == pytest.approx(ref["estimate"], rel=1e-8)
    assert bacon["weight"].sum() == pytest.approx(1.0)
    summ = r.tables["bacon_summary"].set_index("comparison_type")
    assert 0 < summ.loc["later_vs_earlier", "weight"] < 0.1
    assert "forbidden" in r.summary(lang="en")


def test_castle_twfe_cr1_matches_r_with_nested_fe_convention(ref_r):
    """R's vcovCL(HC0, cadjust) has only G/(G−1); evalkit's CR1 adds (N−1)/(N−K) with K
    excluding the unit effects nested in the clusters (fixest/Stata reghdfe convention)."""
    c = pd.read_csv(REF / "castle.csv")
    r = twfe(c, outcome="l_homicide", unit="sid", time="year", treat="post", inference="cr1",
             bacon=False)
    n, k = 550, 1 + 10  # treat + 10 year dummies
    expected = ref_r["castle_twfe"]["cr0_cadjust_se"] * np.sqrt((n - 1) / (n - k))
    assert r.std_error == pytest.approx(expected, rel=1e-8)


def test_ordered_logit_matches_mass_polr(mpdta_2x2, ref_r):
    """MASS::polr(factor(k) ~ d*p, method = "logistic") on quartiles of lemp."""
    s = mpdta_2x2.copy()
    s["k"] = pd.qcut(s["lemp"], 4, labels=False) + 1
    r = ordered_logit_did(s, item="k", treat="d", post="p")
    assert r.estimate == pytest.approx(ref_r["polr"]["estimate"], rel=1e-4)
    assert r.std_error == pytest.approx(ref_r["polr"]["std_error"], rel=1e-3)
    assert r.estimates["odds_ratio"].iloc[0] == pytest.approx(np.exp(r.estimate))


@pytest.mark.reference_r
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_r_reference_regenerates(tmp_path, ref_r):
    out = subprocess.run(["Rscript", "did_reference.R"], cwd=REF, capture_output=True, text=True,
                         check=True, timeout=300).stdout
    import json

    fresh = json.loads(out)
    assert fresh["mpdta_2x2"]["cr2_se"] == pytest.approx(ref_r["mpdta_2x2"]["cr2_se"], rel=1e-12)
    assert fresh["castle_twfe"]["cr2_df"] == pytest.approx(ref_r["castle_twfe"]["cr2_df"], rel=1e-12)
