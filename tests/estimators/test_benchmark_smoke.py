"""Smoke tests for benchmarks/: every script's set-up and calls still run, on tiny data.

The benchmarks themselves are not tests (they time, print and never assert; ``make bench``
runs them). These tests only keep the scripts from rotting when evalkit's or a peer's API
changes: each benchmark's data generator and every implementation it times are run once on
a very small problem, and the implementations that compute the same estimate are checked
to agree, so a benchmark cannot quietly compare unlike things. Nothing here is timed.
Peers that are not project dependencies (csdid, wildboottest, scikit-learn, causalinference, psmpy,
empirical_calibration, pyfixest) are skipped when absent.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    """Import benchmarks/<name>.py by path (benchmarks/ is not an installed package)."""
    module_name = f"_evalkit_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def staggered() -> ModuleType:
    pytest.importorskip("diff_diff")
    return _load("bench_staggered")


@pytest.fixture(scope="module")
def small_panel(staggered):
    return staggered.make_panel(n_units=300, periods=10, seed=3)


@pytest.fixture(autouse=True)
def _matplotlib_style_restored():
    """Some benchmark peers restyle matplotlib when imported (psmpy sets a seaborn theme); the
    rest of the suite must not inherit it."""
    import matplotlib as mpl

    with mpl.rc_context():
        yield


def test_runner_discovers_every_script():
    runner = _load("__main__")
    scripts = {p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py")}
    assert set(runner.discover()) == scripts
    assert {"staggered", "wild_bootstrap"} <= scripts


def test_staggered_panel_is_staggered(small_panel):
    data, truth = small_panel
    assert len(data) == 300 * 10
    assert set(data["cohort"].unique()) == {0, 3, 5, 7, 9}
    assert data.groupby("unit")["cohort"].nunique().max() == 1
    assert 0.5 < truth < 1.2  # ATT(g,t) = 0.5 + 0.1 (t − g) over treated periods 0..7


@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_staggered_evalkit_and_diff_diff_compute_the_same_estimates(staggered, small_panel, covariates):
    data, _ = small_panel
    ek = staggered.run_evalkit(data, covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peer's warnings are not evalkit's business here
        dd = staggered.run_diff_diff(data, covariates, aggregate=True)
    assert ek.simple[0] == pytest.approx(dd.simple[0], rel=1e-8)
    assert ek.event0[0] == pytest.approx(dd.event0[0], rel=1e-8)
    assert ek.first_cohort == pytest.approx(dd.first_cohort, rel=1e-8)
    # each unit its own cluster: R did's analytic SE (no G/(G−1)), as diff-diff's
    assert ek.simple[1] == pytest.approx(dd.simple[1], rel=1e-9)


def test_staggered_csdid_computes_the_same_estimates(staggered, small_panel):
    pytest.importorskip("csdid")
    data, _ = small_panel
    ek = staggered.run_evalkit(data, ())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = staggered.run_csdid(data, ())
    for a, b in ((ek.simple, cs.simple), (ek.group, cs.group), (ek.event0, cs.event0)):
        assert a[0] == pytest.approx(b[0], rel=1e-8)
    assert ek.first_cohort == pytest.approx(cs.first_cohort, rel=1e-8)


def test_staggered_whole_script_runs_and_prints_ratios(staggered, capsys):
    medians = staggered.run(units=300, periods=10, repeats=1, peers=("diff-diff",))
    out = capsys.readouterr().out
    assert set(medians) == set(staggered.SCENARIOS)
    assert all(t > 0 for m in medians.values() for t in m.values())
    runner = _load("__main__")
    rows = runner.parse("staggered", out.splitlines())
    ratios = {r.label for r in rows if r.kind == "ratio"}
    assert "evalkit / diff-diff fit+aggregate [no_covariates]" in ratios
    assert "evalkit / diff-diff fit [covariate_dr]" in ratios
    times = {r.label for r in rows if r.kind == "time"}
    assert "evalkit did_staggered [no_covariates]" in times
    assert "of which evalkit own work [no_covariates]" in times


def test_wild_bootstrap_setup_and_calls_run():
    wb = _load("bench_wild_bootstrap")
    from evalkit.inference import wild_cluster_bootstrap

    y, X, g = wb.make_data(300, seed=1)
    assert X.shape == (300, 3) and len(np.unique(g)) <= wb.G
    seconds, res = wb.timed(lambda: wild_cluster_bootstrap(y, X, g, coef_index=1, draws=99, seed=1,
                                                           ci=False), 1)
    assert seconds > 0 and 0 < res.p_value <= 1
    assert 0 <= wb.naive_numpy_wcr(y, X, g, 3, 1) <= 1


def test_wild_bootstrap_peer_call_runs():
    pytest.importorskip("wildboottest")
    wb = _load("bench_wild_bootstrap")
    y, X, g = wb.make_data(300, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = wb.run_wildboottest(y, X, g, draws=99, seed=1)
    assert 0 <= p <= 1


def test_runner_parses_the_common_line_formats():
    runner = _load("__main__")
    lines = [
        "evalkit (p-value only)         0.102 s   p = 0.2798",
        "naive numpy WCR (refit on all rows per draw): 0.001 s for 2 draws, EXTRAPOLATED to 9,999 draws: 4.1 s",
        "ratio evalkit / wildboottest (p-value only): 0.074  (evalkit 13.5x faster)",
        "data: 3,000 rows, 50 clusters, k = 3; WCR, Rademacher, 9,999 draws",
    ]
    rows = runner.parse("wild_bootstrap", lines)
    assert [(r.kind, r.label, r.value) for r in rows] == [
        ("time", "evalkit (p-value only)", 0.102),
        ("time", "naive numpy WCR (refit on all rows per draw) (EXTRAPOLATED)", 4.1),
        ("ratio", "evalkit / wildboottest (p-value only)", 0.074),
    ]


def test_synthetic_whole_script_runs_on_a_small_simulated_panel(capsys):
    """bench_synthetic: evalkit and diff-diff give the same estimates; the ratio lines are printed."""
    bench = _load("bench_synthetic")
    bench.main(["--repeats", "1", "--donors", "6", "--periods", "12"])
    out = capsys.readouterr().out
    atts = [float(line.rsplit("att", 1)[1]) for line in out.splitlines() if " att " in line]
    assert len(atts) == 4 and atts[0] == pytest.approx(atts[1], abs=1e-8) and atts[2] == pytest.approx(atts[3], abs=1e-8)
    assert "ratio synthetic_control evalkit / diff-diff:" in out and "ratio synthetic_did evalkit / diff-diff:" in out
def test_service_aggregation_benchmark_sides_agree(tmp_path):
    bench = _load("bench_service_aggregation")
    path = tmp_path / "log.parquet"
    bench.write_log(path, 5_000, chunk=2_000)
    duck = bench.run_duckdb(path, tmp_path / "spill")
    pand = bench.run_pandas(path)
    assert len(duck) == len(bench.BY) == 4
    for a, b in zip(duck, pand, strict=True):
        assert a.equals(b)


def _agreements(out: str) -> dict[str, list[float]]:
    """{what: [agreeing digits, ...]} from the benchmarks' ``agreement <what>: ... N digits`` lines."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*agreement (.+?): (.*)$", line)
        if m:
            found[m[1]] = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?) digits", m[2])]
    return found


def test_designs_script_runs_and_evalkit_agrees_with_each_peer(capsys):
    """bench_designs on tiny data: every section runs, prints its ratio, and evalkit's answer equals the
    peer's wherever the peer computes the same estimator (peers outside the lock are optional)."""
    bench = _load("bench_designs")
    bench.main(["--rows", "1500", "--psmpy-rows", "300", "--repeats", "1"])
    out = capsys.readouterr().out
    agree = _agreements(out)
    expected = {"ipw", "aipw", "ordered_logit"}
    if importlib.util.find_spec("sklearn") is not None:
        expected.add("matching (replace)")
    if importlib.util.find_spec("empirical_calibration") is not None:
        expected.add("entropy")
    assert expected <= set(agree)
    for what in expected:
        assert agree[what] and min(agree[what]) >= 6, (what, agree[what])
    for name in ("ipw", "aipw", "ordered_logit"):
        assert f"ratio {name} evalkit/statsmodels:" in out


def test_models_script_runs_and_evalkit_agrees_with_each_peer(capsys):
    """bench_models on tiny data: MixedLM, OLS cluster (and pyfixest after its documented K factor),
    TTestIndPower and Bloom's formula give evalkit's numbers."""
    bench = _load("bench_models")
    bench.main(["--rows", "2000", "--repeats", "1", "--scenarios", "8"])
    out = capsys.readouterr().out
    agree = _agreements(out)
    expected = {"multilevel", "pre_post CR1 vs statsmodels", "linear_regression CR1 vs statsmodels",
                "power_cluster"}
    if importlib.util.find_spec("pyfixest") is not None:
        expected |= {"pre_post CR1 vs pyfixest", "linear_regression CR1 vs pyfixest"}
    assert expected <= set(agree)
    assert sum(what.startswith("power_two_means") for what in agree) == 3
    for what, found in agree.items():
        assert found and min(found) >= 6, (what, found)
    assert "ratio multilevel_model evalkit/MixedLM:" in out
