"""Time ``evalkit.audit.audit_reports`` on a large reports folder against the cost of just reading it.

There is no installable peer that audits report folders for Chinese personal data, so the
baseline is the floor any audit pays: reading the same files with the same parsers (lines
of the log and Markdown, csv.reader, openpyxl read-only rows, the stdlib HTML parser)
without detecting anything. The ratio audit / read-only says what detection costs.

Usage: ``python benchmarks/bench_audit.py [--repeats 3] [--full]`` (``--full`` is 10× larger).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from evalkit.audit import audit_reports  # noqa: E402


def make_folder(folder: Path, *, scale: float = 1.0, seed: int = 1) -> None:
    """A clean, large reports folder: a log, a CSV, an xlsx, an HTML report, a Markdown note."""
    rng = np.random.default_rng(seed)
    n_log = int(200_000 * scale)
    n_rows = int(50_000 * scale)
    with (folder / "run.log").open("w", encoding="utf-8") as fh:
        for i in range(n_log):
            fh.write(f"2026-12-06T02:{i % 60:02d}:00 INFO cell C{i % 48:02d} wave {2020 + i % 5} "
                     f"mean {rng.random():.4f} n {30 + i % 70}\n")
    frame = pd.DataFrame({"community": [f"C{i % 48:02d}" for i in range(n_rows)],
                          "wave": rng.integers(2020, 2025, n_rows),
                          "n": rng.integers(10, 99, n_rows),
                          "mean": rng.normal(3.5, 0.4, n_rows).round(3)})
    frame.to_csv(folder / "cells.csv", index=False)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("cells")
    ws.append(list(frame.columns))
    for row in frame.head(n_rows // 5).itertuples(index=False):
        ws.append(list(row))
    wb.save(str(folder / "cells.xlsx"))
    (folder / "report.html").write_text(
        "<html><body><p>居民获得感提高。</p>" + frame.head(n_rows // 10).to_html(index=False) + "</body></html>",
        encoding="utf-8")
    (folder / "notes.md").write_text("居民满意度上升，社区参与率提高。\n" * int(20_000 * scale), encoding="utf-8")


def read_only(folder: Path) -> int:
    """The floor: parse every file, detect nothing. Returns a checksum of what was read."""
    total = 0
    for name in ("run.log", "notes.md"):
        with (folder / name).open(encoding="utf-8") as fh:
            total += sum(len(line) for line in fh)
    with (folder / "cells.csv").open(encoding="utf-8", newline="") as fh:
        total += sum(len(r) for r in csv.reader(fh))
    wb = openpyxl.load_workbook(str(folder / "cells.xlsx"), read_only=True, data_only=True)
    total += sum(len(r) for ws in wb.worksheets for r in ws.iter_rows(values_only=True))
    wb.close()

    class Counter(HTMLParser):
        n = 0

        def handle_data(self, data: str) -> None:
            self.n += len(data)

    parser = Counter()
    parser.feed((folder / "report.html").read_text(encoding="utf-8"))
    return total + parser.n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_folder(folder, scale=10 if args.full else 1)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"python {platform.python_version()}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, "
              f"folder {size:.1f} MB")
        read_only(folder)  # warm-up (imports, page cache)
        t_base, t_audit = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            read_only(folder)
            t_base.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = audit_reports(folder)
            t_audit.append(time.perf_counter() - t0)
        base, audit = statistics.median(t_base), statistics.median(t_audit)
        print(f"read-only baseline   {base:.2f} s")
        print(f"evalkit audit_reports   {audit:.2f} s   ({len(result.findings)} findings, "
              f"{size / audit:.1f} MB/s)")
        print(f"ratio audit / read-only: {audit / base:.2f}")


if __name__ == "__main__":
    main()
