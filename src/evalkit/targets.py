"""Programme targets from the study config, measured against the administrative data.

A config's ``targets:`` names a measure and its threshold (``social_orgs_per_community: 8``,
``resolution_rate: 0.9``). :func:`target_attainment` measures each known target per community
in the latest year of data and returns facts (value, threshold, communities meeting it, a
status code); the report renders them (:mod:`evalkit.reporting.story`). Measures:

* ``social_orgs_per_community``: ``community_panel.social_orgs`` in the latest panel year;
  a community meets the target when it has at least the threshold.
* ``resolution_rate``: share of ``requests`` received in the latest year with a
  ``resolved_at`` time; a community meets the target when its share is at least the threshold.

The programme value is the median over communities (organisations) or the pooled share
(requests). A target this module cannot measure gets status ``not_measurable`` (unknown
name or missing table), never a guessed number.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["KNOWN_TARGETS", "target_attainment"]

KNOWN_TARGETS: tuple[str, ...] = ("social_orgs_per_community", "resolution_rate")

_COLUMNS = ["target", "threshold", "year", "value", "n_communities", "n_met", "status"]


def _social_orgs(tables: Mapping[str, pd.DataFrame]) -> tuple[int, pd.Series] | None:
    panel = tables.get("community_panel")
    if panel is None or not {"community_id", "year", "social_orgs"} <= set(panel.columns) or panel.empty:
        return None
    year = int(panel["year"].max())
    latest = panel[panel["year"] == year].set_index("community_id")["social_orgs"].astype(float)
    return year, latest


def _resolution(tables: Mapping[str, pd.DataFrame]) -> tuple[int, pd.Series, float] | None:
    req = tables.get("requests")
    if req is None or not {"community_id", "received_at", "resolved_at"} <= set(req.columns) or req.empty:
        return None
    received = pd.to_datetime(req["received_at"])
    year = int(received.dt.year.max())
    latest = req[received.dt.year == year]
    resolved = latest["resolved_at"].notna()
    share = resolved.groupby(latest["community_id"]).mean().astype(float)
    return year, share, float(resolved.mean())


def target_attainment(tables: Mapping[str, pd.DataFrame], targets: Mapping[str, float]) -> pd.DataFrame:
    """One row per configured target: threshold, latest year, programme value, communities meeting it.

    ``status`` is ``met`` (the programme value reaches the threshold and every community does),
    ``partly_met`` (the programme value does, some communities do not), ``not_met`` or
    ``not_measurable``.
    """
    rows = []
    for name, threshold in targets.items():
        row = {"target": name, "threshold": float(threshold), "year": np.nan, "value": np.nan,
               "n_communities": 0, "n_met": 0, "status": "not_measurable"}
        per: pd.Series | None = None
        if name == "social_orgs_per_community" and (got := _social_orgs(tables)) is not None:
            row["year"], per = got
            row["value"] = float(per.median())
        elif name == "resolution_rate" and (got_r := _resolution(tables)) is not None:
            row["year"], per, row["value"] = got_r
        if per is not None and len(per):
            met = per >= float(threshold)
            row["n_communities"], row["n_met"] = int(len(per)), int(met.sum())
            if row["value"] < float(threshold):
                row["status"] = "not_met"
            else:
                row["status"] = "met" if met.all() else "partly_met"
        rows.append(row)
    return pd.DataFrame(rows, columns=_COLUMNS)
