"""The hand-written ATT(g,t) (evalkit.estimators.group_time) against diff-diff, its reference.

On balanced panels did_staggered computes the group-time ATTs and their influence functions
itself, for speed, and uses diff-diff's CallawaySantAnna for everything else. These tests
compare the two directly — every ATT(g,t) and every influence function to 1e-10 — on mpdta
(the R `did` reference data) and on simulated panels, with and without covariates
(time-invariant and time-varying), weighted and unweighted, never- and not-yet-treated
comparisons, varying and universal base periods and anticipation; then compare did_staggered's
whole output (estimates, SEs, aggregations, pre-test, notes) with the fast path against the same
call forced through diff-diff; and check that what the fast path does not cover goes to diff-diff.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit.estimators.staggered as stag
from evalkit.estimators import did_staggered
from evalkit.estimators.group_time import Unsupported, group_time_effects, wide_panel

pytest.importorskip("diff_diff")

TOL = 1e-10


def _arrays(data: pd.DataFrame, *, unit: str, time: str, cohort: str, outcome: str,
            covariates: tuple[str, ...], weights: str | None) -> dict:
    """diff-diff's input frame and the wide arrays of the fast path, from the same data."""
    codes = pd.factorize(data[unit])[0]
    w = data[weights].to_numpy(float) if weights else np.ones(len(data))
    df = pd.DataFrame({"y": data[outcome].to_numpy(float), "unit": codes,
                       "time": data[time].to_numpy(), "first_treat": data[cohort].to_numpy(float),
                       "w": w, "cluster": codes})
    for c in covariates:
        df[c] = data[c].to_numpy(float)
    wp = wide_panel(codes, df["time"].to_numpy(), codes.max() + 1)
    assert wp is not None
    X = np.stack([wp.wide(df[c].to_numpy()) for c in covariates]) if covariates else None
    return {"df": df, "periods": wp.periods, "Y": wp.wide(df["y"].to_numpy()),
            "cohort": wp.wide(df["first_treat"].to_numpy())[0],
            "w": wp.wide(w)[0] if weights else None, "X": X}


def _check_against_diff_diff(a: dict, *, covariates, method, control, base_period, anticipation,
                             weighted) -> None:
    opts = dict(control=control, method=method, anticipation=anticipation, base_period=base_period)
    fast = group_time_effects(a["Y"], a["periods"], a["cohort"], a["w"] if weighted else None,
                              a["X"], **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the configurations compared are ones diff-diff fits cleanly
        ref = stag._fit_cs(a["df"], covariates=covariates, panel=True, weighted=weighted,
                           check=True, **opts)
    np.testing.assert_array_equal(fast.group, ref.group)
    np.testing.assert_array_equal(fast.time, ref.time)
    scale = np.max(np.abs(ref.att))
    np.testing.assert_allclose(fast.att, ref.att, rtol=TOL, atol=TOL * scale)
    assert fast.psi.shape == ref.psi.shape
    np.testing.assert_allclose(fast.psi, ref.psi, rtol=TOL, atol=TOL * np.max(np.abs(ref.psi)))
    # the standard errors diff-diff reports are sqrt(Σ psi²) (checked inside _fit_cs for ref)
    np.testing.assert_allclose(np.sqrt((fast.psi ** 2).sum(axis=1)),
                               np.sqrt((ref.psi ** 2).sum(axis=1)), rtol=TOL)


@pytest.fixture(scope="module")
def mpdta_w(mpdta):
    rng = np.random.default_rng(11)
    units = np.sort(mpdta["countyreal"].unique())
    w = pd.Series(rng.uniform(0.2, 3.0, len(units)), index=units)
    return mpdta.assign(w=mpdta["countyreal"].map(w),
                        lpop_tv=mpdta["lpop"] + rng.normal(0, 0.1, len(mpdta)))


@pytest.fixture(scope="module")
def sim_panel(simulate):
    panel, _ = simulate(n_units=400, periods=8, seed=21)
    rng = np.random.default_rng(22)
    units = panel["unit"].unique()
    x = pd.Series(rng.normal(size=len(units)), index=units)
    w = pd.Series(rng.uniform(0.5, 2.0, len(units)), index=units)
    return panel.assign(x=panel["unit"].map(x), w=panel["unit"].map(w))


MPDTA = dict(unit="countyreal", time="year", cohort="first_treat", outcome="lemp")


@pytest.mark.parametrize(("covariates", "method"), [
    ((), "dr"), ((), "reg"), ((), "ipw"), (("lpop",), "dr"), (("lpop",), "reg"),
    (("lpop_tv",), "dr"), (("lpop", "lpop_tv"), "reg")])
def test_mpdta_matches_diff_diff(mpdta_w, covariates, method):
    for weighted, control, base_period in itertools.product(
            (False, True), ("never_treated", "not_yet_treated"), ("varying", "universal")):
        a = _arrays(mpdta_w, covariates=covariates, weights="w" if weighted else None, **MPDTA)
        _check_against_diff_diff(a, covariates=covariates, method=method, control=control,
                                 base_period=base_period, anticipation=0, weighted=weighted)


@pytest.mark.parametrize(("covariates", "method"), [((), "dr"), (("x",), "dr"), (("x",), "reg")])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_simulated_panel_matches_diff_diff(sim_panel, covariates, method, control):
    """Including anticipation (cohorts 3, 5, 7 over periods 1..8 leave room for it)."""
    for weighted, base_period, anticipation in itertools.product(
            (False, True), ("varying", "universal"), (0, 1)):
        a = _arrays(sim_panel, unit="unit", time="time", cohort="cohort", outcome="y",
                    covariates=covariates, weights="w" if weighted else None)
        _check_against_diff_diff(a, covariates=covariates, method=method, control=control,
                                 base_period=base_period, anticipation=anticipation,
                                 weighted=weighted)


def _force_diff_diff(*args, **kwargs):
    raise Unsupported("forced for the test")


def _fast(monkeypatch, call):
    """Run ``call`` and assert that its ATT(g,t) came from the hand-written path."""
    used: list[bool] = []

    def spy(*args, **kwargs):
        out = group_time_effects(*args, **kwargs)  # Unsupported propagates: not recorded
        used.append(True)
        return out

    with monkeypatch.context() as m:
        m.setattr(stag, "group_time_effects", spy)
        result = call()
    assert used, "the hand-written path was not used"
    return result


def _assert_same_result(fast, slow) -> None:
    a, b = fast.estimates, slow.estimates
    assert list(a.columns) == list(b.columns)
    assert list(a.dtypes) == list(b.dtypes)
    for c in a.columns:
        if a[c].dtype.kind == "f":
            x, y = a[c].to_numpy(), b[c].to_numpy()
            np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
            ok = ~np.isnan(x)
            np.testing.assert_allclose(x[ok], y[ok], rtol=TOL, atol=TOL * np.max(np.abs(y[ok])),
                                       err_msg=c)
        else:
            assert a[c].tolist() == b[c].tolist(), c
    assert fast.notes == slow.notes
    assert fast.inference == slow.inference
    assert fast.n_obs == slow.n_obs


@pytest.mark.parametrize("kw", [
    dict(),
    dict(covariates=["lpop"]),
    dict(covariates=["lpop"], weights="w", control="not_yet_treated"),
    dict(weights="w", base_period="universal", headline="event", balance_e=1),
    dict(method="reg", covariates=["lpop"], cluster="state"),
    dict(inference="wild_bootstrap", draws=99, seed=5),
])
def test_did_staggered_output_unchanged_on_mpdta(mpdta_w, monkeypatch, kw):
    """The whole result — ATT(g,t), every aggregation, SEs, intervals, pre-test — with the
    hand-written ATT(g,t) equals the result computed through diff-diff."""
    base = dict(outcome="lemp", unit="countyreal", time="year", cohort="first_treat")
    data = mpdta_w.assign(state=mpdta_w["countyreal"] // 1000)
    fast = _fast(monkeypatch, lambda: did_staggered(data, **base, **kw))
    monkeypatch.setattr(stag, "group_time_effects", _force_diff_diff)
    slow = did_staggered(data, **base, **kw)
    _assert_same_result(fast, slow)


@pytest.mark.parametrize("kw", [dict(), dict(covariates=["x"], weights="w"),
                                dict(control="not_yet_treated", anticipation=1)])
def test_did_staggered_output_unchanged_on_simulated_panel(sim_panel, monkeypatch, kw):
    # shuffled rows and string ids: the wide layout must not depend on the row order
    data = sim_panel.sample(frac=1.0, random_state=3).reset_index(drop=True)
    data["unit"] = "u" + data["unit"].astype(str)
    base = dict(outcome="y", unit="unit", time="time", cohort="cohort")
    fast = _fast(monkeypatch, lambda: did_staggered(data, **base, **kw))
    monkeypatch.setattr(stag, "group_time_effects", _force_diff_diff)
    slow = did_staggered(data, **base, **kw)
    _assert_same_result(fast, slow)


def test_benchmark_design_matches(monkeypatch):
    """The benchmark's data-generating process (scaled down), with its covariate."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_staggered.py"
    name = "_evalkit_bench_bench_staggered"  # the name test_benchmark_smoke registers it under
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses need the module registered
        spec.loader.exec_module(module)
    data, _ = sys.modules[name].make_panel(n_units=2000, periods=10, seed=4)
    base = dict(outcome="y", unit="unit", time="period", cohort="cohort", method="dr")
    fast = [_fast(monkeypatch, lambda c=c: did_staggered(data, **base, covariates=c))
            for c in ((), ("x",))]
    monkeypatch.setattr(stag, "group_time_effects", _force_diff_diff)
    for f, c in zip(fast, ((), ("x",)), strict=True):
        _assert_same_result(f, did_staggered(data, **base, covariates=c))


def test_uncovered_cases_go_to_diff_diff(mpdta_w):
    """What the fast path does not cover raises Unsupported (did_staggered then uses diff-diff)."""
    a = _arrays(mpdta_w, covariates=("lpop",), weights=None, **MPDTA)
    opts = dict(control="never_treated", anticipation=0, base_period="varying")
    with pytest.raises(Unsupported):  # IPW with covariates
        group_time_effects(a["Y"], a["periods"], a["cohort"], None, a["X"], method="ipw", **opts)
    with pytest.raises(Unsupported):  # a cohort without a base period under anticipation
        group_time_effects(a["Y"], a["periods"], a["cohort"], None, None, method="dr",
                           control="never_treated", anticipation=1, base_period="varying")
    w0 = np.where(np.arange(len(a["cohort"])) == 0, 0.0, 1.0)
    with pytest.raises(Unsupported):  # a zero sampling weight
        group_time_effects(a["Y"], a["periods"], a["cohort"], w0, None, method="dr", **opts)
    # an unbalanced panel has no wide layout
    codes = pd.factorize(mpdta_w["countyreal"])[0]
    assert wide_panel(codes[1:], mpdta_w["year"].to_numpy()[1:], codes.max() + 1) is None
    dup = np.r_[codes[:-1], codes[0]]
    assert wide_panel(dup, mpdta_w["year"].to_numpy(), codes.max() + 1) is None


def test_diff_diff_warnings_still_reach_the_notes(mpdta_w):
    """Where diff-diff would warn (here: propensity scores trimmed with a covariate that nearly
    separates the cohorts), the fast path steps aside and the warning reaches the notes."""
    rng = np.random.default_rng(1)
    d = mpdta_w.copy()
    d["sep"] = (d["first_treat"] > 0) * 3.0 + rng.normal(0, 0.5, d["countyreal"].nunique())[
        pd.factorize(d["countyreal"])[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = did_staggered(d, outcome="lemp", unit="countyreal", time="year",
                          cohort="first_treat", covariates=["sep"])
    assert any(n["code"] == "library_message" and n["source"] == "diff-diff" for n in r.notes)
    assert any(line.startswith("diff-diff: ") for line in r.note_lines("en"))
