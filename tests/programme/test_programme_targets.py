"""Target frameworks and the attainment table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ConfigError
from evalkit.programme.targets import (
    SHIPPED_FRAMEWORKS,
    attainment_overview,
    attainment_summary,
    attainment_table,
    config_framework,
    load_framework,
)


def _panel() -> pd.DataFrame:
    return pd.DataFrame({
        "community_id": ["U1", "U1", "R1", "R1", "U2"], "year": [2022, 2023, 2022, 2023, 2023],
        "urban_rural": ["urban", "urban", "rural", "rural", "urban"],
        "group": ["wushe", "wushe", "comparison", "comparison", "sanshe"],
        "pilot_running": [False, True, False, False, True],
        "social_orgs": [19, 20, 9, 10, 25], "social_workers": [2, 5, 0, 1, 3],
        "centre_area_m2": [600.0, 600.0, np.nan, 300.0, 1000.0],
        "share_resolved": [0.9, 0.95, np.nan, 0.5, 1.0], "requests": [10, 20, 0, 2, 5],
        "share_within_24h": [1.0, 0.5, np.nan, 1.0, 1.0], "share_satisfied": [1.0, 0.9, np.nan, np.nan, 1.0],
        "rated": [3, 10, 0, 0, 4], "share_all5": [0.0, 0.1, 0.0, 0.0, 0.2],
    })


def test_every_shipped_framework_loads() -> None:
    for name in SHIPPED_FRAMEWORKS:
        fw = load_framework(name)
        assert fw.id == name and fw.indicators and fw.source


def test_yichang_scope_and_thresholds() -> None:
    out = attainment_table(_panel(), [load_framework("yichang_2023")])
    # only 2023 is in scope; urban ≥ 20 (U1: 20 met at the boundary, U2: 25), rural ≥ 10 (R1: 10 met)
    assert set(out["year"]) == {2023}
    status = out.set_index(["indicator", "community_id"])["status"]
    assert status[("social_orgs_urban", "U1")] == "met" and status[("social_orgs_urban", "U2")] == "met"
    assert status[("social_orgs_rural", "R1")] == "met"
    assert len(out) == 3


def test_no_data_reasons_and_evidence() -> None:
    out = attainment_table(_panel(), [load_framework("changsha_wuxing"), load_framework("guobanfa_2021_56")])
    cell = out[(out["indicator"] == "quality_centre_area") & (out["community_id"] == "R1")].set_index("year")
    assert cell.loc[2022, "status"] == "no_data" and cell.loc[2022, "reason"] == "missing_value"
    assert cell.loc[2023, "status"] == "not_met" and cell.loc[2023, "value"] == 300.0
    assert cell.loc[2023, "source"] == "community_panel"
    smart = out[out["indicator"] == "smart_platform"]
    assert (smart["status"] == "no_data").all() and (smart["reason"] == "metric_not_in_data").all()
    cw = out[out["indicator"] == "community_workers_per_10k"]
    assert set(cw["community_id"]) == {"U1", "U2"}  # urban only
    assert (cw["reason"] == "metric_not_in_data").all()


def test_share_metrics_carry_their_denominator_and_zero_denominator() -> None:
    out = attainment_table(_panel(), [config_framework({"resolution_rate": 0.9, "made_up_key": 3})])
    res = out[out["indicator"] == "resolution_rate"].set_index(["community_id", "year"])
    assert res.loc[("U1", 2022), "status"] == "met" and res.loc[("U1", 2022), "n"] == 10  # 0.9 ≥ 0.9
    assert res.loc[("R1", 2022), "reason"] == "zero_denominator"
    assert res.loc[("R1", 2022), "status"] == "no_data"
    assert (out.loc[out["indicator"] == "made_up_key", "reason"] == "unknown_target_key").all()


def test_programme_scope_and_strict_direction() -> None:
    out = attainment_table(_panel(), [load_framework("wushe_longwanggang")])
    # wushe pilots in running years only: U1 2023
    assert set(zip(out["community_id"], out["year"], strict=True)) == {("U1", 2023)}
    status = out.set_index("indicator")["status"]
    assert status["certified_social_workers"] == "met" and status["centre_area"] == "not_met"
    assert status["five_actor_services"] == "met"  # 0.1 > 0


def test_summary_counts() -> None:
    out = attainment_summary(attainment_table(_panel(), [load_framework("response_24h")]))
    row = out[(out["indicator"] == "satisfaction_100") & (out["year"] == 2023)].iloc[0]
    assert (row["met"], row["not_met"], row["no_data"]) == (1, 1, 1)
    assert row["share_met"] == 0.5


def test_unknown_framework_message() -> None:
    with pytest.raises(ConfigError, match="neither a shipped framework"):
        load_framework("no_such_framework")


def _overview(panel: pd.DataFrame, targets: dict[str, float], **kw) -> pd.DataFrame:
    fws = [config_framework(targets)]
    return attainment_overview(attainment_table(panel, fws), fws, **kw).set_index("indicator")


def test_overview_counts_communities_and_pools_shares() -> None:
    """Hand-checked on ``_panel``: the latest year with data is 2023 (U1, R1, U2)."""
    out = _overview(_panel(), {"social_orgs_per_community": 10, "resolution_rate": 0.9, "made_up_key": 3})
    orgs, res, unknown = out.loc["social_orgs_per_community"], out.loc["resolution_rate"], out.loc["made_up_key"]
    # social_orgs 2023: 20, 10, 25 — all ≥ 10 (10 at the boundary); median 20
    assert (orgs["year"], orgs["n_met"], orgs["n_with_data"], orgs["status"]) == (2023, 3, 3, "met")
    assert orgs["value"] == 20.0 and orgs["summary"] == "median" and orgs["source"] == "community_panel"
    # share_resolved 2023: U1 0.95 of 20, R1 0.5 of 2, U2 1.0 of 5 → 2 of 3 meet 0.9; pooled (19 + 1 + 5) / 27
    assert (res["n_met"], res["n_with_data"], res["status"]) == (2, 3, "partly_met")
    assert res["value"] == pytest.approx(25 / 27, rel=1e-12) and res["summary"] == "pooled_share"
    # an unknown key keeps its row, with the reason, and no number
    assert (unknown["status"], unknown["reason"], unknown["n_with_data"]) == ("no_data", "unknown_target_key", 0)
    assert np.isnan(unknown["value"]) and unknown["n_communities"] == 3
    assert list(out.index) == ["social_orgs_per_community", "resolution_rate", "made_up_key"]


def test_overview_in_a_given_year_and_not_met() -> None:
    out = _overview(_panel(), {"resolution_rate": 0.9, "social_orgs_per_community": 30}, year=2022)
    res, orgs = out.loc["resolution_rate"], out.loc["social_orgs_per_community"]
    # 2022: U1 0.9 of 10 (met at the boundary); R1 has no request (zero denominator) → 1 of 1 with data
    assert (res["n_communities"], res["n_with_data"], res["n_met"], res["status"]) == (2, 1, 1, "met")
    assert res["value"] == pytest.approx(0.9, rel=1e-12)
    assert (orgs["n_met"], orgs["status"], orgs["value"]) == (0, "not_met", 14.0)  # 19 and 9


def test_overview_keeps_targets_without_cells() -> None:
    """No community in the panel: every config key is still reported, none dropped."""
    out = _overview(_panel().iloc[0:0], {"social_orgs_per_community": 8, "made_up_key": 3})
    assert out["status"].tolist() == ["no_data", "no_data"]
    assert out["reason"].tolist() == ["no_cells_in_scope", "unknown_target_key"]
    assert out["year"].isna().all() and (out["n_communities"] == 0).all()
