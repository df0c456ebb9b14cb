"""Reach and coverage: services and 人次 delivered, and how far they reach the target groups.

Inputs are the integer aggregates of :mod:`evalkit.programme.aggregate`. Without a person
key in the ledger, participants are *contacts* (人次), not people: coverage of a target
group is then reported as contacts per member of the group (``coverage_kind = contacts``),
never as a share of people reached; with a pseudonymised person key it is the share of the
group's population served at least once (``coverage_kind = people``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["TARGET_GROUPS", "reach_table", "reach_by", "coverage_table", "safe_ratio"]

#: target group → (service blocks that serve it, the context column with its population)
TARGET_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "elderly": (("为老服务",), "elderly"),
    "children": (("儿童关爱", "青少年成长"), "under18"),
    "disability": (("助残服务",), "disabled"),
    "migrants": ((), "migrants"),
}


def safe_ratio(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """num / den with NaN (never inf) where the denominator is 0 or missing."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((den > 0) & np.isfinite(den), num / np.where(den > 0, den, 1.0), np.nan)


def reach_table(services_cy: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Per community × year: services, participants, volunteer hours, per-resident rates.

    ``services_cy`` is ``service_aggregates(by=("community_id", "year"))``. Every community
    of the registry appears for every year of the ledger (0 services where none).
    """
    years = sorted(services_cy["year"].unique()) if not services_cy.empty else []
    grid = pd.MultiIndex.from_product([context["community_id"], years], names=["community_id", "year"])
    agg = services_cy.set_index(["community_id", "year"])[["services", "participants", "volunteer_minutes"]]
    out = agg.reindex(grid, fill_value=0).reset_index()
    out = out.merge(context[["community_id", "group", "population", "start_year"]], on="community_id", how="left")
    out["volunteer_hours"] = out["volunteer_minutes"] / 60
    out["services_per_1000"] = 1000 * safe_ratio(out["services"], out["population"])
    out["participants_per_resident"] = safe_ratio(out["participants"], out["population"])
    out["pilot_running"] = (out["start_year"] > 0) & (out["year"] >= out["start_year"])
    return out.drop(columns=["volunteer_minutes"])


def reach_by(services_agg: pd.DataFrame, context: pd.DataFrame, *, dimension: str) -> pd.DataFrame:
    """Services and participants by group × year × ``dimension`` (block, method or month),
    with each cell's share of its group-year's services."""
    data = services_agg.merge(context[["community_id", "group"]], on="community_id", how="left")
    keys = ["group", "year", dimension]
    out = data.groupby(keys, sort=True)[["services", "participants"]].sum().reset_index()
    total = out.groupby(["group", "year"])["services"].transform("sum")
    out["share_of_services"] = safe_ratio(out["services"], total)
    return out


def coverage_table(services_cyb: pd.DataFrame, context: pd.DataFrame, *,
                   unique_people: pd.DataFrame | None = None,
                   groups: Mapping[str, tuple[tuple[str, ...], str]] = TARGET_GROUPS) -> pd.DataFrame:
    """Coverage of target groups per community × year.

    ``services_cyb`` is ``service_aggregates(by=("community_id", "year", "block"))``;
    ``unique_people`` (optional) has community_id, year, target_group, people.
    Columns: community_id, year, target_group, services, participants, target_population,
    coverage, coverage_kind (``contacts`` / ``people``), reason (``""``,
    ``no_block_for_group``, ``no_population_for_group``, ``zero_population``).
    """
    years = sorted(services_cyb["year"].unique()) if not services_cyb.empty else []
    rows = []
    for group, (blocks, pop_col) in groups.items():
        sel = services_cyb[services_cyb["block"].isin(blocks)]
        agg = sel.groupby(["community_id", "year"])[["services", "participants"]].sum()
        grid = pd.MultiIndex.from_product([context["community_id"], years], names=["community_id", "year"])
        part = agg.reindex(grid, fill_value=0).reset_index()
        part["target_group"] = group
        pop = context.set_index("community_id")[pop_col] if pop_col in context else None
        part["target_population"] = part["community_id"].map(pop) if pop is not None else np.nan
        part["coverage_kind"] = "contacts"
        part["coverage"] = safe_ratio(part["participants"], part["target_population"])
        if unique_people is not None:
            people = unique_people[unique_people["target_group"] == group].set_index(["community_id", "year"])["people"]
            got = pd.Series(list(zip(part["community_id"], part["year"], strict=True))).map(people)
            has = got.notna().to_numpy()
            part.loc[has, "coverage"] = safe_ratio(got[has], part.loc[has, "target_population"])
            part.loc[has, "coverage_kind"] = "people"
        reason = np.where(not blocks, "no_block_for_group",
                          np.where(part["target_population"].isna(), "no_population_for_group",
                                   np.where(part["target_population"] <= 0, "zero_population", "")))
        part["reason"] = reason
        part.loc[part["reason"] != "", "coverage"] = np.nan
        rows.append(part)
    cols = ["community_id", "year", "target_group", "services", "participants", "target_population",
            "coverage", "coverage_kind", "reason"]
    return pd.concat(rows, ignore_index=True)[cols]
