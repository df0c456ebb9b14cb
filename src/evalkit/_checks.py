"""Argument checks shared by every package of evalkit.

One validator for string options (:func:`check_choice`, the house style's "one
validator that lists the allowed values"; it takes the option's ``Literal`` type
itself, so the allowed values are written once, in the signature's type) and one
for required columns, so every message has the same shape: what, where, found
versus expected, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args, get_origin

import pandas as pd

from evalkit.errors import MissingColumnError

__all__ = ["check_choice", "require_columns", "as_list", "row_labels"]


def choices(allowed: Any) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` type (nested Literals flattened), or of an iterable."""
    if get_origin(allowed) is Literal:
        out: list[Any] = []
        for a in get_args(allowed):
            out.extend(choices(a) if get_origin(a) is Literal else (a,))
        return tuple(out)
    if isinstance(allowed, str):
        return (allowed,)
    return tuple(allowed)


def check_choice(name: str, value: Any, allowed: Any, *, where: str | None = None) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them.

    ``allowed`` is the option's ``Literal`` type (preferred: ``check_choice("method",
    method, Method)``) or an iterable of values; ``where`` names the function for the
    message.
    """
    options = choices(allowed)
    if value not in options:
        listed = ", ".join(repr(a) for a in options)
        head = f"{where}: " if where else ""
        msg = f"{head}argument {name}={value!r} is not allowed; use one of {listed}"
        raise ValueError(msg)
    return value


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
