"""The programme analysis on the demo city: planted 五社 − 三社 difference recovered, every
seed framework gives an attainment table, JSON round trip, one community's slice.

The demo plants a latent effect 1.5× larger for 五社联动 than for 三社联动
(``evalkit.datasets.demo_survey.PROGRAMME_MULTIPLIER``). The truth compared here is the
difference of the demo's ``truth.csv`` ``programme`` rows (mean true effect on the observed
score over treated respondent-waves of each type); the estimator averages community-level
effects, a slightly different weighting of the same cells, so coverage — not equality — is
checked.
"""

from __future__ import annotations

import json

import attrs
import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.intake.load import load_study
from evalkit.run.paths import demo_config
from evalkit.programme.report import _slice
from evalkit.programme.targets import SHIPPED_FRAMEWORKS
from evalkit.results import Result
from evalkit.testing import assert_result_close


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    config = demo_config(tmp_path_factory.mktemp("demo"))
    study = load_study(config)
    report = ek.analyse_programme(study, draws=199, ri_draws=999)
    truth = pd.read_csv(config.parent / "truth.csv")
    return study, report, truth


@pytest.mark.slow
def test_planted_programme_difference_is_covered(demo) -> None:
    study, report, truth = demo
    rows = truth[truth["level"] == "programme"].pivot(index="construct", columns="programme", values="effect_score")
    true_diff = rows["wushe"] - rows["sanshe"]
    diff = report.difference.set_index("outcome")
    for construct in study.config.outcomes:
        lo, hi = diff.loc[construct, ["ri_ci_lower", "ri_ci_upper"]]
        assert lo <= true_diff[construct] <= hi, construct
    # 16 pilots of each type; the per-type ATTs are the staggered estimator's
    assert set(diff["n_a"]) == {16} and set(diff["n_b"]) == {16}
    np.testing.assert_allclose(report.by_type["unit_mean_gap"], 0.0, atol=1e-12)


@pytest.mark.slow
def test_every_seed_framework_produces_attainment(demo) -> None:
    _, report, _ = demo
    att = report.attainment
    assert set(SHIPPED_FRAMEWORKS) | {"config"} == set(att["framework"])
    for fw in SHIPPED_FRAMEWORKS:
        assert (att.loc[att["framework"] == fw, "status"] != "no_data").any(), fw
    # 龙王港 staffing applies to 五社联动 pilots only
    lwg = att[att["framework"] == "wushe_longwanggang"]
    assert set(lwg["community_id"]) <= set(report.unit_effects.loc[report.unit_effects["programme"] == "wushe",
                                                                   "community_id"])


@pytest.mark.slow
def test_json_round_trip_and_display(demo) -> None:
    _, report, _ = demo
    payload = report.to_dict()
    json.dumps(payload)
    assert_result_close(Result.from_dict(payload), report)
    json.dumps(report.headline())
    from evalkit.reporting.programme_display import _VIEWS, comparison_paragraph, programme_table

    for view in _VIEWS:
        for lang in ("zh", "en"):
            assert not programme_table(report, view, lang).empty, view
    assert "16" in comparison_paragraph(report, "zh") and "16" in comparison_paragraph(report, "en")


@pytest.mark.slow
def test_community_slice_and_missing_logs(demo) -> None:
    """community= keeps one community's rows; a study without service ledger, request log,
    panel or margins still gets the sections it can support (empty tables, no_data cells)."""
    study, report, _ = demo
    cid = study.pilots["community_id"].iloc[0]
    sliced = _slice(report, cid)
    assert set(sliced.reach["community_id"]) == {cid}
    assert set(sliced.claims["scope"]) == {cid, "all"}
    assert set(sliced.resolution_times["community_id"]) == {cid, "all"}
    bare = attrs.evolve(study, tables={k: v for k, v in study.tables.items()
                                       if k not in ("services", "requests", "community_panel", "population")})
    one = ek.analyse_programme(bare, community=cid, draws=19, ri_draws=99)
    assert one.community == cid and one.reach.empty and one.attainment.empty
    assert set(one.unit_effects["community_id"]) == {cid}
    assert (one.claims["verdict"] == "no_data").all()
    assert set(one.cost_per_effect["reason"]) == {"no_cost"}
    with pytest.raises(KeyError, match="not in the community registry"):
        ek.analyse_programme(study, community="nope")


def test_study_partitions_stream_a_canonical_parquet_ledger(demo, tmp_path) -> None:
    """The demo's services.parquet has the data model's columns: it is streamed, and each
    community's partition equals the pandas aggregation of that community's rows."""
    from evalkit.programme.aggregate_pandas import service_aggregates_pandas
    from evalkit.programme.partitions import _canonical_parquet, write_study_service_partitions

    study, _, _ = demo
    path = study.config.data["services"].path
    assert _canonical_parquet(path)
    folder = write_study_service_partitions(study.config, tmp_path / "parts", by=("community_id", "year"))
    parts = sorted(folder.iterdir())
    assert len(parts) == len(study.communities)
    frame = pd.read_parquet(path)
    frame["service_date"] = pd.to_datetime(frame["service_date"])
    cid = parts[0].name.split("=", 1)[1]
    expected = service_aggregates_pandas(frame[frame["community_id"] == cid], by=("year",))
    pd.testing.assert_frame_equal(pd.read_parquet(parts[0]).reset_index(drop=True), expected, check_dtype=False)
    bad = tmp_path / "zh.parquet"
    frame.rename(columns={"participants": "服务人次"}).to_parquet(bad)
    assert not _canonical_parquet(bad)


@pytest.mark.slow
def test_impact_target_table_is_the_programme_evaluation(demo) -> None:
    """The impact report's target table (``ek.target_attainment``) and the programme analysis
    give the same attainment for each config key on the demo; the numbers are also recomputed
    here from the raw tables (latest year: social_orgs per community; requests received that
    year with a resolved_at time, per community and pooled)."""
    from evalkit.reporting import targets_table

    study, report, _ = demo
    overview = ek.target_attainment(study).set_index("indicator")
    assert set(overview.index) == set(study.config.targets)
    cells = report.attainment[report.attainment["framework"] == "config"]
    summary = report.attainment_summary.set_index(["framework", "indicator", "year"])
    for key, row in overview.iterrows():
        same = cells[(cells["indicator"] == key) & (cells["year"] == row["year"])]
        assert row["n_met"] == (same["status"] == "met").sum() == summary.loc[("config", key, row["year"]), "met"]
        assert row["n_with_data"] == (same["status"] != "no_data").sum() == len(same) == 48
    panel = study.tables["community_panel"]
    latest = panel[panel["year"] == panel["year"].max()]
    orgs = overview.loc["social_orgs_per_community"]
    assert orgs["year"] == panel["year"].max()
    assert orgs["value"] == latest["social_orgs"].median()
    assert orgs["n_met"] == (latest["social_orgs"] >= study.config.targets["social_orgs_per_community"]).sum()
    req = study.tables["requests"]
    received = pd.to_datetime(req["received_at"]).dt.year
    year_req = req[received == received.max()]
    resolved = year_req["resolved_at"].notna()
    per_community = resolved.groupby(year_req["community_id"]).mean()
    res = overview.loc["resolution_rate"]
    assert res["year"] == received.max()
    np.testing.assert_allclose(res["value"], resolved.mean(), rtol=1e-12)
    assert res["n_met"] == (per_community >= study.config.targets["resolution_rate"]).sum()
    shown = targets_table(overview.reset_index(), "en").frame.set_index("Target")["Communities meeting it"]
    assert shown.tolist() == [f"{int(r.n_met)} / {int(r.n_with_data)}" for r in overview.itertuples()]
    # an unknown config key is reported, not dropped
    odd = attrs.evolve(study, config=attrs.evolve(study.config, targets={**study.config.targets, "budget": 1.0}))
    row = ek.target_attainment(odd).set_index("indicator").loc["budget"]
    assert (row["status"], row["reason"]) == ("no_data", "unknown_target_key")
