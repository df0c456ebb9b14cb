"""Design-based means, proportions, SEs, design effects and ICCs against R survey / lme4 (stored output).

Reference: tests/reference/measurement/measurement_reference.R (survey 4.1.1,
lme4 1.1-31, R 4.2.2) on the api data of the survey package: apistrat
(stratified by school type, FPC = schools per type) and apiclus1 (one-stage
cluster sample of 15 of 757 districts).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalkit.survey import icc, survey_means, survey_proportions
from evalkit.testing import read_reference_values

pytestmark = pytest.mark.reference_r

REF = Path(__file__).resolve().parents[1] / "reference" / "measurement"
RTOL = 1e-10  # same closed-form estimators; observed agreement ~1e-14
RTOL_CIPROP = 1e-9  # svyciprop's glm stops at 1e-8 deviance change
RTOL_REML = 1e-6  # two REML optimisers (lme4 vs statsmodels MixedLM)


@pytest.fixture(scope="module")
def ref():
    return read_reference_values(REF / "reference_values.csv")


@pytest.fixture(scope="module")
def strat() -> pd.DataFrame:
    return pd.read_csv(REF / "apistrat.csv", dtype={"cds": str})


@pytest.fixture(scope="module")
def clus1() -> pd.DataFrame:
    return pd.read_csv(REF / "apiclus1.csv", dtype={"cds": str})


def _check(result, ref, case: str, terms: list[str], *, deff: bool = False) -> None:
    est = result.estimates
    for i, term in enumerate(terms):
        assert est.estimate.iloc[i] == pytest.approx(ref.get(case, "estimate", term), rel=RTOL)
        assert est.std_error.iloc[i] == pytest.approx(ref.get(case, "std_error", term), rel=RTOL)
        if deff:
            assert est.deff.iloc[i] == pytest.approx(ref.get(case, "deff", term), rel=RTOL)


@pytest.mark.parametrize("fpc", [True, False])
def test_stratified_srs(ref, strat, fpc: bool) -> None:
    """svymean(~api00 + api99, svydesign(id = ~1, strata = ~stype, weights = ~pw[, fpc = ~fpc]))."""
    r = survey_means(strat, outcomes=["api00", "api99"], weights="pw", strata="stype", fpc="fpc" if fpc else None)
    _check(r, ref, "strat_fpc_mean" if fpc else "strat_nofpc_mean", ["api00", "api99"], deff=not fpc)


@pytest.mark.parametrize("fpc", [True, False])
def test_stratified_by_stratum(ref, strat, fpc: bool) -> None:
    """svyby(~api00, ~stype, dstrat, svymean)."""
    r = survey_means(strat, outcomes="api00", by="stype", weights="pw", strata="stype", fpc="fpc" if fpc else None)
    assert r.estimates.stype.tolist() == ["E", "H", "M"]
    _check(r, ref, "strat_fpc_by_stype" if fpc else "strat_nofpc_by_stype", ["E", "H", "M"])


@pytest.mark.parametrize("fpc", [True, False])
def test_cluster_sample(ref, clus1, fpc: bool) -> None:
    """svymean(~api00 + api99, svydesign(id = ~dnum, weights = ~pw[, fpc = ~fpc]), deff = "replace")."""
    outcomes = ["api00", "api99"] if fpc else ["api00", "api99", "enroll"]
    r = survey_means(clus1, outcomes=outcomes, weights="pw", cluster="dnum", fpc="fpc" if fpc else None)
    _check(r, ref, "clus1_fpc_mean" if fpc else "clus1_nofpc_mean", outcomes, deff=not fpc)
    if not fpc:
        assert (r.estimates.df == ref.get("clus1_nofpc_mean", "degf")).all()


def test_cluster_sample_t_interval(ref, clus1) -> None:
    """confint(svymean(~api00, dclus1), df = degf(dclus1))."""
    e = survey_means(clus1, outcomes="api00", weights="pw", cluster="dnum").estimates.iloc[0]
    assert e.ci_lower == pytest.approx(ref.get("clus1_nofpc_ci", "ci_lower", "api00"), rel=RTOL)
    assert e.ci_upper == pytest.approx(ref.get("clus1_nofpc_ci", "ci_upper", "api00"), rel=RTOL)


@pytest.mark.parametrize("fpc", [True, False])
def test_domains_across_clusters(ref, clus1, fpc: bool) -> None:
    """svyby(~api00, ~stype, dclus1, svymean): school types cut across districts (domain estimation)."""
    r = survey_means(clus1, outcomes="api00", by="stype", weights="pw", cluster="dnum", fpc="fpc" if fpc else None)
    _check(r, ref, "clus1_fpc_by_stype" if fpc else "clus1_nofpc_by_stype", ["E", "H", "M"])


def test_proportions_and_logit_interval(ref, clus1) -> None:
    """svymean(~sch.wide, dclus1); svyciprop(~I(sch.wide == "Yes"), dclus1, method = "logit", df = degf)."""
    r = survey_proportions(clus1, variables="sch.wide", weights="pw", cluster="dnum")
    _check(r, ref, "clus1_nofpc_prop", ["sch.wideNo", "sch.wideYes"])
    yes = r.estimates[r.estimates.level == "Yes"].iloc[0]
    assert yes.ci_lower == pytest.approx(ref.get("clus1_nofpc_ciprop", "ci_lower", "Yes"), rel=RTOL_CIPROP)
    assert yes.ci_upper == pytest.approx(ref.get("clus1_nofpc_ciprop", "ci_upper", "Yes"), rel=RTOL_CIPROP)


def test_strata_and_clusters(ref, strat) -> None:
    """svymean(~api00 + meals, svydesign(id = ~dnum, strata = ~stype, weights = ~pw, nest = TRUE))."""
    r = survey_means(strat, outcomes=["api00", "meals"], weights="pw", cluster="dnum", strata="stype")
    _check(r, ref, "stratclus_mean", ["api00", "meals"])
    assert (r.estimates.df == ref.get("stratclus_mean", "degf")).all()


def test_icc_anova_and_reml(ref, clus1) -> None:
    """aov(api00 ~ factor(dnum)) mean squares; lme4::lmer(api00 ~ 1 + (1 | dnum), REML = TRUE)."""
    a = icc(clus1, outcomes="api00", cluster="dnum").estimates.iloc[0]
    assert a.icc == pytest.approx(ref.get("icc_clus1_api00", "icc_anova"), rel=RTOL)
    assert a.within_var == pytest.approx(ref.get("icc_clus1_api00", "msw"), rel=RTOL)
    r = icc(clus1, outcomes="api00", cluster="dnum", method="reml").estimates.iloc[0]
    assert r.icc == pytest.approx(ref.get("icc_clus1_api00", "icc_reml"), rel=RTOL_REML)
    assert r.between_var == pytest.approx(ref.get("icc_clus1_api00", "between_var_reml"), rel=RTOL_REML)
    assert r.within_var == pytest.approx(ref.get("icc_clus1_api00", "within_var_reml"), rel=RTOL_REML)
