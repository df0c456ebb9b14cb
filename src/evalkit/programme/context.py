"""Who is who: one row per community with its population, urban/rural type and programme.

Every programme table is joined to this frame, so pilots, their programme type (三社联动 /
五社联动 / other) and the comparison communities are labelled the same way everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["GROUPS", "community_context"]

#: the group codes every programme table uses
GROUPS: tuple[str, ...] = ("sanshe", "wushe", "other", "comparison")


def community_context(communities: pd.DataFrame, pilots: pd.DataFrame,
                      population: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns: community_id, urban_rural, population, adults, elderly, under18, migrants,
    group (a code of :data:`GROUPS`), start_date, start_year (0 = never a pilot).

    ``adults``, ``elderly`` (60+) and ``migrants`` (18+) come from the population margins
    when given (NA otherwise); ``under18`` is the registry population minus the adults of the
    margins (the margins count residents aged 18+).
    """
    # a registry may hold only id and name: urban/rural and population are then unknown (NA),
    # and every indicator that needs them reports "no data" rather than failing
    out = communities[["community_id"]].copy()
    out["urban_rural"] = communities["urban_rural"] if "urban_rural" in communities else pd.NA
    out["population"] = (pd.to_numeric(communities["population"]).astype("float64")
                         if "population" in communities else np.nan)
    out["community_id"] = out["community_id"].astype(object)
    if population is not None and not population.empty:
        pop = population.assign(n=pd.to_numeric(population["population"]).astype("float64"))
        adults = pop.groupby("community_id")["n"].sum()
        elderly = pop[pop["age_band"] == "60+"].groupby("community_id")["n"].sum()
        migrants = pop[pop["hukou"] == "migrant"].groupby("community_id")["n"].sum()
        ids = out["community_id"]
        out["adults"] = ids.map(adults).astype("float64")
        out["elderly"] = ids.map(elderly).astype("float64")
        out["migrants"] = ids.map(migrants).astype("float64")
        out["under18"] = (out["population"] - out["adults"]).clip(lower=0)
    else:
        for col in ("adults", "elderly", "migrants", "under18"):
            out[col] = np.nan
    p = pilots.set_index(pilots["community_id"].astype(object))
    out["group"] = out["community_id"].map(p["programme"]).astype(object).where(
        out["community_id"].isin(p.index), "comparison")
    out["start_date"] = pd.to_datetime(out["community_id"].map(p["start_date"]))
    out["start_year"] = out["start_date"].dt.year.fillna(0).astype("int64")
    return out.reset_index(drop=True)
