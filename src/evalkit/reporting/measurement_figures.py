"""Measurement figures: diverging Likert bars, α by wave, construct means with CIs, EFA loadings.

Formats only; computes nothing new: every function draws from a result's
stored tables, on a given Axes (or a new one), returns the Axes and never
calls ``plt.show()``. Chinese labels use the bundled CJK font that
:func:`evalkit.reporting.fonts.setup_matplotlib_fonts` registers first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.figures import axes_for

__all__ = ["plot_likert", "plot_alpha", "plot_means", "plot_loadings", "plot_icc", "plot_weights",
           "plot_index_weights"]

_TXT = {
    "share": {"zh": "作答比例（左：不同意，右：同意）", "en": "Share of answers (left: disagree, right: agree)"},
    "likert_title": {"zh": "{label}：各题作答分布", "en": "{label}: answers per item"},
    "reverse": {"zh": "（反向题）", "en": " (reverse-keyed)"},
    "alpha_title": {"zh": "各构念的 Cronbach's α（{ci}% 置信区间）", "en": "Cronbach's α by construct ({ci}% CI)"},
    "alpha_by": {"zh": "分组：{by}", "en": "by {by}"},
    "by_wave": {"zh": "调查轮次", "en": "survey wave"},
    "means_title": {"zh": "{label}：加权均值（{ci}% 置信区间）", "en": "{label}: weighted mean ({ci}% CI)"},
    "wave": {"zh": "第{w}轮", "en": "wave {w}"},
    "all": {"zh": "全体", "en": "all"},
    "loadings_title": {"zh": "探索性因子分析：题项载荷（{rot}旋转）", "en": "EFA loadings ({rot} rotation)"},
    "threshold": {"zh": "可接受下限 0.7", "en": "0.7 benchmark"},
}


def _t(key: str, lang: str, **fields: Any) -> str:
    return _TXT[key]["zh" if lang.lower().startswith("zh") else "en"].format(**fields)




def plot_likert(
    distribution: pd.DataFrame, *, construct: str, ax: Any = None, lang: str = "zh",
    title: str | None = None,
) -> Any:
    """Diverging stacked bars of one construct's items.

    ``distribution`` has columns construct, item, label, reverse, value,
    value_label, share (answers as given, missing excluded; see
    ``MeasurementReport.item_distribution``). Answers below the scale
    midpoint extend left of zero, those above to the right, the midpoint
    straddles zero.
    """
    d = distribution[distribution.construct == construct]
    if d.empty:
        msg = f"plot_likert: no item distribution for construct '{construct}'"
        raise ValueError(msg)
    items = list(dict.fromkeys(d["item"]))
    ax = axes_for(ax, (8.0, 1.4 + 0.4 * len(items)))
    values = sorted(d["value"].unique())
    wide = d.pivot_table(index="item", columns="value", values="share", fill_value=0.0).reindex(
        index=items, columns=values, fill_value=0.0)
    mid = (min(values) + max(values)) / 2
    import matplotlib as mpl

    colours = mpl.colormaps["RdBu"](np.linspace(0.12, 0.88, len(values)))
    low = [v for v in values if v < mid]
    left = -wide[low].sum(axis=1).to_numpy() - (wide[mid].to_numpy() / 2 if mid in values else 0.0)
    labels = d.drop_duplicates("value").set_index("value")["value_label"].to_dict()
    y = np.arange(len(items))
    for k, v in enumerate(values):
        share = wide[v].to_numpy()
        ax.barh(y, share, left=left, color=colours[k], edgecolor="white", linewidth=0.5,
                label=f"{v:g} {labels.get(v) or ''}".strip())
        left = left + share
    meta = d.drop_duplicates("item").set_index("item")
    ylabels = [f"{str(meta.loc[i, 'label'])[:22]}{_t('reverse', lang) if bool(meta.loc[i, 'reverse']) else ''}"
               for i in items]
    ax.set_yticks(y, ylabels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["100%", "50%", "0", "50%", "100%"])
    ax.set_xlabel(_t("share", lang))
    ax.set_title(title or _t("likert_title", lang, label=construct))
    ax.legend(ncols=min(len(values), 5), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return ax


def plot_alpha(result: Any, *, ax: Any = None, by: str | None = None, lang: str = "zh") -> Any:
    """α with CI per construct; with ``by`` one marker per level (e.g. per wave)."""
    est = result.estimates
    labels = getattr(result, "construct_labels", {})
    constructs = list(dict.fromkeys(est.construct))
    names = [labels.get(c, {}).get("zh" if lang.lower().startswith("zh") else "en", c) for c in constructs]
    ax = axes_for(ax, (7.0, 1.2 + 0.5 * len(constructs)))
    rows = est[est.group_var == by] if by is not None else est[est.group_var == "all"]
    groups = list(dict.fromkeys(rows.group)) if by is not None else ["all"]
    offsets = np.linspace(-0.25, 0.25, len(groups)) if len(groups) > 1 else np.zeros(1)
    import matplotlib as mpl

    colours = mpl.colormaps["viridis"](np.linspace(0.1, 0.8, len(groups)))
    for k, g in enumerate(groups):
        sub = rows[rows.group == g].set_index("construct").reindex(constructs)
        yy = np.arange(len(constructs)) + offsets[k]
        a = sub.alpha.to_numpy(float)
        lo, hi = sub.alpha_ci_lower.to_numpy(float), sub.alpha_ci_upper.to_numpy(float)
        ok = np.isfinite(a)
        if by == "wave":
            name = _t("wave", lang, w=g)
        elif by is None:
            name = _t("all", lang)
        else:
            name = f"{by} = {g}"
        ax.errorbar(a[ok], yy[ok], xerr=[a[ok] - lo[ok], hi[ok] - a[ok]], fmt="o", capsize=3,
                    color=colours[k], label=name)
    ax.axvline(0.7, color="grey", ls="--", lw=0.8, label=_t("threshold", lang))
    ax.set_yticks(np.arange(len(constructs)), names)
    ax.invert_yaxis()
    ax.set_xlabel("Cronbach's α")
    title = _t("alpha_title", lang, ci=f"{result.spec.ci_level * 100:.0f}")
    if by is not None:
        title += " · " + _t("alpha_by", lang, by=_t("by_wave", lang) if by == "wave" else by)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=min(len(groups) + 1, 5))
    return ax


def plot_means(result: Any, *, ax: Any = None, outcome: str | None = None, lang: str = "zh") -> Any:
    """Means with CIs of one outcome across the result's ``by`` groups.

    With ``by = (community, wave)`` communities are rows and waves markers;
    with one ``by`` column its levels are rows.
    """
    est = result.estimates
    outcome = outcome or str(est.outcome.iloc[0])
    d = est[est.outcome == outcome]
    by = list(result.by)
    label = result.label(outcome, lang) if hasattr(result, "label") else outcome
    if len(by) >= 2:
        row_col, mark_col = by[0], by[1]
    elif len(by) == 1:
        row_col, mark_col = by[0], None
    else:
        row_col, mark_col = None, None
    rows = list(dict.fromkeys(d[row_col])) if row_col else ["all"]
    ax = axes_for(ax, (7.0, 1.4 + 0.32 * len(rows)))
    marks = list(dict.fromkeys(d[mark_col])) if mark_col else [None]
    offsets = np.linspace(-0.25, 0.25, len(marks)) if len(marks) > 1 else np.zeros(1)
    import matplotlib as mpl

    colours = mpl.colormaps["viridis"](np.linspace(0.1, 0.8, len(marks)))
    for k, m in enumerate(marks):
        sub = d if m is None else d[d[mark_col] == m]
        sub = sub.set_index(row_col).reindex(rows) if row_col else sub
        yy = np.arange(len(rows)) + offsets[k]
        e = sub.estimate.to_numpy(float)
        lo, hi = sub.ci_lower.to_numpy(float), sub.ci_upper.to_numpy(float)
        ok = np.isfinite(e) & np.isfinite(lo) & np.isfinite(hi)
        name = None if m is None else (_t("wave", lang, w=m) if mark_col == "wave" else f"{mark_col} = {m}")
        ax.errorbar(e[ok], yy[ok], xerr=[e[ok] - lo[ok], hi[ok] - e[ok]], fmt="o", capsize=2, ms=4,
                    color=colours[k], label=name)
        no_ci = np.isfinite(e) & ~ok
        if no_ci.any():
            ax.plot(e[no_ci], yy[no_ci], "o", mfc="none", color=colours[k])
    ax.set_yticks(np.arange(len(rows)), [str(r) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_title(_t("means_title", lang, label=label, ci=f"{result.level * 100:.0f}"))
    if mark_col:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=min(len(marks), 6))
    return ax


def plot_loadings(result: Any, *, ax: Any = None, lang: str = "zh") -> Any:
    """Heat map of rotated loadings, items in codebook order, factors named by construct."""
    est = result.estimates
    factors = [c for c in est.columns if c.startswith("f_")]
    values = est[factors].to_numpy(float)
    ax = axes_for(ax, (1.8 + 0.9 * len(factors), 1.2 + 0.28 * len(est)))
    im = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(factors)), [f.removeprefix("f_") for f in factors], rotation=30, ha="right")
    ax.set_yticks(range(len(est)), [f"{i} ({c})" for i, c in zip(est.item, est.construct, strict=True)], fontsize=7)
    for (i, j), v in np.ndenumerate(values):
        if abs(v) >= 0.3:
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(v) > 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, shrink=0.6)
    ax.set_title(_t("loadings_title", lang, rot=result.rotation))
    return ax


def plot_icc(result: Any, *, ax: Any = None, lang: str = "zh") -> Any:
    """ICC with CI per outcome (all respondents)."""
    est = result.estimates[result.estimates.group_var == "all"]
    zh = lang.lower().startswith("zh")
    ax = axes_for(ax, (6.0, 1.2 + 0.4 * len(est)))
    names = [result.labels.get(o, {}).get("zh" if zh else "en", o) for o in est.outcome]
    y = np.arange(len(est))
    icc = est.icc.to_numpy(float)
    lo = est.ci_lower.fillna(est.icc).to_numpy(float)
    hi = est.ci_upper.fillna(est.icc).to_numpy(float)
    ax.errorbar(icc, y, xerr=[icc - lo, hi - icc], fmt="o", capsize=3)
    ax.set_yticks(y, names)
    ax.axvline(0, color="grey", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("ICC")
    ax.set_title("社区层面组内相关系数" if zh else "Intra-class correlation (community level)")
    return ax


def plot_weights(result: Any, *, ax: Any = None, lang: str = "zh") -> Any:
    """Histogram of calibrated weights relative to the mean weight."""
    zh = lang.lower().startswith("zh")
    ax = axes_for(ax, (5.0, 3.0))
    w = result.weights.dropna()
    ax.hist(w / w.mean(), bins=30)
    ax.set_xlabel("权重 / 平均权重" if zh else "weight / mean weight")
    ax.set_ylabel("受访者数" if zh else "respondents")
    ax.set_title("加权权重分布" if zh else "Distribution of the weights")
    return ax


def plot_index_weights(result: Any, *, ax: Any = None, lang: str = "zh") -> Any:
    """Share of each outcome in a summary index."""
    zh = lang.lower().startswith("zh")
    est = result.estimates
    ax = axes_for(ax, (5.0, 0.8 + 0.4 * len(est)))
    ax.barh(est.outcome.astype(str), est.weight_share)
    ax.set_xlabel("权重占比" if zh else "weight share")
    ax.set_title("综合指数中各结果的权重" if zh else "Outcome weights in the summary index")
    ax.invert_yaxis()
    return ax
