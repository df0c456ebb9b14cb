"""Smoke test of benchmarks/bench_intake.py on tiny data: the set-up and both timed reads run.

Nothing is timed. Both reads must see every row, evalkit's validated read must find no
problem in the synthetic service log (it is clean by construction) and must return the
data model's types.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_intake.py"


def _load():
    spec = importlib.util.spec_from_file_location("_evalkit_bench_intake", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["_evalkit_bench_intake"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_intake_reads_agree_on_tiny_files(tmp_path):
    bench = _load()
    files = bench.write_files(tmp_path, 2_500, ["csv", "parquet"])
    assert files["csv"].read_bytes()[:8].decode("gb18030") == "服务编号"
    for path in files.values():
        ours = bench.read_evalkit(path)
        peer = bench.read_pyarrow(path)
        assert ours["rows"] == peer["rows"] == 2_500
        assert ours["problems"] == []
        assert ours["dtypes"]["service_date"].startswith("datetime64")
        assert ours["dtypes"]["actor_volunteer"] == "boolean"
    assert bench.peak_rss_mb() > 0
