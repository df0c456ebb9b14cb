"""Reach, coverage, linkage, inputs, costs: hand-computed values on small fixtures, including
ties, missing actors and zero denominators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.programme.aggregate import service_aggregates
from evalkit.programme.costs import cost_per_effect, cost_table
from evalkit.programme.inputs import inputs_table
from evalkit.programme.linkage import linkage_by_group, linkage_change, linkage_pairs, linkage_table
from evalkit.programme.reach import coverage_table, reach_by, reach_table


def test_reach_fills_missing_communities_and_zero_population(services_small, context_small) -> None:
    out = reach_table(service_aggregates(services_small), context_small).set_index(["community_id", "year"])
    assert out.loc[("X", 2023), "services"] == 2
    assert out.loc[("X", 2023), "services_per_1000"] == pytest.approx(0.2)  # 2 / 10,000 × 1000
    assert out.loc[("X", 2023), "volunteer_hours"] == 1.5
    assert out.loc[("Z", 2024), "services"] == 0  # registry community without services
    assert np.isnan(out.loc[("Y", 2023), "participants_per_resident"])  # population 0 → NaN, not inf
    assert bool(out.loc[("X", 2023), "pilot_running"]) and not bool(out.loc[("Y", 2023), "pilot_running"])


def test_reach_by_method_shares(services_small, context_small) -> None:
    agg = service_aggregates(services_small, by=("community_id", "year", "method"))
    out = reach_by(agg, context_small, dimension="method")
    wushe23 = out[(out["group"] == "wushe") & (out["year"] == 2023)].set_index("method")
    assert list(wushe23["share_of_services"]) == [0.5, 0.5]


def test_coverage_contacts_and_reason_codes(services_small, context_small) -> None:
    agg = service_aggregates(services_small, by=("community_id", "year", "block"))
    cov = coverage_table(agg, context_small).set_index(["community_id", "year", "target_group"])
    # X 2023: one 为老服务 casework with 1 participant, 2,000 elderly residents
    assert cov.loc[("X", 2023, "elderly"), "coverage"] == pytest.approx(1 / 2000)
    assert cov.loc[("X", 2023, "elderly"), "coverage_kind"] == "contacts"
    assert cov.loc[("X", 2023, "children"), "participants"] == 8
    assert cov.loc[("Y", 2023, "elderly"), "reason"] == "zero_population"
    assert cov.loc[("Z", 2023, "elderly"), "reason"] == "no_population_for_group"
    assert cov.loc[("X", 2023, "migrants"), "reason"] == "no_block_for_group"
    assert cov.loc[("X", 2023, "disability"), "reason"] == "no_population_for_group"  # no disabled counts


def test_coverage_with_person_key_counts_people(services_small, context_small) -> None:
    agg = service_aggregates(services_small, by=("community_id", "year", "block"))
    people = pd.DataFrame({"community_id": ["X"], "year": [2023], "target_group": ["elderly"], "people": [1]})
    cov = coverage_table(agg, context_small, unique_people=people).set_index(["community_id", "year", "target_group"])
    assert cov.loc[("X", 2023, "elderly"), "coverage_kind"] == "people"
    assert cov.loc[("X", 2024, "elderly"), "coverage_kind"] == "contacts"


def test_linkage_shares_hand_computed(services_small, context_small) -> None:
    cy = service_aggregates(services_small)
    out = linkage_table(cy, context_small).set_index(["community_id", "year"])
    x23 = out.loc[("X", 2023)]
    assert (x23["share_ge2"], x23["share_ge3"], x23["share_all5"]) == (1.0, 0.0, 0.0)
    assert x23["mean_actors"] == 2.0 and x23["share_social_org"] == 0.5
    y = out.loc[("Y", 2023)]  # a service with no actor at all
    assert (y["share_ge2"], y["mean_actors"]) == (0.0, 0.0)
    by_group = linkage_by_group(cy, context_small).set_index(["group", "year"])
    assert by_group.loc[("wushe", 2024), "share_all5"] == 1.0
    pairs = linkage_pairs(cy, context_small, by=("group",)).set_index(["group", "pair"])
    assert pairs.loc[("wushe", "community__social_org"), "share"] == pytest.approx(2 / 3)
    assert pairs.loc[("sanshe", "community__social_org"), "share"] == 0.0


def test_linkage_change_before_and_since_start(services_small, context_small) -> None:
    cym = service_aggregates(services_small, by=("community_id", "year", "month"))
    out = linkage_change(cym, context_small).set_index(["community_id", "period"])
    # X starts June 2023: Jan 2023 services are "before" (within 12 months), Mar 2024 "since"
    assert out.loc[("X", "before"), "services"] == 2 and out.loc[("X", "since"), "services"] == 1
    assert out.loc[("X", "since"), "share_ge3"] == 1.0
    # Y starts Jan 2024: its June 2023 service is before; nothing since → reason no_services
    assert out.loc[("Y", "since"), "reason"] == "no_services" and np.isnan(out.loc[("Y", "since"), "share_ge2"])


def _panel() -> pd.DataFrame:
    return pd.DataFrame({"community_id": ["X", "Y", "Z"], "year": [2023] * 3, "social_orgs": [12, 3, 0],
                         "social_workers": [4, 0, 1], "volunteers": [200, 0, 10], "volunteer_hours": [800.0, 0.0, 5.0],
                         "funding_wan": [20.0, 1.0, np.nan], "centre_area_m2": [650.0, np.nan, 300.0]})


def test_inputs_per_10k_and_zero_denominators(context_small) -> None:
    out = inputs_table(_panel(), context_small).set_index("community_id")
    assert out.loc["X", "social_orgs_per_10k"] == pytest.approx(12.0)
    assert out.loc["Z", "social_workers_per_10k"] == pytest.approx(2.0)  # 1 per 5,000
    assert np.isnan(out.loc["Y", "social_orgs_per_10k"])  # population 0
    assert np.isnan(out.loc["Y", "volunteer_hours_per_volunteer"])  # no volunteers
    assert out.loc["X", "funding_yuan_per_resident"] == pytest.approx(20.0)  # 200,000 yuan / 10,000
    assert out.loc["X", "reason"] == "no_community_workers_column"
    with_workers = inputs_table(_panel().assign(community_workers=[18, 2, 5]), context_small).set_index("community_id")
    assert with_workers.loc["X", "community_workers_per_10k"] == pytest.approx(18.0)
    assert with_workers.loc["X", "reason"] == ""


def test_cost_table_hand_computed(services_small, context_small) -> None:
    out = cost_table(service_aggregates(services_small), _panel(), context_small).set_index(["community_id", "year"])
    x = out.loc[("X", 2023)]
    assert x["cost_yuan"] == pytest.approx(1000.0)  # 20000 + 80000 fen
    assert x["cost_per_service"] == pytest.approx(500.0) and x["cost_per_participant"] == pytest.approx(1000 / 9)
    assert out.loc[("Z", 2023), "reason"] == "no_services"
    assert out.loc[("X", 2024), "reason"] == "no_funding_record"
    assert np.isnan(out.loc[("Y", 2023), "ledger_cost_per_resident"])


def test_cost_per_effect_interval_by_inversion() -> None:
    ok = cost_per_effect(20.0, 0.25, 0.2, 0.4)
    assert (ok["ratio"], ok["ratio_ci_lower"], ok["ratio_ci_upper"]) == pytest.approx((80.0, 50.0, 100.0))
    open_ = cost_per_effect(20.0, 0.1, -0.05, 0.25)
    assert open_["reason"] == "effect_ci_includes_zero" and open_["ratio_ci_lower"] == pytest.approx(80.0)
    assert np.isnan(open_["ratio_ci_upper"])
    assert cost_per_effect(20.0, -0.1, -0.3, 0.1)["reason"] == "effect_not_positive"
    assert cost_per_effect(0.0, 0.3, 0.1, 0.5)["reason"] == "no_cost"
