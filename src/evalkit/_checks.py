"""Argument checks shared by ``scales``, ``weighting``, ``survey`` and ``measurement``.

One validator for ``Literal`` options (the house style's "one validator that
lists the allowed values") and one for required columns, so every message has
the same shape: what, where, found versus expected, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from evalkit.errors import MissingColumnError

__all__ = ["check_choice", "require_columns", "as_list", "row_labels"]


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ``ValueError`` naming the argument and listing the allowed values."""
    allowed = tuple(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        msg = f"argument {name}={value!r} is not allowed; use one of {listed}"
        raise ValueError(msg)


def require_columns(data: pd.DataFrame, columns: Iterable[str], *, what: str, fix: str = "") -> None:
    """Raise :class:`MissingColumnError` listing *every* absent column at once."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing)
        have = ", ".join(map(str, list(data.columns)[:12]))
        more = " …" if data.shape[1] > 12 else ""
        msg = f"{what}: column(s) {shown} not found in the data (columns present: {have}{more})."
        if fix:
            msg += f" {fix}"
        raise MissingColumnError(msg)


def as_list(value: str | Sequence[str] | None) -> list[str]:
    """``None`` → ``[]``, ``"a"`` → ``["a"]``, sequences → list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def row_labels(data: pd.DataFrame, mask: Any, *, id_col: str = "respondent_id", limit: int = 5) -> str:
    """Name rows the way a user can find them: by respondent id when present, else by index."""
    idx = data.index[mask]
    if id_col in data.columns:
        labels = [str(v) for v in data.loc[idx, id_col]]
        head = f"{id_col} "
    else:
        labels = [str(v) for v in idx]
        head = "index "
    shown = ", ".join(labels[:limit])
    more = f" … ({len(labels)} rows)" if len(labels) > limit else ""
    return f"{head}{shown}{more}"
