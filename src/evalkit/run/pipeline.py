"""``evalkit run``: a study's report notebooks into ``reports/<run_id>/``.

:func:`run_study` checks the config and the data first (a clear error before
any kernel starts; the loaded study goes into the run cache so no notebook
loads it again, see :mod:`evalkit.run.study`), executes every report template
``notebooks/NN_*.ipynb`` through :mod:`evalkit.run.execute` (typed parameters,
time limits, completion marker), exports each to offline HTML with the Chinese
font embedded, merges the notebooks' ``results-*.json`` into ``results.json``,
and writes ``manifest.json`` (:mod:`evalkit.run.manifest`) and ``REPRODUCE.md``.

Kernels run in the study's folder and get paths relative to it, so no
executed notebook records where on a machine the study lives. The report
folder is built beside its final place and swapped in only when every notebook
succeeded; a failed re-run leaves the last good report untouched.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from evalkit.config import StudyConfig, load_config
from evalkit.errors import ConfigError, ParameterError
from evalkit.run.atomic import write_json_atomic, write_report_atomically, write_text_atomic
from evalkit.run.execute import BLAS_ONE_THREAD, run_notebook
from evalkit.run.export import export_html
from evalkit.run.ids import check_run_id, new_run_id
from evalkit.run.manifest import build_manifest, relative_to, sha256_file, with_outputs
from evalkit.run.params import read_parameter_schema
from evalkit.run.paths import demo_config, notebooks_dir, reports_dir, template_path
from evalkit.run.study import CACHE_ENV, prepare_study

__all__ = ["RunSummary", "plan_template", "report_templates", "run_study", "reproduce_text", "html_postprocess",
           "publication_audit", "publishable_notebook"]

#: called with (template name, index from 1, how many) before each notebook starts
Progress = Callable[[str, int, int], None]


@frozen
class RunSummary:
    run_id: str
    folder: Path
    html: tuple[Path, ...]
    docx: tuple[Path, ...]
    seconds: float
    results: dict[str, Any]
    timings: dict[str, float]
    audit: dict[str, Any]

    @property
    def publishable(self) -> bool:
        return bool(self.audit.get("publishable"))


def report_templates(folder: Path | None = None, config: StudyConfig | None = None) -> list[Path]:
    """Report templates are the notebooks named ``NN_topic.ipynb`` (exploration lives elsewhere).

    A template whose notebook metadata says ``evalkit: {requires: <config key>}`` is made only
    for a study whose config sets that key (the showcase report needs ``showcase:``); with no
    ``config`` every template is listed.
    """
    folder = folder or notebooks_dir()
    templates = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())
    return [t for t in templates if config is None or all(getattr(config, key, None) for key in template_requires(t))]


def plan_template() -> Path:
    """The planning report's template (``evalkit plan``): power, MDE and communities needed."""
    return notebooks_dir() / "planning" / "power_planning.ipynb"


def template_requires(template: Path) -> tuple[str, ...]:
    """The config keys a template needs (its notebook metadata ``evalkit.requires``)."""
    meta = json.loads(template.read_text(encoding="utf-8")).get("metadata", {}).get("evalkit", {})
    needs = meta.get("requires", ())
    return (needs,) if isinstance(needs, str) else tuple(needs)


def html_postprocess() -> list[Callable[[str], str]]:
    """What every exported report page goes through after nbconvert: offline (no CDN scripts,
    report and print stylesheets), then the embedded subset of the Chinese font."""
    from evalkit.reporting.html_offline import report_postprocess

    return [report_postprocess]


def resolve_config(config: str | os.PathLike[str] | None) -> StudyConfig:
    """The study config, or the bundled demo city's when ``config`` is None."""
    return load_config(Path(config) if config is not None else demo_config())  # refuses folders and data files


def run_study(
    config: str | os.PathLike[str] | None = None,
    *,
    run_id: str | None = None,
    reports: str | os.PathLike[str] | None = None,
    lang: str | None = None,
    templates: Sequence[Path] | None = None,
    cell_timeout: int = 600,
    wall_timeout: int = 3600,
    progress: Progress | None = None,
    cache: str | os.PathLike[str] | None = None,
    extra_parameters: Mapping[str, Any] | None = None,
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
    progress
        Called before each notebook starts (``evalkit run`` prints it).
    cache
        Run cache folder (default ``<reports>/.cache``); results in it are
        keyed by the content of inputs, config and evalkit, so they are reused
        only when nothing changed.
    extra_parameters
        Further template parameters (e.g. ``community_id``), passed to each
        template that declares them.
    """
    started = time.perf_counter()
    cfg = resolve_config(config)
    lang = lang or ("en" if cfg.language == "en" else "zh")
    if lang not in {"zh", "en"}:
        msg = f"lang {lang!r} is not a report language; use zh or en."
        raise ParameterError(msg)
    run_id = check_run_id(run_id or new_run_id("demo" if cfg.synthetic else ""))
    templates = list(templates) if templates is not None else report_templates(config=cfg)
    if not templates:
        msg = f"no report notebooks (NN_topic.ipynb) in {notebooks_dir()}"
        raise ConfigError(msg)
    final = Path(reports) if reports is not None else reports_dir()
    cache_folder = Path(cache) if cache is not None else final / ".cache"
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepare_study(cfg, cache_folder)  # refuses bad data before any kernel starts
    timings["load_and_validate"] = time.perf_counter() - t0
    study_dir = Path(cfg.path).parent.resolve()
    final_dir = final / run_id
    parameters_used: dict[str, dict[str, Any]] = {}
    notebooks: list[dict[str, Any]] = []

    def build(tmp: Path) -> None:
        for i, template in enumerate(templates, start=1):
            if progress is not None:
                progress(template.name, i, len(templates))
            schema = read_parameter_schema(template)
            offered = {**(extra_parameters or {}), "config_path": relative_to(cfg.path, study_dir),
                       "lang": lang, "output_dir": relative_to(tmp, study_dir), "run_id": run_id}
            params = {k: v for k, v in offered.items() if k in schema}
            run = run_notebook(template, parameters=params, output_path=tmp / template.name,
                               run_id=run_id, cell_timeout=cell_timeout, wall_timeout=wall_timeout,
                               cwd=study_dir, env={CACHE_ENV: str(cache_folder.resolve()), **BLAS_ONE_THREAD})
            t1 = time.perf_counter()
            export_html(tmp / template.name, tmp / f"{template.stem}.html", lang=lang,  # type: ignore[arg-type]
                        postprocess=html_postprocess())
            timings[template.stem] = run.seconds
            timings[f"{template.stem}.export"] = time.perf_counter() - t1
            parameters_used[template.name] = {k: v for k, v in params.items() if k != "output_dir"}
            notebooks.append(_notebook_record(template, run))
        write_json_atomic(tmp / "results.json", merge_results(tmp))
        from evalkit.reporting.docx_writer import write_run_docx

        t_docx = time.perf_counter()
        write_run_docx(tmp, lang=lang)  # type: ignore[arg-type]  # the Word file of every report that recorded its document
        timings["docx"] = time.perf_counter() - t_docx
        for template in templates:
            publishable_notebook(tmp / template.name)
        t2 = time.perf_counter()
        audit = publication_audit(tmp)
        timings["audit"] = time.perf_counter() - t2
        timings["total"] = time.perf_counter() - started
        command = f"evalkit reproduce {relative_to(final_dir / 'manifest.json', study_dir)}"
        manifest = build_manifest(
            run_id=run_id, kind="run", study_dir=study_dir, config=cfg.path,
            inputs=cfg.input_files(), parameters=parameters_used, seed=cfg.seed, language=lang,
            study={"name": cfg.name, "synthetic": cfg.synthetic,
                   "folder_from_report": relative_to(study_dir, final_dir)},
            notebooks=notebooks, timings=timings, reproduce=command,
            repo_dir=Path(__file__).resolve().parents[3], extra={"publication_audit": audit},
        )
        write_text_atomic(tmp / "REPRODUCE.md", reproduce_text(manifest, lang))
        write_json_atomic(tmp / "manifest.json", with_outputs(manifest, tmp))

    write_report_atomically(build, final_dir)
    results = json.loads((final_dir / "results.json").read_text(encoding="utf-8"))
    return RunSummary(
        run_id=run_id,
        folder=final_dir,
        html=tuple(final_dir / f"{t.stem}.html" for t in templates),
        docx=tuple(sorted(final_dir.glob("*.docx"))),
        seconds=time.perf_counter() - started,
        results=results,
        timings=dict(timings),
        audit=json.loads((final_dir / "manifest.json").read_text(encoding="utf-8"))["publication_audit"],
    )


def _notebook_record(template: Path, run: Any) -> dict[str, Any]:
    return {
        "template": template.name,
        "template_path": template_path(template),
        "template_sha256": sha256_file(template),
        "seconds": round(run.seconds, 3),
        "cell_timings": [{"cell": t.cell, "seconds": round(t.seconds, 3)} for t in run.cell_timings],
    }


def publishable_notebook(path: Path) -> None:
    """Strip an executed notebook in place for publication: no papermill metadata, injected
    parameters or absolute paths (the manifest keeps the parameters and timings)."""
    from evalkit.audit import strip_for_publication

    text = json.dumps(strip_for_publication(path), ensure_ascii=False, indent=1) + "\n"
    write_text_atomic(path, text)


def publication_audit(folder: Path, *, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``evalkit audit`` on a finished report folder; the manifest records the verdict.

    A report is publishable only if this passes; findings name file, location and kind,
    never the value.
    """
    from evalkit.audit import audit_reports

    result = audit_reports(folder, exclude=exclude)
    return {"publishable": result.passed,
            "findings": [{"file": f.file, "location": f.location, "kind": str(f.kind)} for f in result.findings]}


def merge_results(folder: Path) -> dict[str, Any]:
    """Merge each notebook's ``results-<name>.json`` into one mapping (the parts are removed)."""
    merged: dict[str, Any] = {}
    for part in sorted(folder.glob("results-*.json")):
        merged[part.stem.removeprefix("results-")] = json.loads(part.read_text(encoding="utf-8"))
        part.unlink()
    return merged


def reproduce_text(manifest: Mapping[str, Any], lang: str) -> str:
    """``REPRODUCE.md``: the exact commands that re-create this report's numbers."""
    study = manifest.get("study", {})
    config = manifest["config"]["path"]
    inputs = "\n".join(f"| `{name}` | `{v['sha256'][:16]}…` | {v['size']:,} |"
                       for name, v in sorted(manifest["inputs"].items()))
    return f"""# Reproducing this report · 复现本报告

Run `{manifest['run_id']}` of **{study.get('name', '')}**, made with evalkit {manifest['evalkit_version']}
({'synthetic demo data · 合成演示数据' if study.get('synthetic') else 'study data'}); report language: {lang}.

From the study's folder (the one holding `{config}`), with evalkit installed as its README says:

```bash
evalkit reproduce {manifest['reproduce'].removeprefix('evalkit reproduce ')}
```

This checks every input below against its SHA-256 (naming any file that changed), re-runs the
report from the raw inputs into a temporary folder, and compares every number in
`results.json` with this report's; it prints a pass/fail table and exits non-zero on any
mismatch. To re-make the report itself:

```bash
evalkit run {config} --run-id {manifest['run_id']} --lang {lang}
```

Inputs (paths relative to the study's folder):

| file | SHA-256 | bytes |
|---|---|---|
{inputs}

Package versions, platform, seed ({manifest['seed']}) and timings are in `manifest.json`.
"""
