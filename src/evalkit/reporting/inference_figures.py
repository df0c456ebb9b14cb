"""Figures of the inference results: randomisation distribution, wild-bootstrap interval,
HonestDiD sensitivity curve.

Formats only; computes nothing new. Every function draws on a given Axes (or a new one),
returns the Axes and never calls ``plt.show()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.reporting.figures import axes_for

__all__ = ["randomization_plot", "bootstrap_interval_plot", "sensitivity_plot"]

_TXT = {
    "ri_x": {"zh": "置换分配下的统计量", "en": "Statistic under re-drawn assignments"},
    "count": {"zh": "分配数", "en": "Assignments"},
    "observed": {"zh": "实际分配", "en": "observed"},
    "estimate": {"zh": "估计值与自助法置信区间", "en": "Estimate with bootstrap interval"},
    "m": {"zh": "允许的平行趋势偏离 M", "en": "Allowed violation of parallel trends M"},
    "ci": {"zh": "稳健 95% 置信区间", "en": "Robust 95% confidence interval"},
    "relative_magnitude": {"zh": "相对幅度 M", "en": "relative magnitude M"},
    "smoothness": {"zh": "平滑 M", "en": "smoothness M"},
}


def _t(key: str, lang: str) -> str:
    return _TXT[key]["zh" if lang.lower().startswith("zh") else "en"]


def randomization_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """Histogram of the statistic under the permuted assignments, the observed one marked."""
    ax = axes_for(ax, (6, 3.5))
    ax.hist(np.asarray(result.null_draws, dtype=float), bins=30, color="0.7")
    ax.axvline(result.observed, color="tab:red", label=_t("observed", lang))
    ax.set_xlabel(_t("ri_x", lang))
    ax.set_ylabel(_t("count", lang))
    ax.legend(frameon=False)
    return ax


def bootstrap_interval_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """The estimate with its test-inversion interval (and the null value as a line)."""
    ax = axes_for(ax, (5, 2.5))
    lo, hi = result.ci_lower, result.ci_upper
    if np.isfinite(lo) and np.isfinite(hi):
        ax.errorbar([result.estimate], [0], xerr=[[result.estimate - lo], [hi - result.estimate]],
                    fmt="o", color="tab:blue", capsize=4)
    else:
        ax.plot([result.estimate], [0], "o", color="tab:blue")
    ax.axvline(result.null_value, color="black", linewidth=0.8)
    ax.set_yticks([])
    ax.set_xlabel(_t("estimate", lang))
    return ax


def sensitivity_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """Robust intervals against M, one series per restriction (HonestDiD)."""
    ax = axes_for(ax, (6, 3.5))
    est = result.estimates
    for offset, (restriction, color) in enumerate((("relative_magnitude", "tab:blue"),
                                                   ("smoothness", "tab:orange"))):
        rows = est[est["restriction"] == restriction]
        if rows.empty:
            continue
        x = np.arange(len(rows)) + 0.15 * offset
        mid = (rows["ci_lower"] + rows["ci_upper"]).to_numpy() / 2
        ax.errorbar(x, mid, yerr=[mid - rows["ci_lower"].to_numpy(), rows["ci_upper"].to_numpy() - mid],
                    fmt="none", color=color, capsize=3, label=_t(restriction, lang))
        for xi, m in zip(x, rows["m"], strict=True):
            ax.annotate(f"{m:.3g}", (xi, rows["ci_lower"].min()), fontsize=7, ha="center", va="top")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks([])
    ax.set_xlabel(_t("m", lang))
    ax.set_ylabel(_t("ci", lang))
    ax.legend(frameon=False)
    return ax
