"""Analyses honour a column the study lacks: raking without hukou, unweighted without margins.

Known truth: raking on the margins that remain reproduces each of them exactly (target =
achieved per community × wave × level), and the population table's hukou margin is unused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from own_data_files import COMMUNITIES, new_user_study

from evalkit import load_study, measure

# the fixture's answers are random, so reliability warnings are expected and beside the point here
pytestmark = pytest.mark.filterwarnings("ignore::evalkit.errors.DataQualityWarning")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("newuser")
    new_user_study(folder)
    return load_study(folder / "study.yaml")


def _population() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = [{"community_id": c, "age_band": a, "gender": g, "hukou": h, "population": int(rng.integers(50, 500))}
            for c in COMMUNITIES for a in ("18-34", "35-59", "60+") for g in ("male", "female")
            for h in ("local", "migrant")]
    return pd.DataFrame(rows)


def test_raking_leaves_hukou_out_and_says_so(study):
    assert "hukou" not in study.survey.columns
    m = measure(study.survey, study.codebook, population=_population(), constructs=["satisfaction"],
                run_efa=False)
    assert m.spec.weighting == "rake"
    assert tuple(m.weighting.spec.variables) == ("age_band", "gender")
    assert "raking margin(s) hukou left out: not in the survey" in m.notes
    margins = m.weighting.margins
    assert set(margins["variable"]) == {"age_band", "gender"}
    np.testing.assert_allclose(margins["achieved"], margins["target"], rtol=1e-6)
    assert "hukou" not in m.means_by_group


def test_without_population_margins_unweighted_and_stated(study):
    assert study.unavailable["population_margins"] == ("weighting",)
    m = measure(study.survey, study.codebook, population=study.tables.get("population"),
                constructs=["satisfaction"], run_efa=False)
    assert m.spec.weighting == "none" and m.weighting is None
    assert "未加权" in m.summary(lang="zh") and "equal weights" in m.summary(lang="en")
