"""Benchmark: multilevel model, clustered regression and power functions against their peers.

Run:  .venv/bin/python benchmarks/bench_models.py [--rows 20000] [--repeats 3] [--full]
      [--only multilevel regression power]

The model-based half of issue 11's design estimators (``bench_designs.py`` has the
propensity-score half). Measured in one process on the same simulated residents-in-communities
data (``--rows`` residents in ``rows / 100`` communities, half of them pilots, two waves;
``--full``: 200,000 residents):

* ``multilevel`` — random intercept and random slope, REML: evalkit ``designs.multilevel_model``
  wraps statsmodels ``MixedLM``, so the peer is ``MixedLM(...).fit(reml=True,
  method=["lbfgs", "bfgs"])`` called directly on the same arrays; the ratio is the wrapper's
  overhead (input checks, variance components, ICCs, the result object).
* ``regression`` — ``designs.pre_post`` (pilot residents only, community fixed effects) and
  ``designs.linear_regression`` (DiD with covariates), CR1 by community against statsmodels
  ``OLS(...).fit(cov_type="cluster")`` (formula API, as users write it) and pyfixest ``feols``
  with ``{"CRV1": community}`` (fixed effects absorbed). No Python package computes CR2
  (Bell–McCaffrey with Satterthwaite df; pyfixest has CRV1 and CRV3 only, statsmodels and
  linearmodels none), so evalkit's CR2, the default of ``pre_post``, is timed alone (its numbers
  are checked against R clubSandwich in the tests).
* ``power`` — ``power.power_two_means`` over a grid of 200 effects (solving n, the MDE, power)
  vs statsmodels ``TTestIndPower`` (``solve_power`` in a loop; ``power`` is vectorised), which
  evalkit calls inside; and ``power.power_cluster`` (MDE for 200 community counts): no Python
  package computes it (PowerUpR is R), so the baseline is Bloom's formula written with scipy.

pyfixest is benchmark-only (see benchmarks/README.md); without it that peer is skipped.
Prints versions, CPU count, load, times (median of ``--repeats`` after a warm-up), both answers
and the ratio evalkit / peer (below 1: evalkit faster). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_designs import blas_threads, digits, report, timed  # noqa: E402

SECTIONS = ("multilevel", "regression", "power")


def make_panel(n: int, seed: int = 20240901) -> pd.DataFrame:
    """Residents in ``n // 100`` communities (≥ 20), half pilots, two waves; DiD effect 0.4."""
    rng = np.random.default_rng(seed)
    g_count = max(n // 100, 20)
    g = rng.integers(0, g_count, n)
    treat_g = (np.arange(g_count) < g_count // 2).astype(int)
    u = rng.normal(0, 0.5, g_count)
    v = rng.normal(0, 0.3, g_count)
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    post = rng.integers(0, 2, n)
    treat = treat_g[g]
    y = (1 + 0.5 * x0 - 0.3 * x1 + 0.2 * treat + 0.1 * post + 0.4 * treat * post + u[g] + v[g] * x0
         + rng.normal(size=n))
    return pd.DataFrame({"g": [f"c{k:04d}" for k in g], "x0": x0, "x1": x1, "treat": treat, "post": post,
                         "treat_post": treat * post, "y": y})


def bench_multilevel(d: pd.DataFrame, repeats: int) -> None:
    from statsmodels.regression.mixed_linear_model import MixedLM

    from evalkit.designs import multilevel_model

    def ek() -> Any:
        return multilevel_model(d, outcome="y", group="g", covariates=["x0", "x1"], treat="treat",
                                period="post", random_slopes=["x0"])

    exog = pd.DataFrame({"(Intercept)": 1.0, "x0": d["x0"], "x1": d["x1"], "treat": d["treat"].astype(float),
                         "post": d["post"].astype(float), "treat:post": d["treat_post"].astype(float)})

    def peer() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MixedLM(d["y"].to_numpy(), exog, groups=d["g"].to_numpy(),
                           exog_re=exog[["(Intercept)", "x0"]]).fit(reml=True, method=["lbfgs", "bfgs"])

    t_ek, r = timed(ek, repeats)
    t_sm, p = timed(peer, repeats)
    row = r.term("treat:post")
    vc = r.tables["variance_components"]
    slope_var = float(vc.loc[(vc["term_1"] == "x0") & (vc["term_2"] == "x0"), "variance"].iloc[0])
    report("evalkit multilevel_model (REML, random slope)", t_ek,
           f"treat:post {row['estimate']:.6f} SE {row['std_error']:.6f} var(x0) {slope_var:.6f}")
    report("statsmodels MixedLM.fit called directly", t_sm,
           f"treat:post {p.fe_params['treat:post']:.6f} SE {p.bse_fe['treat:post']:.6f} "
           f"var(x0) {np.asarray(p.cov_re)[1, 1]:.6f}")
    print(f"  agreement multilevel: estimate {digits(row['estimate'], p.fe_params['treat:post'])} digits, "
          f"SE {digits(row['std_error'], p.bse_fe['treat:post'])} digits")
    print(f"ratio multilevel_model evalkit/MixedLM: {t_ek / t_sm:.3f}")


def bench_regression(d: pd.DataFrame, repeats: int) -> None:
    import statsmodels.formula.api as smf

    from evalkit.designs import linear_regression, pre_post

    pilots = d[d["treat"] == 1].reset_index(drop=True)
    has_pf = importlib.util.find_spec("pyfixest") is not None
    cases = [
        ("pre_post", pilots, "post", "y ~ post + C(g)", "y ~ post | g",
         lambda vc: pre_post(pilots, outcome="y", post="post", cluster="g", vcov=vc)),
        ("linear_regression", d, "treat_post", "y ~ treat + post + treat_post + x0 + x1",
         "y ~ treat + post + treat_post + x0 + x1",
         lambda vc: linear_regression(d, outcome="y", regressors=["treat", "post", "treat_post", "x0", "x1"],
                                      vcov=vc, cluster="g")),
    ]
    for name, data, term, formula, pf_formula, ek in cases:
        print(f"  {name}: {len(data)} rows, {data['g'].nunique()} communities")
        t1, r1 = timed(lambda ek=ek: ek("cr1"), repeats)
        t2, r2 = timed(lambda ek=ek: ek("cr2"), repeats)
        e1, e2 = r1.term(term), r2.term(term)
        t_sm, p = timed(lambda data=data, formula=formula: smf.ols(formula, data).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(data["g"])[0]}), repeats)
        report(f"evalkit {name} CR1", t1, f"{term} {e1['estimate']:.6f} SE {e1['std_error']:.6f}")
        report(f"evalkit {name} CR2 (Satterthwaite df)", t2,
               f"{term} {e2['estimate']:.6f} SE {e2['std_error']:.6f} df {e2['df']:.1f}")
        report(f"statsmodels ols(formula).fit(cluster) [{name}]", t_sm, f"{term} {p.params[term]:.6f} SE {p.bse[term]:.6f}")
        print(f"  agreement {name} CR1 vs statsmodels: estimate {digits(e1['estimate'], p.params[term])} digits, "
              f"SE {digits(e1['std_error'], p.bse[term])} digits")
        print(f"ratio {name} CR1 evalkit/statsmodels: {t1 / t_sm:.3f}")
        print(f"ratio {name} CR2 evalkit/statsmodels CR1: {t2 / t_sm:.3f}")
        if not has_pf:
            print("  pyfixest not installed: not timed")
            continue
        import pyfixest as pf

        def peer_pf(data: pd.DataFrame = data, f: str = pf_formula) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pf.feols(f, data=data, vcov={"CRV1": "g"})

        t_pf, q = timed(peer_pf, repeats)
        report(f"pyfixest feols CRV1 [{name}]", t_pf, f"{term} {q.coef()[term]:.6f} SE {q.se()[term]:.6f}")
        # pyfixest absorbs pre_post's community effects and, as they are nested in the clusters, leaves
        # them out of K in (N-1)/(N-K); evalkit and statsmodels keep them as dummies (Stata's regress)
        n_fe = data["g"].nunique() - 1 if name == "pre_post" else 0
        k_factor = np.sqrt((len(data) - 2) / (len(data) - 2 - n_fe))
        if n_fe:
            print(f"  (pyfixest leaves the {n_fe} nested community effects out of K: expected SE ratio "
                  f"{k_factor:.6f}, seen {e1['std_error'] / q.se()[term]:.6f})")
        print(f"  agreement {name} CR1 vs pyfixest: estimate {digits(e1['estimate'], q.coef()[term])} digits, "
              f"SE{' after that factor' if n_fe else ''} {digits(e1['std_error'] / k_factor, q.se()[term])} digits")
        print(f"ratio {name} CR1 evalkit/pyfixest: {t1 / t_pf:.3f}")


def bench_power(repeats: int, scenarios: int = 200) -> None:
    from scipy import stats
    from statsmodels.stats.power import TTestIndPower

    from evalkit.power import power_cluster, power_two_means

    effects = np.linspace(0.05, 1.0, scenarios)
    sizes = np.linspace(20, 2000, max(scenarios // 4, 2))  # solving for the effect is statsmodels' slowest path
    engine = TTestIndPower()
    runs = [
        (f"n for power 0.8 ({scenarios} scenarios)", lambda: power_two_means(effect=list(effects), power=0.8).estimates["n_per_group"],
         lambda: [engine.solve_power(effect_size=e, power=0.8, alpha=0.05) for e in effects], "loop solve_power"),
        (f"MDE at power 0.8 ({len(sizes)} scenarios)", lambda: power_two_means(n_per_group=list(sizes), power=0.8).estimates["effect"],
         lambda: [engine.solve_power(nobs1=m, power=0.8, alpha=0.05) for m in sizes], "loop solve_power"),
        (f"power at n = 100 ({scenarios} scenarios)", lambda: power_two_means(effect=list(effects), n_per_group=100).estimates["power"],
         lambda: engine.power(effect_size=effects, nobs1=100, alpha=0.05), "vectorised power"),
    ]
    for what, ek, peer, how in runs:
        t_ek, a = timed(ek, repeats)
        t_sm, b = timed(peer, repeats)
        a, b = np.asarray(a, float), np.asarray(b, float).ravel()
        worst = min(digits(x, y) for x, y in zip(a, b, strict=True))
        report(f"evalkit power_two_means, {what}", t_ek, f"first {a[0]:.6f} last {a[-1]:.6f}")
        report(f"statsmodels TTestIndPower {how} [{what}]", t_sm, f"first {b[0]:.6f} last {b[-1]:.6f}")
        print(f"  agreement power_two_means ({what}): {worst} digits in the worst scenario")
        print(f"ratio power_two_means {what} evalkit/statsmodels: {t_ek / t_sm:.3f}")

    clusters = np.arange(10, 10 + scenarios)

    def bloom() -> np.ndarray:  # Bloom (2005) MDE, ICC 0.1, 20 per community, half pilots, 1 wave
        df = clusters - 2
        m = stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)
        return m * np.sqrt((0.1 + 0.9 / 20) / (0.25 * clusters))

    t_ek, r = timed(lambda: power_cluster(n_clusters=list(clusters), cluster_size=20, icc=0.1,
                                          power=0.8).estimates["effect"].to_numpy(), repeats)
    t_b, b = timed(bloom, repeats)
    print("  power_cluster: no installable Python peer (PowerUpR is R); baseline = Bloom's formula in scipy")
    report(f"evalkit power_cluster, MDE for {scenarios} community counts", t_ek, f"J=10 {r[0]:.6f} J={clusters[-1]} {r[-1]:.6f}")
    report("baseline Bloom formula (scipy, vectorised)", t_b, f"J=10 {b[0]:.6f} J={clusters[-1]} {b[-1]:.6f}")
    worst = min(digits(x, y) for x, y in zip(r, b, strict=True))
    print(f"  agreement power_cluster: {worst} digits in the worst scenario")
    print(f"ratio power_cluster evalkit/scipy formula: {t_ek / t_b:.3f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenarios", type=int, default=200, help="power scenarios per call")
    ap.add_argument("--full", action="store_true", help="200,000 residents")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = ap.parse_args(argv)
    n = 200_000 if args.full else args.rows
    mods = [m for m in ("statsmodels", "numpy", "pandas", "scipy", "pyfixest")
            if importlib.util.find_spec(m) is not None]
    print(", ".join(f"{m} {importlib.metadata.version(m)}" for m in mods)
          + f"; cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, {blas_threads()}, rows {n}, median of {args.repeats}")
    d = make_panel(n)
    if "multilevel" in args.only:
        bench_multilevel(d, args.repeats)
    if "regression" in args.only:
        bench_regression(d, args.repeats)
    if "power" in args.only:
        bench_power(args.repeats, args.scenarios)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
