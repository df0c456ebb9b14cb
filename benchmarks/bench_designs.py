"""Benchmark: the covariate-adjustment designs against the fastest installable Python peers.

Run:  .venv/bin/python benchmarks/bench_designs.py [--rows 20000] [--repeats 3] [--full]
      [--only ipw aipw matching entropy ordered_logit]

Measured in one process on the same simulated data (``--full``: 200,000 rows; matching uses
a quarter of the rows, psmpy a fixed small sample):

* ``ipw`` — ATE with a sandwich SE that accounts for the estimated score: evalkit
  ``designs.ipw`` vs statsmodels ``TreatmentEffect.ipw`` (GMM; its Nelder–Mead step is part
  of its cost). Covariates are standardised so that both reach the same answer.
* ``aipw`` — doubly robust ATE: evalkit ``designs.aipw`` vs statsmodels ``TreatmentEffect.aipw``.
* ``matching`` — 1:1 nearest neighbour on the propensity score, evalkit ``designs.match_nearest``:
  with replacement against the baseline a user writes (statsmodels ``Logit`` + scikit-learn
  ``NearestNeighbors`` + statsmodels ``OLS`` clustered by pair and control); with replacement
  and Abadie–Imbens SEs against ``causalinference`` ``CausalModel.est_via_matching`` (which
  matches on the covariates, inverse-variance scaled, not on the score: a different
  estimator, so the ATTs differ by design); without replacement against ``psmpy``
  (``kdtree_matched`` on the logit of an L2-penalised scikit-learn logit, treated units in data
  order; it queries every control for every treated unit and removes used controls from
  Python lists, O(n²) memory and O(n³) time, hence its small sample).
* ``entropy`` — entropy balancing, ATT: evalkit ``designs.entropy_balance`` vs Google's
  ``empirical_calibration`` (``maybe_exact_calibrate``, entropy objective; weights and ATT
  only, no SE).
* ``ordered_logit`` — unweighted (the peer takes no weights): evalkit ``designs.ordered_logit``
  (Newton, analytic Hessian) vs statsmodels ``OrderedModel`` (Newton).

scikit-learn, causalinference, psmpy and empirical_calibration are benchmark-only (see
benchmarks/README.md); a section whose peer is not installed says so and times evalkit alone.
Prints versions, CPU count, load, times (median of ``--repeats`` after a warm-up), both answers
and the ratio evalkit / peer (below 1: evalkit faster). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

COVS = [f"x{j}" for j in range(5)]
SECTIONS = ("ipw", "aipw", "matching", "entropy", "ordered_logit")


def timed(fn: Callable[[], Any], repeats: int, *, warm_up: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls and the last result, after one untimed call
    (``warm_up`` if given, e.g. the same call on a slice when a full call is slow)."""
    (warm_up or fn)()
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def make_data(n: int, seed: int = 20240901, shift: float = 0.0) -> pd.DataFrame:
    """Five normal covariates, logit treatment (``shift`` lowers the treated share), ATE = 2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    e = 1 / (1 + np.exp(-(X @ np.array([0.5, -0.4, 0.3, 0.2, -0.1]) - shift)))
    t = rng.binomial(1, e)
    y = X @ np.array([1.0, 0.5, -0.5, 0.2, 0.1]) + 2 * t + rng.normal(size=n)
    latent = X[:, :3] @ np.array([0.8, -0.5, 0.3]) + rng.logistic(size=n)
    ordinal = 1 + np.searchsorted([-1.0, 0.0, 1.0, 2.0], latent)
    d = pd.DataFrame(X, columns=COVS)
    return d.assign(t=t, y=y, item=ordinal)


def digits(a: float, b: float) -> float:
    """Agreeing significant digits, −log10 of the relative difference (16 when identical)."""
    rel = abs(a - b) / max(abs(a), abs(b), 1e-300)
    return 16.0 if rel == 0 else round(float(min(16.0, max(0.0, -np.log10(rel)))), 1)


def blas_threads() -> str:
    """The BLAS thread setting in force (on a busy 2-core machine threaded BLAS can stall: see README)."""
    return "BLAS threads " + os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "default"))


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def report(label: str, seconds: float, answer: str) -> None:
    print(f"  {label:<58} {seconds:.3f} s   {answer}")


def bench_ipw(d: pd.DataFrame, repeats: int, kinds: tuple[str, ...] = ("ipw", "aipw")) -> None:
    import statsmodels.api as sm
    from statsmodels.treatment.treatment_effects import TreatmentEffect

    from evalkit.designs import aipw, ipw

    X = sm.add_constant(d[COVS]).to_numpy()
    y, t = d["y"].to_numpy(), d["t"].to_numpy()

    def peer(kind: str, rows: slice = slice(None)) -> pd.Series:
        yy, XX, tt = y[rows], X[rows], t[rows]
        te = TreatmentEffect(sm.OLS(yy, XX), tt, results_select=sm.Logit(tt, XX).fit(disp=0))
        return getattr(te, kind)().summary_frame().iloc[0]

    for kind, fn in ((k, {"ipw": ipw, "aipw": aipw}[k]) for k in kinds):
        t_ek, r = timed(lambda fn=fn: fn(d, outcome="y", treat="t", covariates=COVS), repeats)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_sm, p = timed(lambda kind=kind: peer(kind), repeats,  # its aipw takes seconds: warm up on a slice
                            warm_up=lambda kind=kind: peer(kind, slice(0, 2000)))
        report(f"evalkit {kind} (ATE, stacked sandwich)", t_ek, f"ATE {r.estimate:.6f} SE {r.std_error:.6f}")
        report(f"statsmodels TreatmentEffect.{kind}", t_sm, f"ATE {p['coef']:.6f} SE {p['std err']:.6f}")
        print(f"  agreement {kind}: ATE {digits(r.estimate, p['coef'])} digits, SE {digits(r.std_error, p['std err'])} digits")
        print(f"ratio {kind} evalkit/statsmodels: {t_ek / t_sm:.3f}")


def _baseline_nn_with_replacement(d: pd.DataFrame) -> tuple[float, float]:
    """What a user writes: statsmodels Logit, scikit-learn 1-NN on the score, OLS clustered by pair and control."""
    import statsmodels.api as sm
    from sklearn.neighbors import NearestNeighbors

    X = sm.add_constant(d[COVS]).to_numpy()
    t, y = d["t"].to_numpy(), d["y"].to_numpy()
    ps = sm.Logit(t, X).fit(disp=0).predict(X)
    tr, co = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    nn = NearestNeighbors(n_neighbors=1).fit(ps[co, None])
    match = co[nn.kneighbors(ps[tr, None], return_distance=False)[:, 0]]
    rows = np.r_[tr, match]
    pair = np.tile(np.arange(len(tr)), 2)
    fit = sm.OLS(y[rows], sm.add_constant(np.repeat([1.0, 0.0], len(tr)))).fit(
        cov_type="cluster", cov_kwds={"groups": np.column_stack([pair, rows])})
    return float(fit.params[1]), float(fit.bse[1])


def _psmpy_att(d: pd.DataFrame) -> tuple[float, int]:
    from psmpy import PsmPy

    frame = d[[*COVS, "t"]].assign(idx=np.arange(len(d)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psm = PsmPy(frame, treatment="t", indx="idx", exclude=[])
        psm.logistic_ps(balance=False)
        psm.kdtree_matched(matcher="propensity_logit", replacement=False, caliper=None)
    ids = psm.matched_ids
    y = d["y"].to_numpy()
    treated = ids["idx"].to_numpy(int)
    control = ids["matched_ID"].to_numpy(int)
    if d["t"].to_numpy()[treated[0]] == 0:  # psmpy matches the smaller group, whichever it is
        treated, control = control, treated
    return float(np.mean(y[treated] - y[control])), len(ids)


def bench_matching(d: pd.DataFrame, d_small: pd.DataFrame, repeats: int) -> None:
    from evalkit.designs import match_nearest

    n_t = int(d["t"].sum())
    print(f"  matching data: {len(d)} rows, {n_t} treated; psmpy sample: {len(d_small)} rows, "
          f"{int(d_small['t'].sum())} treated")

    def ek(data: pd.DataFrame, **kw: Any) -> Any:
        return match_nearest(data, outcome="y", treat="t", covariates=COVS, **kw)

    t_rep, r_rep = timed(lambda: ek(d, replace=True), repeats)
    report("evalkit match_nearest, replace (two-way cluster SE)", t_rep,
           f"ATT {r_rep.estimate:.6f} SE {r_rep.std_error:.6f}")
    if installed("sklearn"):
        t_b, (att_b, se_b) = timed(lambda: _baseline_nn_with_replacement(d), repeats)
        report("baseline Logit + sklearn NearestNeighbors + OLS cluster", t_b, f"ATT {att_b:.6f} SE {se_b:.6f}")
        print(f"  agreement matching (replace): ATT {digits(r_rep.estimate, att_b)} digits, SE {digits(r_rep.std_error, se_b)} digits")
        print(f"ratio match_nearest replace evalkit/sklearn baseline: {t_rep / t_b:.3f}")
    else:
        print("  scikit-learn not installed: no user baseline timed")

    t_ai, r_ai = timed(lambda: ek(d, replace=True, se="abadie_imbens"), repeats)
    report("evalkit match_nearest, replace, Abadie-Imbens SE", t_ai, f"ATT {r_ai.estimate:.6f} SE {r_ai.std_error:.6f}")
    if installed("causalinference"):
        from causalinference import CausalModel

        def peer_ci() -> Any:
            cm = CausalModel(d["y"].to_numpy(), d["t"].to_numpy(), d[COVS].to_numpy())
            cm.est_via_matching()
            return cm.estimates["matching"]

        t_ci, m = timed(peer_ci, repeats)
        report("causalinference est_via_matching (on covariates)", t_ci, f"ATT {m['att']:.6f} SE {m['att_se']:.6f}")
        print(f"  (different estimator: causalinference matches on covariates; ATT differs by "
              f"{r_ai.estimate - m['att']:+.4f}, SE ratio {r_ai.std_error / m['att_se']:.3f})")
        print(f"ratio match_nearest AI evalkit/causalinference: {t_ai / t_ci:.3f}")
    else:
        print("  causalinference not installed: not timed")

    t_nr, r_nr = timed(lambda: ek(d, replace=False), repeats)
    report("evalkit match_nearest, no replacement (CR1 by pair)", t_nr, f"ATT {r_nr.estimate:.6f} SE {r_nr.std_error:.6f}")
    if installed("psmpy"):
        t_s, r_s = timed(lambda: ek(d_small, replace=False, distance="logit"), repeats)
        t_p, (att_p, n_p) = timed(lambda: _psmpy_att(d_small), repeats)
        report(f"evalkit match_nearest, no replacement, logit, {len(d_small)} rows", t_s,
               f"ATT {r_s.estimate:.6f} ({len(r_s.tables['pairs'])} pairs)")
        report(f"psmpy kdtree_matched, no replacement, {len(d_small)} rows", t_p, f"ATT {att_p:.6f} ({n_p} pairs)")
        print(f"  (psmpy: penalised logit and data-order greedy matching, so pairs differ; ATT differs by "
              f"{r_s.estimate - att_p:+.4f})")
        print(f"ratio match_nearest no-replacement evalkit/psmpy: {t_s / t_p:.3f}")
    else:
        print("  psmpy not installed: not timed")


def bench_entropy(d: pd.DataFrame, repeats: int) -> None:
    from evalkit.designs import entropy_balance

    from evalkit.designs.weighting import _entropy_dual

    t_ek, r = timed(lambda: entropy_balance(d, outcome="y", treat="t", covariates=COVS), repeats)
    report("evalkit entropy_balance (ATT, stacked sandwich SE)", t_ek, f"ATT {r.estimate:.6f} SE {r.std_error:.6f}")
    X, treated = d[COVS].to_numpy(), d["t"].to_numpy() == 1
    Zc = (X[~treated] - X[treated].mean(axis=0)) / X.std(axis=0, ddof=1)
    t_dual, _ = timed(lambda: _entropy_dual(Zc, np.ones(len(Zc)), where="bench"), repeats)
    report("of which the weights alone (evalkit's dual Newton solve)", t_dual, "(the rest: SE, balance table, checks)")
    if not installed("empirical_calibration"):
        print("  empirical_calibration not installed: no peer timed")
        return
    import empirical_calibration as ec

    def peer() -> float:
        t, X, y = d["t"].to_numpy() == 1, d[COVS].to_numpy(), d["y"].to_numpy()
        w, _ = ec.maybe_exact_calibrate(covariates=X[~t], target_covariates=X[t].mean(axis=0, keepdims=True),
                                        objective=ec.Objective.ENTROPY)
        return float(y[t].mean() - np.sum(w * y[~t]) / w.sum())

    t_p, att = timed(peer, repeats)
    report("empirical_calibration maybe_exact_calibrate (entropy)", t_p, f"ATT {att:.6f} (no SE)")
    print(f"  agreement entropy: ATT {digits(r.estimate, att)} digits")
    print(f"ratio entropy_balance evalkit/empirical_calibration: {t_ek / t_p:.3f}")
    print(f"ratio entropy weights only evalkit/empirical_calibration: {t_dual / t_p:.3f}")


def bench_ordered_logit(d: pd.DataFrame, repeats: int) -> None:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from evalkit.designs import ordered_logit

    def peer() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return OrderedModel(pd.Series(pd.Categorical(d["item"], ordered=True)), d[COVS[:3]],
                                distr="logit").fit(method="newton", disp=False, maxiter=200)

    t_ek, r = timed(lambda: ordered_logit(d, outcome="item", covariates=COVS[:3], weight_type="frequency"), repeats)
    t_sm, p = timed(peer, repeats)
    row = r.term("x0")
    report("evalkit ordered_logit (Newton, analytic)", t_ek, f"x0 {row['estimate']:.6f} SE {row['std_error']:.6f}")
    report("statsmodels OrderedModel (newton)", t_sm, f"x0 {p.params['x0']:.6f} SE {p.bse['x0']:.6f}")
    print(f"  agreement ordered_logit: x0 {digits(row['estimate'], p.params['x0'])} digits, "
          f"SE {digits(row['std_error'], p.bse['x0'])} digits")
    print(f"ratio ordered_logit evalkit/statsmodels: {t_ek / t_sm:.3f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--psmpy-rows", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="200,000 rows (matching 50,000; psmpy 2,000)")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = ap.parse_args(argv)
    n = 200_000 if args.full else args.rows
    n_small = 2_000 if args.full else args.psmpy_rows
    versions = ", ".join(f"{m} {importlib.metadata.version(m)}" for m in
                         ("statsmodels", "numpy", "pandas", "scikit-learn", "causalinference", "psmpy",
                          "empirical_calibration") if installed(m.replace("-", "_").replace("scikit_learn", "sklearn")))
    print(f"{versions}; cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, {blas_threads()}, rows {n}, "
          f"median of {args.repeats}")
    d = make_data(n)
    if "ipw" in args.only or "aipw" in args.only:
        bench_ipw(d, args.repeats, tuple(k for k in ("ipw", "aipw") if k in args.only))
    if "matching" in args.only:
        bench_matching(make_data(max(n // 4, 200), shift=0.8), make_data(n_small, seed=7, shift=0.8), args.repeats)
    if "entropy" in args.only:
        bench_entropy(d, args.repeats)
    if "ordered_logit" in args.only:
        bench_ordered_logit(d, args.repeats)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
