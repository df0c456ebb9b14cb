"""Benchmark: service-ledger aggregation, DuckDB (evalkit) against plain pandas.

Run:  .venv/bin/python benchmarks/bench_service_aggregation.py [--rows 1000000] [--repeats 3]
      (full size: --rows 10000000 --repeats 1)

A synthetic service log with the data model's columns (``make_log``: 1,000 communities,
5 years, 8 blocks, 4 methods, five actor flags, participants, volunteer hours, cost) is
written to Parquet in chunks. Both sides then compute the four aggregations
:func:`evalkit.analyse_programme` needs — by community × year, × month, × block and
× method: counts, participants, volunteer minutes, cost in fen, the five actor counts,
≥2 / ≥3 / all-5 actor counts and the ten actor pairs:

* evalkit :func:`evalkit.programme.aggregate.service_aggregates` reading the Parquet file
  (DuckDB, streaming, one scan for the four groupings with ``GROUPING SETS``, ``memory_limit``
  1 GB, spill folder set);
* :func:`evalkit.programme.aggregate_pandas.service_aggregates_pandas` after
  ``pd.read_parquet`` (plain pandas: load, derive, ``groupby().sum()``).

Times are measured in this process, interleaved, median of ``--repeats`` after an untimed
warm-up, and the results are checked to be identical. Peak memory is measured separately,
in a fresh child process per side (the child's ``VmHWM`` from ``/proc/self/status`` at its
end), next to a child that only imports the same libraries (the baseline). Prints
``ratio pandas / duckdb time`` and ``ratio duckdb / pandas peak memory (above baseline)``:
the issue's targets are ≥ 5× faster and ≤ ¼ of pandas' peak memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BY = (("community_id", "year"), ("community_id", "year", "month"), ("community_id", "year", "block"),
      ("community_id", "year", "method"))
BLOCKS = np.array(["为老服务", "儿童关爱", "邻里互助", "协商议事", "文体活动", "困难帮扶", "助残服务", "青少年成长"], dtype=object)
METHODS = np.array(["casework", "group", "event", "home_visit"], dtype=object)


def make_log(rows: int, seed: int = 20240901, communities: int = 1000) -> pd.DataFrame:
    """One chunk of the synthetic ledger (data-model columns and types)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{k:05d}" for k in range(communities)], dtype=object)
    day = np.datetime64("2020-01-01") + rng.integers(0, 5 * 365, rows)
    flags = {f"actor_{a}": rng.random(rows) < p for a, p in
             (("community", 0.95), ("social_org", 0.5), ("social_worker", 0.5), ("volunteer", 0.45),
              ("charity", 0.1))}
    return pd.DataFrame({
        "service_id": np.arange(rows, dtype=np.int64),
        "community_id": ids[rng.integers(0, communities, rows)],
        "service_date": day.astype("datetime64[ns]"),
        "block": BLOCKS[rng.integers(0, len(BLOCKS), rows)],
        "method": METHODS[rng.integers(0, len(METHODS), rows)],
        **flags,
        "participants": rng.integers(1, 80, rows).astype(np.int64),
        "volunteer_hours": rng.integers(0, 40, rows) / 2,
        "cost_yuan": np.round(rng.uniform(50, 5000, rows), 2),
    })


def write_log(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    done = 0
    try:
        while done < rows:
            n = min(chunk, rows - done)
            table = pa.Table.from_pandas(make_log(n, seed=done + 1), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            done += n
    finally:
        if writer is not None:
            writer.close()


def run_duckdb(path: Path, spill: Path) -> list[pd.DataFrame]:
    from evalkit.programme.aggregate import service_aggregate_sets

    return service_aggregate_sets(path, sets=BY, memory_limit="1GB", temp_directory=spill)


def run_pandas(path: Path) -> list[pd.DataFrame]:
    from evalkit.programme.aggregate_pandas import service_aggregates_pandas

    data = pd.read_parquet(path)
    return [service_aggregates_pandas(data, by=by) for by in BY]


def _child(side: str, path: Path, spill: Path) -> None:
    import duckdb  # noqa: F401  (the baseline imports what both sides import)

    import evalkit.programme.aggregate  # noqa: F401
    import evalkit.programme.aggregate_pandas  # noqa: F401

    if side == "duckdb":
        run_duckdb(path, spill)
    elif side == "pandas":
        run_pandas(path)
    print(f"peak_rss_kb {_high_water_kb()}")


def _high_water_kb() -> int:
    """Peak resident memory of this process (VmHWM). ``getrusage(...).ru_maxrss`` is not used:
    on Linux it survives ``execve``, so a child would report its parent's peak."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: best effort


def _peak_mb(side: str, path: Path, spill: Path) -> float:
    out = subprocess.run([sys.executable, __file__, "--child", side, "--parquet", str(path), "--spill", str(spill)],
                         check=True, capture_output=True, text=True, env=os.environ.copy())
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("peak_rss_kb")][-1]
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=("duckdb", "pandas", "baseline"))
    parser.add_argument("--parquet", type=Path)
    parser.add_argument("--spill", type=Path)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.parquet, args.spill)
        return

    import duckdb

    print(f"python {platform.python_version()}, pandas {pd.__version__}, duckdb {duckdb.__version__}, "
          f"numpy {np.__version__}; cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        path, spill = Path(tmp) / "services.parquet", Path(tmp) / "spill"
        t0 = time.perf_counter()
        write_log(path, args.rows)
        print(f"wrote {args.rows:,} rows to Parquet ({path.stat().st_size / 2**20:.0f} MiB) "
              f"in {time.perf_counter() - t0:.1f} s")

        # memory first, in children, while this process is still small (the machine is shared)
        base, m_duck, m_pd = (_peak_mb(s, path, spill) for s in ("baseline", "duckdb", "pandas"))
        print(f"peak RSS: baseline (imports) {base:.0f} MiB, DuckDB {m_duck:.0f} MiB, pandas {m_pd:.0f} MiB")
        print(f"ratio duckdb / pandas peak memory: {m_duck / m_pd:.3f}")
        print(f"ratio duckdb / pandas peak memory (above baseline): {(m_duck - base) / (m_pd - base):.3f}")

        a, b = run_duckdb(path, spill), run_pandas(path)  # warm-up, and the agreement check
        agree = all(x.equals(y) for x, y in zip(a, b, strict=True))
        print(f"results identical: {agree}")
        del a, b
        times: dict[str, list[float]] = {"duckdb": [], "pandas": []}
        cpu: dict[str, list[float]] = {"duckdb": [], "pandas": []}
        for _ in range(args.repeats):
            for side in ("duckdb", "pandas"):
                t, c = time.perf_counter(), time.process_time()
                run_duckdb(path, spill) if side == "duckdb" else run_pandas(path)
                times[side].append(time.perf_counter() - t)
                cpu[side].append(time.process_time() - c)  # all threads of this process
        t_duck, t_pd = statistics.median(times["duckdb"]), statistics.median(times["pandas"])
        c_duck, c_pd = statistics.median(cpu["duckdb"]), statistics.median(cpu["pandas"])
        print(f"evalkit DuckDB (4 groupings from Parquet)   {t_duck:.3f} s   (CPU {c_duck:.3f} s)")
        print(f"plain pandas (read_parquet + 4 groupby sums)   {t_pd:.3f} s   (CPU {c_pd:.3f} s)")
        print(f"ratio pandas / duckdb time: {t_pd / t_duck:.2f}")
        print(f"ratio pandas / duckdb CPU time: {c_pd / c_duck:.2f}")
        print(f"load average after the timings: {os.getloadavg()[0]:.2f}")



if __name__ == "__main__":
    main()
