"""Design-based SEs after post-stratification and raking, against R survey.

Reference: tests/reference/survey/calibration_reference.R (R 4.2.2, survey 4.1.1):
``svymean`` / ``svyby(..., svymean)`` on ``postStratify(dclus1, ~stype, pop.types)`` and
``rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))`` (the documented
examples of ?postStratify and ?rake on survey::api's apiclus1, iterated to convergence),
with and without the FPC, for api00, api99 and enroll, overall and by comp.imp;
"calibrated" = R's calibration-aware SEs, "fixed_weights" = the same weights in a plain
``svydesign``. Tolerance: rtol 1e-6 on SEs (measured agreement: 4e-14 relative at worst; the IPF here and
in R converge to 1e-12), 1e-9 on estimates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataValidationError
from evalkit.survey import survey_means, survey_proportions
from evalkit.weighting import poststratify, rake

pytestmark = pytest.mark.reference_r

REF = Path(__file__).resolve().parents[1] / "reference" / "survey"
RTOL_SE = 1e-6

POP_TYPES = pd.DataFrame({"stype": ["E", "H", "M"], "population": [4421, 755, 1018]})
POP_SCHWIDE = pd.DataFrame({"sch.wide": ["No", "Yes"], "population": [1072, 5122]})
OUTCOMES = ["api00", "api99", "enroll"]


@pytest.fixture(scope="module")
def clus1() -> pd.DataFrame:
    return pd.read_csv(REF / "apiclus1.csv", dtype={"cds": str})


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "calibration_values.csv", keep_default_na=False)


def _calibrate(clus1: pd.DataFrame, method: str):
    if method == "poststratify":
        return poststratify(clus1, POP_TYPES, cells=["stype"], by=None, weights="pw")
    return rake(clus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, variables=["stype", "sch.wide"],
                by=None, weights="pw", tol=1e-13, max_iter=500)


@pytest.mark.parametrize("method", ["poststratify", "rake"])
@pytest.mark.parametrize("fpc", [True, False])
@pytest.mark.parametrize("variance", ["calibrated", "fixed_weights"])
@pytest.mark.parametrize("by", [None, "comp.imp"])
def test_matches_r_survey(clus1, ref, method, fpc, variance, by):
    cal = _calibrate(clus1, method)
    got = survey_means(cal.apply(clus1), outcomes=OUTCOMES, by=by, weights="weight", cluster="dnum",
                       fpc="fpc" if fpc else None, calibration=cal, variance=variance).estimates
    case = f"{method}_{'fpc' if fpc else 'nofpc'}"
    want = ref[(ref.case == case) & (ref.variance == variance) & ((ref.by_level != "") == (by is not None))]
    assert len(want) == len(got) == (6 if by else 3)
    key = (lambda r: (r[by] if by else "", r["outcome"]))
    mine = {key(r): r for _, r in got.iterrows()}
    for _, r in want.iterrows():
        g = mine[(r.by_level, r.outcome)]
        assert g.estimate == pytest.approx(r.estimate, rel=1e-9)
        assert g.std_error == pytest.approx(r.std_error, rel=RTOL_SE), (r.by_level, r.outcome)


def test_calibration_lowers_the_se_of_what_the_margins_explain(clus1):
    """Known truth: an outcome that is a function of the post-strata has no sampling error
    after post-stratification (its estimate is fixed by the population counts)."""
    d = clus1.assign(is_e=(clus1.stype == "E").astype(float))
    cal = _calibrate(d, "poststratify")
    data = cal.apply(d)
    calibrated = survey_means(data, outcomes="is_e", weights="weight", cluster="dnum", calibration=cal)
    fixed = survey_means(data, outcomes="is_e", weights="weight", cluster="dnum", calibration=cal,
                         variance="fixed_weights")
    row = calibrated.estimates.iloc[0]
    assert row.estimate == pytest.approx(4421 / 6194, rel=1e-12)
    assert row.std_error < 1e-10 < fixed.estimates.iloc[0].std_error
    assert calibrated.variance == "calibrated" and fixed.variance == "fixed_weights"


def test_proportions_use_the_calibrated_variance_too(clus1):
    cal = _calibrate(clus1, "rake")
    data = cal.apply(clus1)
    p_cal = survey_proportions(data, variables="sch.wide", weights="weight", cluster="dnum",
                               calibration=cal).estimates
    # sch.wide is a raking margin: its shares are fixed by the population, SE ~ 0
    assert np.allclose(p_cal.estimate, [1072 / 6194, 5122 / 6194], rtol=1e-9)
    assert (p_cal.std_error < 1e-8).all()


def test_weights_must_come_from_the_calibration(clus1):
    cal = _calibrate(clus1, "rake")
    with pytest.raises(DataValidationError, match=r"column 'pw' differs from the calibrated weights"):
        survey_means(clus1, outcomes="api00", weights="pw", cluster="dnum", calibration=cal)
    with pytest.raises(DataValidationError, match=r"weights= is not"):
        survey_means(cal.apply(clus1), outcomes="api00", cluster="dnum", calibration=cal)
    with pytest.raises(ValueError, match=r"variance='exact' is not allowed"):
        survey_means(cal.apply(clus1), outcomes="api00", weights="weight", cluster="dnum",
                     calibration=cal, variance="exact")
