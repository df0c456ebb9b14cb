"""Target frameworks and the attainment table (达标情况).

A framework is a YAML file (see ``frameworks/`` for the shipped ones) listing indicators,
each with a ``metric`` (a column of the community-year indicator panel built by
:func:`evalkit.programme.report.indicator_panel`), a ``threshold``, a ``direction``
(``at_least`` ≥, ``at_most`` ≤, ``above`` >, ``below`` <) and an optional ``scope``:
``urban_rural`` (list), ``groups`` (sanshe / wushe / other / comparison), ``from_year``,
``to_year``, ``pilot_running`` (true: only years in which the community's pilot runs).

:func:`attainment_table` gives one row per framework × indicator × community × year in
scope, with ``status`` ``met`` / ``not_met`` / ``no_data`` and the evidence: the value, its
denominator ``n`` where the metric is a share, and the source table. ``no_data`` carries a
reason: ``metric_not_in_data`` (the study has no such column, e.g. community workers),
``missing_value`` (the cell is empty), ``zero_denominator`` (a share of nothing), or
``unknown_target_key`` (a config target evalkit cannot map to a metric).

The config's ``targets:`` mapping becomes the framework ``config`` through
:data:`CONFIG_TARGET_KEYS` (``social_orgs_per_community: 8`` → social_orgs ≥ 8); a key that is
itself a metric name means "metric ≥ value".

:func:`attainment_overview` reads the same cells back as one row per framework × indicator
in one year (the latest with data): communities meeting the target out of those with data,
and a city-wide value for context. It is what the impact report's target table shows, so
that table and the programme analysis cannot disagree. A target is a standard for each
community (长沙 "≥ 8 community social organisations", 宜昌 "≥ 20 per urban community"), so the
overview's ``status`` counts communities: ``met`` (every community with data meets it),
``partly_met`` (some do), ``not_met`` (none does), ``no_data`` (none has data; ``reason``
says why, as above, or ``no_cells_in_scope``: no community-year of the data is in the
indicator's scope, e.g. a study without administrative tables). The city-wide value (median over communities; for a share, the pooled share of
all records) is context and does not decide the status.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.errors import ConfigError
from evalkit.yamlio import Node, load_yaml

__all__ = ["SHIPPED_FRAMEWORKS", "CONFIG_TARGET_KEYS", "METRICS", "Indicator", "Framework", "load_framework",
           "config_framework", "attainment_table", "attainment_summary", "attainment_overview"]

Direction = Literal["at_least", "at_most", "above", "below"]
_OPS = {"at_least": operator.ge, "at_most": operator.le, "above": operator.gt, "below": operator.lt}
SHIPPED_FRAMEWORKS: tuple[str, ...] = ("changsha_wuxing", "yichang_2023", "minfa_2017_191", "guobanfa_2021_56",
                                       "wushe_longwanggang", "response_24h")

#: metric → (source table, denominator column in the indicator panel or None)
METRICS: dict[str, tuple[str, str | None]] = {
    **{m: ("community_panel", None) for m in (
        "social_orgs", "social_workers", "volunteers", "volunteer_hours", "funding_wan", "centre_area_m2",
        "community_workers", "social_orgs_per_10k", "social_workers_per_10k", "volunteers_per_10k",
        "community_workers_per_10k", "funding_yuan_per_resident")},
    **{m: ("services", None) for m in ("services", "participants", "services_per_1000", "participants_per_resident")},
    **{m: ("services", "services") for m in ("share_ge2", "share_ge3", "share_all5")},
    **{m: ("requests", "requests") for m in ("share_resolved", "share_within_24h", "share_within_72h")},
    "share_satisfied": ("requests", "rated"),
}
#: config ``targets:`` key → (metric, direction)
CONFIG_TARGET_KEYS: dict[str, tuple[str, Direction]] = {
    "social_orgs_per_community": ("social_orgs", "at_least"),
    "social_workers_per_community": ("social_workers", "at_least"),
    "resolution_rate": ("share_resolved", "at_least"),
    "response_24h_rate": ("share_within_24h", "at_least"),
    "satisfaction_rate": ("share_satisfied", "at_least"),
    "community_workers_per_10k": ("community_workers_per_10k", "at_least"),
}


@frozen
class Indicator:
    id: str
    label_zh: str
    label_en: str
    metric: str
    threshold: float
    direction: Direction = "at_least"
    urban_rural: tuple[str, ...] = ("urban", "rural")
    groups: tuple[str, ...] = ("sanshe", "wushe", "other", "comparison")
    from_year: int | None = None
    to_year: int | None = None
    pilot_running: bool = False
    reason: str = ""  # set for config keys evalkit cannot map


@frozen
class Framework:
    id: str
    label_zh: str
    label_en: str
    source: str
    indicators: tuple[Indicator, ...] = field(factory=tuple)


def _indicator(node: Node) -> Indicator:
    node.check_keys({"id", "label_zh", "label_en", "metric", "threshold", "direction", "scope"})
    direction = node.get("direction").as_str() if node.get("direction") else "at_least"
    if direction not in _OPS:
        raise node.require("direction").error(f"direction must be one of {', '.join(_OPS)}, found '{direction}'")
    kw: dict[str, Any] = {}
    if (scope := node.get("scope")) is not None:
        scope.check_keys({"urban_rural", "groups", "from_year", "to_year", "pilot_running"})
        for key in ("urban_rural", "groups"):
            if (v := scope.get(key)) is not None:
                kw[key] = tuple(v.as_str_list())
        for key in ("from_year", "to_year"):
            if (v := scope.get(key)) is not None and not v.is_null:
                kw[key] = v.as_int()
        if (v := scope.get("pilot_running")) is not None:
            kw["pilot_running"] = v.as_bool()
    return Indicator(id=node.require("id").as_str(), label_zh=node.require("label_zh").as_str(),
                     label_en=node.require("label_en").as_str(), metric=node.require("metric").as_str(),
                     threshold=node.require("threshold").as_float(), direction=direction, **kw)  # type: ignore[arg-type]


def load_framework(name_or_path: str | Path) -> Framework:
    """A shipped framework by id (:data:`SHIPPED_FRAMEWORKS`) or a framework YAML file."""
    if str(name_or_path) in SHIPPED_FRAMEWORKS:
        ref = resources.files("evalkit.programme") / "frameworks" / f"{name_or_path}.yaml"
        with resources.as_file(ref) as path:
            root = load_yaml(path)
    else:
        path = Path(name_or_path)
        if not path.is_file():
            msg = (f"target framework '{name_or_path}' is neither a shipped framework "
                   f"({', '.join(SHIPPED_FRAMEWORKS)}) nor an existing YAML file")
            raise ConfigError(msg)
        root = load_yaml(path)
    root.check_keys({"id", "label_zh", "label_en", "source", "indicators"})
    inds = tuple(_indicator(n) for n in root.require("indicators").as_list())
    return Framework(id=root.require("id").as_str(), label_zh=root.require("label_zh").as_str(),
                     label_en=root.require("label_en").as_str(), source=root.require("source").as_str(),
                     indicators=inds)


def config_framework(targets: Mapping[str, float]) -> Framework:
    """The config's ``targets:`` as a framework (id ``config``)."""
    inds = []
    for key, value in targets.items():
        metric, direction = CONFIG_TARGET_KEYS.get(key, (key, "at_least"))
        reason = "" if metric in METRICS else "unknown_target_key"
        inds.append(Indicator(id=key, label_zh=key, label_en=key, metric=metric, threshold=float(value),
                              direction=direction, reason=reason))
    return Framework(id="config", label_zh="评估配置中的目标", label_en="Targets in the study config",
                     source="config", indicators=tuple(inds))


def attainment_table(panel: pd.DataFrame, frameworks: Sequence[Framework]) -> pd.DataFrame:
    """Attainment per framework × indicator × community × year (see module docstring).

    ``panel``: one row per community × year with community_id, year, urban_rural, group,
    pilot_running and the metric columns (and their denominators).
    """
    cols = ["framework", "indicator", "community_id", "year", "metric", "value", "threshold", "direction",
            "status", "reason", "n", "source"]
    parts = []
    for fw in frameworks:
        for ind in fw.indicators:
            scope = panel["urban_rural"].isin(ind.urban_rural) & panel["group"].isin(ind.groups)
            if ind.from_year is not None:
                scope &= panel["year"] >= ind.from_year
            if ind.to_year is not None:
                scope &= panel["year"] <= ind.to_year
            if ind.pilot_running:
                scope &= panel["pilot_running"].astype(bool)
            sub = panel.loc[scope, ["community_id", "year"]].copy()
            sub["framework"], sub["indicator"], sub["metric"] = fw.id, ind.id, ind.metric
            sub["threshold"], sub["direction"] = ind.threshold, ind.direction
            source, den = METRICS.get(ind.metric, ("", None))
            den = den if den in panel.columns else None
            sub["source"] = source
            if ind.reason or ind.metric not in panel.columns or panel.loc[scope, ind.metric].isna().all():
                sub["value"], sub["n"] = np.nan, np.nan
                reason = ind.reason or "metric_not_in_data"
                sub["status"], sub["reason"] = "no_data", reason
                parts.append(sub)
                continue
            value = pd.to_numeric(panel.loc[scope, ind.metric]).astype(float)
            n = panel.loc[scope, den].astype(float) if den else pd.Series(np.nan, index=value.index)
            met = _OPS[ind.direction](value, ind.threshold)
            zero = (n == 0) if den else pd.Series(False, index=value.index)
            sub["value"], sub["n"] = value, n
            sub["status"] = np.where(value.isna(), "no_data", np.where(met, "met", "not_met"))
            sub["reason"] = np.where(zero, "zero_denominator", np.where(value.isna(), "missing_value", ""))
            parts.append(sub)
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def attainment_summary(attainment: pd.DataFrame) -> pd.DataFrame:
    """Counts of met / not_met / no_data per framework × indicator × year and the share met
    among cells with data."""
    counts = (attainment.groupby(["framework", "indicator", "year", "status"]).size()
              .unstack("status", fill_value=0).reindex(columns=["met", "not_met", "no_data"], fill_value=0))
    out = counts.reset_index()
    with_data = out["met"] + out["not_met"]
    out["share_met"] = np.where(with_data > 0, out["met"] / with_data.where(with_data > 0, 1), np.nan)
    out.columns.name = None
    return out


def _overview_row(fw: Framework, ind: Indicator, cells: pd.DataFrame, year: int | None) -> dict[str, Any]:
    """One framework × indicator (see :func:`attainment_overview`)."""
    if year is None:  # the latest year in which some community has data, else the latest in scope
        has_data = cells.loc[cells["status"] != "no_data", "year"]
        years = has_data if len(has_data) else cells["year"]
        chosen = float(years.max()) if years.notna().any() else np.nan
    else:
        chosen = float(year)
    share = METRICS.get(ind.metric, ("", None))[1] is not None
    in_year = cells[cells["year"] == chosen]
    with_data = in_year[in_year["status"] != "no_data"]
    n_met = int((with_data["status"] == "met").sum())
    value = np.nan
    if share and len(with_data) and with_data["n"].notna().all():
        total = float(with_data["n"].sum())  # pooled share of all records: Σ share × denominator / Σ denominator
        value = float((with_data["value"] * with_data["n"]).sum() / total) if total > 0 else np.nan
    elif len(with_data):
        value = float(with_data["value"].median())
    if with_data.empty:
        status = "no_data"
        reasons = in_year["reason"][in_year["reason"] != ""]
        reason = ind.reason or (str(reasons.mode().iloc[0]) if len(reasons) else "no_cells_in_scope")
    else:
        status = "met" if n_met == len(with_data) else "not_met" if n_met == 0 else "partly_met"
        reason = ""
    return {"framework": fw.id, "indicator": ind.id, "metric": ind.metric, "threshold": ind.threshold,
            "direction": ind.direction, "year": chosen, "value": value,
            "summary": "pooled_share" if share else "median", "n_communities": int(len(in_year)),
            "n_with_data": int(len(with_data)), "n_met": n_met, "status": status, "reason": reason,
            "source": METRICS.get(ind.metric, ("", None))[0]}


def attainment_overview(attainment: pd.DataFrame, frameworks: Sequence[Framework], *,
                        year: int | None = None) -> pd.DataFrame:
    """One row per framework × indicator: the cells of :func:`attainment_table` in ``year`` or,
    by default, the latest year in which some community has data for that indicator (see the
    module docstring).

    Columns: framework, indicator, metric, threshold, direction, year, value (city-wide),
    summary (``median`` or ``pooled_share``: how ``value`` was formed), n_communities (in scope
    that year), n_with_data, n_met, status, reason, source. Every indicator of ``frameworks``
    has a row, also one without cells (``no_data``, reason ``unknown_target_key``,
    ``metric_not_in_data``, ... or ``no_cells_in_scope``).
    """
    cols = ["framework", "indicator", "metric", "threshold", "direction", "year", "value", "summary",
            "n_communities", "n_with_data", "n_met", "status", "reason", "source"]
    rows = []
    for fw in frameworks:
        for ind in fw.indicators:
            cells = attainment[(attainment["framework"] == fw.id) & (attainment["indicator"] == ind.id)]
            rows.append(_overview_row(fw, ind, cells, year))
    return pd.DataFrame(rows, columns=cols)
