"""One report of a batch: its specification, its content hash, and running it in isolation.

A :class:`ReportJob` is plain data (it crosses process and machine boundaries
to a Dask worker). :func:`execute_job` runs it: the template executes in its
own kernel in a child process (:func:`evalkit.run.execute.run_notebook`), is
exported to offline HTML and gets its own ``results.json`` and
``manifest.json``; the folder is built beside its final place and swapped in
only when complete. A failure never touches the last good report: the partial
build goes to the batch's ``failed/<id>`` area, and the failure is returned as
a record (kind, masked message), never raised, so one report cannot take the
batch down.

Only infrastructure failures are retried: a kernel that did not start (up to
3 attempts, with jittered back-off) and a kernel that died (once). A cell that
raises, a timeout, or bad parameters fail at once: running them again would
give the same answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import traceback
from pathlib import Path
from typing import Any

from attrs import asdict, frozen

from evalkit.errors import EvalkitError, NotebookTemplateError, ParameterError, RunError
from evalkit.privacy import mask_personal_text

__all__ = ["ReportJob", "execute_job", "job_hash", "RETRIES"]

#: attempts allowed per failure kind (all other kinds: 1)
RETRIES = {"kernel_start": 3, "kernel_died": 2}


@frozen
class ReportJob:
    """Everything needed to make one report, as JSON-like values (absolute paths as text)."""

    id: str  # "community-<id>" or "programme"
    kind: str  # "community" or "programme"
    template: str
    template_sha256: str
    parameters: dict[str, Any]  # without output_dir (set per build) and run_id
    study_dir: str
    config: str
    final_dir: str
    failed_dir: str
    run_id: str
    language: str
    seed: int
    study_key: str
    environment_sha256: str
    env: dict[str, str]
    cell_timeout: int = 600
    wall_timeout: int = 900

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hash_basis(job: ReportJob) -> dict[str, Any]:
    """What a report's outputs depend on: inputs and config (study key), template, parameters, environment."""
    return {"study": job.study_key, "template": job.template_sha256, "parameters": job.parameters,
            "language": job.language, "environment": job.environment_sha256, "run_id": job.run_id}


def job_hash(job: ReportJob) -> str:
    return hashlib.sha256(json.dumps(hash_basis(job), sort_keys=True).encode()).hexdigest()


def execute_job(job: ReportJob, *, sleep: Any = time.sleep) -> dict[str, Any]:
    """Run one report; return its record (``status`` succeeded/failed, ``kind``, ``message``, ``outputs``)."""
    started = time.perf_counter()
    attempts = 0
    while True:
        attempts += 1
        try:
            outputs = _build(job)
        except Exception as exc:  # every failure becomes a record; the batch goes on
            kind = _classify(exc)
            if attempts < RETRIES.get(kind, 1):
                sleep(random.uniform(0.5, 1.5) * attempts)  # jitter: retries do not start in lockstep
                continue
            # the partial build now lives in failed_dir, not in the temporary folder the message names
            message = re.sub(r"\S*\.building-[0-9a-f]{8}", job.failed_dir, _masked_message(exc))
            return {"id": job.id, "status": "failed", "kind": kind, "attempts": attempts, "message": message, "seconds": round(time.perf_counter() - started, 3),
                    "hash": job_hash(job), "outputs": {}}
        return {"id": job.id, "status": "succeeded", "kind": None, "attempts": attempts, "message": "",
                "seconds": round(time.perf_counter() - started, 3), "hash": job_hash(job),
                "hash_basis": hash_basis(job), "outputs": outputs}


def _classify(exc: BaseException) -> str:
    if isinstance(exc, RunError):
        return exc.kind
    if isinstance(exc, NotebookTemplateError):
        return "template"
    if isinstance(exc, ParameterError | EvalkitError):
        return "validation"
    if isinstance(exc, OSError):
        return "io"
    return "internal"


def _masked_message(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, EvalkitError | OSError) else (
        f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_exception(exc)[-3:])}")
    return mask_personal_text(text)[-4000:]


def _build(job: ReportJob) -> dict[str, str]:
    from evalkit.run.atomic import write_json_atomic, write_report_atomically, write_text_atomic
    from evalkit.run.execute import run_notebook
    from evalkit.run.export import export_html
    from evalkit.run.manifest import build_manifest, output_hashes, relative_to, with_outputs
    from evalkit.run.paths import template_path
    from evalkit.reporting.docx_writer import write_run_docx
    from evalkit.run.pipeline import html_postprocess, merge_results, publishable_notebook, reproduce_text

    template = Path(job.template)
    study_dir = Path(job.study_dir)
    final_dir = Path(job.final_dir)

    def build(tmp: Path) -> None:
        t0 = time.perf_counter()
        params = {**job.parameters, "output_dir": relative_to(tmp, study_dir)}
        run = run_notebook(template, parameters=params, output_path=tmp / template.name, run_id=job.run_id,
                           cell_timeout=job.cell_timeout, wall_timeout=job.wall_timeout, cwd=study_dir,
                           env=job.env)
        t1 = time.perf_counter()
        export_html(tmp / template.name, tmp / f"{template.stem}.html", lang=job.language,  # type: ignore[arg-type]
                    postprocess=html_postprocess())
        write_run_docx(tmp, lang=job.language)  # type: ignore[arg-type]  # the Word file, listed in the manifest's outputs
        write_json_atomic(tmp / "results.json", merge_results(tmp))
        publishable_notebook(tmp / template.name)
        manifest = build_manifest(
            run_id=job.run_id, kind=job.kind, study_dir=study_dir, config=job.config,
            inputs=_study_inputs(job.config), parameters={template.name: job.parameters}, seed=job.seed,
            language=job.language, notebooks=[{"template": template.name, "template_path": template_path(template),
                                               "template_sha256": job.template_sha256,
                                               "seconds": round(run.seconds, 3)}],
            timings={"notebook": run.seconds, "export": time.perf_counter() - t1,
                     "total": time.perf_counter() - t0},
            study={"folder_from_report": relative_to(study_dir, final_dir)},
            reproduce=f"evalkit reproduce {relative_to(final_dir / 'manifest.json', study_dir)}",
            extra={"batch_job": {"id": job.id, "hash": job_hash(job)}},
        )
        write_text_atomic(tmp / "REPRODUCE.md", reproduce_text(manifest, job.language))
        write_json_atomic(tmp / "manifest.json", with_outputs(manifest, tmp))

    write_report_atomically(build, final_dir, failed_dir=Path(job.failed_dir))
    return output_hashes(final_dir)


def _study_inputs(config: str) -> list[Path]:
    from evalkit.config import load_config

    return load_config(config).input_files()
