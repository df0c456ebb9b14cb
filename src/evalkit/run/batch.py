"""``evalkit batch``: one report per pilot community, the programme report and an index.

Order of work:

1. Lock the batch folder (:mod:`evalkit.run.lock`): a second batch writing to
   the same folder fails at once, naming the holder.
2. Load and validate the study once and compute the shared estimation once
   (the per-pilot effects), into the batch's content-keyed cache
   (:mod:`evalkit.run.study`); every report kernel reads them from there.
3. Plan one :class:`~evalkit.run.jobs.ReportJob` per pilot (or per
   ``communities``) plus the programme report. With ``resume``, a job whose
   content hash matches a succeeded entry of ``batch.json`` whose output files
   still have their recorded hashes is skipped: no kernel starts.
4. Run the jobs: in local threads, each driving its own isolated kernel process
   (the work is in the kernels, so threads suffice in the parent), or on a Dask
   cluster (``scheduler="tcp://…"``) with one task per report keyed by its
   content hash. Failures are records, never exceptions; ``batch.json`` is
   rewritten atomically after every finished report, so a batch killed at any
   moment resumes from what finished.
5. Write ``index.html`` (every report with its headline number and status),
   ``batch.json`` and the batch ``manifest.json``.

Exit codes (``BatchSummary.exit_code``): 0 all succeeded, 1 some failed,
2 nothing ran.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from attrs import field, frozen

from evalkit.errors import ParameterError
from evalkit.run.atomic import write_json_atomic, write_text_atomic
from evalkit.run.execute import BLAS_ONE_THREAD
from evalkit.run.jobs import ReportJob, execute_job, job_hash
from evalkit.run.lock import folder_lock
from evalkit.run.manifest import environment_hash, relative_to, sha256_file
from evalkit.run.paths import notebooks_dir, reports_dir
from evalkit.run.pipeline import resolve_config
from evalkit.run.study import CACHE_ENV, prepare_study, study_key

__all__ = ["BatchSummary", "run_batch", "batch_templates"]



@frozen
class BatchSummary:
    """What a batch did: one record per report (``status`` succeeded / failed / skipped)."""

    folder: Path
    records: tuple[dict[str, Any], ...] = field(converter=tuple)
    seconds: float
    timings: dict[str, float] = field(factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        out = {"succeeded": 0, "failed": 0, "skipped": 0}
        for r in self.records:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    @property
    def exit_code(self) -> int:
        c = self.counts
        if c["failed"] == 0:
            return 0
        return 1 if c["succeeded"] + c["skipped"] > 0 else 2

    def render(self) -> str:
        c = self.counts
        lines = [f"batch finished in {self.seconds:.1f} s: {c['succeeded']} made, {c['skipped']} unchanged "
                 f"(resumed), {c['failed']} failed → {self.folder / 'index.html'}"]
        for r in self.records:
            if r["status"] == "failed":
                first = r["message"].strip().splitlines()[0] if r["message"].strip() else ""
                lines.append(f"  FAILED {r['id']} ({r['kind']}, {r['attempts']} attempt(s)): {first[:300]}")
        return "\n".join(lines)


def batch_templates(folder: Path | None = None) -> dict[str, Path]:
    """The per-pilot and programme templates (``notebooks/batch/``)."""
    base = (folder or notebooks_dir()) / "batch"
    return {"community": base / "community.ipynb", "programme": base / "programme.ipynb"}


def run_batch(
    config: str | os.PathLike[str] | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    communities: Sequence[str] | None = None,
    lang: str | None = None,
    workers: int | None = None,
    scheduler: str | Any | None = None,
    resume: bool = False,
    wall_timeout: int = 900,
    cell_timeout: int = 600,
    progress: bool = False,
    templates: dict[str, Path] | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> BatchSummary:
    """Make every pilot's report, the programme report and the index (see the module docstring).

    Parameters
    ----------
    config
        The study config; None uses the synthetic demo city.
    out
        The batch folder (default ``reports/batch-<study folder name>``).
    communities
        Pilot community ids (default: every pilot). Each must be in the registry and a pilot.
    workers
        Reports in parallel on this machine (default: the number of CPUs).
    scheduler
        A Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client``: run there.
    resume
        Skip reports whose inputs, template, parameters and environment are unchanged and whose
        outputs are intact.
    templates
        ``{"community": path, "programme": path}``; default :func:`batch_templates`.
    cache
        The content-keyed cache of shared estimation (default ``<out>/.cache``).
    """
    started = time.perf_counter()
    cfg = resolve_config(config)
    lang = lang or ("en" if cfg.language == "en" else "zh")
    if lang not in {"zh", "en"}:
        msg = f"lang {lang!r} is not a report language; use zh or en."
        raise ParameterError(msg)
    study_dir = Path(cfg.path).parent.resolve()
    folder = (Path(out) if out is not None else reports_dir() / f"batch-{study_dir.name}").resolve()
    templates = templates or batch_templates()
    timings: dict[str, float] = {}
    with folder_lock(folder):
        _remove_stale_builds(folder)
        cache_dir = Path(cache).resolve() if cache is not None else folder / ".cache"
        t0 = time.perf_counter()
        study = _shared_estimation(cfg, cache_dir)
        timings["shared_estimation"] = time.perf_counter() - t0
        pilots = _pilots(study, communities)
        jobs = _plan(cfg, study_dir, folder, cache_dir, pilots, templates, lang, wall_timeout, cell_timeout, workers)
        previous = _read_records(folder) if resume else {}
        todo, records = [], {}
        for job in jobs:
            old = previous.get(job.id)
            if old is not None and _unchanged(old, job):
                records[job.id] = {**old, "status": "skipped", "seconds": 0.0}
            else:
                todo.append(job)
        t1 = time.perf_counter()
        with _progress_bar(len(jobs), len(jobs) - len(todo), enabled=progress) as bar:
            def done(record: dict[str, Any]) -> None:
                records[record["id"]] = record
                _write_records(folder, records)
                bar(record)

            if scheduler is not None:
                _run_on_dask(todo, scheduler, done)
            else:
                _run_locally(todo, workers or os.cpu_count() or 1, done)
        timings["reports"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        _mark_publishable(folder, jobs, records)
        timings["audit"] = time.perf_counter() - t2
        ordered = [records[j.id] for j in jobs]
        _write_records(folder, records)
        _write_index(folder, study, pilots, ordered, lang)
        timings["total"] = time.perf_counter() - started
        _write_batch_manifest(folder, cfg, study_dir, jobs, ordered, lang, timings)
    return BatchSummary(folder=folder, records=tuple(ordered), seconds=time.perf_counter() - started,
                        timings=timings)


# --------------------------------------------------------------------------- planning


def _remove_stale_builds(folder: Path) -> None:
    """Half-built report folders of a killed batch (never at a final path) are removed under the lock."""
    import shutil

    for pattern in ("*/.*.building-*", "*/.*.old-*", ".*.building-*", ".*.old-*", "**/.*.tmp-*"):
        for stale in folder.glob(pattern):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _shared_estimation(cfg: Any, cache: Path) -> Any:
    """Load the study and compute what every report shares, once, into ``cache``."""
    from evalkit.run import study as cached

    study = prepare_study(cfg, cache)
    with _env(CACHE_ENV, str(cache)):
        cached.community_effects(study)
        cached.analyse_programme(study)  # as the per-pilot template calls it
    return study


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _pilots(study: Any, communities: Sequence[str] | None) -> list[str]:
    import difflib

    pilots = [str(c) for c in study.treated_ids()]
    if communities is None:
        return pilots
    registry = set(study.tables["communities"]["community_id"].astype(str))
    problems = []
    for c in communities:
        if not isinstance(c, str) or c not in registry:
            close = difflib.get_close_matches(str(c), sorted(registry), n=2)
            problems.append(f"{c!r} is not in the community registry"
                            + (f" (did you mean {', '.join(close)}?)" if close else ""))
        elif c not in pilots:
            problems.append(f"{c!r} is not a pilot (per-pilot reports are made for pilots only)")
    if problems:
        msg = "--communities: " + "; ".join(problems) + ". Nothing was run."
        raise ParameterError(msg)
    return list(dict.fromkeys(communities))


def _plan(cfg: Any, study_dir: Path, folder: Path, cache: Path, pilots: list[str], templates: dict[str, Path],
          lang: str, wall_timeout: int, cell_timeout: int, workers: int | None) -> list[ReportJob]:
    from evalkit.run.params import read_parameter_schema, validate_parameters

    key = study_key(cfg)
    env_hash = environment_hash()
    env = {CACHE_ENV: str(cache), **BLAS_ONE_THREAD}
    common = {"config_path": relative_to(cfg.path, study_dir), "lang": lang}
    plans = [("community", f"community-{c}", {**common, "community_id": c}, folder / "communities" / c)
             for c in pilots]
    plans.append(("programme", "programme", dict(common), folder / "programme"))
    jobs = []
    for kind, job_id, params, final in plans:
        template = templates[kind]
        schema = read_parameter_schema(template)
        checked = validate_parameters(schema, {k: v for k, v in params.items() if k in schema})
        jobs.append(ReportJob(
            id=job_id, kind=kind, template=str(template), template_sha256=sha256_file(template),
            parameters=checked, study_dir=str(study_dir), config=str(cfg.path), final_dir=str(final),
            failed_dir=str(folder / "failed" / job_id), run_id=job_id, language=lang, seed=cfg.seed,
            study_key=key, environment_sha256=env_hash, env=env, cell_timeout=cell_timeout,
            wall_timeout=wall_timeout))
    return jobs


def _unchanged(record: dict[str, Any], job: ReportJob) -> bool:
    """A succeeded record with the same content hash whose outputs are still byte-for-byte intact."""
    if record.get("status") not in {"succeeded", "skipped"} or record.get("hash") != job_hash(job):
        return False
    final = Path(job.final_dir)
    outputs = record.get("outputs") or {}
    if not outputs or not (final / "manifest.json").is_file():
        return False
    for rel, digest in outputs.items():
        path = final / rel
        if not path.is_file() or sha256_file(path) != digest:
            return False
    return True


# --------------------------------------------------------------------------- executing


def _run_locally(jobs: list[ReportJob], workers: int, done: Any) -> None:
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="evalkit-report") as pool:
        pending: set[Future[dict[str, Any]]] = {pool.submit(execute_job, job) for job in jobs}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done(fut.result())


def _run_on_dask(jobs: list[ReportJob], scheduler: str | Any, done: Any) -> None:
    """One Dask task per report, keyed by its content hash; results collected as they complete."""
    from distributed import Client, as_completed

    own = isinstance(scheduler, str)
    client = Client(scheduler, set_as_default=False) if own else scheduler
    try:
        futures = [client.submit(execute_job, job, key=f"evalkit-report-{job_hash(job)[:20]}", pure=False)
                   for job in jobs]
        for fut in as_completed(futures, loop=client.loop):
            try:
                done(fut.result())
            except Exception as exc:  # the worker itself was lost: a record, not a crash
                job = jobs[futures.index(fut)]
                done({"id": job.id, "status": "failed", "kind": "worker_lost", "attempts": 1,
                      "message": f"the Dask worker running this report was lost ({type(exc).__name__})",
                      "seconds": 0.0, "hash": job_hash(job), "outputs": {}})
    finally:
        if own:
            client.close()


@contextlib.contextmanager
def _progress_bar(total: int, skipped: int, *, enabled: bool) -> Iterator[Any]:
    """A tqdm bar showing done / failed / remaining with an ETA; a no-op when disabled."""
    if not enabled:
        yield lambda record: None
        return
    from tqdm import tqdm

    counts = {"done": skipped, "failed": 0}
    with tqdm(total=total, initial=skipped, unit="report", dynamic_ncols=True, desc="evalkit batch") as bar:
        def update(record: dict[str, Any]) -> None:
            counts["failed" if record["status"] == "failed" else "done"] += 1
            bar.set_postfix(done=counts["done"], failed=counts["failed"],
                            remaining=total - counts["done"] - counts["failed"])
            bar.update(1)

        yield update


# --------------------------------------------------------------------------- records and index


def _mark_publishable(folder: Path, jobs: list[ReportJob], records: dict[str, dict[str, Any]]) -> None:
    """Audit every report folder once (``evalkit audit``); a report with findings is not publishable."""
    from evalkit.run.pipeline import publication_audit

    for job in jobs:
        record = records[job.id]
        final = Path(job.final_dir)
        if record["status"] == "failed" or not final.is_dir():
            record["publishable"] = False
            continue
        if record["status"] == "skipped" and "publishable" in record:
            continue  # unchanged outputs, unchanged verdict
        verdict = publication_audit(final, exclude=("manifest.json",))
        record["publishable"] = verdict["publishable"]
        record["audit_findings"] = verdict["findings"]
    _write_records(folder, records)


def _read_records(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / "batch.json"
    if not path.is_file():
        return {}
    try:
        return {r["id"]: r for r in json.loads(path.read_text(encoding="utf-8"))["reports"]}
    except (ValueError, KeyError, TypeError):
        return {}  # unreadable record: everything is re-run


def _write_records(folder: Path, records: dict[str, dict[str, Any]]) -> None:
    write_json_atomic(folder / "batch.json", {"reports": [records[k] for k in sorted(records)]})


def _headline(folder: Path, record: dict[str, Any], outcome: str) -> dict[str, Any] | None:
    if record["status"] == "failed" or not record["id"].startswith("community-"):
        return None
    path = folder / "communities" / record["id"].removeprefix("community-") / "results.json"
    try:
        effects = json.loads(path.read_text(encoding="utf-8"))["community"]["effects"]
        return effects.get(outcome)
    except (OSError, ValueError, KeyError):
        return None


_INDEX_TEXT = {
    "zh": {"title": "试点报告索引", "community": "社区", "programme": "试点类型", "effect": "{outcome}效应 [95% 区间]",
           "status": "状态", "report": "报告", "ok": "已生成", "failed": "失败", "skipped": "未变化（沿用）",
           "programme_report": "试点项目总报告", "not_publishable": "（未通过发布审查，勿公开）", "open": "打开", "synthetic": "合成演示数据：所有社区和数字均为虚构。",
           "failed_note": "失败的报告不影响其他报告；失败原因见 batch.json，部分结果保存在 failed/ 文件夹。"},
    "en": {"title": "Pilot reports", "community": "Community", "programme": "Programme",
           "effect": "Effect on {outcome} [95% interval]", "status": "Status", "report": "Report",
           "ok": "made", "failed": "failed", "skipped": "unchanged (kept)", "programme_report": "Programme report",
           "not_publishable": " (failed the publication audit: do not publish)",
           "open": "open", "synthetic": "SYNTHETIC DEMO DATA: all communities and numbers are invented.",
           "failed_note": "A failed report does not affect the others; the reason is in batch.json and the "
                          "partial output in failed/."},
}


def _write_index(folder: Path, study: Any, pilots: list[str], records: list[dict[str, Any]], lang: str) -> None:
    from evalkit.reporting.html_fonts import embed_cjk_font
    from evalkit.reporting.pilot_display import value_label

    t = _INDEX_TEXT[lang]
    outcome = study.config.outcomes[0]
    label = study.codebook.construct_label(outcome, lang)
    reg = study.tables["communities"].set_index("community_id")
    prog = study.pilots.set_index("community_id")["programme"]
    status_word = {"succeeded": t["ok"], "skipped": t["skipped"], "failed": t["failed"]}
    held = t["not_publishable"]
    rows = []
    for r in records:
        if r["id"] == "programme":
            continue
        cid = r["id"].removeprefix("community-")
        head = _headline(folder, r, outcome)
        effect = "—" if not head or head.get("estimate") is None else (
            f"{head['estimate']:.2f} [{head['ci_lower']:.2f}, {head['ci_upper']:.2f}]")
        link = (f"<a href='communities/{html.escape(cid)}/community.html'>{t['open']}</a>"
                if r["status"] != "failed" else "—")
        rows.append(f"<tr><td>{html.escape(str(reg['community_name'].get(cid, cid)))}</td>"
                    f"<td>{html.escape(value_label(prog.get(cid, ''), lang))}</td><td>{effect}</td>"
                    f"<td class='{r['status']}'>{status_word[r['status']]}"
                    f"{'' if r.get('publishable', True) or r['status'] == 'failed' else held}</td>"
                    f"<td>{link}</td></tr>")
    programme = next((r for r in records if r["id"] == "programme"), None)
    programme_link = (f"<p><a href='programme/programme.html'>{t['programme_report']}</a></p>"
                      if programme and programme["status"] != "failed" else
                      f"<p>{t['programme_report']}: {t['failed']}</p>")
    synthetic = f"<div class='synthetic'>{t['synthetic']}</div>" if study.config.synthetic else ""
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{html.escape(t['title'])} · {html.escape(study.config.name)}</title>
<style>body{{max-width:960px;margin:2em auto;padding:0 1em}} table{{border-collapse:collapse;width:100%}}
th,td{{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left}} th{{background:#f4f4f4}}
td.failed{{color:#b03a2e;font-weight:bold}} .synthetic{{border:3px solid #c0392b;background:#fdecea;
color:#7b241c;padding:10px 14px;margin:8px 0 16px;font-weight:bold;border-radius:6px}}
@media print{{a{{color:black;text-decoration:none}}}}</style></head>
<body><h1>{html.escape(t['title'])}：{html.escape(study.config.name)}</h1>{synthetic}{programme_link}
<table><thead><tr><th>{t['community']}</th><th>{t['programme']}</th>
<th>{html.escape(t['effect'].format(outcome=label))}</th><th>{t['status']}</th><th>{t['report']}</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table><p>{t['failed_note']}</p></body></html>
"""
    if lang == "en":
        page = page.replace("：", ": ")
    write_text_atomic(folder / "index.html", embed_cjk_font(page, where="batch index"))


def _write_batch_manifest(folder: Path, cfg: Any, study_dir: Path, jobs: list[ReportJob],
                          records: list[dict[str, Any]], lang: str, timings: dict[str, float]) -> None:
    from evalkit.run.manifest import build_manifest

    manifest = build_manifest(
        run_id=folder.name, kind="batch", study_dir=study_dir, config=cfg.path, inputs=cfg.input_files(),
        parameters={j.id: j.parameters for j in jobs}, seed=cfg.seed, language=lang,
        study={"name": cfg.name, "synthetic": cfg.synthetic, "folder_from_report": relative_to(study_dir, folder)},
        timings=timings,
        reproduce=f"evalkit batch {relative_to(cfg.path, study_dir)} --out {relative_to(folder, study_dir)}",
        extra={"reports": [{"id": r["id"], "status": r["status"], "kind": r["kind"], "hash": r["hash"]}
                           for r in records]},
    )
    write_json_atomic(folder / "manifest.json", manifest)
