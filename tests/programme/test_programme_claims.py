"""Claims tested as claims: Clopper–Pearson and Wilson intervals and one-sided exact tests.

References: R ``binom.test`` (exact interval and one-sided p-values) and
``prop.test(correct = FALSE)`` (Wilson score interval), stored in
``tests/reference/programme/binom_claims.csv`` by ``binom_claims.R`` (R 4.2.2); and
statsmodels ``proportion_confint`` / scipy ``binomtest``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from evalkit.programme.claims import claim_test, claims_table

REF = Path(__file__).parents[1] / "reference" / "programme" / "binom_claims.csv"


@pytest.mark.reference_r
@pytest.mark.parametrize("row", pd.read_csv(REF, comment="#").to_dict("records"))
def test_claim_matches_r_binom_test(row: dict) -> None:
    out = claim_test(int(row["x"]), int(row["n"]), float(row["p"]))
    for ours, theirs in (("cp_lower", "cp_lower"), ("cp_upper", "cp_upper"), ("wilson_lower", "wilson_lower"),
                         ("wilson_upper", "wilson_upper"), ("p_contradicted", "p_less")):
        assert out[ours] == pytest.approx(row[theirs], rel=1e-9, abs=1e-12), ours
    if np.isnan(row["p_greater"]):
        assert np.isnan(out["p_supported"])  # nothing exceeds 100 %
    else:
        assert out["p_supported"] == pytest.approx(row["p_greater"], rel=1e-9, abs=1e-12)


def test_claim_matches_statsmodels_and_scipy_on_a_grid() -> None:
    for x, n, p in [(0, 1, 0.5), (1, 1, 0.9), (7, 9, 0.8), (333, 400, 0.85), (40, 40, 1.0)]:
        out = claim_test(x, n, p)
        cp = proportion_confint(x, n, method="beta")
        wi = proportion_confint(x, n, method="wilson")
        assert (out["cp_lower"], out["cp_upper"]) == pytest.approx(cp, abs=1e-12)
        assert (out["wilson_lower"], out["wilson_upper"]) == pytest.approx(wi, abs=1e-12)
        assert out["p_contradicted"] == pytest.approx(stats.binomtest(x, n, p, alternative="less").pvalue)


def test_hundred_percent_claim_is_contradicted_by_one_failure_and_never_supported() -> None:
    # hand-computed: P(X <= 9 | n = 10, p = 1) = 0; the exact upper bound of 10/10 is 0.025^(1/10)
    one_failure = claim_test(9, 10, 1.0)
    assert one_failure["p_contradicted"] == 0.0
    assert one_failure["verdict"] == "contradicted"
    perfect = claim_test(10, 10, 1.0)
    assert perfect["p_contradicted"] == 1.0
    assert perfect["cp_lower"] == pytest.approx(0.025 ** (1 / 10), rel=1e-12)
    assert perfect["verdict"] == "consistent"


def test_no_responses_is_no_data_and_bad_thresholds_are_refused() -> None:
    assert claim_test(0, 0, 0.9)["verdict"] == "no_data"
    with pytest.raises(ValueError, match=r"write 90 % as 0.9"):
        claim_test(5, 10, 90)
    with pytest.raises(ValueError, match=r"successes=11, n=10"):
        claim_test(11, 10, 0.9)


def test_claims_table_applies_every_claim_to_every_row() -> None:
    counts = pd.DataFrame({"scope": ["a", "b"], "ok": [9, 0], "total": [10, 0]})
    out = claims_table(counts, {"c90": ("ok", "total", 0.9), "c50": ("ok", "total", 0.5)}, by=("scope",))
    assert list(out["claim"]) == ["c90", "c50", "c90", "c50"]
    assert out.loc[0, "share"] == 0.9
    assert list(out.loc[2:, "verdict"]) == ["no_data", "no_data"]
