"""Trimming of extreme survey weights.

Owns: :func:`trim_weights`. Weights above ``upper`` (below ``lower``) are set
to the bound and the trimmed amount is redistributed over the weights that
were strictly inside the bounds, so the total (per group) is unchanged.

Conventions
-----------
* Bounds are relative to the group's mean weight (``relative=True``, default:
  ``upper=5`` means "at most 5 × the mean") or absolute (``relative=False``).
* ``redistribute="proportional"`` (default): untrimmed weights are scaled by a
  common factor; ``"additive"``: each untrimmed weight gets an equal share —
  the rule of ``survey::trimWeights``.
* ``strict=True`` (default) repeats trim-and-redistribute until no weight lies
  outside the bounds (as ``trimWeights(strict = TRUE)``); otherwise one pass.
* Trimming moves the weighted margins away from their targets; trim inside
  raking instead (``rake(bounds=...)``) when margins must hold.
* Every call that changes a weight emits one
  :class:`~evalkit.errors.WeightTrimmingWarning` with the count.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ConvergenceError, WeightTrimmingWarning
from evalkit._checks import check_choice

Redistribute = Literal["proportional", "additive"]

__all__ = ["trim_weights"]


def _trim_group(
    w: np.ndarray, lo: float, hi: float, redistribute: str, strict: bool, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Trimmed weights and a mask of the weights that were ever held at a bound."""
    w = w.copy()
    total = w.sum()
    tol = 1e-12 * max(abs(hi), 1.0) if np.isfinite(hi) else 1e-12
    trimmed = np.zeros(w.size, dtype=bool)
    for _ in range(max_iter):
        outside = (w < lo - tol) | (w > hi + tol)
        if not outside.any():
            return w, trimmed
        trimmed |= outside
        new = np.clip(w, lo, hi)
        inside = ~outside
        if redistribute == "additive":
            new[inside] += (w - new).sum() / inside.sum()
        else:
            rest = total - new[outside].sum()
            new[inside] *= rest / new[inside].sum()
        w = new
        if not strict:
            return w, trimmed
    msg = (f"weight trimming did not settle within {max_iter} rounds (bounds {lo:g}–{hi:g}); "
           "the bounds are too tight for the group's total: widen them")
    raise ConvergenceError(msg)


def trim_weights(
    weights: pd.Series,
    *,
    lower: float | None = None,
    upper: float | None = None,
    relative: bool = True,
    by: pd.Series | None = None,
    redistribute: Redistribute = "proportional",
    strict: bool = True,
    max_iter: int = 100,
) -> pd.Series:
    """Trim weights to ``[lower, upper]`` and redistribute the excess.

    Parameters
    ----------
    weights
        The weights (NaN stays NaN).
    lower, upper
        Bounds; relative to the group's mean weight unless ``relative=False``.
    relative
        Interpret bounds as multiples of the mean weight (default).
    by
        Optional group labels aligned with ``weights``; each group keeps its total.
    redistribute
        ``"proportional"`` (default) or ``"additive"`` (``survey::trimWeights``).
    strict
        Repeat until every weight is inside the bounds.
    max_iter
        Rounds allowed when ``strict``.

    Returns
    -------
    pandas.Series
        Trimmed weights, same index and name.

    Examples
    --------
    >>> trim_weights(w, upper=40, lower=20, relative=False, redistribute="additive")  # doctest: +SKIP
    >>> # R: survey::trimWeights(design, upper = 40, lower = 20, strict = TRUE)
    """
    check_choice("redistribute", redistribute, Redistribute)
    if lower is None and upper is None:
        msg = "trim_weights needs lower= and/or upper="
        raise ValueError(msg)
    lo_arg = -np.inf if lower is None else float(lower)
    hi_arg = np.inf if upper is None else float(upper)
    if lo_arg >= hi_arg:
        msg = f"trim_weights: lower={lower} must be below upper={upper}"
        raise ValueError(msg)
    values = weights.to_numpy(dtype=float).copy()
    labels = by.reindex(weights.index).to_numpy() if by is not None else np.zeros(len(weights))
    out = values.copy()
    n_trimmed = 0
    for g in pd.unique(labels):
        idx = np.flatnonzero((labels == g) & np.isfinite(values))
        if idx.size == 0:
            continue
        w = values[idx]
        scale = w.mean() if relative else 1.0
        new, trimmed = _trim_group(w, lo_arg * scale, hi_arg * scale, redistribute, strict, max_iter)
        n_trimmed += int(trimmed.sum())
        out[idx] = new
    if n_trimmed:
        if lower is None:
            bound_txt = f"≤ {upper:g}"
        elif upper is None:
            bound_txt = f"≥ {lower:g}"
        else:
            bound_txt = f"{lower:g}–{upper:g}"
        bound_txt += " × mean weight" if relative else ""
        warnings.warn(
            f"trim_weights: {n_trimmed} of {int(np.isfinite(values).sum())} weight(s) trimmed to {bound_txt}; "
            f"the others were adjusted ({redistribute} redistribution) to keep group totals. Weighted margins "
            "now differ from their targets; report this.",
            WeightTrimmingWarning, stacklevel=2,
        )
    return pd.Series(out, index=weights.index, name=weights.name)
