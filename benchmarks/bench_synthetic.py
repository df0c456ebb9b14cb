"""Benchmark: synthetic control and synthetic DiD for one pilot, evalkit against diff-diff.

Run:  .venv/bin/python benchmarks/bench_synthetic.py [--repeats 3] [--donors 38] [--periods 31]
      (default: the California Proposition 99 panel, 39 states × 31 years; with --donors or
      --periods a simulated factor-model panel of that size instead)

evalkit's :func:`evalkit.designs.synthetic_control` and :func:`~evalkit.designs.synthetic_did`
run diff-diff's estimators inside, so the peer is diff-diff itself, called directly on the same
data in the same process, and the ratio (evalkit / peer) is what evalkit's wrapping costs:

* synthetic control: the peer is ``SyntheticControl(v_method="custom", V = I).fit`` plus
  ``in_space_placebo()`` (the ADH permutation test). evalkit also runs the leave-the-pilot-out
  placebo fits behind its placebo SE (J more fits) and builds the gap tables, so a ratio near
  2 is the expected cost of the extra inference, not overhead.
* synthetic DiD: the peer is ``SyntheticDiD(variance_method="placebo", n_bootstrap=200).fit``;
  evalkit adds the DiD comparison row, the gap table and the result object.

pysyncon (the other candidate peer, DEPENDENCIES.md) is not installed and not timed. Median of
``--repeats`` runs after an untimed warm-up; estimates are printed next to each other.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.designs import synthetic_control, synthetic_did

PROP99 = Path(__file__).resolve().parents[1] / "tests" / "reference" / "synthetic" / "california_prop99.csv"


def load_panel(donors: int | None = None, periods: int | None = None, seed: int = 1) -> tuple[pd.DataFrame, Any, Any]:
    """(panel with columns unit, time, y), treated unit, start period."""
    if donors is None and periods is None:
        d = pd.read_csv(PROP99, sep=";").rename(columns={"State": "unit", "Year": "time", "PacksPerCapita": "y"})
        return d[["unit", "time", "y"]], "California", 1989
    donors, periods = donors or 38, periods or 31
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    f = np.vstack([np.ones(periods), t / 10, np.sin(t / 3)])
    y = rng.normal(0, 1, (donors + 1, 3)) @ f + rng.normal(0, 0.2, (donors + 1, periods))
    start = int(periods * 0.6)
    y[0, start:] -= 1.0
    rows = [(f"u{i:04d}", k, y[i, k]) for i in range(donors + 1) for k in range(periods)]
    return pd.DataFrame(rows, columns=["unit", "time", "y"]), "u0000", start


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--donors", type=int, default=None)
    ap.add_argument("--periods", type=int, default=None)
    args = ap.parse_args(argv)
    from diff_diff import SyntheticControl, SyntheticDiD

    panel, treated, start = load_panel(args.donors, args.periods)
    post = sorted(t for t in panel["time"].unique() if t >= start)
    n_pre = panel["time"].nunique() - len(post)
    d_sc = panel.assign(d=((panel["unit"] == treated) & (panel["time"] >= start)).astype(int))
    d_sdid = panel.assign(d=(panel["unit"] == treated).astype(int))

    def peer_sc() -> float:
        fit = SyntheticControl(v_method="custom", custom_v=np.ones(n_pre), standardize="none").fit(
            d_sc, outcome="y", treatment="d", unit="unit", time="time", treated_unit=treated, pre_period_outcomes="all")
        fit.in_space_placebo()
        return float(fit.att)

    def peer_sdid() -> float:
        return float(SyntheticDiD(variance_method="placebo", n_bootstrap=200, seed=1).fit(
            d_sdid, outcome="y", treatment="d", unit="unit", time="time", post_periods=post).att)

    def ek_sc() -> float:
        return synthetic_control(panel, outcome="y", unit="unit", time="time", treated_unit=treated,
                                 start=start).estimate

    def ek_sdid() -> float:
        return synthetic_did(panel, outcome="y", unit="unit", time="time", treated_units=treated, start=start,
                             draws=200, seed=1).estimate

    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"diff-diff {importlib.metadata.version('diff-diff')}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"panel: {panel['unit'].nunique()} units × {panel['time'].nunique()} periods "
          f"({'California Prop 99' if args.donors is None and args.periods is None else 'simulated'}), "
          f"{len(post)} post-periods; median of {args.repeats}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ek_sc, e1 = _median_time(ek_sc, args.repeats)
        t_pe_sc, e2 = _median_time(peer_sc, args.repeats)
        t_ek_sd, e3 = _median_time(ek_sdid, args.repeats)
        t_pe_sd, e4 = _median_time(peer_sdid, args.repeats)
    print(f"evalkit synthetic_control (fit, ADH placebos, leave-out placebo SE)   {t_ek_sc:.3f} s   att {e1:.4f}")
    print(f"diff-diff SyntheticControl fit + in_space_placebo                     {t_pe_sc:.3f} s   att {e2:.4f}")
    print(f"evalkit synthetic_did (200 placebo draws, DiD row)                    {t_ek_sd:.3f} s   att {e3:.4f}")
    print(f"diff-diff SyntheticDiD fit (200 placebo draws)                        {t_pe_sd:.3f} s   att {e4:.4f}")
    print(f"ratio synthetic_control evalkit / diff-diff: {t_ek_sc / t_pe_sc:.2f}")
    print(f"ratio synthetic_did evalkit / diff-diff: {t_ek_sd / t_pe_sd:.2f}")


if __name__ == "__main__":
    main()
