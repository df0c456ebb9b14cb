"""Run every benchmark and print one table of timings and ratios: ``python -m benchmarks``.

``make bench`` runs this. Each ``benchmarks/bench_*.py`` runs in a fresh interpreter (so one
peer's imports, JIT caches or thread pools cannot affect another benchmark's timings), one
after another, never in parallel. Its own report streams through unchanged; afterwards the
lines written in the benchmarks' common format are gathered into one summary table:

* ``<label>   <seconds> s   ...`` — a timing (the median the script reports);
* ``ratio <what>: <value>`` — a ratio evalkit time / peer time (below 1: evalkit faster).

A timing line that says ``EXTRAPOLATED`` contributes its last ``<seconds> s`` figure, marked
as extrapolated. Benchmarks print, they never assert: the exit status is non-zero only when
a script crashed (the others still run).

Usage::

    python -m benchmarks                      # all of them
    python -m benchmarks staggered            # names match bench_<name>.py
    python -m benchmarks --repeats 1          # passed to every script
    python -m benchmarks staggered -- --units 3000   # further arguments after "--"
    python -m benchmarks --list
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_TIMING = re.compile(r"^\s*(?P<label>\S.*?)\s+(?P<seconds>\d+(?:\.\d+)?) s(?=\s|$)")
_LAST_SECONDS = re.compile(r"(\d+(?:\.\d+)?) s(?=\s|$|[,.;)])")
_RATIO = re.compile(r"^\s*ratio (?P<label>.+?):\s+(?P<value>\d+(?:\.\d+)?)")


@dataclass
class Row:
    benchmark: str
    kind: str  # "time" or "ratio"
    label: str
    value: float


def discover() -> dict[str, Path]:
    """{name: path} for every benchmarks/bench_<name>.py, sorted by name."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def parse(benchmark: str, lines: list[str]) -> list[Row]:
    """The timing and ratio lines of one benchmark's output, in order."""
    rows: list[Row] = []
    for line in lines:
        m = _RATIO.match(line)
        if m:
            rows.append(Row(benchmark, "ratio", m["label"].strip(), float(m["value"])))
            continue
        m = _TIMING.match(line)
        if not m:
            continue
        label, seconds = m["label"].strip().rstrip(":"), float(m["seconds"])
        if "EXTRAPOLATED" in line:
            seconds = float(_LAST_SECONDS.findall(line)[-1])
            label += " (EXTRAPOLATED)"
        rows.append(Row(benchmark, "time", label, seconds))
    return rows


def run_one(name: str, path: Path, args: list[str]) -> tuple[int, list[str], float]:
    """Run one script, echo its output line by line; return (exit status, lines, seconds)."""
    cmd = [sys.executable, str(path.relative_to(ROOT)), *args]
    print(f"\n{'=' * 100}\n$ {' '.join(cmd)}\n{'=' * 100}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    lines: list[str] = []
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
        status = proc.wait()
    return status, lines, time.perf_counter() - t0


def summary_table(rows: list[Row]) -> str:
    width = max([len(r.label) for r in rows] + [20])
    bench_w = max([len(r.benchmark) for r in rows] + [9])
    out = [f"{'benchmark':{bench_w}s}  {'measurement':{width}s}  {'value':>10s}"]
    out.append("-" * len(out[0]))
    for kind in ("time", "ratio"):
        for r in (r for r in rows if r.kind == kind):
            value = f"{r.value:9.3f} s" if kind == "time" else f"{r.value:10.4g}"
            label = r.label if kind == "time" else f"ratio {r.label}"
            out.append(f"{r.benchmark:{bench_w}s}  {label:{width}s}  {value}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Run evalkit's benchmarks and summarise them.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(available)}")
    parser.add_argument("--repeats", type=int, help="passed to every script as --repeats")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{n:20s} {p.relative_to(ROOT)}" for n, p in available.items()))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}")
    selected = {n: available[n] for n in (args.names or available)}
    script_args = ([f"--repeats={args.repeats}"] if args.repeats else []) + extra

    load0 = os.getloadavg()[0]
    rows: list[Row] = []
    failed: list[str] = []
    durations: dict[str, float] = {}
    for name, path in selected.items():
        status, lines, seconds = run_one(name, path, script_args)
        durations[name] = seconds
        rows.extend(parse(name, lines))
        if status != 0:
            failed.append(f"{name} (exit status {status})")

    print(f"\n{'=' * 100}\nSummary ({os.cpu_count()} CPUs; load average {load0:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end; "
          + ", ".join(f"{n} ran {s:.0f} s" for n, s in durations.items()) + ")\n")
    print(summary_table(rows) if rows else "(no timing or ratio lines were printed)")
    print("\nratio = evalkit time / peer time; below 1 means evalkit is faster. Timings depend on the "
          "machine and its load; see benchmarks/README.md for what each implementation computes.")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
