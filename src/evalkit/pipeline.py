"""Run a study's report notebooks into ``reports/<run_id>/``.

:func:`run_study` is what ``evalkit run`` does: check the config and the data
first (a clear error before any kernel starts), execute every report template
``notebooks/NN_*.ipynb`` with papermill through :mod:`evalkit.runner` (typed
parameters, per-cell and wall-clock time limits, completion marker), export
each to HTML with code hidden and Chinese text embedded, merge the
notebooks' ``results-*.json`` into ``results.json``, and write
``manifest.json``: SHA-256 of every input, the parameters, package versions,
git commit, seed and timings, so anyone can reproduce every number.

The whole report folder is built in a temporary folder and renamed into
place only when every notebook succeeded; a failed re-run leaves the last
good report untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from evalkit import __version__
from evalkit.config import load_config
from evalkit.intake.load import load_study
from evalkit.paths import demo_config, notebooks_dir, project_root, reports_dir
from evalkit.reporting.html_fonts import embed_cjk_font
from evalkit.runner import (
    export_html,
    git_commit,
    package_versions,
    read_parameter_schema,
    run_notebook,
    sha256_file,
    write_report_atomically,
)
from evalkit.session import KEY_PACKAGES

__all__ = ["RunSummary", "run_study", "report_templates", "new_run_id"]


@frozen
class RunSummary:
    run_id: str
    folder: Path
    html: tuple[Path, ...]
    seconds: float
    results: dict[str, Any]


def report_templates(folder: Path | None = None) -> list[Path]:
    """Report templates are the notebooks named ``NN_topic.ipynb`` (exploration lives elsewhere)."""
    folder = folder or notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def new_run_id(name: str = "") -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-").lower()[:24]
    return f"{stamp}-{slug}" if slug else stamp


def run_study(
    config: str | os.PathLike[str] | None = None,
    *,
    run_id: str | None = None,
    reports: str | os.PathLike[str] | None = None,
    lang: str | None = None,
    templates: Sequence[Path] | None = None,
    cell_timeout: int = 600,
    wall_timeout: int = 3600,
) -> RunSummary:
    """Execute every report notebook for one study; return where the report is.

    Parameters
    ----------
    config
        The study config (YAML). None runs the bundled synthetic demo city.
    run_id
        Folder name under ``reports``; default: a timestamp. Re-using an id
        replaces that report only if the new run succeeds.
    lang
        ``zh`` or ``en``; default: the config's ``language``.
    """
    started = time.perf_counter()
    config_path = Path(config) if config is not None else demo_config()
    cfg = load_config(config_path)
    study = load_study(cfg)  # refuses bad data before any kernel starts
    lang = lang or ("en" if cfg.language == "en" else "zh")
    run_id = run_id or new_run_id("demo" if cfg.synthetic else "")
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]*", run_id):
        msg = f"run id {run_id!r} may only hold letters, digits, '.', '_' and '-'"
        raise ValueError(msg)
    templates = list(templates) if templates is not None else report_templates()
    if not templates:
        msg = f"no report notebooks (NN_topic.ipynb) in {notebooks_dir()}"
        raise FileNotFoundError(msg)
    final = Path(reports) if reports is not None else reports_dir()
    final_dir = final / run_id
    timings: dict[str, float] = {}
    parameters_used: dict[str, dict[str, Any]] = {}

    def build(tmp: Path) -> None:
        for template in templates:
            schema = read_parameter_schema(template)
            offered = {"config_path": str(cfg.path), "lang": lang, "output_dir": str(tmp),
                       "run_id": run_id}
            params = {k: v for k, v in offered.items() if k in schema}
            run = run_notebook(template, parameters=params, output_path=tmp / template.name,
                               run_id=run_id, cell_timeout=cell_timeout, wall_timeout=wall_timeout,
                               cwd=project_root())
            timings[template.name] = run.seconds
            parameters_used[template.name] = {k: v for k, v in params.items() if k != "output_dir"}
            export_html(tmp / template.name, tmp / f"{template.stem}.html", lang=lang,
                        postprocess=embed_cjk_font)
        results = _merge_results(tmp)
        _write_json(tmp / "results.json", results)
        manifest = _manifest(cfg, study, run_id, lang, parameters_used, timings, tmp, started)
        _write_json(tmp / "manifest.json", manifest)

    write_report_atomically(build, final_dir)
    results = json.loads((final_dir / "results.json").read_text(encoding="utf-8"))
    return RunSummary(
        run_id=run_id,
        folder=final_dir,
        html=tuple(final_dir / f"{t.stem}.html" for t in templates),
        seconds=time.perf_counter() - started,
        results=results,
    )


def _merge_results(folder: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in sorted(folder.glob("results-*.json")):
        merged[part.stem.removeprefix("results-")] = json.loads(part.read_text(encoding="utf-8"))
        part.unlink()
    return merged


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")


def _manifest(cfg, study, run_id, lang, parameters_used, timings, folder: Path, started) -> dict[str, Any]:
    inputs = {str(p): {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in cfg.input_files()}
    outputs = {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    return {
        "run_id": run_id,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "evalkit_version": __version__,
        "study": {"name": cfg.name, "config": str(cfg.path), "synthetic": cfg.synthetic},
        "language": lang,
        "seed": cfg.seed,
        "inputs": inputs,
        "parameters": parameters_used,
        "packages": package_versions(KEY_PACKAGES),
        "git_commit": git_commit(Path(__file__).resolve().parents[2]),
        "pseudonyms_stable": study.pseudonyms_stable,
        "timings_seconds": {**timings, "total": round(time.perf_counter() - started, 3)},
        "outputs": outputs,
        "reproduce": f"evalkit run {cfg.path} --run-id {run_id}",
    }
