"""Costs: per service, per 人次, per resident, and per unit of outcome change.

* **Ledger costs** (``cost_yuan`` of the service records, summed in fen):
  cost per service and per participant contact (人次) per community-year.
* **Funding** (``funding_wan`` of the community-year panel): funding per resident.
* **Cost per unit of effect**: the *incremental* funding of a pilot (万元 per community-year,
  estimated like an effect: the pilot's funding change from the year before its start against
  the never-treated communities' change, :func:`evalkit.programme.compare.unit_did_effects`)
  divided by the impact estimate of an outcome. The effect is uncertain; the cost is treated
  as known (it is a budget line, and its own sampling spread is not part of the claim). For a
  ratio ``c / θ`` with known ``c > 0`` and a confidence interval ``[L, U]`` for ``θ``, Fieller's
  interval reduces to ``[c / U, c / L]`` when ``L > 0``; when the interval for θ includes 0
  the cost per unit of effect is unbounded (reason ``effect_ci_includes_zero``) and only the
  lower end ``c / U`` is reported (for ``U > 0``). The point ratio is never shown alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.programme.reach import safe_ratio

__all__ = ["cost_table", "cost_per_effect"]


def cost_table(services_cy: pd.DataFrame, panel: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Per community × year: ledger cost (yuan), services, participants, cost_per_service,
    cost_per_participant, funding_wan, funding_yuan_per_resident, ledger_cost_per_resident,
    group, pilot_running, reason (``no_services`` / ``no_funding_record``)."""
    led = services_cy[["community_id", "year", "services", "participants", "cost_fen"]]
    fund = panel[["community_id", "year", "funding_wan"]]
    out = led.merge(fund, on=["community_id", "year"], how="outer")
    out = out.merge(context[["community_id", "group", "population", "start_year"]], on="community_id", how="left")
    for col in ("services", "participants", "cost_fen"):
        out[col] = out[col].fillna(0).astype("int64")
    out["cost_yuan"] = out["cost_fen"] / 100
    out["cost_per_service"] = safe_ratio(out["cost_yuan"], out["services"])
    out["cost_per_participant"] = safe_ratio(out["cost_yuan"], out["participants"])
    out["funding_yuan_per_resident"] = safe_ratio(out["funding_wan"] * 10_000, out["population"])
    out["ledger_cost_per_resident"] = safe_ratio(out["cost_yuan"], out["population"])
    out["pilot_running"] = (out["start_year"] > 0) & (out["year"] >= out["start_year"])
    out["reason"] = np.where(out["services"] == 0, "no_services",
                             np.where(out["funding_wan"].isna(), "no_funding_record", ""))
    return out.drop(columns=["cost_fen"]).sort_values(["community_id", "year"]).reset_index(drop=True)


def cost_per_effect(cost: float, estimate: float, ci_lower: float, ci_upper: float) -> dict:
    """Cost per unit of effect with its interval (see module docstring).

    Returns cost, effect, ratio, ratio_ci_lower, ratio_ci_upper, reason (``""``,
    ``effect_ci_includes_zero``, ``effect_not_positive``, ``no_cost``).
    """
    out = {"cost": float(cost), "effect": float(estimate), "ratio": np.nan, "ratio_ci_lower": np.nan,
           "ratio_ci_upper": np.nan, "reason": ""}
    if not np.isfinite(cost) or cost <= 0:
        out["reason"] = "no_cost"
        return out
    if not estimate > 0:
        out["reason"] = "effect_not_positive"
        return out
    out["ratio"] = cost / estimate
    if ci_lower > 0:
        out["ratio_ci_lower"], out["ratio_ci_upper"] = cost / ci_upper, cost / ci_lower
    else:
        out["reason"] = "effect_ci_includes_zero"
        out["ratio_ci_lower"] = cost / ci_upper if ci_upper > 0 else np.nan
    return out
