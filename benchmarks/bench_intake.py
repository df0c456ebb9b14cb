"""Benchmark: validated intake of a service log vs a plain pyarrow read of the same file.

Run:  .venv/bin/python benchmarks/bench_intake.py [--rows 1000000] [--format csv parquet] [--repeats 1]
      (the full size of issue 7: ``--rows 10000000``; about 0.7 GB of GB18030 CSV)

Writes a synthetic service log (the ``services`` table: 13 columns with Chinese headers,
ids as text, dates, Chinese categories, 0/1 flags, counts, hours, costs) as a GB18030 CSV
(as WPS/Excel save "CSV" on Chinese Windows) and as Parquet, then times, each in a fresh
child process (so peak memory is that of one read, measured as the child's own peak RSS,
``VmHWM``, which includes the interpreter and imports: about 60 MB for pyarrow alone,
150 MB with pandas and evalkit):

* **evalkit**: ``read_raw`` + ``conform_table`` with the ``services`` data model — the
  validated read ``load_study`` does for this table: encoding detection and transcoding,
  record structure and line numbers, blank/totals rows, mojibake and Excel-error scans,
  header mapping, type conversion with every check (ids, dates, categories, booleans,
  ranges, uniqueness of service_id);
* **pyarrow**: ``pyarrow.csv.read_csv(..., ReadOptions(encoding="gb18030"))`` or
  ``pyarrow.parquet.read_table`` — a plain read with type inference and no checks.

Prints the times and peaks of both, and ``ratio time <fmt>`` and ``ratio memory <fmt>``
(evalkit / pyarrow; targets ≤ 3 and ≤ 2). Files are written chunk by chunk, so the writer
itself needs little memory. Not part of the test suite; numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["服务编号", "社区编码", "服务日期", "服务板块", "服务方式", "社区参与", "社会组织参与", "社工参与",
          "志愿者参与", "慈善资源参与", "服务人次", "志愿时长（小时）", "成本（元）"]
CHUNK = 1_000_000


def make_chunk(start: int, n: int):
    """Rows start … start+n−1 of the synthetic service log (deterministic)."""
    import numpy as np
    import pandas as pd

    k = np.arange(start, start + n)
    dates = (np.datetime64("2021-01-01") + (k * 7919) % 1095).astype("datetime64[D]").astype(str)
    return pd.DataFrame({
        "服务编号": np.char.add("S", k.astype("U9")),
        "社区编码": np.char.add("4301020", ((k * 31) % 60).astype("U2")),
        "服务日期": dates,
        "服务板块": np.array(["为老服务", "儿童关爱", "社区治理", "困难帮扶"])[k % 4],
        "服务方式": np.array(["个案", "小组", "社区活动", "入户探访"])[(k // 3) % 4],
        "社区参与": (k % 2).astype(np.int8),
        "社会组织参与": ((k // 2) % 2).astype(np.int8),
        "社工参与": np.ones(n, dtype=np.int8),
        "志愿者参与": (k % 5 == 0).astype(np.int8),
        "慈善资源参与": (k % 11 == 0).astype(np.int8),
        "服务人次": (k * 13) % 60,
        "志愿时长（小时）": ((k * 7) % 40) / 2,
        "成本（元）": ((k * 37) % 500000) / 100,
    })


def write_files(folder: Path, rows: int, formats: list[str]) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = {}
    if "csv" in formats:
        path = folder / f"services_{rows}.csv"
        if not path.exists():
            with path.open("wb") as fh:
                fh.write((",".join(HEADER) + "\r\n").encode("gb18030"))
                for start in range(0, rows, CHUNK):
                    text = make_chunk(start, min(CHUNK, rows - start)).to_csv(
                        index=False, header=False, lineterminator="\r\n")
                    fh.write(text.encode("gb18030"))
        out["csv"] = path
    if "parquet" in formats:
        path = folder / f"services_{rows}.parquet"
        if not path.exists():
            writer = None
            for start in range(0, rows, CHUNK):
                table = pa.Table.from_pandas(make_chunk(start, min(CHUNK, rows - start)), preserve_index=False)
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()
        out["parquet"] = path
    return out


# --------------------------------------------------------------------------- the two reads (children)


def read_evalkit(path: Path) -> dict[str, object]:
    from evalkit.codebook import Codebook
    from evalkit.datamodel import TABLES
    from evalkit.intake.problems import ProblemLog
    from evalkit.intake.readers import read_raw
    from evalkit.intake.validate import conform_table

    spec = TABLES["services"]
    t0 = time.perf_counter()
    raw = read_raw(path, expected_columns=tuple(c.label_zh for c in spec.columns),
                   id_columns=("服务编号", "社区编码"))
    log = ProblemLog()
    frame, _ = conform_table(raw, spec, Codebook(variables=()), log, pseudonym_key=b"bench")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(frame), "problems": [p.check for p in log.problems],
            "dtypes": {c: str(t) for c, t in frame.dtypes.items()}}


def read_pyarrow(path: Path) -> dict[str, object]:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        table = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(encoding="gb18030"))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": table.num_rows, "problems": []}


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    ``VmHWM`` from /proc (reset by ``execve``, so it is the child's own peak); ``ru_maxrss``
    elsewhere, which on Linux would carry over the parent's peak across fork/exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(which: str, path: Path) -> None:
    result = (read_evalkit if which == "evalkit" else read_pyarrow)(path)
    result["peak_mb"] = peak_rss_mb()
    print(json.dumps(result, ensure_ascii=False))


def run_child(which: str, path: Path) -> dict[str, object]:
    proc = subprocess.run([sys.executable, __file__, "--child", which, str(path)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"{which} child failed:\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--format", nargs="+", default=["csv", "parquet"], choices=["csv", "parquet"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--data", type=Path, help="folder for the generated files (kept; default: a temp folder)")
    ap.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0

    import pyarrow

    import evalkit

    print(f"validated intake vs plain pyarrow read; {args.rows:,} rows; python {platform.python_version()}, "
          f"pyarrow {pyarrow.__version__}, evalkit {evalkit.__version__}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        files = write_files(folder, args.rows, args.format)
        print(f"data written in {time.perf_counter() - t0:.1f} s: "
              + ", ".join(f"{f.name} {f.stat().st_size / 2**20:,.0f} MB" for f in files.values()))
        for fmt, path in files.items():
            runs = {"evalkit": [], "pyarrow": []}
            for _ in range(args.repeats):
                for which in ("pyarrow", "evalkit"):  # interleaved
                    runs[which].append(run_child(which, path))
            med = {w: (statistics.median(r["seconds"] for r in rs), max(r["peak_mb"] for r in rs))
                   for w, rs in runs.items()}
            ev = runs["evalkit"][-1]
            print(f"evalkit validated read ({fmt})   {med['evalkit'][0]:.2f} s   peak {med['evalkit'][1]:,.0f} MB"
                  f"   rows {ev['rows']:,}; problems found: {sorted(set(ev['problems'])) or 'none'}")
            print(f"pyarrow plain read ({fmt})       {med['pyarrow'][0]:.2f} s   peak {med['pyarrow'][1]:,.0f} MB"
                  f"   rows {runs['pyarrow'][-1]['rows']:,}")
            print(f"ratio time {fmt}: {med['evalkit'][0] / med['pyarrow'][0]:.2f}")
            print(f"ratio memory {fmt}: {med['evalkit'][1] / med['pyarrow'][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
