"""Raking, post-stratification and trimming against R survey on the api data (stored output).

Reference: tests/reference/measurement/measurement_reference.R, survey 4.1.1
(R 4.2.2): the documented examples of ?postStratify and ?rake on apiclus1
(one-stage cluster sample of 15 districts), iterated to full convergence
(control = list(maxit = 100, epsilon = 1e-10)), and trimWeights(strict = TRUE).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import WeightTrimmingWarning
from evalkit.survey import survey_means
from evalkit.testing import read_reference_values
from evalkit.weighting import poststratify, rake, trim_weights

pytestmark = pytest.mark.reference_r

REF = Path(__file__).resolve().parents[1] / "reference" / "measurement"
RTOL_WEIGHTS = 1e-8  # IPF converged to 1e-12 here and to epsilon 1e-10 (absolute, in schools) in R
RTOL_SE = 1e-8

POP_TYPES = pd.DataFrame({"stype": ["E", "H", "M"], "population": [4421, 755, 1018]})
POP_SCHWIDE = pd.DataFrame({"sch.wide": ["No", "Yes"], "population": [1072, 5122]})


@pytest.fixture(scope="module")
def ref():
    return read_reference_values(REF / "reference_values.csv")


@pytest.fixture(scope="module")
def clus1() -> pd.DataFrame:
    d = pd.read_csv(REF / "apiclus1.csv", dtype={"cds": str})
    w = pd.read_csv(REF / "raked_weights.csv", dtype={"cds": str})
    assert (d.cds == w.cds).all()
    return d.join(w.drop(columns="cds"))


def test_rake_matches_survey_rake(ref, clus1) -> None:
    """survey::rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))."""
    r = rake(clus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, variables=["stype", "sch.wide"], by=None,
             weights="pw", tol=1e-12)
    np.testing.assert_allclose(r.weights.to_numpy(), clus1.w_raked.to_numpy(), rtol=RTOL_WEIGHTS)
    assert bool(r.estimates.converged.iloc[0])
    est = survey_means(r.apply(clus1), outcomes="api00", weights="weight", cluster="dnum").estimates.iloc[0]
    assert est.estimate == pytest.approx(ref.get("rake_clus1", "estimate", "api00"), rel=1e-10)
    # without calibration= the weights are fixed sampling weights: svydesign(weights = ~w_raked)
    # (the calibration-aware SEs are tested in tests/survey/test_calibrated_variance.py)
    assert est.std_error == pytest.approx(ref.get("rake_clus1", "std_error_fixed_weights", "api00"), rel=RTOL_SE)
    # ... which for api00 is conservative against survey's calibration-aware SE
    assert est.std_error > ref.get("rake_clus1", "std_error_calibrated", "api00")
    cal = survey_means(r.apply(clus1), outcomes="api00", weights="weight", cluster="dnum",
                       calibration=r).estimates.iloc[0]
    assert cal.std_error == pytest.approx(ref.get("rake_clus1", "std_error_calibrated", "api00"),
                                          rel=RTOL_SE)


def test_poststratify_matches_survey_poststratify(ref, clus1) -> None:
    """survey::postStratify(dclus1, ~stype, pop.types)."""
    r = poststratify(clus1, POP_TYPES, cells=["stype"], by=None, weights="pw")
    np.testing.assert_allclose(r.weights.to_numpy(), clus1.w_poststratified.to_numpy(), rtol=1e-12)
    est = survey_means(r.apply(clus1), outcomes="api00", weights="weight", cluster="dnum").estimates.iloc[0]
    assert est.estimate == pytest.approx(ref.get("poststratify_clus1", "estimate", "api00"), rel=1e-10)
    cal = survey_means(r.apply(clus1), outcomes="api00", weights="weight", cluster="dnum",
                       calibration=r).estimates.iloc[0]
    assert cal.std_error == pytest.approx(ref.get("poststratify_clus1", "std_error_calibrated", "api00"),
                                          rel=RTOL_SE)


def test_trim_matches_survey_trimweights(clus1) -> None:
    """survey::trimWeights(drk, upper = 40, lower = 20, strict = TRUE) on the raked weights."""
    w = pd.Series(clus1.w_raked.to_numpy(), index=clus1.index)
    with pytest.warns(WeightTrimmingWarning, match="20–40"):
        t = trim_weights(w, lower=20, upper=40, relative=False, redistribute="additive")
    np.testing.assert_allclose(t.to_numpy(), clus1.w_trimmed.to_numpy(), rtol=RTOL_WEIGHTS)
    assert t.sum() == pytest.approx(w.sum(), rel=1e-12)
