"""Benchmark: wild cluster bootstrap (WCR, Rademacher), 9,999 draws, 10^6 rows, 50 clusters.

Run:  .venv/bin/python benchmarks/bench_wild_bootstrap.py [--rows 1000000] [--repeats 3]

Prints wall times (median of ``--repeats``) and the ratio evalkit / peer, measured in the
same process on the same data:

* peer: ``wildboottest`` (PyPI, MIT), the fastest installable Python implementation
  (numba; JIT compilation is excluded by a warm-up run on small data). It returns
  p-values only, so the like-for-like comparison is evalkit with ``ci=False``; evalkit
  with the confidence interval (test inversion) is printed as well.
* if ``wildboottest`` is not installed, the baseline is a plain vectorised numpy WCR
  that refits on the full data for every draw, timed on a few draws and extrapolated
  to 9,999 (clearly labelled as such). It is also printed when wildboottest is present,
  for scale.

Not part of the test suite; numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import time

import numpy as np

from evalkit.inference import wild_cluster_bootstrap

DRAWS = 9999
G = 50


def make_data(n_rows: int, seed: int = 20240901) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, G, n_rows)
    treated = (g < 10).astype(float)
    post = rng.integers(0, 2, n_rows).astype(float)
    x = rng.normal(size=n_rows)
    y = 0.02 * treated * post + 0.5 * x + rng.normal(size=G)[g] + rng.normal(size=n_rows)
    X = np.column_stack([np.ones(n_rows), treated * post, x])
    return y, X, g


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_wildboottest(y, X, g, draws: int, seed: int):
    from wildboottest.wildboottest import WildboottestCL

    boot = WildboottestCL(X=X, Y=y, cluster=g, R=np.array([0.0, 1.0, 0.0]), B=draws, seed=seed, parallel=True)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return float(boot.pvalue)


def naive_numpy_wcr(y, X, g, draws: int, seed: int) -> float:
    """Straightforward WCR: for every draw, rebuild y* on all N rows and refit (O(N) per draw)."""
    rng = np.random.default_rng(seed)
    n, k = X.shape
    XtX_inv = np.linalg.inv(X.T @ X)

    def crv1_t(yy, j, r):
        beta = XtX_inv @ (X.T @ yy)
        u = yy - X @ beta
        scores = np.column_stack([np.bincount(g, weights=X[:, c] * u, minlength=G) for c in range(k)])
        V = XtX_inv @ scores.T @ scores @ XtX_inv * G / (G - 1) * (n - 1) / (n - k)
        return (beta[j] - r) / np.sqrt(V[j, j])

    t = crv1_t(y, 1, 0.0)
    others = [0, 2]
    b1 = np.linalg.lstsq(X[:, others], y, rcond=None)[0]
    fitted = X[:, others] @ b1
    u = y - fitted
    exceed = 0
    for _ in range(draws):
        v = rng.integers(0, 2, G) * 2.0 - 1.0
        exceed += abs(crv1_t(fitted + u * v[g], 1, 0.0)) > abs(t)
    return exceed / draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-draws", type=int, default=20)
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    y, X, g = make_data(args.rows)
    print(f"data: {args.rows:,} rows, {G} clusters, k = {X.shape[1]}; WCR, Rademacher, {DRAWS:,} draws\n")

    t_ek, res = timed(
        lambda: wild_cluster_bootstrap(y, X, g, coef_index=1, draws=DRAWS, seed=1, ci=False), args.repeats
    )
    t_ek_ci, res_ci = timed(lambda: wild_cluster_bootstrap(y, X, g, coef_index=1, draws=DRAWS, seed=1), args.repeats)
    print(f"evalkit (p-value only)      {t_ek:8.3f} s   p = {res.p_value:.4f}")
    print(f"evalkit (p-value + 95% CI)  {t_ek_ci:8.3f} s   CI = [{res_ci.ci_lower:.4f}, {res_ci.ci_upper:.4f}]")

    try:
        version = importlib.metadata.version("wildboottest")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version is not None:
        small = make_data(2000, seed=1)
        run_wildboottest(*small, draws=99, seed=1)  # JIT warm-up, not timed
        t_peer, p_peer = timed(lambda: run_wildboottest(y, X, g, DRAWS, 1), args.repeats)
        print(f"wildboottest {version} (p only)  {t_peer:8.3f} s   p = {p_peer:.4f}  (different draws: p agrees "
              f"to Monte Carlo error, sd about {np.sqrt(p_peer * (1 - p_peer) / DRAWS):.4f})")
        print(f"\nratio evalkit / wildboottest (p-value only): {t_ek / t_peer:.3f}  "
              f"(evalkit {t_peer / t_ek:.1f}x faster)")
        print(f"ratio evalkit with CI / wildboottest without: {t_ek_ci / t_peer:.3f}")
    else:
        print("wildboottest not installed: baseline is the naive numpy WCR below")

    t_naive, _ = timed(lambda: naive_numpy_wcr(y, X, g, args.naive_draws, 1), 1)
    t_naive_full = t_naive / args.naive_draws * DRAWS
    print(f"\nnaive numpy WCR (refit on all rows per draw): {t_naive:.3f} s for {args.naive_draws} draws, "
          f"EXTRAPOLATED to {DRAWS:,} draws: {t_naive_full:.1f} s")
    print(f"ratio evalkit / naive numpy (extrapolated): {t_ek / t_naive_full:.5f}")


if __name__ == "__main__":
    main()
