"""Figures of the designs: the Love plot of covariate balance.

Formats only: draws the balance table a design returned; never computes balance itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.figures import axes_for

__all__ = ["love_plot"]

_TXT = {
    "x": {"zh": "标准化均值差（绝对值）", "en": "Absolute standardised mean difference"},
    "before": {"zh": "调整前", "en": "before"},
    "after": {"zh": "调整后", "en": "after"},
    "title": {"zh": "协变量平衡（Love 图）", "en": "Covariate balance (Love plot)"},
}


def _t(key: str, lang: str) -> str:
    return _TXT[key]["zh" if lang.lower().startswith("zh") else "en"]


def love_plot(balance: pd.DataFrame, ax: Any = None, *, lang: str = "zh",
              threshold: float = 0.1) -> Any:
    """Absolute standardised mean differences before and after adjustment, one row per covariate.

    ``balance`` is a table from :func:`evalkit.designs.balance_table` (columns ``covariate``,
    ``smd_before``, ``smd_after``). Returns the Axes; never calls ``plt.show()``.
    """
    ax = axes_for(ax, (6, 0.6 + 0.35 * max(len(balance), 1)))
    order = balance.reindex(balance["smd_before"].abs().sort_values().index)
    y = np.arange(len(order), dtype=float)
    ax.plot(order["smd_before"].abs(), y, "o", color="0.6", label=_t("before", lang))
    ax.plot(order["smd_after"].abs(), y, "o", color="tab:blue", label=_t("after", lang))
    ax.axvline(threshold, color="tab:red", linestyle="--", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(order["covariate"].astype(str).tolist())
    ax.set_xlabel(_t("x", lang))
    ax.set_title(_t("title", lang))
    ax.legend(loc="best")
    return ax
