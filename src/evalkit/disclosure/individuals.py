"""From individuals to publishable cells: contributions, safe quantiles, small-area roll-up.

These functions are the only places where disclosure control looks at
individual rows; what they return is aggregated (cells, quantiles resting on
enough people, areas large enough to report).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit._checks import require_columns
from evalkit.disclosure.policy import DisclosurePolicy, SuppressionReason
from evalkit.errors import DisclosureError

__all__ = ["cell_contributions", "protected_quantiles", "RollUp", "roll_up_small_areas"]


def cell_contributions(data: pd.DataFrame, *, by: Sequence[str], value_col: str, unit_col: str | None = None,
                       top: int = 2) -> pd.DataFrame:
    """Per cell: contributors ``n``, ``total`` of ``value_col`` and its ``top`` largest contributions.

    With ``unit_col`` the contributions are first summed per unit (household,
    organisation), as the dominance rule is about contributors, not records.
    The ``top_*`` columns feed :func:`protect_table` and are never published.
    """
    by = list(by)
    require_columns(data, [*by, value_col, *([unit_col] if unit_col else [])], what="cell_contributions")
    frame = data[[*by, value_col, *([unit_col] if unit_col else [])]].dropna(subset=[value_col])
    if unit_col:
        frame = frame.groupby([*by, unit_col], observed=True, sort=False)[value_col].sum().reset_index()
    grouped = frame.groupby(by, observed=True, sort=True)[value_col]
    out = grouped.agg(n="count", total="sum").reset_index()
    tops = grouped.apply(lambda s: list(np.sort(np.abs(s.to_numpy(dtype=float)))[::-1][:top]))
    for k in range(top):
        out[f"top_{k + 1}"] = [t[k] if len(t) > k else 0.0 for t in tops.to_numpy()]
    return out


def protected_quantiles(values: pd.Series, probs: Sequence[float], *,
                        policy: DisclosurePolicy | None = None) -> pd.DataFrame:
    """Quantiles that rest on enough people on both sides; min, max and tails are hidden.

    A quantile at ``p`` of ``n`` values is published only when at least
    ``min_count`` values lie at or below it and at least ``min_count`` at or above
    it (``p·n ≥ min_count`` and ``(1−p)·n ≥ min_count``); minima and maxima never are.
    Returns ``prob, value, reason`` (reason ``extreme_statistic`` where hidden).
    """
    policy = policy or DisclosurePolicy()
    clean = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    n = clean.size
    rows = []
    for p in probs:
        if not 0.0 <= p <= 1.0:
            msg = f"protected_quantiles: probability {p} is outside [0, 1]."
            raise DisclosureError(msg)
        ok = 0.0 < p < 1.0 and p * n >= policy.min_count and (1.0 - p) * n >= policy.min_count
        rows.append({"prob": float(p), "value": float(np.quantile(clean, p)) if ok else np.nan,
                     "reason": "" if ok else str(SuppressionReason.EXTREME_STATISTIC)})
    return pd.DataFrame(rows, columns=["prob", "value", "reason"])


@frozen(eq=False)
class RollUp:
    """Rows relabelled to the area they are reported under, and the mapping used.

    ``data`` gains ``report_area`` (the community, or its street) and
    ``report_level`` (``"community"`` or ``"street"``); ``mapping`` has one row per
    community: ``area, parent, n_min, report_area, report_level, still_small``.
    """

    data: pd.DataFrame
    mapping: pd.DataFrame


def roll_up_small_areas(data: pd.DataFrame, *, area_col: str, parent_col: str, by: Sequence[str] = (),
                        policy: DisclosurePolicy | None = None) -> RollUp:
    """Report communities too small to publish at street level instead.

    A community is too small when, in any ``by`` group (for example any wave), it
    has fewer than ``min_count`` rows. Its rows are reported under its street
    (``parent_col``) as one pooled area with the street's other small communities;
    a pooled area still below ``min_count`` is marked ``still_small`` and will be
    suppressed by :func:`protect_table`.
    """
    policy = policy or DisclosurePolicy()
    by = list(by)
    require_columns(data, [area_col, parent_col, *by], what="roll_up_small_areas")
    counts = data.groupby([area_col, *by], observed=True).size()
    n_min = counts.groupby(level=0).min() if by else counts
    parents = data.groupby(area_col, observed=True)[parent_col].agg(lambda s: s.iloc[0])
    if (data.groupby(area_col, observed=True)[parent_col].nunique() > 1).any():
        msg = f"roll_up_small_areas: a value of {area_col!r} lies in more than one {parent_col!r}; fix the area codes."
        raise DisclosureError(msg)
    mapping = pd.DataFrame({"area": n_min.index, "parent": parents.reindex(n_min.index).to_numpy(),
                            "n_min": n_min.to_numpy()})
    small = mapping["n_min"] < policy.min_count
    mapping["report_area"] = np.where(small, mapping["parent"].astype(str), mapping["area"].astype(str))
    mapping["report_level"] = np.where(small, "street", "community")
    out = data.copy()
    lookup = mapping.set_index("area")
    out["report_area"] = out[area_col].map(lookup["report_area"])
    out["report_level"] = out[area_col].map(lookup["report_level"])
    pooled = out[out["report_level"] == "street"].groupby(["report_area", *by], observed=True).size()
    pooled_min = pooled.groupby(level=0).min() if by else pooled
    mapping["still_small"] = small & mapping["report_area"].map(pooled_min).lt(policy.min_count).fillna(False)
    return RollUp(data=out, mapping=mapping)
