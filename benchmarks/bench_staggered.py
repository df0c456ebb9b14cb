"""Benchmark: Callaway & Sant'Anna group-time ATTs, 30,000 units × 10 periods, staggered cohorts.

Run:  .venv/bin/python benchmarks/bench_staggered.py [--units 30000] [--periods 10] [--repeats 3]

Times :func:`evalkit.estimators.did_staggered` against the installable Python peers that
compute the same estimates, in the same process on the same data, and prints the ratio
evalkit / peer (below 1 means evalkit is faster):

* ``diff-diff`` (``CallawaySantAnna``), the fastest peer and evalkit's reference. On balanced
  panels evalkit computes ATT(g,t) and their influence functions itself
  (:mod:`evalkit.estimators.group_time`, checked against diff-diff to 1e-10 in
  tests/estimators/test_fast_path.py) and falls back to diff-diff's fit elsewhere; the
  script times any diff-diff fit *inside* evalkit's call and prints it (0 s on the fast
  path). evalkit's call also does its own work (data checks, R ``did::aggte`` aggregations
  including calendar time, pre-trend Wald test, cluster diagnosis and the few-clusters
  decision, tidy result). Two diff-diff baselines are timed: the fit alone (ATT(g,t) plus
  the simple overall ATT) and the fit followed by ``aggregate("group")`` and
  ``aggregate("event_study")``, the nearest like-for-like (diff-diff has no calendar
  aggregation and no overall cohort summary).
* ``csdid`` (``ATTgt(...).fit`` then ``aggte`` simple, group, dynamic and calendar), the
  pure-Python port of R ``did``, if installed. It prints its tables; they are captured.

Both scenarios use never-treated comparisons, ``base_period="varying"``, analytic
influence-function standard errors and no bootstrap: (1) no covariates, (2) one
time-invariant covariate with the doubly robust estimator. The estimates of every
implementation are printed next to the truth of the simulation, so a fast wrong answer
is visible. Peer warnings are captured during timing and printed once afterwards.

Not part of the test suite (tests/estimators/test_benchmark_smoke.py only runs it on a
tiny panel); numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.estimators import did_staggered

COHORTS = (3, 5, 7, 9)
NEVER_SHARE = 0.4
SCENARIOS = {"no_covariates": (), "covariate_dr": ("x",)}


# ---- data --------------------------------------------------------------------------------------
def make_panel(n_units: int = 30_000, periods: int = 10, seed: int = 20240901) -> tuple[pd.DataFrame, float]:
    """Balanced panel with staggered adoption and dynamic, cohort-specific effects.

    Cohorts 3, 5, 7, 9 (15 % each) and never treated (40 %), assigned at random;
    ATT(g,t) = 0.5 + 0.1·(t − g) for t ≥ g. A unit covariate ``x`` shifts the outcome's trend
    (so the covariate scenario has something to adjust for; parallel trends hold with and
    without it). Returns the data and the true simple overall ATT (the mean effect over
    treated unit-periods, the target of R's ``aggte(type="simple")``).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_units)
    shares = [NEVER_SHARE] + [(1 - NEVER_SHARE) / len(COHORTS)] * len(COHORTS)
    cohort = rng.choice(np.array((0, *COHORTS)), size=n_units, p=shares)
    alpha = rng.normal(size=n_units) + 0.3 * (cohort > 0)
    t = np.tile(np.arange(1, periods + 1), n_units)
    g = np.repeat(cohort, periods)
    xi = np.repeat(x, periods)
    tau = np.where((g > 0) & (t >= g), 0.5 + 0.1 * (t - g), 0.0)
    y = np.repeat(alpha, periods) + 0.1 * t + 0.05 * xi * t + tau + rng.normal(size=n_units * periods)
    data = pd.DataFrame({"unit": np.repeat(np.arange(n_units), periods), "period": t, "cohort": g,
                         "y": y, "x": xi})
    truth = float(tau[(g > 0) & (t >= g)].mean())
    return data, truth


# ---- the implementations -----------------------------------------------------------------------
@dataclass
class Estimates:
    """Headline numbers of one implementation (NaN where it does not report them)."""

    simple: tuple[float, float] = (np.nan, np.nan)       # overall ATT, SE (R aggte "simple")
    group: tuple[float, float] = (np.nan, np.nan)        # overall cohort summary (R aggte "group")
    event0: tuple[float, float] = (np.nan, np.nan)       # event time 0
    first_cohort: float = np.nan                        # cohort 3's average effect


def run_evalkit(data: pd.DataFrame, covariates: Sequence[str]) -> Estimates:
    r = did_staggered(data, outcome="y", unit="unit", time="period", cohort="cohort",
                      covariates=covariates, method="dr", control="never_treated")
    est = r.estimates.set_index("term")

    def pair(term: str) -> tuple[float, float]:
        return float(est.loc[term, "estimate"]), float(est.loc[term, "std_error"])

    return Estimates(simple=pair("ATT (simple)"), group=pair("ATT (group)"), event0=pair("e=0"),
                     first_cohort=float(est.loc[f"group {COHORTS[0]}", "estimate"]))


def run_diff_diff(data: pd.DataFrame, covariates: Sequence[str], *, aggregate: bool) -> Estimates:
    from diff_diff import CallawaySantAnna

    res = CallawaySantAnna(control_group="never_treated", estimation_method="dr", n_bootstrap=0,
                           base_period="varying").fit(
        data, outcome="y", unit="unit", time="period", first_treat="cohort",
        covariates=list(covariates) or None)
    out = Estimates(simple=(float(res.overall_att), float(res.overall_se)))
    if aggregate:
        grp = res.aggregate("group").to_dataframe()
        ev = res.aggregate("event_study").to_dataframe().set_index("event_time")
        out.event0 = (float(ev.loc[0, "att"]), float(ev.loc[0, "se"]))
        out.first_cohort = float(grp.loc[grp["label"].astype(str) == str(COHORTS[0]), "att"].iloc[0])
    return out


def run_csdid(data: pd.DataFrame, covariates: Sequence[str]) -> Estimates:
    from csdid.att_gt import ATTgt

    fit = ATTgt(yname="y", tname="period", idname="unit", gname="cohort", data=data,
                control_group=["nevertreated"],
                xformla=("~" + "+".join(covariates)) if covariates else None,
                ).fit(est_method="dr", base_period="varying", bstrap=False)
    agg = {}
    for kind in ("simple", "group", "dynamic", "calendar"):
        agg[kind] = fit.aggte(typec=kind, bstrap=False).atte
    dyn = agg["dynamic"]
    e0 = int(np.flatnonzero(np.asarray(dyn["egt"]) == 0)[0])
    grp = agg["group"]
    g0 = int(np.flatnonzero(np.asarray(grp["egt"]) == COHORTS[0])[0])
    return Estimates(simple=(float(agg["simple"]["overall_att"]), float(agg["simple"]["overall_se"])),
                     group=(float(grp["overall_att"]), float(grp["overall_se"])),
                     event0=(float(dyn["att_egt"][e0]), float(dyn["se_egt"][e0])),
                     first_cohort=float(grp["att_egt"][g0]))


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---- timing ------------------------------------------------------------------------------------
@dataclass
class Implementation:
    label: str
    call: Callable[[], Estimates]
    # a peer's warnings and stdout are captured; evalkit's are left alone, and the diff-diff
    # fit inside evalkit's call is timed
    peer: bool = True
    times: list[float] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)  # diff-diff fit time inside evalkit's call
    estimates: Estimates | None = None
    messages: set[str] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@contextlib.contextmanager
def _time_diff_diff_fit(sink: list[float]) -> Iterator[None]:
    """Record the wall time of every ``CallawaySantAnna.fit`` call made inside the block."""
    from diff_diff import CallawaySantAnna

    original = CallawaySantAnna.fit

    def timed_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t0)

    CallawaySantAnna.fit = timed_fit
    try:
        yield
    finally:
        CallawaySantAnna.fit = original


def _run_once(impl: Implementation, *, record: bool) -> None:
    inner: list[float] = []
    with contextlib.ExitStack() as stack:
        if impl.peer:
            caught = stack.enter_context(warnings.catch_warnings(record=True))
            warnings.simplefilter("always")
            stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        else:
            caught = []
            stack.enter_context(_time_diff_diff_fit(inner))
        t0 = time.perf_counter()
        est = impl.call()
        elapsed = time.perf_counter() - t0
    impl.estimates = est
    impl.messages.update(str(w.message).splitlines()[0][:160] for w in caught)
    if record:
        impl.times.append(elapsed)
        inner = inner or ([] if impl.peer else [0.0])  # evalkit's own ATT(g,t): no diff-diff fit inside
        if inner:
            impl.inner.append(sum(inner))


def time_implementations(impls: Sequence[Implementation], repeats: int) -> None:
    """One untimed warm-up run each (imports, first-call costs), then ``repeats`` rounds,
    interleaved so that changes in machine load hit every implementation alike."""
    for impl in impls:
        _run_once(impl, record=False)
    for _ in range(repeats):
        for impl in impls:
            _run_once(impl, record=True)


# ---- report ------------------------------------------------------------------------------------
def _fmt_pair(p: tuple[float, float]) -> str:
    return "—" if not np.isfinite(p[0]) else f"{p[0]:.4f} ({p[1]:.4f})" if np.isfinite(p[1]) else f"{p[0]:.4f}"


def bench_scenario(data: pd.DataFrame, truth: float, name: str, covariates: Sequence[str], *,
                   repeats: int, peers: Sequence[str]) -> dict[str, float]:
    """Time one scenario, print its report and return {label: median seconds}."""
    impls = [Implementation("evalkit did_staggered", lambda: run_evalkit(data, covariates), peer=False)]
    if "diff-diff" in peers and _version("diff-diff"):
        impls.append(Implementation("diff-diff fit", lambda: run_diff_diff(data, covariates, aggregate=False)))
        impls.append(Implementation("diff-diff fit+aggregate",
                                    lambda: run_diff_diff(data, covariates, aggregate=True)))
    if "csdid" in peers and _version("csdid"):
        impls.append(Implementation("csdid fit+aggte", lambda: run_csdid(data, covariates)))
    time_implementations(impls, repeats)

    cov = ", ".join(covariates) if covariates else "none"
    print(f"\n== scenario {name}: covariates {cov}; doubly robust; never-treated comparison ==")
    ek = impls[0]
    for impl in impls:
        spread = f"(min {min(impl.times):.3f}, max {max(impl.times):.3f})"
        print(f"{impl.label + ' [' + name + ']':58s} {impl.median:8.3f} s   {spread}")
    if ek.inner:
        fit_in = statistics.median(ek.inner)
        own = statistics.median(t - i for t, i in zip(ek.times, ek.inner, strict=True))
        print(f"{'  of which diff-diff fit inside evalkit [' + name + ']':58s} {fit_in:8.3f} s")
        print(f"{'  of which evalkit own work [' + name + ']':58s} {own:8.3f} s   "
              f"({own / ek.median:.0%} of the call: checks, aggregations, pre-test, guardrails)")

    print(f"\n{'estimates':26s} {'simple ATT (SE)':>20s} {'group ATT (SE)':>20s} {'e=0 (SE)':>20s} "
          f"{'cohort ' + str(COHORTS[0]):>10s}")
    print(f"{'truth':26s} {truth:20.4f}")
    for impl in impls:
        e = impl.estimates or Estimates()
        first = f"{e.first_cohort:10.4f}" if np.isfinite(e.first_cohort) else f"{'—':>10s}"
        print(f"{impl.label:26s} {_fmt_pair(e.simple):>20s} {_fmt_pair(e.group):>20s} "
              f"{_fmt_pair(e.event0):>20s} {first}")
    for impl in impls:
        if impl.messages:
            print(f"{impl.label} warned: " + " | ".join(sorted(impl.messages)))

    print()
    for impl in impls[1:]:
        print(f"ratio evalkit / {impl.label} [{name}]: {ek.median / impl.median:.3f}")
    return {impl.label: impl.median for impl in impls}


def run(*, units: int = 30_000, periods: int = 10, repeats: int = 3,
        scenarios: Sequence[str] = tuple(SCENARIOS), peers: Sequence[str] = ("diff-diff", "csdid"),
        seed: int = 20240901) -> dict[str, dict[str, float]]:
    """Print the whole benchmark; return {scenario: {implementation: median seconds}}."""
    versions = {d: _version(d) for d in ("evalkit", "diff-diff", "csdid")}
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          + ", ".join(f"{d} {v or 'not installed'}" for d, v in versions.items()))
    blas = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; BLAS threads: "
          + (", ".join(f"{k}={v}" for k, v in blas.items()) or "library default"))
    data, truth = make_panel(units, periods, seed)
    shares = data.drop_duplicates("unit")["cohort"].value_counts(normalize=True).sort_index()
    print(f"data: {units:,} units × {periods} periods = {len(data):,} rows; cohorts "
          + ", ".join(f"{g}: {s:.0%}" for g, s in shares.items() if g > 0)
          + f", never treated {shares.get(0, 0):.0%}; median of {repeats} runs after a warm-up")
    out = {}
    for name in scenarios:
        out[name] = bench_scenario(data, truth, name, SCENARIOS[name], repeats=repeats, peers=peers)
    print(f"\nload average {os.getloadavg()[0]:.1f} at end")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=30_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--peers", nargs="*", choices=["diff-diff", "csdid"], default=["diff-diff", "csdid"])
    args = parser.parse_args(argv)
    run(units=args.units, periods=args.periods, repeats=args.repeats, scenarios=args.scenarios,
        peers=args.peers)


if __name__ == "__main__":
    main()
