"""Scenario grids shared by the analytic power functions.

Every numeric input of a power function may be a number or a sequence of numbers; the
scenarios are the Cartesian product of the sequences (so a planning table over ICC × cluster
size is one call), in the order the inputs are given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Number", "scenarios", "check_range", "exactly_one_missing"]

Number = float | int | Sequence[float] | np.ndarray


def _as_values(name: str, value: Any) -> list[Any]:
    if value is None:
        return [None]
    if isinstance(value, str):
        msg = f"argument {name}={value!r} must be a number or a sequence of numbers, not text"
        raise TypeError(msg)
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        msg = f"argument {name} must be a number or a non-empty flat sequence of numbers; got shape {arr.shape}"
        raise ValueError(msg)
    return [float(v) for v in arr]


def scenarios(inputs: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield one dict per scenario (the Cartesian product of all sequence-valued inputs)."""
    names = list(inputs)
    values = [_as_values(n, inputs[n]) for n in names]
    for combo in itertools.product(*values):
        yield dict(zip(names, combo, strict=True))


def check_range(name: str, value: float | None, *, low: float, high: float,
                low_open: bool = True, high_open: bool = True, fix: str = "") -> None:
    """Raise ``ValueError`` when ``value`` is outside (low, high) (ends open or closed)."""
    if value is None:
        return
    bad = (not math.isfinite(value) or (value <= low if low_open else value < low)
           or (value >= high if high_open else value > high))
    if bad:
        lb, rb = ("(" if low_open else "["), (")" if high_open else "]")
        msg = f"argument {name}={value!r} is outside {lb}{low}, {high}{rb}."
        if fix:
            msg += f" {fix}"
        raise ValueError(msg)


def exactly_one_missing(given: Mapping[str, Any], *, what: str) -> str:
    """Name of the single ``None`` among ``given``; ``ValueError`` unless exactly one is None."""
    missing = [k for k, v in given.items() if v is None]
    if len(missing) != 1:
        listed = ", ".join(given)
        found = ", ".join(missing) if missing else "none"
        msg = (f"{what}: leave exactly one of {listed} as None (the quantity to solve for); "
               f"found None for: {found}.")
        raise ValueError(msg)
    return missing[0]
