"""`evalkit plan`: the planning report runs with a programme office's own numbers, and reproduces.

The power formulas themselves are checked against R `pwr` and PowerUpR in tests/power/; here the
report around them: typed `-p` parameters, the numbers it publishes equal the package's, a Word
file, a synthetic-data banner when the simulation used the demo city, and a clear error for a
misspelt parameter.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit import power
from evalkit.cli import main
from evalkit.run.paths import demo_config
from evalkit.run.reproduce import reproduce

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    demo = demo_config(tmp_path_factory.mktemp("demo_plan"))
    reports = tmp_path_factory.mktemp("plans")
    code = main(["plan", str(demo), "-p", "icc", "0.08", "-p", "residents_per_community", "[20, 40]",
                 "-p", "communities", "[12, 24, 48]", "-p", "sim_draws", "4", "-p", "sim_effects", "[0, 0.3]",
                 "--reports", str(reports), "--run-id", "p1"])
    assert code == 0
    return reports / "p1"


def test_plan_report_publishes_the_package_numbers(plan):
    results = json.loads((plan / "results.json").read_text(encoding="utf-8"))["planning"]
    direct = power.power_cluster(n_clusters=[12, 24, 48], cluster_size=[20, 40], icc=0.08, power=0.8,
                                 treated_share=0.5, alpha=0.05, waves_pre=1, waves_post=1, autocorrelation=0.8)
    shown = results["mde"]
    effect = np.array([row[shown["columns"].index("effect")] for row in shown["data"]], dtype=float)
    np.testing.assert_allclose(effect, direct.estimates["effect"].to_numpy(), rtol=1e-12)
    assert len(effect) == 6 and results["simulation"]["data"]


def test_plan_report_files_read_as_a_report(plan):
    html = (plan / "power_planning.html").read_text(encoding="utf-8")
    assert "表 1" in html and "图 1" in html and "最小可检测效应" in html
    assert "合成演示数据" in html  # the simulation ran on the demo city
    assert "import evalkit" not in html and "template-note" not in html
    from docx import Document

    text = "\n".join(p.text for p in Document(str(plan / "power_planning.docx")).paragraphs)
    assert "下一轮调查需要多少个社区" in text
    manifest = json.loads((plan / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["power_planning.ipynb"]["icc"] == 0.08


def test_plan_reproduces(plan):
    outcome = reproduce(plan / "manifest.json")
    assert outcome.passed, outcome.render()


def test_misspelt_parameter_is_named_with_the_known_ones(capsys, tmp_path):
    assert main(["plan", "-p", "iccc", "0.08", "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown planning parameter(s) iccc" in err and "icc, residents_per_community" in err
    assert not any(tmp_path.iterdir())
