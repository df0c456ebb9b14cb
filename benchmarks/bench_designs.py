"""Benchmark: two design estimators against the fastest installable Python peer.

Run:  .venv/bin/python benchmarks/bench_designs.py [--rows 20000] [--repeats 3] [--full]

Measured in one process on the same simulated data (``--full``: 200,000 rows):

* IPW, ATE, with a sandwich SE that accounts for the estimated propensity score:
  evalkit ``designs.ipw`` vs statsmodels ``TreatmentEffect.ipw`` (GMM; its Nelder–Mead step
  is part of its cost). Covariates are standardised so that both reach the same answer.
* Ordered logit, unweighted (the peer takes no weights): evalkit ``designs.ordered_logit``
  (Newton, analytic Hessian, frequency-weight SEs) vs statsmodels ``OrderedModel`` (Newton).

Prints versions, CPU count, load, times (median of ``--repeats``), both estimates and the
ratio evalkit / peer (below 1: evalkit faster). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import time
import warnings

import numpy as np
import pandas as pd


def timed(fn, repeats: int):  # noqa: ANN001, ANN201
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def make_data(n: int, seed: int = 20240901) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    e = 1 / (1 + np.exp(-(X @ np.array([0.5, -0.4, 0.3, 0.2, -0.1]))))
    t = rng.binomial(1, e)
    y = X @ np.array([1.0, 0.5, -0.5, 0.2, 0.1]) + 2 * t + rng.normal(size=n)
    latent = X[:, :3] @ np.array([0.8, -0.5, 0.3]) + rng.logistic(size=n)
    ordinal = 1 + np.searchsorted([-1.0, 0.0, 1.0, 2.0], latent)
    d = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)])
    return d.assign(t=t, y=y, item=ordinal)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="200,000 rows")
    args = ap.parse_args()
    n = 200_000 if args.full else args.rows
    import statsmodels.api as sm
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.treatment.treatment_effects import TreatmentEffect

    from evalkit.designs import ipw, ordered_logit

    print(f"statsmodels {importlib.metadata.version('statsmodels')}, numpy {np.__version__}, "
          f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, rows {n}")
    d = make_data(n)
    covs = [f"x{j}" for j in range(5)]
    X = sm.add_constant(d[covs]).to_numpy()

    def peer_ipw():  # noqa: ANN202
        sel = sm.Logit(d.t.to_numpy(), X).fit(disp=0)
        te = TreatmentEffect(sm.OLS(d.y.to_numpy(), X), d.t.to_numpy(), results_select=sel)
        return te.ipw().summary_frame().iloc[0]

    ipw(d.iloc[:500], outcome="y", treat="t", covariates=covs)  # warm-up (imports)
    peer_ipw()
    t_ek, r = timed(lambda: ipw(d, outcome="y", treat="t", covariates=covs), args.repeats)
    t_sm, p = timed(peer_ipw, args.repeats)
    print(f"  evalkit ipw (ATE, stacked sandwich)          {t_ek:.3f} s   ATE {r.estimate:.5f} SE {r.std_error:.5f}")
    print(f"  statsmodels TreatmentEffect.ipw              {t_sm:.3f} s   ATE {p['coef']:.5f} SE {p['std err']:.5f}")
    print(f"ratio ipw evalkit/statsmodels: {t_ek / t_sm:.3f}")

    def peer_ologit():  # noqa: ANN202
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return OrderedModel(pd.Series(pd.Categorical(d.item, ordered=True)), d[covs[:3]],
                                distr="logit").fit(method="newton", disp=False, maxiter=200)

    t_ek2, r2 = timed(lambda: ordered_logit(d, outcome="item", covariates=covs[:3],
                                            weight_type="frequency"), args.repeats)
    t_sm2, p2 = timed(peer_ologit, args.repeats)
    print(f"  evalkit ordered_logit (Newton, analytic)     {t_ek2:.3f} s   x0 {r2.term('x0')['estimate']:.6f} SE {r2.term('x0')['std_error']:.6f}")
    print(f"  statsmodels OrderedModel (newton)            {t_sm2:.3f} s   x0 {p2.params['x0']:.6f} SE {p2.bse['x0']:.6f}")
    print(f"ratio ordered_logit evalkit/statsmodels: {t_ek2 / t_sm2:.3f}")


if __name__ == "__main__":
    main()
