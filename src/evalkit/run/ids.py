"""The one rule for run ids: what they may contain and how a new one is made.

A run id names a report folder, appears in the completion marker and in the
manifest, so it is restricted to letters, digits, ``.``, ``_`` and ``-`` (no
path separators, no spaces) and starts with a letter or digit.
"""

from __future__ import annotations

import datetime as dt
import re

from evalkit.errors import ParameterError

__all__ = ["RUN_ID_RE", "check_run_id", "new_run_id"]

RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_run_id(run_id: object) -> str:
    """Return ``run_id`` if it is a valid run id, else raise :class:`ParameterError` saying why."""
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        msg = (
            f"run id {run_id!r} must be text of letters, digits, '.', '_' or '-' starting with a "
            f"letter or digit (it names the report folder), e.g. '2024-09-pilot'."
        )
        raise ParameterError(msg)
    return run_id


def new_run_id(name: str = "", *, now: dt.datetime | None = None) -> str:
    """A timestamped run id, e.g. ``20261206-142210-demo``."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-").lower()[:24]
    return f"{stamp}-{slug}" if slug else stamp
