"""α, item analysis, ω and EFA against R on psych::bfi (stored output, no R at test time).

Reference: tests/reference/measurement/measurement_reference.R (psych 2.2.9,
lavaan 0.6.14, GPArotation 2022.10.2, R 4.2.2; versions.txt). Items A1, C4,
C5, E1, E2, O2, O5 are reverse-keyed (psych's bfi.keys) and scored 7 - x.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from evalkit.codebook import Codebook, Construct, Variable
from evalkit.scales import efa, item_reliability, reliability
from evalkit.scales.efa import _efa_items
from evalkit.testing import read_reference_values

pytestmark = pytest.mark.reference_r

REF = Path(__file__).resolve().parents[1] / "reference" / "measurement"
REVERSE = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]
CONSTRUCTS = {"agree": "A", "consc": "C", "extra": "E", "neuro": "N", "open": "O"}

# tolerances (absolute): what the implementations agree to, with margin
TOL_ALPHA = 1e-10  # psych::alpha: same closed forms
TOL_OMEGA = 1e-6  # lavaan ML optimiser vs evalkit's concentrated ML
TOL_LOADING = 1e-5
TOL_EFA = 1e-4  # GPArotation stops at eps = 1e-5
TOL_COMMUNALITY = 1e-5


@pytest.fixture(scope="module")
def ref():
    return read_reference_values(REF / "reference_values.csv")


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    d = pd.read_csv(REF / "bfi.csv")
    for v in REVERSE:
        d[v] = 7 - d[v]
    return d


@pytest.fixture(scope="module")
def bfi_codebook() -> Codebook:
    constructs = {c: Construct(c, c, c) for c in CONSTRUCTS}
    variables = tuple(
        Variable(f"{p}{i}".lower(), f"{p}{i}", construct=c, scale_min=1, scale_max=6, reverse=f"{p}{i}" in REVERSE)
        for c, p in CONSTRUCTS.items() for i in range(1, 6)
    )
    return Codebook(variables, constructs)


@pytest.mark.parametrize("deletion", ["pairwise", "listwise"])
@pytest.mark.parametrize("construct", list(CONSTRUCTS))
def test_alpha_matches_psych(ref, bfi, construct: str, deletion: str) -> None:
    """psych::alpha(x) on bfi; listwise = psych::alpha(na.omit(x)); Feldt CI = psych's alpha$feldt."""
    p = CONSTRUCTS[construct]
    items = [f"{p}{i}" for i in range(1, 6)]
    r = item_reliability(bfi[items], construct=construct, deletion=deletion, warn=False)
    e = r.estimates.iloc[0]
    case = f"alpha_{construct}_{deletion}"
    assert e.n_obs == ref.get(case, "n_obs")
    for ours, theirs in [("alpha", "alpha"), ("alpha_std", "alpha_std"), ("average_r", "average_r"),
                         ("alpha_se", "ase"), ("alpha_ci_lower", "feldt_lower"), ("alpha_ci_upper", "feldt_upper"),
                         ("scale_mean", "total_mean"), ("scale_sd", "total_sd")]:
        assert e[ours] == pytest.approx(ref.get(case, theirs), abs=TOL_ALPHA), ours
    it = r.items.set_index("item")
    for item in items:
        assert it.loc[item, "n_obs"] == ref.get(case, "item_n", item)
        for ours, theirs in [("r_item_total", "r_item_total"), ("r_corrected", "r_corrected"),
                             ("alpha_if_deleted", "alpha_if_deleted"), ("mean", "item_mean"), ("sd", "item_sd")]:
            assert it.loc[item, ours] == pytest.approx(ref.get(case, theirs, item), abs=TOL_ALPHA), (item, ours)


def test_duhachek_ci_is_alpha_plus_minus_z_ase(ref, bfi) -> None:
    """psych prints Duhachek bounds as alpha ± qnorm(.975)·ase."""
    r = item_reliability(bfi[[f"A{i}" for i in range(1, 6)]], ci_method="duhachek", deletion="pairwise", warn=False)
    e = r.estimates.iloc[0]
    a, ase = ref.get("alpha_agree_pairwise", "alpha"), ref.get("alpha_agree_pairwise", "ase")
    assert e.alpha_ci_lower == pytest.approx(a - 1.959963984540054 * ase, abs=TOL_ALPHA)
    assert e.alpha_ci_upper == pytest.approx(a + 1.959963984540054 * ase, abs=TOL_ALPHA)


@pytest.mark.parametrize("construct", list(CONSTRUCTS))
def test_omega_matches_lavaan(ref, bfi, construct: str) -> None:
    """ω = (Σλ)²/((Σλ)² + Σθ) from lavaan::cfa(std.lv = TRUE, estimator = "ML"), listwise."""
    p = CONSTRUCTS[construct]
    r = item_reliability(bfi[[f"{p}{i}" for i in range(1, 6)]], warn=False)
    case = f"omega_{construct}"
    assert r.estimates.n_obs.iloc[0] == ref.get(case, "n_obs")
    assert r.estimates.omega_total.iloc[0] == pytest.approx(ref.get(case, "omega_total"), abs=TOL_OMEGA)


@pytest.mark.parametrize("construct", list(CONSTRUCTS))
def test_one_factor_loadings_match_lavaan_and_psych_fa(ref, bfi, construct: str) -> None:
    from evalkit.scales.factor_ml import fit_ml_factors

    p = CONSTRUCTS[construct]
    items = [f"{p}{i}" for i in range(1, 6)]
    fit = fit_ml_factors(bfi[items].dropna().corr().to_numpy(), 1)
    assert fit.converged
    for i, item in enumerate(items):
        assert fit.loadings[i, 0] == pytest.approx(ref.get(f"omega_{construct}", "std_loading_lavaan", item),
                                                   abs=TOL_LOADING)
        assert fit.loadings[i, 0] == pytest.approx(ref.get(f"omega_{construct}", "std_loading_psych_fa", item),
                                                   abs=TOL_LOADING)


def test_reliability_through_codebook_equals_item_frame_route(ref, bfi_codebook) -> None:
    """The codebook route reverse-codes itself: raw bfi in, psych's numbers out."""
    raw = pd.read_csv(REF / "bfi.csv").rename(columns=str.lower)
    r = reliability(raw, bfi_codebook, warn=False)
    est = r.overall().set_index("construct")
    for construct in CONSTRUCTS:
        assert est.loc[construct, "alpha"] == pytest.approx(ref.get(f"alpha_{construct}_listwise", "alpha"),
                                                            abs=TOL_ALPHA)


def test_efa_oblimin_matches_psych_fa(ref, bfi) -> None:
    """psych::fa(x25, nfactors = 5, fm = "ml", rotate = "oblimin"), up to factor order and sign."""
    items = [f"{p}{i}" for p in CONSTRUCTS.values() for i in range(1, 6)]
    x = bfi[items].dropna()
    assert len(x) == ref.get("efa_bfi", "n_obs")
    r = _efa_items(x, [i[0] for i in items], list("ACENO"), {}, n_factors=5, rotation="oblimin", min_loading=0.3,
                   warn=False)
    theirs = pd.read_csv(REF / "efa_loadings.csv").set_index("item").loc[items]
    tl = theirs[[c for c in theirs.columns if c.startswith("ML")]].to_numpy()
    ours = r.estimates[r.factors].to_numpy()
    rows, cols = linear_sum_assignment(-np.abs(ours.T @ tl))
    matched = np.zeros_like(ours)
    for i, j in zip(rows, cols, strict=True):
        matched[:, j] = np.sign(ours[:, i] @ tl[:, j]) * ours[:, i]
    assert np.abs(matched - tl).max() < TOL_EFA
    assert np.abs(r.estimates.communality.to_numpy() - theirs.communality.to_numpy()).max() < TOL_COMMUNALITY
    # the known cross-loader of bfi: N4 ("often feel blue") loads most on extraversion
    assert r.misfits().item.tolist() == ["N4"]


def test_efa_through_codebook(bfi_codebook) -> None:
    raw = pd.read_csv(REF / "bfi.csv").rename(columns=str.lower)
    with pytest.warns(Warning, match="n4"):
        r = efa(raw, bfi_codebook, min_loading=0.3)
    assert r.factors == [f"f_{c}" for c in CONSTRUCTS]
    assert r.estimates.set_index("item").loc["a2", "primary_factor"] == "f_agree"
