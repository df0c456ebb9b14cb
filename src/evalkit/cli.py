"""The ``evalkit`` command: run, batch, plan, reproduce, validate, init, audit, demo.

Errors evalkit raises on purpose are printed as their message (no
traceback). Anything else is a bug: the user sees one line naming the
exception type and how to get details (``EVALKIT_DEBUG=1``), never a
traceback that could carry data values. Exit codes: 0 success, 1 partial
success (``batch``: some reports failed; ``reproduce``: numbers differ),
2 nothing done (bad input, bad config), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from evalkit.errors import EvalkitError

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

    batch = sub.add_parser("batch", help="one report per pilot community, the programme report and an index")
    batch.add_argument("config", nargs="?", help="study config (YAML); omit to use the synthetic demo")
    batch.add_argument("--out", help="batch folder (default: reports/batch-<study>)")
    batch.add_argument("--communities", help="comma-separated community ids (default: every pilot)")
    batch.add_argument("--lang", choices=["zh", "en"], help="report language (default: the config's)")
    batch.add_argument("--workers", type=int, default=None, help="parallel reports (default: CPU count)")
    batch.add_argument("--scheduler", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    batch.add_argument("--resume", action="store_true", help="re-run only what failed or changed")
    batch.add_argument("--wall-timeout", type=int, default=900, help="seconds per report")
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")

    plan = sub.add_parser("plan", help="power and communities needed for the next survey round (planning report)")
    plan.add_argument("config", nargs="?", help="study config for the simulation on own data (default: the demo)")
    plan.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                      help="a planning parameter, e.g. -p icc 0.08 -p residents_per_community '[20, 40]'")
    plan.add_argument("--run-id", help="report folder name under reports/ (default: plan-<timestamp>)")
    plan.add_argument("--reports", help="reports folder (default: ./reports)")
    plan.add_argument("--lang", choices=["zh", "en"], help="report language (default: the config's)")

    rep = sub.add_parser("reproduce", help="re-run a report from its manifest and compare every number")
    rep.add_argument("manifest", help="a report's manifest.json")
    rep.add_argument("--study", help="the study's folder, if it moved since the report was made")
    rep.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance (default 1e-9)")
    rep.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance (default 1e-12)")

    val = sub.add_parser("validate", help="check a study: every error, warning and notice, grouped by file")
    val.add_argument("config", help="study config (YAML)")
    val.add_argument("--lang", choices=["zh", "en"], default="zh")

    ini = sub.add_parser("init", help="write a starter study.yaml and codebook from your own data files")
    ini.add_argument("folder", help="folder for study.yaml and codebook.yaml")
    ini.add_argument("--from", dest="files", nargs="+", required=True, metavar="FILE", help="your data files")
    ini.add_argument("--name", help="the study's name")

    aud = sub.add_parser("audit", help="scan a reports folder for personal data and disclosure problems")
    aud.add_argument("folder", help="a report folder, e.g. reports/<run-id>")
    aud.add_argument("--exclude", nargs="*", default=[], metavar="GLOB", help="files not published")

    demo = sub.add_parser("demo", help="write the synthetic demo city's data files to a folder")
    demo.add_argument("folder", nargs="?", default="data/demo", help="target folder (default: data/demo)")
    demo.add_argument("--seed", type=int, default=20240901)
    return p


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from evalkit.run.pipeline import run_study

    summary = run_study(args.config, run_id=args.run_id, reports=args.reports, lang=args.lang,
                        cell_timeout=args.cell_timeout, wall_timeout=args.wall_timeout,
                        progress=lambda name, i, n: _say(f"[{i}/{n}] running {name} …"))
    print(f"report ready in {summary.seconds:.1f} s: {summary.folder}")
    for html in summary.html:
        print(f"  open {html}")
    for docx in summary.docx:
        print(f"  Word {docx}")
    if not summary.publishable:
        findings = summary.audit["findings"]
        print(f"NOT PUBLISHABLE: the publication audit found {len(findings)} problem(s); see "
              f"`evalkit audit {summary.folder}` (values are never shown).")
        for f in findings[:10]:
            print(f"  {f['file']}: {f['location']} ({f['kind']})")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from evalkit.run.batch import run_batch

    communities = [c.strip() for c in args.communities.split(",") if c.strip()] if args.communities else None
    summary = run_batch(args.config, out=args.out, communities=communities, lang=args.lang,
                        workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                        wall_timeout=args.wall_timeout, progress=not args.no_progress)
    print(summary.render())
    return summary.exit_code


def _plan(args: argparse.Namespace) -> int:
    from evalkit.run.ids import new_run_id
    from evalkit.run.pipeline import plan_template, run_study

    params = plan_parameters(dict(args.param))
    summary = run_study(args.config, run_id=args.run_id or new_run_id("plan"), reports=args.reports, lang=args.lang,
                        templates=[plan_template()], extra_parameters=params,
                        progress=lambda name, i, n: _say(f"[{i}/{n}] running {name} …"))
    print(f"planning report ready in {summary.seconds:.1f} s: {summary.folder}")
    for path in (*summary.html, *summary.docx):
        print(f"  open {path}")
    return 0


def plan_parameters(given: dict[str, str]) -> dict[str, object]:
    """``-p NAME VALUE`` pairs as typed values (JSON where it parses: numbers, lists; text otherwise),
    checked against the planning template's parameters cell (unknown names are an error listing the known)."""
    import json

    from evalkit.errors import ParameterError
    from evalkit.run.params import read_parameter_schema
    from evalkit.run.pipeline import plan_template

    schema = read_parameter_schema(plan_template())
    reserved = {"config_path", "lang", "output_dir", "run_id"}
    known = [name for name in schema.names if name not in reserved]
    unknown = sorted(set(given) - set(known))
    if unknown:
        msg = (f"unknown planning parameter(s) {', '.join(unknown)}; the planning report takes: "
               f"{', '.join(known)} (see notebooks/planning/power_planning.py for what each means)")
        raise ParameterError(msg)
    out: dict[str, object] = {}
    for name, text in given.items():
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out


def _reproduce(args: argparse.Namespace) -> int:
    from evalkit.run.reproduce import reproduce

    outcome = reproduce(args.manifest, study=args.study, rtol=args.rtol, atol=args.atol)
    print(outcome.render())
    return 0 if outcome.passed else 1


def _validate(args: argparse.Namespace) -> int:
    from evalkit.intake import validate_report

    report = validate_report(args.config)
    print(report.render(args.lang))
    return report.exit_code  # 0 clean, 1 warnings only, 2 errors


def _init(args: argparse.Namespace) -> int:
    from evalkit.intake import init_study

    path = init_study(args.folder, args.files, name=args.name)
    print(f"starter config written: {path}; edit the lines marked '# check me', then: evalkit validate {path}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from evalkit.audit import audit_reports

    folder = Path(args.folder)
    if not folder.is_dir():
        _say(f"evalkit: {folder} is not a folder; pass a report folder, e.g. reports/<run-id>.")
        return 2
    result = audit_reports(folder, exclude=args.exclude)
    print(result.summary())
    return result.exit_code


def _demo(args: argparse.Namespace) -> int:
    from evalkit.run.paths import demo_config

    path = demo_config(Path(args.folder), seed=args.seed)
    print(f"synthetic demo city written: {path} (合成演示数据)")
    return 0


_COMMANDS = {"run": _run, "batch": _batch, "reproduce": _reproduce, "validate": _validate, "init": _init,
             "audit": _audit, "demo": _demo, "plan": _plan}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except EvalkitError as exc:
        _say(f"evalkit: {exc}")
        return 2
    except KeyboardInterrupt:
        _say("evalkit: interrupted; finished reports were kept, nothing half-written was left.")
        return 130
    except Exception as exc:  # a bug: no traceback (it may carry data values) unless asked for
        if os.environ.get("EVALKIT_DEBUG"):
            traceback.print_exc()
        _say(f"evalkit: internal error ({type(exc).__name__}). This is a bug in evalkit, not in your "
             f"data; please report it. Set EVALKIT_DEBUG=1 to see the details.")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
