"""benchmarks/bench_audit.py keeps working, and its large clean folder (tiny here) passes the audit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from evalkit.audit import audit_reports

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_audit.py"


def test_bench_audit_folder_is_clean_and_readable(tmp_path):
    spec = importlib.util.spec_from_file_location("_evalkit_bench_audit", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["_evalkit_bench_audit"] = module
    spec.loader.exec_module(module)
    module.make_folder(tmp_path, scale=0.01)
    assert module.read_only(tmp_path) > 0
    result = audit_reports(tmp_path)
    assert result.passed, result.summary()
    assert len(result.files) == 5
