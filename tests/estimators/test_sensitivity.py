"""HonestDiD bounds and pre-test power of the staggered estimate.

Reference: diff-diff's own Callaway–Sant'Anna route (``CallawaySantAnna(base_period=
"universal")`` → ``HonestDiD`` / ``compute_pretrends_power``) on mpdta; evalkit feeds its
own event study and covariance into the same diff-diff routines, so the numbers must agree
to 1e-8 (they differ only if the event-study estimates or their covariance differ).
Known truth: a linear pre-trend carried into the post period is absorbed by the
smoothness restriction with M = 0, whose interval covers the true effect where the plain
event-study interval does not.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataValidationError
from evalkit.estimators import did_staggered
from evalkit.estimators.sensitivity import TrendSensitivityResult, parallel_trends_sensitivity
from evalkit.testing import assert_result_close, make_community_panel


@pytest.fixture(scope="module")
def universal(mpdta):
    return did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year",
                         cohort="first_treat", base_period="universal")


@pytest.fixture(scope="module")
def sens(universal):
    return parallel_trends_sensitivity(universal, relative_magnitudes=(0.0, 0.5, 1.0, 2.0),
                                       smoothness=(0.0, 0.01))


@pytest.mark.slow
def test_matches_diff_diff_native_route_on_mpdta(mpdta, universal, sens):
    from diff_diff import CallawaySantAnna
    from diff_diff.honest_did import HonestDiD
    from diff_diff.pretrends import compute_pretrends_power

    s = sens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = CallawaySantAnna(base_period="universal").fit(
            mpdta, outcome="lemp", unit="countyreal", time="year", first_treat="first_treat",
            aggregate="event_study")
        for restriction, m in (("relative_magnitude", 0.5), ("relative_magnitude", 1.0),
                               ("smoothness", 0.0), ("smoothness", 0.01)):
            ref = HonestDiD(method=restriction, M=m).fit(cs)
            row = s.estimates[(s.estimates.restriction == restriction) & (s.estimates.m == m)].iloc[0]
            assert row.ci_lower == pytest.approx(ref.ci_lb, rel=1e-8)
            assert row.ci_upper == pytest.approx(ref.ci_ub, rel=1e-8)
            if restriction == "relative_magnitude":
                assert row.lb == pytest.approx(ref.lb, rel=1e-8)
                assert row.ub == pytest.approx(ref.ub, rel=1e-8)
        mdv = compute_pretrends_power(cs, alpha=0.05, target_power=0.8, violation_type="linear").mdv
    assert s.mdv_80 == pytest.approx(mdv, rel=1e-4)  # MVN box probabilities: quasi-Monte Carlo
    assert s.original_estimate == pytest.approx(universal.term("ATT (event)")["estimate"], rel=1e-12)
    assert 0 < s.mdv_50 < s.mdv_80
    assert s.n_pre == 3 and s.n_post == 4


def test_bounds_widen_with_m_and_breakdown_is_where_zero_enters(sens):
    s = sens
    rm = s.estimates[s.estimates.restriction == "relative_magnitude"]
    width = (rm.ci_upper - rm.ci_lower).to_numpy()
    assert np.all(np.diff(width) > 0)
    assert rm.iloc[0].ci_upper < 0 < rm.iloc[-1].ci_upper  # significant at 0, not at 2
    assert s.breakdown_relative_magnitude == 1.0  # first grid value whose interval has 0
    assert s.reliable_covariance  # 500 counties
    d = s.to_dict()
    json.dumps(d)
    assert_result_close(TrendSensitivityResult.from_dict(d), s)


def test_smoothness_absorbs_a_linear_pre_trend():
    """Truth: effect 0.2 from the start year, pilots on a trend 0.05/year steeper."""
    panel = make_community_panel(n_communities=80, cohorts=(2021,) * 30, effect=0.2,
                                 trend_gap=0.05, seed=11)
    fit = did_staggered(panel, outcome="y", unit="community_id", time="year", cohort="cohort",
                        base_period="universal", headline="event")
    s = parallel_trends_sensitivity(fit, smoothness=(0.0,))
    ev = fit.term("ATT (event)")
    sd0 = s.estimates[s.estimates.restriction == "smoothness"].iloc[0]
    # the plain event-study average is biased by the trend (0.05 · mean(1, 2, 3) = 0.1)
    assert not (ev["ci_lower"] <= 0.2 <= ev["ci_upper"])
    assert sd0.ci_lower <= 0.2 <= sd0.ci_upper


def test_varying_base_period_is_refused(mpdta):
    r = did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first_treat")
    with pytest.raises(DataValidationError, match=r"base_period='varying'.*universal"):
        parallel_trends_sensitivity(r)
