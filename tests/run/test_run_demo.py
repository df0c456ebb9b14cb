"""End to end: `evalkit run` executes the report notebooks with real kernels on the demo city.

One run (module-scoped: it costs ~30 s) is checked for everything a reviewer relies on: the
report files, headline numbers equal to the package computed directly, the manifest's hashes,
the synthetic-data banner, and that no personal data reached any artefact.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from evalkit.cli import main
from evalkit.errors import RunError
from evalkit.intake.load import load_study
from evalkit.run.paths import demo_config
from evalkit.run.pipeline import report_templates, run_study
from evalkit.profiling import profile_study

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_config(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def report(demo, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    assert main(["run", str(demo), "--run-id", "r1", "--reports", str(reports)]) == 0
    return reports / "r1"


def test_report_folder_has_every_artefact(report):
    for template in report_templates():
        assert (report / template.name).is_file()
        assert (report / f"{template.stem}.html").is_file()
    assert (report / "results.json").is_file() and (report / "manifest.json").is_file()
    assert (report / "figures" / "sample_sizes.png").stat().st_size > 10_000
    assert [p.name for p in report.parent.glob(".*")] == [".cache"]  # no temporary folders left behind


def test_headline_numbers_equal_direct_computation(report, demo):
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    direct = profile_study(load_study(demo)).headline()
    assert results["data_quality"]["n_respondents"] == direct["n_respondents"] > 14_000
    assert results["data_quality"]["n_communities"] == direct["n_communities"] == 48
    assert results["data_quality"]["table_rows"]["services"] >= 100_000


def test_manifest_reproduces_inputs(report, demo):
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    inputs = manifest["inputs"]
    for path in Path(demo).parent.glob("*"):
        if path.suffix in {".csv", ".sav", ".parquet", ".xlsx", ".yaml"} and path.name != "truth.csv":
            assert inputs[path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["seed"] == 20240901
    assert manifest["packages"]["pandas"] == pd.__version__
    assert set(manifest["parameters"]["01_data_quality.ipynb"]) >= {"config_path", "run_id", "lang"}
    assert manifest["parameters"]["01_data_quality.ipynb"]["config_path"] == "study.yaml"
    assert str(Path.home()) not in json.dumps(manifest) and str(demo.parent) not in json.dumps(manifest)
    assert (report / "REPRODUCE.md").is_file()
    for rel, digest in manifest["outputs"].items():
        assert hashlib.sha256((report / rel).read_bytes()).hexdigest() == digest


def test_html_is_chinese_with_synthetic_banner_and_no_code(report):
    html = (report / "01_data_quality.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html
    assert "合成演示数据" in html and "evalkit-synthetic" in html
    assert "@font-face" in html  # bundled font embedded: renders without a system CJK font
    assert "import evalkit" not in html  # code hidden


def test_no_personal_data_in_any_artefact(report, demo):
    raw, _ = pyreadstat.read_sav(str(Path(demo).parent / "survey.sav"))
    secrets = set(raw["身份证号"].astype(str)) | set(raw["手机号"].astype(str))
    names = set(raw["姓名"].astype(str))
    addresses = raw["住址"].astype(str).sample(300, random_state=1).tolist()
    for path in report.rglob("*"):
        if path.suffix in {".html", ".json", ".ipynb"}:
            text = path.read_text(encoding="utf-8")
            numbers = set(re.findall(r"\d{17}[\dX]|1[3-9]\d{9}", text))
            assert not numbers & secrets, path
            # every run of Chinese characters in the file, compared with the planted names/addresses
            runs = set(re.findall(r"[\u4e00-\u9fff]{2,}", text))
            assert not runs & names, (path, sorted(runs & names)[:5])
            assert not {a for a in addresses if a in text}, path


def test_english_report(demo, tmp_path):
    summary = run_study(demo, run_id="en", reports=tmp_path, lang="en", templates=report_templates()[:1])
    html = summary.html[0].read_text(encoding="utf-8")
    assert "SYNTHETIC DEMO DATA" in html and "Sample sizes" in html


def test_failed_rerun_keeps_last_good_report(report, demo, tmp_path):
    good = tmp_path / "reports"
    shutil.copytree(report, good / "r1")
    before = (good / "r1" / "results.json").read_bytes()
    broken = tmp_path / "nb"
    broken.mkdir()
    nb = json.loads(report_templates()[0].read_text(encoding="utf-8"))
    nb["cells"][-2]["source"] = "raise RuntimeError('boom')\n"
    (broken / "01_data_quality.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(RunError, match="boom"):
        run_study(demo, run_id="r1", reports=good, templates=[broken / "01_data_quality.ipynb"])
    assert (good / "r1" / "results.json").read_bytes() == before


def test_results_json_carries_every_published_number(report):
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert {"event_study", "subgroups", "robustness", "many_outcomes", "balance"} <= set(results["impact"])
    assert {"reliability", "icc", "means_by_wave"} <= set(results["measurement"])
    assert results["data_quality"]["tables_shown"]  # every table a report displays is there too


def test_reproduce_passes_with_byte_identical_results(report):
    from evalkit.run.reproduce import reproduce

    outcome = reproduce(report / "manifest.json")
    assert outcome.passed, outcome.render()
    assert outcome.identical, "two runs of the demo must give byte-identical results.json"
    assert outcome.compared > 1000


def test_reproduce_fails_loudly_when_an_input_byte_changes(report, demo, tmp_path, capsys):
    study = tmp_path / "study"
    shutil.copytree(Path(demo).parent, study)
    target = study / "communities.csv"
    data = bytearray(target.read_bytes())
    data[-2] = ord("9") if data[-2] != ord("9") else ord("8")
    target.write_bytes(bytes(data))
    code = main(["reproduce", str(report / "manifest.json"), "--study", str(study)])
    out = capsys.readouterr().out
    assert code == 1
    assert "changed or missing: communities.csv" in out and "NOT REPRODUCED" in out


def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["reproduce", str(tmp_path / "nowhere.json")]) == 2
    err = capsys.readouterr().err
    assert "no such manifest" in err and "Traceback" not in err
    (tmp_path / "data.csv").write_text("姓名,身份证号\n张三,110101199003077777\n", encoding="utf-8")
    assert main(["run", str(tmp_path / "data.csv"), "--reports", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "110101199003077777" not in err and "张三" not in err
