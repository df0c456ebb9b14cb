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

__all__ = ["axes_for", "forest_plot", "item_distribution_bars", "sample_size_heatmap"]


def axes_for(ax: Any, size: tuple[float, float]) -> Any:
    """``ax`` itself, or a new constrained-layout Axes of ``size`` inches; the CJK font is set up first.

    Every evalkit figure function starts here, so none can draw before the font is registered.
    """
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
    ax = axes_for(ax, (2.0 + 0.9 * len(waves), 1.5 + 0.22 * len(wide)))
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
    """100 % stacked horizontal bars of answer shares per item (lowest code left).

    Items answered on different scales or with different answer wording (agreement,
    satisfaction, yes/no) get separate panels, so a colour always means the same answer
    within a panel. Returns the first panel's Axes.
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    setup_matplotlib_fonts()
    dists = dists.copy()
    # one panel per answer scale *and* wording, so a colour always means the same answer
    wording = dists.groupby("item")["value_label"].agg(lambda v: "|".join(map(str, v)))
    dists["panel"] = dists.get("scale", "").astype(str) + "#" + dists["item"].map(wording)
    scales = list(dict.fromkeys(dists["panel"]))
    sizes = [dists.loc[dists["panel"] == sc, "item"].nunique() for sc in scales]
    if ax is None:
        fig, axes = plt.subplots(len(scales), 1, figsize=(9.0, 1.4 * len(scales) + 0.3 * sum(sizes)),
                                 height_ratios=sizes, layout="constrained", squeeze=False)
        axes = axes[:, 0]
    else:
        axes = [ax]
        scales = scales[:1]
    zh = lang_code(lang) == "zh"
    for panel, scale in zip(axes, scales, strict=True):
        part = dists[dists["panel"] == scale]
        items = list(dict.fromkeys(part["item"]))
        wide = part.pivot_table(index="item", columns="value", values="share", fill_value=0).loc[items]
        colours = mpl.colormaps["RdYlBu"](np.linspace(0.1, 0.9, wide.shape[1]))
        labels = part.drop_duplicates("item").set_index("item")["label"].reindex(items)
        value_labels = (part.drop_duplicates("value").set_index("value")["value_label"]
                        if "value_label" in part else pd.Series(dtype=str))
        left = np.zeros(len(wide))
        for k, value in enumerate(wide.columns):
            share = wide[value].to_numpy()
            name = str(value_labels.get(value, "") or "")
            panel.barh(range(len(wide)), share, left=left, color=colours[k],
                       label=f"{value:g} {name}".strip())
            left += share
        limit = 18 if zh else 40  # about the same width: a hanzi is two Latin letters wide
        panel.set_yticks(range(len(wide)), [f"{i}  {str(lab)[:limit]}" for i, lab in zip(items, labels, strict=True)],
                         fontsize=7)
        panel.invert_yaxis()
        panel.set_xlim(0, 1)
        panel.legend(title="选项" if zh else "answer", fontsize=7, loc="center left",
                     bbox_to_anchor=(1.01, 0.5), frameon=False)
    axes[-1].set_xlabel("作答比例" if zh else "Share of answers")
    axes[0].set_title("各题作答分布（缺失除外）" if zh else "Answer distribution per item (excluding missing)")
    return axes[0]


def forest_plot(frame: pd.DataFrame, *, label_col: str = "label", ax: Any = None,
                lang: str = "zh", title: str | None = None) -> Any:
    """Estimates with confidence intervals, one row each (``estimate``, ``ci_lower``, ``ci_upper``).

    Rows without an interval are drawn as hollow points, and the axis names an interval only
    when every row has one, so a "95% CI" label never sits over points without intervals.
    """
    ax = axes_for(ax, (6.5, 0.8 + 0.5 * max(len(frame), 1)))
    y = np.arange(len(frame))[::-1].astype(float)
    est = frame["estimate"].to_numpy(dtype=float)
    lo = frame["ci_lower"].to_numpy(dtype=float)
    hi = frame["ci_upper"].to_numpy(dtype=float)
    has = np.isfinite(lo) & np.isfinite(hi)
    if has.any():
        ax.errorbar(est[has], y[has], xerr=[est[has] - lo[has], hi[has] - est[has]], fmt="o", color="tab:blue",
                    capsize=3)
    if (~has).any():
        ax.plot(est[~has], y[~has], "o", mfc="none", color="tab:blue")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, frame[label_col].astype(str).tolist())
    zh = lang_code(lang) == "zh"
    if has.all():
        ax.set_xlabel("效应估计值（95% 置信区间）" if zh else "Estimate (95% confidence interval)")
    else:
        ax.set_xlabel("效应估计值（空心点：无置信区间）" if zh else "Estimate (hollow points: no interval)")
    if title:
        ax.set_title(title)
    return ax
