"""Construct scores from the codebook's Likert items.

Owns: reverse coding, leftover missing codes, the partial-response rule and
the three score metrics (mean, sum, standardised). Reliability lives in
:mod:`evalkit.scales.reliability`; weighting and inference elsewhere.

Conventions
-----------
* **Reverse coding** — an item marked ``reverse: true`` in the codebook is
  scored ``scale_min + scale_max - x`` (so 1↔5 on a 1–5 scale).
* **Missing codes** — intake turns the codebook's ``missing_codes`` into NA.
  Scoring repeats that step (it is idempotent), so a frame that skipped intake
  cannot silently score 9 = 拒答 as an answer. Any other value outside
  ``[scale_min, scale_max]`` stops the run with :class:`DataValidationError`.
* **Partial responses** — a respondent gets a score when at least ``k`` of the
  construct's ``n`` items are answered, otherwise NA. ``min_items`` sets ``k``
  (one integer for all constructs, or a mapping construct → k); ``min_share``
  sets it as a share, ``k = ceil(share · n)`` (the study config's
  ``scoring: min_items_answered``); the default is the "half rule"
  ``k = ceil(n / 2)``.
* **Metrics** — ``mean``: mean of the answered items (on the item scale);
  ``sum``: the prorated sum, mean × n, so partial responders stay on the
  full-scale range; ``z``: the mean score standardised against a reference
  group (the baseline wave or the comparison communities),
  ``(score - mean_ref) / sd_ref``, with the unweighted reference mean and
  standard deviation (ddof = 1). Without a reference the whole sample is used.

The arithmetic is a few lines of pandas, so it is evalkit's own code rather
than a dependency's: the convention choices above are the substance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.codebook import Codebook, Variable
from evalkit.errors import CodebookError, DataValidationError
from evalkit._checks import check_choice, require_columns, row_labels

__all__ = ["ScoreMethod", "item_frame", "score", "min_items_for", "reference_mask"]

ScoreMethod = Literal["mean", "sum", "z"]

Reference = pd.Series | Mapping[str, Any] | None


def _construct_items(codebook: Codebook, construct: str) -> tuple[Variable, ...]:
    items = codebook.items(construct)
    if not items:
        used = ", ".join(codebook.constructs_used()) or "none"
        msg = (
            f"{codebook.source}: construct '{construct}' has no scored items in the codebook "
            f"(constructs with items: {used}). Give its items 'construct: {construct}' and a 'scale'."
        )
        raise CodebookError(msg)
    return items


def item_frame(
    data: pd.DataFrame, codebook: Codebook, construct: str, *, reverse: bool = True
) -> pd.DataFrame:
    """The construct's items as float columns, missing codes → NA, reverse-coded.

    Parameters
    ----------
    data
        Survey frame after intake (item columns named as in the codebook).
    codebook
        The study codebook.
    construct
        Construct code, e.g. ``"belonging"``.
    reverse
        Apply reverse coding (default). ``False`` returns the items as answered.

    Returns
    -------
    pandas.DataFrame
        Same index as ``data``, one float column per item in codebook order.

    Raises
    ------
    MissingColumnError
        An item of the construct is not a column of ``data``.
    DataValidationError
        A non-missing value lies outside the item's scale.
    """
    items = _construct_items(codebook, construct)
    require_columns(
        data, [v.name for v in items], what=f"construct '{construct}'",
        fix="Check the codebook's item names against the survey columns after intake.",
    )
    out: dict[str, pd.Series] = {}
    problems: list[str] = []
    for var in items:
        col = pd.to_numeric(data[var.name], errors="coerce").astype("float64")
        raw_nonnum = data[var.name].notna() & col.isna()
        if raw_nonnum.any():
            problems.append(
                f"column '{var.name}': {int(raw_nonnum.sum())} non-numeric value(s) at "
                f"{row_labels(data, raw_nonnum.to_numpy())}; expected numbers "
                f"{var.scale_min:g}–{var.scale_max:g}"
            )
        if var.missing_codes:
            col = col.mask(col.isin([float(c) for c in var.missing_codes]))
        bad = col.notna() & ((col < var.scale_min) | (col > var.scale_max))
        if bad.any():
            values = ", ".join(f"{v:g}" for v in pd.unique(col[bad])[:5])
            problems.append(
                f"column '{var.name}': {int(bad.sum())} value(s) outside the scale "
                f"{var.scale_min:g}–{var.scale_max:g} at {row_labels(data, bad.to_numpy())} "
                f"(values {values})"
            )
        if reverse and var.reverse:
            col = var.scale_min + var.scale_max - col
        out[var.name] = col
    if problems:
        msg = (
            f"{len(problems)} problem(s) in the items of construct '{construct}':\n  "
            + "\n  ".join(problems)
            + "\nIf these codes mean 'don't know' or 'refused', add them to missing_codes in "
            "the codebook; otherwise correct the data."
        )
        raise DataValidationError(msg)
    return pd.DataFrame(out, index=data.index)


def min_items_for(
    construct: str, n_items: int, min_items: int | Mapping[str, int] | None, min_share: float | None = None
) -> int:
    """The partial-response threshold ``k`` for one construct (default: half rule)."""
    if min_items is not None and min_share is not None:
        msg = "give min_items (a count) or min_share (a share of the items), not both"
        raise ValueError(msg)
    if min_share is not None:
        if not 0 < min_share <= 1:
            msg = f"min_share={min_share!r} must be a share in (0, 1], e.g. 0.5"
            raise ValueError(msg)
        return max(1, math.ceil(min_share * n_items - 1e-9))
    if min_items is None:
        return max(1, math.ceil(n_items / 2))
    k = min_items.get(construct) if isinstance(min_items, Mapping) else min_items
    if k is None:
        return max(1, math.ceil(n_items / 2))
    k = int(k)
    if not 1 <= k <= n_items:
        msg = (
            f"min_items for construct '{construct}' is {k}, but the construct has {n_items} "
            f"item(s); use a number from 1 to {n_items}"
        )
        raise ValueError(msg)
    return k


def reference_mask(data: pd.DataFrame, reference: Reference) -> pd.Series:
    """Boolean row mask of the reference group.

    ``reference`` is a boolean Series aligned with ``data``, or a mapping
    ``{column: value}`` (all must hold; a value may be a list of allowed
    values), e.g. ``{"wave": 1}`` for the baseline wave. ``None`` selects all rows.
    """
    if reference is None:
        return pd.Series(True, index=data.index)
    if isinstance(reference, pd.Series):
        if not reference.index.equals(data.index):
            msg = "reference mask: its index does not match the data's index; build it from the same frame"
            raise ValueError(msg)
        return reference.fillna(False).astype(bool)
    require_columns(data, list(reference), what="reference group")
    mask = pd.Series(True, index=data.index)
    for col, value in reference.items():
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        mask &= data[col].isin(values)
    if not mask.any():
        msg = f"reference group {dict(reference)!r} matches no rows; check the column values"
        raise DataValidationError(msg)
    return mask


def score(
    data: pd.DataFrame,
    codebook: Codebook,
    *,
    constructs: Sequence[str] | None = None,
    method: ScoreMethod = "mean",
    min_items: int | Mapping[str, int] | None = None,
    min_share: float | None = None,
    reference: Reference = None,
) -> pd.DataFrame:
    """Add one score column per construct (named by the construct code).

    Parameters
    ----------
    data
        Survey frame after intake; items not yet reverse-coded.
    codebook
        Study codebook; its items carry ``construct``, ``scale`` and ``reverse``.
    constructs
        Constructs to score; default every construct with items in the codebook.
    method
        ``"mean"`` (default), ``"sum"`` (prorated) or ``"z"`` (standardised
        against ``reference``).
    min_items
        Partial-response rule: score a respondent who answered at least this
        many items (int, or ``{construct: k}``); default half the items.
    min_share
        The same rule as a share of the construct's items (e.g. the config's
        ``min_items_answered: 0.5``); exclusive with ``min_items``.
    reference
        Reference rows for ``method="z"``: ``{"wave": 1}``, a boolean Series,
        or ``None`` for the whole sample.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with a float column per construct (an existing
        column of that name is replaced).

    Examples
    --------
    >>> scored = score(survey, codebook, min_items=2)  # doctest: +SKIP
    >>> # R: rowMeans(items, na.rm = TRUE) with NA where fewer than 2 answered
    """
    check_choice("method", method, ScoreMethod)
    names = list(constructs) if constructs is not None else list(codebook.constructs_used())
    out = data.copy()
    ref = reference_mask(data, reference) if method == "z" else None
    for construct in names:
        items = item_frame(data, codebook, construct)
        n_items = items.shape[1]
        k = min_items_for(construct, n_items, min_items, min_share)
        answered = items.notna().sum(axis=1)
        mean = items.mean(axis=1, skipna=True).where(answered >= k)
        if method == "mean":
            value = mean
        elif method == "sum":
            value = mean * n_items
        else:
            ref_values = mean[ref]
            m, s = ref_values.mean(), ref_values.std(ddof=1)
            if not np.isfinite(s) or s <= 0:
                msg = (
                    f"construct '{construct}': cannot standardise, the reference group has "
                    f"{int(ref_values.notna().sum())} scored respondent(s) and SD {s!r}; "
                    "choose a larger reference group or method='mean'"
                )
                raise DataValidationError(msg)
            value = (mean - m) / s
        out[construct] = value.astype("float64")
    return out
