"""Inputs over time from the community-year panel (投入): organisations, certified social
workers, volunteers and their hours, funding, service-centre area — as counts and per 10,000
residents, the unit policy standards use (e.g. 国办发〔2021〕56号: community workers per
10,000 urban residents). A zero or missing population gives NaN rates, never inf.
``community_workers`` (社区工作者, all community staff) is not part of the data model; when a
panel carries it, its rate is computed too, otherwise it is NaN with reason
``no_community_workers_column``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.programme.reach import safe_ratio

__all__ = ["INPUT_COUNTS", "inputs_table", "inputs_by_group"]

INPUT_COUNTS: tuple[str, ...] = ("social_orgs", "social_workers", "volunteers", "community_workers")


def inputs_table(panel: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Per community × year: the panel's inputs, ``<count>_per_10k``,
    ``volunteer_hours_per_volunteer``, ``funding_yuan_per_resident``, group, pilot_running."""
    out = panel.merge(context[["community_id", "group", "urban_rural", "population", "start_year"]],
                      on="community_id", how="left")
    out["pilot_running"] = (out["start_year"] > 0) & (out["year"] >= out["start_year"])
    for col in INPUT_COUNTS:
        if col in out:
            out[f"{col}_per_10k"] = 10_000 * safe_ratio(out[col], out["population"])
        else:
            out[col] = np.nan
            out[f"{col}_per_10k"] = np.nan
    out["volunteer_hours_per_volunteer"] = safe_ratio(out["volunteer_hours"], out["volunteers"])
    out["funding_yuan_per_resident"] = safe_ratio(out["funding_wan"] * 10_000, out["population"])
    if "centre_area_m2" not in out:
        out["centre_area_m2"] = np.nan
    out["reason"] = np.where(out["community_workers"].isna(), "no_community_workers_column", "")
    return out.sort_values(["community_id", "year"]).reset_index(drop=True)


def inputs_by_group(inputs: pd.DataFrame) -> pd.DataFrame:
    """Mean inputs per community by group × year (what a pilot-versus-comparison chart shows)."""
    cols = ["social_orgs", "social_workers", "volunteers", "volunteer_hours", "funding_wan", "centre_area_m2",
            "social_orgs_per_10k", "social_workers_per_10k", "volunteers_per_10k"]
    out = inputs.groupby(["group", "year"], sort=True)[cols].mean().reset_index()
    out["communities"] = inputs.groupby(["group", "year"], sort=True).size().to_numpy()
    return out
