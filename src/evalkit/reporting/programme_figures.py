"""Programme figures: trends by group, impact by programme type, target attainment.

Formats only; computes nothing new beyond group means of the report's tables. Every
function draws on a given Axes (or a new one), returns the Axes and never calls
``plt.show()``.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.figures import axes_for
from evalkit.reporting.text import lang_code

__all__ = ["GROUP_LABELS", "trend_by_group_plot", "programme_comparison_plot", "attainment_plot"]

GROUP_LABELS = {"sanshe": ("三社联动试点", "Three-party linkage pilots"),
                "wushe": ("五社联动试点", "Five-party linkage pilots"),
                "other": ("其他试点", "Other pilots"), "comparison": ("对照社区", "Comparison communities"),
                "all": ("全部试点", "All pilots"), "wushe_minus_sanshe": ("五社 − 三社", "Five-party − three-party")}
_COLORS = {"sanshe": "tab:blue", "wushe": "tab:red", "other": "tab:purple", "comparison": "0.45", "all": "black"}
_TXT = {
    "year": ("年份", "Year"),
    "effect": ("效应估计（95% 置信区间）", "Estimated effect (95% CI)"),
    "compare_title": ("分试点类型的成效及两类之差", "Impact by programme type and the difference"),
    "attain_title": ("目标达标率（有数据的社区中达标的比例）", "Targets met (share of communities with data)"),
}


def _t(key: str, lang: str) -> str:
    return _TXT[key][0 if lang_code(lang) == "zh" else 1]


def _g(group: str, lang: str) -> str:
    return GROUP_LABELS.get(group, (group, group))[0 if lang_code(lang) == "zh" else 1]


def trend_by_group_plot(frame: pd.DataFrame, value: str, *, ax: Any = None, lang: str = "zh",
                        ylabel: str = "", title: str = "") -> Any:
    """Mean of ``value`` per group and year, one line per group."""
    ax = axes_for(ax, (7, 4))
    means = frame.groupby(["group", "year"])[value].mean().reset_index()
    for group, g in means.groupby("group"):
        ax.plot(g["year"], g[value], marker="o", color=_COLORS.get(group, None), label=_g(group, lang))
    ax.set_xlabel(_t("year", lang))
    ax.set_ylabel(ylabel or value)
    ax.set_xticks(sorted(means["year"].unique()))
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def programme_comparison_plot(report: Any, *, ax: Any = None, lang: str = "zh") -> Any:
    """Per outcome: 三社, 五社 (staggered DiD, CI) and their difference (randomisation CI)."""
    ax = axes_for(ax, (8, 4.5))
    est = report.estimates
    outcomes = list(dict.fromkeys(est["outcome"]))
    terms = ["sanshe", "wushe", "wushe_minus_sanshe"]
    offsets = np.linspace(-0.25, 0.25, len(terms))
    for off, term in zip(offsets, terms, strict=True):
        sub = est[est["term"] == term].set_index("outcome").reindex(outcomes)
        x = np.arange(len(outcomes)) + off
        e = sub["estimate"].to_numpy(float)
        lo, hi = sub["ci_lower"].to_numpy(float), sub["ci_upper"].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        color = _COLORS.get(term, "tab:green")
        ax.errorbar(x[ok], e[ok], yerr=[e[ok] - lo[ok], hi[ok] - e[ok]], fmt="o" if term != terms[-1] else "D",
                    color=color, capsize=3, label=_g(term, lang))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(outcomes)))
    from evalkit.codebook import CONSTRUCTS

    k = 0 if lang_code(lang) == "zh" else 1
    labels = [(CONSTRUCTS[o].zh, CONSTRUCTS[o].en)[k] if o in CONSTRUCTS else o for o in outcomes]
    ax.set_xticklabels([textwrap.fill(t, 16) for t in labels] if k else labels, fontsize=8 if k else 10)
    ax.set_ylabel(_t("effect", lang))
    ax.set_title(_t("compare_title", lang))
    ax.legend(frameon=False, fontsize=8)
    return ax


def attainment_plot(summary: pd.DataFrame, *, ax: Any = None, lang: str = "zh") -> Any:
    """Share of communities meeting each indicator, by year (cells without data left blank)."""
    ax = axes_for(ax, (8, 0.35 * max(summary[["framework", "indicator"]].drop_duplicates().shape[0], 4) + 1))
    wide = summary.assign(row=summary["framework"] + " · " + summary["indicator"]).pivot(
        index="row", columns="year", values="share_met")
    im = ax.imshow(wide.to_numpy(float), aspect="auto", cmap="RdYlGn", vmin=0, vmax=1)
    ax.set_yticks(np.arange(len(wide.index)))
    ax.set_yticklabels(wide.index, fontsize=7)
    ax.set_xticks(np.arange(len(wide.columns)))
    ax.set_xticklabels([str(c) for c in wide.columns])
    ax.set_title(_t("attain_title", lang))
    ax.figure.colorbar(im, ax=ax, fraction=0.03)
    return ax
