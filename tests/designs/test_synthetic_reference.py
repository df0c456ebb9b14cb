"""Synthetic control and synthetic DiD against Arkhangelsky, Athey, Hirshberg, Imbens & Wager
(2021), AER 111(12), Table 1 (California Proposition 99): SDID −15.6 (8.4), SC −19.6 (9.9),
DID −27.3 (17.7). Data and tolerances: tests/reference/synthetic/README.md."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.designs import synthetic_control, synthetic_did

DATA = Path(__file__).resolve().parents[1] / "reference" / "synthetic" / "california_prop99.csv"


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return pd.read_csv(DATA, sep=";")


@pytest.fixture(scope="module")
def sdid(prop99):
    return synthetic_did(prop99, outcome="PacksPerCapita", unit="State", time="Year",
                         treated_units="California", start=1989, draws=200, seed=12345)


@pytest.fixture(scope="module")
def sc(prop99):
    return synthetic_control(prop99, outcome="PacksPerCapita", unit="State", time="Year",
                             treated_unit="California", start=1989)


def test_sdid_matches_table_1(sdid):
    row = sdid.term("sdid")
    assert row["estimate"] == pytest.approx(-15.6, abs=0.06)
    assert row["std_error"] == pytest.approx(8.4, rel=0.15)


def test_did_matches_table_1(sdid):
    row = sdid.term("did")
    assert row["estimate"] == pytest.approx(-27.3, abs=0.06)
    assert row["std_error"] == pytest.approx(17.7, rel=0.15)


def test_sc_matches_table_1(sc):
    row = sc.term("att")
    assert row["estimate"] == pytest.approx(-19.6, abs=0.15)
    assert row["std_error"] == pytest.approx(9.9, rel=0.15)


def test_sc_weights_and_fit_are_consistent(sc, prop99):
    """Weights lie on the simplex, reproduce the synthetic path, and the gap columns add up."""
    w = sc.tables["weights"].set_index("unit")["weight"]
    assert w.min() >= -1e-10 and w.sum() == pytest.approx(1.0, abs=1e-8)
    wide = prop99.pivot(index="State", columns="Year", values="PacksPerCapita")
    synth = w.reindex(wide.index).fillna(0.0) @ wide
    gaps = sc.tables["gaps"].set_index("time")
    np.testing.assert_allclose(gaps["synthetic"], synth.loc[gaps.index], rtol=1e-8)
    np.testing.assert_allclose(gaps["gap"], gaps["treated"] - gaps["synthetic"], atol=1e-10)
    post = gaps[gaps["phase"] == "post"]["gap"]
    assert sc.estimate == pytest.approx(post.mean(), rel=1e-10)
    row = sc.estimates.iloc[0]
    assert row["rmspe_ratio"] == pytest.approx(row["post_rmspe"] / row["pre_rmspe"], rel=1e-8)
    # ADH (2010): a close pre-1989 fit (RMSPE under 2 packs) with Utah, Montana, Nevada among the donors
    assert row["pre_rmspe"] < 2.0
    assert {"Utah", "Montana", "Nevada"} <= set(w[w > 0.1].index)


def test_sc_placebo_inference(sc):
    pl = sc.tables["placebos"]
    assert len(pl) == 39 and pl["is_treated"].sum() == 1
    rank = int(np.flatnonzero(pl["is_treated"].to_numpy())[0]) + 1  # sorted by ratio, largest first
    assert sc.estimates["p_value"].iloc[0] == pytest.approx(rank / 39)
    assert sc.estimates["p_value"].iloc[0] <= 0.1
    assert pl["att_placebo"].notna().sum() == 38


def test_sdid_gap_table_reproduces_the_estimate(sdid):
    """τ̂ = mean post gap after the λ-weighted level shift (Arkhangelsky et al. eq. 1 rewritten)."""
    gaps = sdid.tables["gaps"]
    assert gaps.loc[gaps["phase"] == "post", "gap"].mean() == pytest.approx(sdid.estimate, rel=1e-8)
    assert sdid.tables["time_weights"]["weight"].sum() == pytest.approx(1.0, abs=1e-8)
    assert sdid.tables["unit_weights"]["weight"].sum() == pytest.approx(1.0, abs=1e-8)


def test_placebo_refits_equal_diff_diff_fits(prop99):
    """The leave-pilot-out placebo weights (scipy NNLS) equal diff-diff's SyntheticControl fit."""
    from diff_diff import SyntheticControl

    from evalkit.designs.synthetic import simplex_weights

    controls = prop99[prop99["State"] != "California"]
    wide = controls.pivot(index="State", columns="Year", values="PacksPerCapita")
    pre = [y for y in wide.columns if y < 1989]
    for pilot in ("Utah", "Nevada", "Ohio"):
        d = controls.assign(d=((controls["State"] == pilot) & (controls["Year"] >= 1989)).astype(int))
        with warnings.catch_warnings():  # Nevada's fit is poor and diff-diff says so; not the point here
            warnings.simplefilter("ignore", UserWarning)
            fit = SyntheticControl(v_method="custom", custom_v=np.ones(len(pre)), standardize="none").fit(
                d, outcome="PacksPerCapita", treatment="d", unit="State", time="Year", pre_period_outcomes="all")
        others = [u for u in wide.index if u != pilot]
        w = simplex_weights(wide.loc[others, pre].to_numpy().T, wide.loc[pilot, pre].to_numpy())
        ref = pd.Series(fit.donor_weights, dtype=float).reindex(others).fillna(0.0).to_numpy()
        np.testing.assert_allclose(w, ref, atol=1e-7)


def test_prop99_raises_no_design_warning(sc, sdid):
    """19 pre-years, California inside the donors' range, close fit, 38 placebos: nothing flagged."""
    assert not sc.tables["diagnostics"]["flagged"].any()
    assert not sdid.tables["diagnostics"]["flagged"].any()
    assert "注意" not in sc.summary(lang="zh")
