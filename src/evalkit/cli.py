"""The ``evalkit`` command: run, validate, demo.

Errors evalkit raises on purpose are printed as their message (no
traceback) and exit with status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evalkit.errors import DataValidationError, EvalkitError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evalkit", description=(
        "Evaluate community-governance pilots (三社联动 / 五社联动) from survey and service data."))
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the report notebooks for a study (default: the demo city)")
    run.add_argument("config", nargs="?", help="study config (YAML); omit to run the synthetic demo")
    run.add_argument("--run-id", help="report folder name under reports/ (default: a timestamp)")
    run.add_argument("--reports", help="reports folder (default: ./reports)")
    run.add_argument("--lang", choices=["zh", "en"], help="report language (default: the config's)")
    run.add_argument("--cell-timeout", type=int, default=600, help="seconds per notebook cell")
    run.add_argument("--wall-timeout", type=int, default=3600, help="seconds per notebook")

    val = sub.add_parser("validate", help="check a study's config and data; list every problem")
    val.add_argument("config", help="study config (YAML)")

    demo = sub.add_parser("demo", help="write the synthetic demo city's data files to a folder")
    demo.add_argument("folder", nargs="?", default="data/demo", help="target folder (default: data/demo)")
    demo.add_argument("--seed", type=int, default=20240901)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from evalkit.pipeline import run_study

            summary = run_study(args.config, run_id=args.run_id, reports=args.reports, lang=args.lang,
                                cell_timeout=args.cell_timeout, wall_timeout=args.wall_timeout)
            print(f"report ready in {summary.seconds:.1f} s: {summary.folder}")
            for html in summary.html:
                print(f"  open {html}")
            return 0
        if args.command == "validate":
            from evalkit.intake.load import load_study

            study = load_study(args.config)
            n = {k: len(v) for k, v in study.tables.items()}
            print(f"OK: {args.config} — " + ", ".join(f"{k} {v} rows" for k, v in n.items()))
            for w in study.warnings:
                print(f"warning: {w.message}")
            return 0
        if args.command == "demo":
            from evalkit.paths import demo_config

            path = demo_config(Path(args.folder), seed=args.seed)
            print(f"synthetic demo city written: {path} (合成演示数据)")
            return 0
    except DataValidationError as exc:
        print(f"evalkit: {exc}", file=sys.stderr)
        return 1
    except EvalkitError as exc:
        print(f"evalkit: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
