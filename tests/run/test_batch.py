"""``evalkit batch``: per-pilot reports in isolated kernels, failures kept apart, resume, lock, Dask.

Most tests use tiny templates written here (a parameters cell, one line of work, the completion
marker), so they measure the batch machinery rather than the analysis; one test runs the real
per-pilot and programme templates on the demo city. The shared estimation cache is shared
between tests (it is keyed by content, so sharing it is what a user's repeated batches do).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from docx import Document

from evalkit.errors import ParameterError, RunError
from evalkit.reporting import write_run_docx
from evalkit.run import jobs as jobs_module
from evalkit.run.batch import batch_templates, run_batch
from evalkit.run.lock import FolderLockedError, folder_lock
from evalkit.run.paths import demo_config

pytestmark = pytest.mark.notebooks

PILOTS = ["043001002", "043001003", "058001002"]


def _recorded(out: Path, job_id: str) -> bool:
    """Whether batch.json already records ``job_id`` as made (the batch's own record of progress)."""
    try:
        records = json.loads((out / "batch.json").read_text(encoding="utf-8"))["reports"]
    except (OSError, ValueError, KeyError):
        return False
    return any(r["id"] == job_id and r["status"] == "succeeded" for r in records)


def _kernels_in(folder: Path) -> list[int]:
    """Kernel processes working in ``folder`` (report kernels run in the study's folder)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if "ipykernel" in " ".join(proc.cmdline()) and Path(proc.cwd()) == Path(folder):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _tiny_template(path: Path, *, fail_on: str = "", sleep_on: str = "", die_on: str = "") -> Path:
    """A report template that writes one number, and fails / hangs / dies for one community."""
    source = f"""\
import json, os, pathlib, time
if community_id and community_id == {fail_on!r}:
    raise ValueError("planned failure for " + community_id)
if community_id and community_id == {sleep_on!r}:
    time.sleep(600)
if community_id and community_id == {die_on!r}:
    os._exit(1)
if output_dir:
    pathlib.Path(output_dir, "results-community.json").write_text(
        json.dumps({{"community_id": community_id, "value": sum(map(int, community_id)) / 7}}))
print("report for", community_id)
"""
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# 小报告"},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": None,
         "source": 'config_path: str = ""  # study\ncommunity_id: str = ""  # pilot\nlang: str = "zh"  # one of: zh, en\n'
                   'output_dir: str = ""  # outputs\nrun_id: str = ""  # set by the runner\n'},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import evalkit as ek\nek.mark_complete(run_id)"},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                      "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_config(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def _templates(folder: Path, **kw: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    community = _tiny_template(folder / "community.ipynb", **kw)
    programme = _tiny_template(folder / "programme.ipynb")
    return {"community": community, "programme": programme}


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and p.suffix in {".html", ".png"} | ({".json"} if p.name == "results.json" else set())}


def test_a_failing_report_does_not_stop_the_others_and_resume_completes_it(demo, cache, tmp_path):
    out = tmp_path / "batch"
    broken = _templates(tmp_path / "t1", fail_on=PILOTS[1])
    summary = run_batch(demo, out=out, communities=PILOTS, templates=broken, cache=cache, workers=2)
    status = {r["id"]: r for r in summary.records}
    assert status[f"community-{PILOTS[1]}"]["status"] == "failed"
    assert status[f"community-{PILOTS[1]}"]["kind"] == "execution"
    assert status[f"community-{PILOTS[1]}"]["attempts"] == 1  # a cell error is not retried
    assert "planned failure" in status[f"community-{PILOTS[1]}"]["message"]
    assert summary.exit_code == 1
    for c in (PILOTS[0], PILOTS[2]):
        assert json.loads((out / "communities" / c / "results.json").read_text())["community"]["community_id"] == c
    assert not (out / "communities" / PILOTS[1]).exists()  # never a partial report at a final path
    assert (out / "failed" / f"community-{PILOTS[1]}" / "community.ipynb").is_file()  # kept for debugging
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "失败" in index and f"communities/{PILOTS[0]}/community.html" in index

    fixed = _templates(tmp_path / "t1")  # same bytes as broken except the failing line
    before = {c: (out / "communities" / c / "results.json").read_bytes() for c in (PILOTS[0], PILOTS[2])}
    # the template changed, so every community report is out of date: all re-run
    again = run_batch(demo, out=out, communities=PILOTS, templates=fixed, cache=cache, resume=True, workers=2)
    assert again.exit_code == 0 and again.counts["failed"] == 0
    # nothing changed since: a third resume starts no kernel at all
    third = run_batch(demo, out=out, communities=PILOTS, templates=fixed, cache=cache, resume=True, workers=2)
    assert third.counts == {"succeeded": 0, "failed": 0, "skipped": len(PILOTS) + 1}
    for c, data in before.items():
        assert (out / "communities" / c / "results.json").read_bytes() == data


def test_resume_rebuilds_a_report_whose_output_was_damaged(demo, cache, tmp_path):
    out = tmp_path / "batch"
    templates = _templates(tmp_path / "t")
    run_batch(demo, out=out, communities=PILOTS[:2], templates=templates, cache=cache, workers=2)
    damaged = out / "communities" / PILOTS[0] / "results.json"
    damaged.write_text("{}", encoding="utf-8")
    again = run_batch(demo, out=out, communities=PILOTS[:2], templates=templates, cache=cache, resume=True)
    status = {r["id"]: r["status"] for r in again.records}
    assert status[f"community-{PILOTS[0]}"] == "succeeded" and status[f"community-{PILOTS[1]}"] == "skipped"
    assert json.loads(damaged.read_text())["community"]["community_id"] == PILOTS[0]


def test_killed_batch_leaves_no_partial_file_and_resumes_to_identical_outputs(demo, cache, tmp_path):
    templates = _templates(tmp_path / "t")
    reference = tmp_path / "reference"
    run_batch(demo, out=reference, communities=PILOTS, templates=templates, cache=cache, workers=1)

    out = tmp_path / "killed"
    code = (f"from evalkit.run.batch import run_batch; run_batch({str(demo)!r}, out={str(out)!r}, "
            f"communities={PILOTS!r}, templates={ {k: str(v) for k, v in templates.items()}!r}, "
            f"cache={str(cache)!r}, workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not _recorded(out, f"community-{PILOTS[0]}"):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and every kernel it started
    proc.wait()
    for final in (out / "communities").iterdir():
        if final.is_dir() and not final.name.startswith("."):  # every folder at a final path is complete
            assert (final / "manifest.json").is_file() and (final / "results.json").is_file()
    assert not list(out.glob("communities/*/*.tmp-*")) and not list(out.glob("**/.*.tmp-*"))

    before = json.loads((out / "batch.json").read_text(encoding="utf-8"))["reports"]
    resumed = run_batch(demo, out=out, communities=PILOTS, templates=templates, cache=cache, resume=True)
    assert resumed.exit_code == 0
    after = {r["id"]: r for r in resumed.records}
    # what finished before the kill was kept (same content hash, outputs intact: no kernel started)
    assert resumed.counts["skipped"] >= 1, [(r["id"], {k: (v, after[r["id"]]["hash_basis"][k])
                                                         for k, v in r["hash_basis"].items()
                                                         if v != after[r["id"]]["hash_basis"][k]})
                                            for r in before]
    assert not list(out.glob("**/.*.building-*"))  # the killed batch's half-built folders were cleared
    for c in PILOTS:
        assert _digests(out / "communities" / c) == _digests(reference / "communities" / c)


def test_timeout_kills_the_kernel_and_kernel_death_is_retried_once(demo, cache, tmp_path):
    templates = _templates(tmp_path / "t", sleep_on=PILOTS[0], die_on=PILOTS[1])
    summary = run_batch(demo, out=tmp_path / "b", communities=PILOTS, templates=templates, cache=cache,
                        wall_timeout=20, workers=2)
    status = {r["id"]: r for r in summary.records}
    assert status[f"community-{PILOTS[0]}"]["kind"] == "timeout"
    assert status[f"community-{PILOTS[1]}"]["kind"] == "kernel_died"
    assert status[f"community-{PILOTS[1]}"]["attempts"] == 2
    assert status[f"community-{PILOTS[2]}"]["status"] == "succeeded"
    time.sleep(1)
    assert not _kernels_in(demo.parent), "a kernel process was left behind"


def test_kernel_start_failures_are_retried_with_backoff(monkeypatch, tmp_path):
    calls = []

    def flaky(job):
        calls.append(job.id)
        if len(calls) < 3:
            raise RunError("kernel did not start", kind="kernel_start")
        return {"results.json": "x"}

    monkeypatch.setattr(jobs_module, "_build", flaky)
    job = jobs_module.ReportJob(
        id="community-1", kind="community", template="t.ipynb", template_sha256="0", parameters={},
        study_dir=str(tmp_path), config="study.yaml", final_dir=str(tmp_path / "f"), failed_dir=str(tmp_path / "x"),
        run_id="community-1", language="zh", seed=1, study_key="k", environment_sha256="e", env={})
    slept = []
    record = jobs_module.execute_job(job, sleep=slept.append)
    assert record["status"] == "succeeded" and record["attempts"] == 3 and len(slept) == 2
    calls.clear()
    monkeypatch.setattr(jobs_module, "_build", lambda job: (_ for _ in ()).throw(
        RunError("cell 3 raised ValueError: 身份证号 430102199001011234", kind="execution")))
    record = jobs_module.execute_job(job, sleep=slept.append)
    assert record["status"] == "failed" and record["attempts"] == 1 and record["kind"] == "execution"
    assert "430102199001011234" not in record["message"] and "430***********1234" in record["message"]


def test_a_second_batch_on_the_same_folder_fails_fast_naming_the_holder(demo, tmp_path):
    with folder_lock(tmp_path / "b"):
        with pytest.raises(FolderLockedError, match=rf"process {os.getpid()} on"):
            run_batch(demo, out=tmp_path / "b", communities=PILOTS[:1])


def test_unknown_or_non_pilot_communities_are_refused_before_any_kernel(demo, cache, tmp_path):
    with pytest.raises(ParameterError, match=r"'9999' is not in the community registry.*'043001001' is not a pilot"):
        run_batch(demo, out=tmp_path / "b", communities=["9999", "043001001"], cache=cache)
    assert not (tmp_path / "b" / "communities").exists()


def test_batch_runs_on_a_dask_cluster(demo, cache, tmp_path):
    from distributed import LocalCluster

    templates = _templates(tmp_path / "t")
    blas = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=blas) as cluster:
        summary = run_batch(demo, out=tmp_path / "b", communities=PILOTS, templates=templates, cache=cache,
                            scheduler=cluster.scheduler_address)
    assert summary.exit_code == 0 and summary.counts["succeeded"] == len(PILOTS) + 1
    for c in PILOTS:
        assert json.loads((tmp_path / "b" / "communities" / c / "results.json").read_text())["community"]["value"] \
            == pytest.approx(sum(map(int, c)) / 7)


@pytest.mark.slow
def test_real_pilot_and_programme_reports(demo, cache, tmp_path):
    """The shipped templates on the demo city: every pilot asked for, the programme report and the index."""
    summary = run_batch(demo, out=tmp_path / "b", communities=PILOTS[:2], cache=cache, workers=2)
    assert summary.exit_code == 0, summary.render()
    out = tmp_path / "b"
    for c in PILOTS[:2]:
        html = (out / "communities" / c / "community.html").read_text(encoding="utf-8")
        assert "试点评估报告" in html and "合成演示数据" in html and "<script src=\"http" not in html
        results = json.loads((out / "communities" / c / "results.json").read_text())["community"]
        assert set(results["effects"]) == {"gain", "happiness", "security", "belonging", "satisfaction",
                                           "participation"}
        manifest = json.loads((out / "communities" / c / "manifest.json").read_text())
        assert manifest["parameters"]["community.ipynb"]["community_id"] == c
        assert str(tmp_path) not in json.dumps(manifest)
        # a report document: summary up front, numbered captions; the Word file is made from it
        assert "结论摘要" in html and "表 1" in html and "图 1" in html and "问题与建议" in html
        document = json.loads((out / "communities" / c / "document-community.json").read_text(encoding="utf-8"))
        tables = [b for b in document["blocks"] if b["kind"] == "table"]
        assert [t["label"] for t in tables] == [f"表 {i}" for i in range(1, len(tables) + 1)]
    programme = json.loads((out / "programme" / "results.json").read_text())["programme"]
    assert f"{PILOTS[0]}/gain" in programme["pilots"]
    assert (out / "programme" / "document-programme.json").is_file()
    copy = tmp_path / "copy"  # the batch's own folders keep their hashed outputs
    shutil.copytree(out / "communities" / PILOTS[0], copy)
    (word_file,) = write_run_docx(copy, lang="zh")
    first = json.loads((copy / "document-community.json").read_text(encoding="utf-8"))
    assert word_file.name == "community.docx"
    assert len(Document(str(word_file)).tables) == sum(b["kind"] == "table" for b in first["blocks"])
    assert "programme/programme.html" in (out / "index.html").read_text(encoding="utf-8")
    assert batch_templates()["community"].is_file()
