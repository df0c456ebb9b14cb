"""One conformance test over every estimator's result: frozen, the five members, canonical
columns, JSON round-trip, summary in both languages, HTML, and plot."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import matplotlib
import numpy as np
import pandas as pd
import pytest

import evalkit.designs as designs
import evalkit.estimators as ek
import evalkit.power as power
from evalkit.estimators.results import ESTIMATE_COLUMNS, ImpactResult
from evalkit.results import Result

matplotlib.use("Agg")
pytest.importorskip("evalkit.inference")

REF = Path(__file__).resolve().parents[1] / "reference" / "did"
DESIGNS = Path(__file__).resolve().parents[1] / "reference" / "designs"
_LALONDE_COVS = ["age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75"]


def _lalonde() -> pd.DataFrame:
    return pd.read_csv(DESIGNS / "lalonde.csv")


def _mp() -> pd.DataFrame:
    d = pd.read_csv(REF / "mpdta.csv")
    d["state"] = d["countyreal"] // 1000
    return d


def _two_by_two() -> pd.DataFrame:
    d = _mp()
    s = d[d["year"].isin([2006, 2007]) & d["first_treat"].isin([0, 2007])].copy()
    s["d"] = (s["first_treat"] == 2007).astype(int)
    s["p"] = (s["year"] == 2007).astype(int)
    s["big"] = np.where(s["lpop"] > s["lpop"].median(), "big", "small")
    s["k"] = pd.qcut(s["lemp"], 4, labels=False) + 1
    s["lemp2"] = s["lemp"] + np.random.default_rng(0).normal(0, 0.1, len(s))
    return s


def _synthetic_panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [(f"c{i}", 2010 + t, rng.normal(i % 3, 0.3) + 0.1 * t + (1.0 if i == 0 and t >= 7 else 0.0))
            for i in range(8) for t in range(10)]
    return pd.DataFrame(rows, columns=["community", "year", "score"])


CASES = {
    "did": lambda: ek.did(_two_by_two(), outcome="lemp", treat="d", post="p", cluster="state",
                          draws=199, seed=1),
    "twfe": lambda: ek.twfe(pd.read_csv(REF / "castle.csv"), outcome="l_homicide", unit="sid",
                            time="year", treat="post"),
    "staggered": lambda: ek.did_staggered(_mp(), outcome="lemp", unit="countyreal", time="year",
                                          cohort="first_treat"),
    "subgroup": lambda: ek.subgroup_effects(_two_by_two(), outcome="lemp", treat="d", post="p",
                                            by="big", cluster="state", draws=199, seed=1),
    "multiple": lambda: ek.multiple_outcomes(_two_by_two(), outcomes=["lemp", "lemp2"], treat="d",
                                             post="p", cluster="state", draws=99, seed=1),
    "ordinal": lambda: ek.ordered_logit_did(_two_by_two(), item="k", treat="d", post="p"),
    # designs (evalkit.designs)
    "matching": lambda: designs.match_nearest(_lalonde(), outcome="re78", treat="treat",
                                              covariates=_LALONDE_COVS, caliper=0.2),
    "ipw": lambda: designs.ipw(_lalonde(), outcome="re78", treat="treat",
                               covariates=_LALONDE_COVS, estimand="ATT"),
    "entropy": lambda: designs.entropy_balance(_lalonde(), outcome="re78", treat="treat",
                                               covariates=_LALONDE_COVS),
    "multilevel": lambda: designs.multilevel_model(
        pd.read_csv(DESIGNS / "sleepstudy.csv"), outcome="Reaction", group="Subject",
        covariates=["Days"], random_slopes=["Days"]),
    "ordered_logit": lambda: designs.ordered_logit(
        pd.read_csv(DESIGNS / "wine.csv"), outcome="rating", covariates=["warm", "contact"],
        weights="w", cluster="judge"),
    "pre_post": lambda: designs.pre_post(_two_by_two().query("d == 1"), outcome="lemp", post="p",
                                         cluster="state"),
    "regression": lambda: designs.linear_regression(
        pd.read_csv(DESIGNS / "petersen_cl.csv"), outcome="y", regressors=["x"], vcov="twoway",
        cluster="firm", cluster2="year"),
    "synthetic_control": lambda: designs.synthetic_control(_synthetic_panel(), outcome="score", unit="community",
                                                           time="year", treated_unit="c0", start=2017),
    "synthetic_did": lambda: designs.synthetic_did(_synthetic_panel(), outcome="score", unit="community",
                                                   time="year", treated_units="c0", start=2017, draws=20, seed=1),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def result(request) -> ImpactResult:
    return CASES[request.param]()


def test_contract(result):
    assert isinstance(result, Result)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.n_obs = 0  # type: ignore[misc]
    assert list(result.to_frame().columns[: len(ESTIMATE_COLUMNS)]) == list(ESTIMATE_COLUMNS)
    assert result.to_frame() is not result.estimates
    d = result.to_dict()
    json.dumps(d)
    back = Result.from_dict(json.loads(json.dumps(d)))
    assert type(back) is type(result)
    pd.testing.assert_frame_equal(back.estimates.reset_index(drop=True),
                                  result.estimates.reset_index(drop=True), check_dtype=False)
    assert back.inference == result.inference and back.spec == result.spec
    assert getattr(back, "caveats", ()) == getattr(result, "caveats", ())
    for k, v in result.tables.items():
        pd.testing.assert_frame_equal(back.tables[k], v.reset_index(drop=True), check_dtype=False)
    zh, en = result.summary(lang="zh"), result.summary(decimals=2, lang="en")
    assert zh != en and result.title("zh") in zh
    if result.n_clusters is not None:
        assert str(result.n_clusters) in zh and str(result.n_clusters) in en
    assert "<table" in result._repr_html_()


def test_plot_returns_axes(result):
    import matplotlib.pyplot as plt

    ax = result.plot(lang="en")
    assert ax.get_xlabel() or ax.get_ylabel()
    plt.close("all")


def test_plot_in_chinese_embeds_no_missing_glyphs(result):
    pytest.importorskip("evalkit.reporting.fonts")
    import matplotlib.pyplot as plt

    ax = result.plot(lang="zh")
    ax.figure.canvas.draw()  # a missing glyph warns, which filterwarnings=error turns into a failure
    plt.close("all")


# ---- results that are not impact estimates: the same five members -------------------------
OTHER_CASES = {
    "power_means": lambda: power.power_two_means(effect=[0.2, 0.4], sd=1.0, power=0.8),
    "power_cluster": lambda: power.power_cluster(n_clusters=[10, 20, 40], cluster_size=[10, 20], icc=0.05,
                                                 power=0.8),
    "power_simulation": lambda: power.simulate_power_staggered(
        _mp(), outcome="lemp", unit="countyreal", time="year", cohort="first_treat", effects=[0.0, 0.1],
        n_pilots=5, draws=2, seed=1),
}


@pytest.fixture(scope="module", params=sorted(OTHER_CASES))
def other(request) -> Result:
    return OTHER_CASES[request.param]()


def test_other_contract(other):
    import matplotlib.pyplot as plt

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        other.estimates = pd.DataFrame()  # type: ignore[misc]
    assert other.to_frame() is not other.estimates
    back = Result.from_dict(json.loads(json.dumps(other.to_dict())))
    assert type(back) is type(other)
    pd.testing.assert_frame_equal(back.estimates, other.estimates, check_dtype=False)
    zh, en = other.summary(lang="zh"), other.summary(decimals=2, lang="en")
    assert zh != en and other.title("zh") in zh and other.title("en") in en
    assert "<table" in other._repr_html_()
    ax = other.plot(lang="zh")
    ax.figure.canvas.draw()  # missing glyphs warn → error under filterwarnings
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")
