"""DuckDB aggregation of the service ledger and the request log.

Service logs reach millions of rows per city and hundreds of millions per province, so the
counts and sums every programme indicator starts from are computed by DuckDB, in process,
streaming from Parquet (a file, a glob or a folder of partitions) or from the validated
DataFrame of a loaded study. The connection is configured for shared, offline machines:

* ``memory_limit`` and ``temp_directory`` are always set (DuckDB spills to disk instead of
  exhausting memory);
* extension auto-install and auto-load are off (no network access is ever attempted);
* every sum is a sum of integers — counts, minutes of volunteer time, cost in fen
  (1/100 yuan) — because parallel sums of doubles can differ in the last bits from run to
  run. Rounding to minutes and fen is ``floor(x · k + 0.5)`` (half up; the data model keeps
  hours and costs non-negative), identical in :mod:`evalkit.programme.aggregate_pandas`.

:func:`write_partitions` writes per-community aggregates with
``COPY … (FORMAT parquet, PARTITION_BY (community_id))`` so a per-community report reads its
own slice only.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from evalkit._checks import check_choice, require_columns

__all__ = ["ACTORS", "ACTOR_PAIRS", "SERVICE_KEYS", "REQUEST_KEYS", "connect", "service_aggregates",
           "service_aggregate_sets", "request_aggregates", "request_aggregate_sets", "distinct_people",
           "write_partitions", "write_service_partitions"]

#: the five actors of 五社联动, in the data model's column order
ACTORS: tuple[str, ...] = ("community", "social_org", "social_worker", "volunteer", "charity")
ACTOR_PAIRS: tuple[tuple[str, str], ...] = tuple(itertools.combinations(ACTORS, 2))
ServiceKey = Literal["community_id", "year", "month", "block", "method"]
RequestKey = Literal["community_id", "year", "month", "channel", "category"]
SERVICE_KEYS: tuple[str, ...] = ("community_id", "year", "month", "block", "method")
REQUEST_KEYS: tuple[str, ...] = ("community_id", "year", "month", "channel", "category")
_SERVICE_COLS = ("community_id", "service_date", "block", "method", "participants", "volunteer_hours",
                 "cost_yuan", *(f"actor_{a}" for a in ACTORS))
_REQUEST_COLS = ("community_id", "received_at", "resolved_at", "channel", "category", "satisfaction")

Source = pd.DataFrame | str | os.PathLike[str]


def connect(*, memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None,
            threads: int | None = None):  # -> duckdb.DuckDBPyConnection
    """An in-memory DuckDB connection with a memory cap, a spill folder and no extension loading."""
    import duckdb

    spill = Path(temp_directory) if temp_directory is not None else Path(tempfile.gettempdir()) / "evalkit-duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit, "temp_directory": str(spill),
              "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    if threads is not None:
        config["threads"] = int(threads)
    return duckdb.connect(":memory:", config=config)


def _relation_sql(con, source: Source, name: str, needed: Sequence[str]) -> str:
    """Register a DataFrame (or name a Parquet source) and return the FROM clause for it."""
    if isinstance(source, pd.DataFrame):
        require_columns(source, needed, what=f"{name} table")
        con.register(f"_{name}", source)
        return f"_{name}"
    path = Path(source)
    pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    escaped = pattern.replace("'", "''")
    return f"read_parquet('{escaped}', hive_partitioning = {'true' if path.is_dir() else 'false'})"


def _check_keys(by: Sequence[str], allowed: Sequence[str]) -> list[str]:
    keys = list(by)
    for k in keys:
        check_choice("by", k, allowed)
    return keys


def _service_select(by: Sequence[str]) -> str:
    derived = {"year": "CAST(year(service_date) AS INTEGER) AS year",
               "month": "CAST(month(service_date) AS INTEGER) AS month"}
    cols = [derived.get(k, k) for k in by]
    actor_cols = [f"CAST(actor_{a} AS INTEGER) AS a_{a}" for a in ACTORS]
    n_actors = " + ".join(f"CAST(actor_{a} AS INTEGER)" for a in ACTORS)
    return ", ".join([*cols, "CAST(participants AS BIGINT) AS participants",
                      "CAST(floor(volunteer_hours * 60 + 0.5) AS BIGINT) AS volunteer_minutes",
                      "CAST(floor(cost_yuan * 100 + 0.5) AS BIGINT) AS cost_fen",
                      *actor_cols, f"({n_actors}) AS n_actors"])


def _grouping_sets(con, inner: str, aggs: Sequence[str], sets: Sequence[Sequence[str]]) -> list[pd.DataFrame]:
    """One scan, one frame per grouping set (DuckDB ``GROUPING SETS``), each sorted by its keys."""
    keys = list(dict.fromkeys(k for ks in sets for k in ks))
    if not keys:
        return [con.execute(f"SELECT {', '.join(aggs)} FROM ({inner})").df() for _ in sets]
    spec = ", ".join("(" + ", ".join(ks) + ")" for ks in sets)
    gid = f"GROUPING({', '.join(keys)}) AS _set"
    out = con.execute(f"SELECT {', '.join([*keys, gid, *aggs])} FROM ({inner}) GROUP BY GROUPING SETS ({spec})").df()
    frames = []
    for ks in sets:
        # GROUPING() sets bit (len(keys) - 1 - i) for every key i that is *not* grouped in the row
        code = sum(1 << (len(keys) - 1 - i) for i, k in enumerate(keys) if k not in ks)
        part = out[out["_set"] == code].drop(columns=["_set", *[k for k in keys if k not in ks]])
        frames.append(part.sort_values(list(ks), kind="stable") if ks else part)
    return frames


def _service_aggs() -> list[str]:
    return ["COUNT(*) AS services", "SUM(participants) AS participants",
            "SUM(volunteer_minutes) AS volunteer_minutes", "SUM(cost_fen) AS cost_fen",
            *(f"SUM(a_{a}) AS actor_{a}" for a in ACTORS),
            "SUM(CAST(n_actors >= 2 AS INTEGER)) AS actors_ge2",
            "SUM(CAST(n_actors >= 3 AS INTEGER)) AS actors_ge3",
            "SUM(CAST(n_actors = 5 AS INTEGER)) AS actors_all5",
            *(f"SUM(a_{a} * a_{b}) AS pair_{a}__{b}" for a, b in ACTOR_PAIRS)]


def service_aggregate_sets(source: Source, *, sets: Sequence[Sequence[ServiceKey]],
                           memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None,
                           threads: int | None = None) -> list[pd.DataFrame]:
    """:func:`service_aggregates` for several groupings in one scan of the ledger
    (``GROUP BY GROUPING SETS``); one frame per entry of ``sets``, in that order."""
    key_sets = [_check_keys(ks, SERVICE_KEYS) for ks in sets]
    keys = list(dict.fromkeys(k for ks in key_sets for k in ks))
    con = connect(memory_limit=memory_limit, temp_directory=temp_directory, threads=threads)
    try:
        rel = _relation_sql(con, source, "services", _SERVICE_COLS)
        frames = _grouping_sets(con, f"SELECT {_service_select(keys)} FROM {rel}", _service_aggs(), key_sets)
    finally:
        con.close()
    return [_as_int(f, ks) for f, ks in zip(frames, key_sets, strict=True)]


def service_aggregates(source: Source, *, by: Sequence[ServiceKey] = ("community_id", "year"),
                       memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None,
                       threads: int | None = None) -> pd.DataFrame:
    """Counts and integer sums of the service ledger by ``by``.

    Returns one row per group, sorted by ``by``: ``services``, ``participants`` (人次),
    ``volunteer_minutes``, ``cost_fen``, ``actor_<a>`` (services with actor ``a``),
    ``actors_ge2`` / ``actors_ge3`` / ``actors_all5`` (services co-delivered by at least 2, 3,
    all 5 actors) and ``pair_<a>__<b>`` (services with both actors). All columns are int64.
    """
    return service_aggregate_sets(source, sets=[by], memory_limit=memory_limit, temp_directory=temp_directory,
                                  threads=threads)[0]


def request_aggregate_sets(source: Source, *, sets: Sequence[Sequence[RequestKey]],
                           memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None,
                           threads: int | None = None) -> list[pd.DataFrame]:
    """:func:`request_aggregates` for several groupings in one scan of the log."""
    key_sets = [_check_keys(ks, REQUEST_KEYS) for ks in sets]
    keys = list(dict.fromkeys(k for ks in key_sets for k in ks))
    derived = {"year": "CAST(year(received_at) AS INTEGER) AS year",
               "month": "CAST(month(received_at) AS INTEGER) AS month"}
    cols = ", ".join([*(derived.get(k, k) for k in keys),
                      "CAST(resolved_at IS NOT NULL AS INTEGER) AS is_resolved",
                      "date_diff('second', received_at, resolved_at) AS secs", "satisfaction"])
    aggs = ["COUNT(*) AS requests", "SUM(is_resolved) AS resolved",
            "SUM(CAST(coalesce(secs <= 86400, false) AS INTEGER)) AS within_24h",
            "SUM(CAST(coalesce(secs <= 259200, false) AS INTEGER)) AS within_72h",
            "COUNT(satisfaction) AS rated",
            "SUM(CAST(coalesce(satisfaction >= 4, false) AS INTEGER)) AS satisfied",
            "SUM(coalesce(CAST(satisfaction AS BIGINT), 0)) AS satisfaction_sum"]
    con = connect(memory_limit=memory_limit, temp_directory=temp_directory, threads=threads)
    try:
        rel = _relation_sql(con, source, "requests", _REQUEST_COLS)
        frames = _grouping_sets(con, f"SELECT {cols} FROM {rel}", aggs, key_sets)
    finally:
        con.close()
    return [_as_int(f, ks) for f, ks in zip(frames, key_sets, strict=True)]


def request_aggregates(source: Source, *, by: Sequence[RequestKey] = ("community_id", "year"),
                       memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None,
                       threads: int | None = None) -> pd.DataFrame:
    """Counts of the request log by ``by`` (the year and month the request was received).

    Columns: ``requests``, ``resolved``, ``within_24h`` / ``within_72h`` (resolved no later
    than 24 / 72 hours after receipt), ``rated`` (a satisfaction score given),
    ``satisfied`` (score 4 or 5), ``satisfaction_sum`` (sum of the 1–5 scores). Time to
    resolution itself needs the request-level data (censoring): see
    :func:`evalkit.programme.responsiveness.resolution_times`.
    """
    return request_aggregate_sets(source, sets=[by], memory_limit=memory_limit, temp_directory=temp_directory,
                                  threads=threads)[0]


def _as_int(out: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    out = out.copy()
    for col in out.columns:
        if col in ("year", "month") or col not in keys:
            out[col] = out[col].fillna(0).astype("int64")
        else:
            out[col] = out[col].astype(object)
    return out.reset_index(drop=True)


def distinct_people(source: Source, *, blocks_by_group: dict[str, Sequence[str]], person_col: str = "person_key",
                    memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """People served at least once (distinct pseudonymised ``person_col``) per community, year
    and target group, where a group is served by the blocks listed for it.

    Columns: community_id, year, target_group, people (int64). Groups without blocks are left out.
    """
    parts = []
    con = connect(memory_limit=memory_limit, temp_directory=temp_directory)
    try:
        rel = _relation_sql(con, source, "services", ("community_id", "service_date", "block", person_col))
        for group, blocks in blocks_by_group.items():
            if not blocks:
                continue
            listed = ", ".join("'" + b.replace("'", "''") + "'" for b in blocks)
            label = group.replace("'", "''")
            parts.append(f"SELECT community_id, CAST(year(service_date) AS INTEGER) AS year, '{label}' AS target_group, "
                         f"COUNT(DISTINCT {person_col}) AS people FROM {rel} WHERE block IN ({listed}) "
                         f"AND {person_col} IS NOT NULL GROUP BY ALL")
        if not parts:
            return pd.DataFrame(columns=["community_id", "year", "target_group", "people"])
        out = con.execute(" UNION ALL ".join(parts) + " ORDER BY ALL").df()
    finally:
        con.close()
    out["people"] = out["people"].astype("int64")
    return out


def write_service_partitions(source: Source, folder: str | os.PathLike[str], *,
                             by: Sequence[ServiceKey] = ("community_id", "year", "month", "block", "method"),
                             memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None) -> Path:
    """Aggregate the ledger by ``by`` and write it straight to Parquet partitioned by
    community_id, without materialising anything in Python (the path for province-size logs)."""
    keys = _check_keys(by, SERVICE_KEYS)
    if "community_id" not in keys:
        msg = "write_service_partitions(): by must include 'community_id' (the partition key)"
        raise ValueError(msg)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    con = connect(memory_limit=memory_limit, temp_directory=temp_directory)
    try:
        rel = _relation_sql(con, source, "services", _SERVICE_COLS)
        query = (f"SELECT {', '.join([*keys, *_service_aggs()])} FROM (SELECT {_service_select(keys)} FROM {rel}) "
                 f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}")
        escaped = str(target).replace("'", "''")
        con.execute(f"COPY ({query}) TO '{escaped}' (FORMAT parquet, PARTITION_BY (community_id), "
                    "OVERWRITE_OR_IGNORE true)")
    finally:
        con.close()
    return target


def write_partitions(frame: pd.DataFrame, folder: str | os.PathLike[str], *,
                     memory_limit: str = "1GB", temp_directory: str | os.PathLike[str] | None = None) -> Path:
    """Write an aggregate table as Parquet partitioned by ``community_id`` (one folder each).

    A per-community report then reads ``folder/community_id=<id>/`` only. Existing partitions
    are overwritten.
    """
    require_columns(frame, ["community_id"], what="write_partitions()")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    con = connect(memory_limit=memory_limit, temp_directory=temp_directory)
    try:
        con.register("_agg", frame)
        escaped = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM _agg ORDER BY ALL) TO '{escaped}' "
                    "(FORMAT parquet, PARTITION_BY (community_id), OVERWRITE_OR_IGNORE true)")
    finally:
        con.close()
    return target
