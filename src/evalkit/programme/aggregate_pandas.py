"""The same aggregations as :mod:`evalkit.programme.aggregate`, in plain pandas.

An independent implementation (no SQL, no DuckDB): the benchmark in
``benchmarks/bench_service_aggregation.py`` measures DuckDB against it and the tests check
that both give identical integers. Rounding rules are the DuckDB module's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.programme.aggregate import ACTOR_PAIRS, ACTORS

__all__ = ["service_aggregates_pandas", "request_aggregates_pandas"]


def _group(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if not keys:
        return frame.sum().to_frame().T.reset_index(drop=True)
    out = frame.groupby(keys, sort=True, observed=True).sum().reset_index()
    for k in keys:
        out[k] = out[k].astype("int64") if k in ("year", "month") else out[k].astype(object)
    return out


def service_aggregates_pandas(services: pd.DataFrame, *, by: Sequence[str] = ("community_id", "year")) -> pd.DataFrame:
    keys = list(by)
    d = services["service_date"]
    work = pd.DataFrame(index=services.index)
    for k in keys:
        work[k] = d.dt.year if k == "year" else d.dt.month if k == "month" else services[k]
    work["services"] = np.int64(1)
    work["participants"] = services["participants"].astype("int64")
    work["volunteer_minutes"] = np.floor(services["volunteer_hours"].to_numpy(float) * 60 + 0.5).astype("int64")
    work["cost_fen"] = np.floor(services["cost_yuan"].to_numpy(float) * 100 + 0.5).astype("int64")
    flags = {a: services[f"actor_{a}"].to_numpy(bool).astype("int64") for a in ACTORS}
    for a in ACTORS:
        work[f"actor_{a}"] = flags[a]
    n = sum(flags.values())
    work["actors_ge2"] = (n >= 2).astype("int64")
    work["actors_ge3"] = (n >= 3).astype("int64")
    work["actors_all5"] = (n == 5).astype("int64")
    for a, b in ACTOR_PAIRS:
        work[f"pair_{a}__{b}"] = flags[a] * flags[b]
    return _group(work, keys)


def request_aggregates_pandas(requests: pd.DataFrame, *, by: Sequence[str] = ("community_id", "year")) -> pd.DataFrame:
    keys = list(by)
    rec = pd.to_datetime(requests["received_at"])
    work = pd.DataFrame(index=requests.index)
    for k in keys:
        work[k] = rec.dt.year if k == "year" else rec.dt.month if k == "month" else requests[k]
    secs = (pd.to_datetime(requests["resolved_at"]) - rec).dt.total_seconds()
    sat = pd.to_numeric(requests["satisfaction"]).astype("Float64")
    work["requests"] = np.int64(1)
    work["resolved"] = secs.notna().astype("int64")
    work["within_24h"] = (secs <= 86400).fillna(False).astype("int64")
    work["within_72h"] = (secs <= 259200).fillna(False).astype("int64")
    work["rated"] = sat.notna().astype("int64")
    work["satisfied"] = (sat >= 4).fillna(False).astype("int64")
    work["satisfaction_sum"] = sat.fillna(0).astype("int64")
    return _group(work, keys)
