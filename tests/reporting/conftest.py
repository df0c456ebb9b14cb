"""Report fixtures: an impact report built from known facts, and the demo study's measurement results.

The impact report is assembled by hand (no estimation) so tests of the reporting layer know
every number it must show; measurement and data-quality results come from the real demo study.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.impact import ImpactReport

OUTCOMES = ["gain", "happiness", "security", "belonging", "satisfaction", "participation"]


def known_impact_report(*, weights: str | None = None) -> ImpactReport:
    """Main ATTs with known numbers: gain 0.28 [0.24, 0.33] with baseline SD 0.8 (0.35 SD), security
    −0.05 [−0.12, 0.02] (not supported), participation 0.129 [0.104, 0.154] on a 0–1 share."""
    est = pd.DataFrame({
        "outcome": OUTCOMES, "label": ["x"] * 6,
        "estimate": [0.28, 0.133, -0.05, 0.197, 0.298, 0.129],
        "std_error": [0.024, 0.023, 0.03, 0.027, 0.028, 0.0137],
        "ci_lower": [0.24, 0.075, -0.12, 0.149, 0.234, 0.104],
        "ci_upper": [0.33, 0.191, 0.02, 0.245, 0.363, 0.154],
        "p_value": [0.0004, 0.001, 0.12, 0.001, 0.001, 0.001],
        "inference": ["multiplier_bootstrap"] * 6, "n_clusters": [48] * 6, "n_treated_clusters": [32] * 6,
        "pretrend_p": [0.099, 0.067, 0.46, 0.018, 0.77, 0.10],
        "baseline_sd": [0.8, 0.78, 0.77, 0.76, 0.76, 0.35],
    })
    design = pd.DataFrame({"cohort": [0, 2021, 2022], "programme": ["comparison", "sanshe", "wushe"],
                           "communities": [16, 10, 22], "respondents": [4764, 2969, 6620],
                           "group": ["comparison", "pilot", "pilot"]})
    balance = pd.DataFrame({"variable": ["age", "female", "college", "gain"], "label": ["x"] * 4,
                            "mean_pilot": [53.7, 0.586, 0.23, 3.65], "mean_comparison": [54.0, 0.592, 0.18, 3.44],
                            "smd": [-0.019, -0.013, 0.124, 0.293]})
    robust = pd.DataFrame([{"outcome": o, "label": "x", "design": d, "estimate": 0.2, "ci_lower": 0.1,
                            "ci_upper": 0.3, "inference": m}
                           for o in OUTCOMES for d, m in (("cs_never_treated", "multiplier_bootstrap"),
                                                          ("cs_not_yet_treated", "multiplier_bootstrap"),
                                                          ("twfe", "wild_bootstrap"))])
    rows = []
    for by, (a, b) in {"age_band": ("60_plus", "under_60"), "hukou": ("local", "migrant"),
                       "gender": ("female", "male")}.items():
        for o in OUTCOMES:
            p_equal = 0.001 if (by, o) == ("age_band", "gain") else 0.4
            for term, n in ((f"treat:post[{a}]", 11314.0), (f"treat:post[{b}]", 9000.0),
                            (f"difference [{b}] − [{a}]", np.nan)):
                rows.append({"by": by, "outcome": o, "term": term, "estimate": 0.2, "ci_lower": 0.1,
                             "ci_upper": 0.3, "p_value": 0.01, "p_equal_effects": p_equal, "n_obs": n,
                             "p_equal_bh": min(1.0, p_equal * 18)})
    many = pd.DataFrame({"term": [*OUTCOMES, "klk_index"], "estimate": 0.2, "ci_lower": 0.1, "ci_upper": 0.3,
                         "p_value": 0.001, "p_bh": [0.001] * 6 + [np.nan], "p_romano_wolf": [0.01] * 6 + [np.nan]})
    caveats = (
        {"code": "clusters", "n_clusters": 48, "n_treated": 32, "methods": ["multiplier_bootstrap"]},
        {"code": "inference_switched", "method": "multiplier_bootstrap", "requested": "auto", "n_clusters": 48,
         "n_treated": 32},
        {"code": "pretrend_failed", "outcome": "belonging", "p": 0.018},
        {"code": "baseline_imbalance", "variables": ["college", "gain"]},
        {"code": "repeated_cross_section"},
        {"code": "synthetic"},
    )
    return ImpactReport(estimates=est, design=design, balance=balance, robustness=robust,
                        subgroups=pd.DataFrame(rows), many_outcomes=many, caveats=caveats, weights=weights,
                        event_study=pd.DataFrame())


@pytest.fixture(scope="session")
def demo_study():
    return ek.load_study(ek.demo_config())


@pytest.fixture(scope="session")
def demo_measurement(demo_study):
    study = demo_study
    return ek.measure(study.survey, study.codebook, population=study.tables.get("population"),
                      constructs=list(study.config.outcomes), min_share=study.config.min_items_answered)


@pytest.fixture(scope="session")
def demo_profile(demo_study):
    return ek.profile_study(demo_study, min_cell=30)


@pytest.fixture
def impact_report():
    return known_impact_report()


@pytest.fixture(scope="session")
def make_impact_report():
    return known_impact_report


# ---- headless Chromium on a machine without CJK fonts ---------------------------------------


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("Chromium not installed (/usr/bin/chromium); CI installs it: apt-get install -y chromium")


@pytest.fixture
def browser(tmp_path):
    """Run headless Chromium on a file with a fontconfig that knows only DejaVu Sans."""
    executable = _chromium()
    font_dir = tmp_path / "fonts"
    font_dir.mkdir()
    shutil.copy(Path(mpl.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", font_dir)
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{font_dir}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FONTCONFIG_FILE": str(config), "LANG": "C.UTF-8"}
    runs = iter(range(100))

    def run(html: str, *mode: str) -> str:
        n = next(runs)
        page = tmp_path / f"page{n}.html"
        page.write_text(html, encoding="utf-8")
        command = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / f'profile{n}'}", "--hide-scrollbars", "--force-device-scale-factor=1",
            "--virtual-time-budget=5000", *mode, page.as_uri(),
        ]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    return run
