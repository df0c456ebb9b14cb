"""Size of the parallel-trends pre-test on small community designs (parallel trends true).

Simulates community × year panels with :func:`evalkit.testing.make_community_panel` (no
effect, no trend gap), runs :func:`evalkit.estimators.did_staggered` with its default
guardrail, and counts how often the joint pre-test rejects at 5 %:

* "guardrailed": the p-value evalkit reports (randomisation inference with 1–2 pilots,
  re-studentised multiplier bootstrap with 3+ pilots and few communities);
* "chi2 (before)": the asymptotic χ²(k) p-value of the same Wald statistic, which is
  what evalkit reported before for every design.

Usage: ``python benchmarks/pretest_size.py [--reps 200] [--draws 399]``. The slow test
``tests/estimators/test_pretest_size.py`` runs a smaller version with a tolerance.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import stats

DESIGNS = {
    "8 communities, 2 pilots (2021, 2022)": dict(n_communities=8, cohorts=(2021, 2022)),
    "12 communities, 4 pilots (2 in 2021, 2 in 2022)": dict(n_communities=12,
                                                            cohorts=(2021, 2021, 2022, 2022)),
}


def rejection_rates(design: dict, *, reps: int, draws: int, seed: int = 20261206,
                    alpha: float = 0.05) -> dict[str, float]:
    """Rejection rates of the guardrailed and the χ² pre-test over ``reps`` null panels."""
    from evalkit.errors import SmallSampleWarning
    from evalkit.estimators import did_staggered
    from evalkit.testing import make_community_panel

    guard, chi2, methods = [], [], set()
    for r in range(reps):
        panel = make_community_panel(seed=seed + r, **design)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            res = did_staggered(panel, outcome="y", unit="community_id", time="year",
                                cohort="cohort", draws=draws, seed=seed + r)
        pre = res.estimates[res.estimates["aggregation"] == "pretest"].iloc[0]
        guard.append(pre["p_value"] < alpha)
        chi2.append(stats.chi2.sf(pre["statistic"], pre["df"]) < alpha)
        methods.add(pre["inference"])
    return {"guardrailed": float(np.mean(guard)), "chi2": float(np.mean(chi2)), "reps": reps,
            "method": ", ".join(sorted(methods))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--draws", type=int, default=399)
    args = ap.parse_args()
    for name, design in DESIGNS.items():
        t0 = time.perf_counter()
        out = rejection_rates(design, reps=args.reps, draws=args.draws)
        mc = np.sqrt(0.05 * 0.95 / args.reps)
        print(f"{name}: guardrailed ({out['method']}) {out['guardrailed']:.3f}, "
              f"chi2 (before) {out['chi2']:.3f}; nominal 0.05 (MC sd {mc:.3f}); "
              f"{args.reps} reps in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
