"""Data-quality figures (matplotlib). Formats only; computes nothing new.

Every function draws on a given Axes (or a new one), returns the Axes and
never calls ``plt.show()``. Chinese labels need the bundled CJK font, which
:func:`evalkit.reporting.fonts.setup_matplotlib_fonts` registers first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.fonts import setup_matplotlib_fonts
from evalkit.reporting.text import lang_code

__all__ = ["sample_size_heatmap", "item_distribution_bars"]


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    setup_matplotlib_fonts()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def sample_size_heatmap(wide: pd.DataFrame, *, ax: Any = None, min_cell: int = 30,
                        lang: str = "zh") -> Any:
    """Respondents per community (rows) and wave (columns); small cells outlined in red."""
    waves = [c for c in wide.columns if c.startswith("wave_")]
    values = wide[waves].to_numpy(dtype=float)
    ax = _axes(ax, (2.0 + 0.9 * len(waves), 1.5 + 0.22 * len(wide)))
    im = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0)
    ax.set_xticks(range(len(waves)), [w.replace("wave_", "") for w in waves])
    ax.set_yticks(range(len(wide)), wide["community_name"].astype(str).tolist(), fontsize=7)
    zh = lang_code(lang) == "zh"
    ax.set_xlabel("调查轮次" if zh else "Survey wave")
    ax.set_title("各社区各轮样本量" if zh else "Respondents per community and wave")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                color="white" if v > values.max() * 0.6 else "black")
        if v < min_cell:
            ax.add_patch(__import__("matplotlib").patches.Rectangle(
                (j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.2))
    ax.figure.colorbar(im, ax=ax, shrink=0.6, label="人数" if zh else "respondents")
    return ax


def item_distribution_bars(dists: pd.DataFrame, *, ax: Any = None, lang: str = "zh") -> Any:
    """100 % stacked horizontal bars of answer shares per item (lowest code left)."""
    ax = _axes(ax, (8.0, 1.2 + 0.32 * dists["item"].nunique()))
    items = list(dict.fromkeys(dists["item"]))
    wide = dists.pivot_table(index="item", columns="value", values="share", fill_value=0).loc[items]
    import matplotlib as mpl

    cmap = mpl.colormaps["RdYlBu"]
    colours = cmap(np.linspace(0.1, 0.9, wide.shape[1]))
    left = np.zeros(len(wide))
    labels = dists.drop_duplicates("item").set_index("item")["label"].reindex(items)
    ylabels = [f"{i}  {str(lab)[:18]}" for i, lab in zip(items, labels, strict=True)]
    for k, value in enumerate(wide.columns):
        share = wide[value].to_numpy()
        ax.barh(range(len(wide)), share, left=left, color=colours[k], label=f"{value:g}")
        left += share
    ax.set_yticks(range(len(wide)), ylabels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    zh = lang_code(lang) == "zh"
    ax.set_xlabel("作答比例" if zh else "Share of answers")
    ax.set_title("各题作答分布（缺失除外）" if zh else "Answer distribution per item (excluding missing)")
    ax.legend(title="选项" if zh else "answer", ncols=wide.shape[1], fontsize=7,
              loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.1 / max(len(wide), 1) * 10))
    return ax


def forest_plot(frame: pd.DataFrame, *, label_col: str = "label", ax: Any = None,
                lang: str = "zh", title: str | None = None) -> Any:
    """Estimates with confidence intervals, one row each (``estimate``, ``ci_lower``, ``ci_upper``)."""
    ax = _axes(ax, (6.5, 0.8 + 0.5 * max(len(frame), 1)))
    y = np.arange(len(frame))[::-1].astype(float)
    est = frame["estimate"].to_numpy(dtype=float)
    lo = frame["ci_lower"].to_numpy(dtype=float)
    hi = frame["ci_upper"].to_numpy(dtype=float)
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="tab:blue", capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, frame[label_col].astype(str).tolist())
    zh = lang_code(lang) == "zh"
    ax.set_xlabel("效应估计值（95% 置信区间）" if zh else "Estimate (95% confidence interval)")
    if title:
        ax.set_title(title)
    return ax
