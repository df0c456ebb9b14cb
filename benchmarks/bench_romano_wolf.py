"""Romano–Wolf joint bootstrap: evalkit (on the one wild bootstrap) vs the per-draw refit loop.

The joint wild cluster bootstrap behind ``multiple_outcomes(adjust=["romano_wolf"])``:
unrestricted (WCU) bootstrap t statistics of the DiD term for several outcomes from the same
cluster draws. evalkit computes them with :func:`evalkit.inference.wild_bootstrap_t`
(O(N·k²) once, then O(B·G²)); the baseline is the plainly written numpy loop evalkit used
before (refit on all rows and one ``np.add.at`` per draw and outcome), run in the same
process on the same data and draws. The two must give the same t* (printed).

Usage: ``python benchmarks/bench_romano_wolf.py [--rows 20000] [--clusters 48]
[--outcomes 6] [--draws 999] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd


def _data(rows: int, clusters: int, outcomes: int, seed: int = 1):
    from evalkit.estimators.did import DID_TERM
    from evalkit.estimators.linear_model import design_matrix

    rng = np.random.default_rng(seed)
    cl = rng.integers(0, clusters, rows)
    d = (cl < clusters // 3).astype(float)
    p = rng.integers(0, 2, rows).astype(float)
    X = design_matrix(pd.DataFrame({"d": d}), {"treat": d, "post": p, DID_TERM: d * p})
    frames = [(rng.normal(size=rows) + rng.normal(size=clusters)[cl] + 0.1 * d * p, X, None)
              for _ in range(outcomes)]
    return frames, cl


def _loop(frames, cl, V):
    """The former implementation: refit every draw, cluster sums with np.add.at."""
    from evalkit.estimators.did import DID_TERM
    from evalkit.estimators.linear_model import fit_wls

    codes = pd.factorize(pd.Series(cl), sort=False)[0]
    G = int(codes.max()) + 1
    out = []
    for y, X, w in frames:
        f = fit_wls(y, X, w)
        j = f.index(DID_TERM)
        Xv = f.X
        A = f.bread @ Xv.T
        fitted = Xv @ f.coef
        ts = np.empty(V.shape[0])
        n, k = Xv.shape
        for b in range(V.shape[0]):
            ystar = fitted + f.resid * V[b, codes]
            beta = A @ ystar
            s = Xv * (ystar - Xv @ beta)[:, None]
            sums = np.zeros((G, k))
            np.add.at(sums, codes, s)
            vb = f.bread @ (sums.T @ sums) @ f.bread * G / (G - 1) * (n - 1) / (n - k)
            ts[b] = (beta[j] - f.coef[j]) / np.sqrt(vb[j, j])
        out.append(ts)
    return np.column_stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--clusters", type=int, default=48)
    ap.add_argument("--outcomes", type=int, default=6)
    ap.add_argument("--draws", type=int, default=999)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from evalkit.estimators.heterogeneity import _bootstrap_t
    from evalkit.inference.draws import draw_weights

    frames, cl = _data(args.rows, args.clusters, args.outcomes)
    print(f"python {platform.python_version()}, numpy {np.__version__}, cpus {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}; {args.rows} rows, {args.clusters} clusters, "
          f"{args.outcomes} outcomes, {args.draws} draws")
    t_new = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        _, new = _bootstrap_t(frames, cl, draws=args.draws, seed=5, weight_type="rademacher")
        t_new.append(time.perf_counter() - t0)
    # the same draws, columns in order of first appearance as _bootstrap_t assigns them
    V, _ = draw_weights(args.clusters, args.draws, "rademacher", 5)
    t0 = time.perf_counter()
    old = _loop(frames, cl, V)
    t_old = time.perf_counter() - t0
    print(f"evalkit wild_bootstrap_t (joint, all outcomes)   {statistics.median(t_new):.3f} s")
    print(f"per-draw refit loop with np.add.at (former code)  {t_old:.3f} s")
    print(f"max |t* difference| {np.max(np.abs(new - old)):.2e}")
    print(f"ratio romano_wolf evalkit / loop: {statistics.median(t_new) / t_old:.4f}")


if __name__ == "__main__":
    main()
