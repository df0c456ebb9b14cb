"""Linkage — what 三社/五社联动 is meant to create: which actors co-deliver the services.

Each service record flags which of the five actors took part (community, social
organisation, social worker, volunteers, charitable resources). The linkage profile of a
community-year is the share of its services delivered by at least 2, at least 3 and all 5
actors, the share involving each actor and each pair, and the mean number of actors. A pilot's
change since its start compares the 12 months before the start month with the months from the
start on. Services with a missing actor flag cannot enter the ledger (the data model requires
the flags), so a share's denominator is always the community-year's services; a year without
services gives NaN with reason ``no_services``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.programme.aggregate import ACTOR_PAIRS, ACTORS
from evalkit.programme.reach import safe_ratio

__all__ = ["linkage_table", "linkage_pairs", "linkage_change", "linkage_by_group"]

_COUNTS = ["actors_ge2", "actors_ge3", "actors_all5", *(f"actor_{a}" for a in ACTORS)]


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _COUNTS:
        name = col.replace("actors_", "share_").replace("actor_", "share_")
        out[name] = safe_ratio(out[col], out["services"])
    out["mean_actors"] = safe_ratio(sum(out[f"actor_{a}"] for a in ACTORS), out["services"])
    out["reason"] = np.where(out["services"] > 0, "", "no_services")
    return out


def linkage_table(services_cy: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Per community × year: services, share_ge2, share_ge3, share_all5, share_<actor>,
    mean_actors, group, pilot_running, reason."""
    data = services_cy.merge(context[["community_id", "group", "start_year"]], on="community_id", how="left")
    data["pilot_running"] = (data["start_year"] > 0) & (data["year"] >= data["start_year"])
    out = _shares(data)
    keep = ["community_id", "year", "group", "pilot_running", "services", *[c for c in out if c.startswith("share_")],
            "mean_actors", "reason"]
    return out[keep]


def linkage_by_group(services_cy: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Pilots (by programme type) against comparison communities, by year: pooled shares."""
    data = services_cy.merge(context[["community_id", "group"]], on="community_id", how="left")
    cols = ["services", *_COUNTS]
    pooled = data.groupby(["group", "year"], sort=True)[cols].sum().reset_index()
    out = _shares(pooled)
    return out[["group", "year", "services", *[c for c in out if c.startswith("share_")], "mean_actors"]]


def linkage_pairs(services_agg: pd.DataFrame, context: pd.DataFrame, *, by: tuple[str, ...] = ("group",)) -> pd.DataFrame:
    """Share of services co-delivered by each pair of actors, long: by…, pair, services, share."""
    data = services_agg.merge(context[["community_id", "group"]], on="community_id", how="left")
    pair_cols = [f"pair_{a}__{b}" for a, b in ACTOR_PAIRS]
    pooled = data.groupby(list(by), sort=True)[["services", *pair_cols]].sum().reset_index()
    long = pooled.melt(id_vars=[*by, "services"], value_vars=pair_cols, var_name="pair", value_name="both")
    long["pair"] = long["pair"].str.removeprefix("pair_")
    long["share"] = safe_ratio(long["both"], long["services"])
    return long.sort_values([*by, "pair"]).reset_index(drop=True)


def linkage_change(services_cym: pd.DataFrame, context: pd.DataFrame, *, window_months: int = 12) -> pd.DataFrame:
    """Per pilot: linkage shares in the ``window_months`` before its start month and since then.

    ``services_cym`` is ``service_aggregates(by=("community_id", "year", "month"))``. Columns:
    community_id, group, start_year, period (``before`` / ``since``), services, share_ge2,
    share_ge3, share_all5, mean_actors, reason (``no_services`` when a period has none, e.g.
    a pilot that started with the ledger).
    """
    pilots = context[context["start_year"] > 0]
    data = services_cym.merge(pilots[["community_id", "group", "start_year", "start_date"]], on="community_id")
    idx = data["year"] * 12 + data["month"] - 1
    start = data["start_date"].dt.year * 12 + data["start_date"].dt.month - 1
    data["period"] = np.where(idx >= start, "since", np.where(idx >= start - window_months, "before", ""))
    data = data[data["period"] != ""]
    cols = ["services", *_COUNTS]
    grid = pd.MultiIndex.from_product([pilots["community_id"], ["before", "since"]], names=["community_id", "period"])
    pooled = data.groupby(["community_id", "period"])[cols].sum().reindex(grid, fill_value=0).reset_index()
    pooled = pooled.merge(pilots[["community_id", "group", "start_year"]], on="community_id")
    out = _shares(pooled)
    return out[["community_id", "group", "start_year", "period", "services", "share_ge2", "share_ge3",
                "share_all5", "mean_actors", "reason"]]
