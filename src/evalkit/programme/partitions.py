"""Per-community aggregates of a study's service ledger, written once for the per-community
reports (``<folder>/community_id=<id>/*.parquet``).

When the config names a Parquet ledger that already has the data model's columns and types
(canonical names, boolean actor flags, integer participants, a date or timestamp), DuckDB
streams it straight from the file (never loaded into Python, so province-size logs fit in
``memory_limit``); anything else — Chinese headers, 是/否 flags, other formats — goes through
intake (:func:`evalkit.intake.load.load_study`) first, which renames, converts and validates. The library function
behind a command-line ``evalkit aggregate-services``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from evalkit.config import StudyConfig, load_config
from evalkit.errors import ConfigError
from evalkit.programme.aggregate import ServiceKey, write_service_partitions

__all__ = ["write_study_service_partitions"]


def write_study_service_partitions(
    config: str | os.PathLike[str] | StudyConfig,
    folder: str | os.PathLike[str],
    *,
    by: Sequence[ServiceKey] = ("community_id", "year", "month", "block", "method"),
    memory_limit: str = "1GB",
    temp_directory: str | os.PathLike[str] | None = None,
) -> Path:
    """Aggregate the study's service records by ``by`` into community partitions under ``folder``.

    Raises
    ------
    ConfigError
        The config has no ``data.services`` entry.
    """
    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    source = cfg.data.get("services")
    if source is None:
        msg = (f"{cfg.path}: no data.services in the config, so there is no service ledger to aggregate; "
               "add e.g. services: services.parquet under data:")
        raise ConfigError(msg)
    if source.format == "parquet" and _canonical_parquet(source.path):
        return write_service_partitions(source.path, folder, by=by, memory_limit=memory_limit,
                                        temp_directory=temp_directory)
    from evalkit.intake.load import load_study

    services = load_study(cfg).tables["services"]
    return write_service_partitions(services, folder, by=by, memory_limit=memory_limit, temp_directory=temp_directory)


def _canonical_parquet(path: Path) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evalkit.programme.aggregate import ACTORS

    schema = pq.read_schema(path)
    types = {name: schema.field(name).type for name in schema.names}
    checks = {f"actor_{a}": pa.types.is_boolean for a in ACTORS}
    checks.update({"participants": pa.types.is_integer,
                   "volunteer_hours": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
                   "cost_yuan": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
                   "service_date": lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t),
                   "community_id": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
                   "block": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
                   "method": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)})
    return all(name in types and check(types[name]) for name, check in checks.items())
