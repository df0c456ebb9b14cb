"""Impact figures: event-study plot, coefficient (forest) plot, Goodman-Bacon scatter.

Formats only; computes nothing new. Every function draws on a given Axes (or a new one),
returns the Axes and never calls ``plt.show()``. Chinese labels need the bundled CJK font,
which :func:`evalkit.reporting.fonts.setup_matplotlib_fonts` registers first. Intervals are
the ones stored in the result (so they follow the few-clusters policy); where a method gives
no interval (randomisation inference) only the point is drawn and the caption says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.figures import axes_for

__all__ = ["event_study_plot", "coefficient_plot", "bacon_plot"]

_TXT = {
    "event_x": {"zh": "相对试点启动的期数", "en": "Periods relative to pilot start"},
    "effect_y": {"zh": "效应估计（95% 置信区间）", "en": "Estimated effect (95% CI)"},
    "effect_y_plain": {"zh": "效应估计", "en": "Estimated effect"},
    "effect_y_some": {"zh": "效应估计（95% 置信区间；空心点无区间）", "en": "Estimated effect (95% CI; hollow: no interval)"},
    "pre": {"zh": "试点前", "en": "pre-pilot"},
    "post": {"zh": "试点后", "en": "post-pilot"},
    "no_ci": {"zh": "（随机化推断：无置信区间）", "en": "(randomisation inference: no interval)"},
    "bacon_x": {"zh": "权重", "en": "Weight"},
    "bacon_y": {"zh": "2×2 双重差分估计", "en": "2×2 DiD estimate"},
    "twfe": {"zh": "TWFE 估计", "en": "TWFE estimate"},
    "event_title": {"zh": "事件研究：试点效应随时间的变化", "en": "Event study: effect by time since pilot start"},
}


def _t(key: str, lang: str) -> str:
    return _TXT[key]["zh" if lang.lower().startswith("zh") else "en"]




def _errorbars(ax: Any, x: np.ndarray, frame: pd.DataFrame, color: str, label: str | None) -> None:
    est = frame["estimate"].to_numpy(dtype=float)
    lo = frame["ci_lower"].to_numpy(dtype=float)
    hi = frame["ci_upper"].to_numpy(dtype=float)
    has = np.isfinite(lo) & np.isfinite(hi)
    if has.any():
        ax.errorbar(x[has], est[has], yerr=[est[has] - lo[has], hi[has] - est[has]], fmt="o",
                    color=color, capsize=3, label=label)
    if (~has).any():
        ax.plot(x[~has], est[~has], "o", mfc="none", color=color, label=None if has.any() else label)


def event_study_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """Event-study estimates (pre-periods grey, post-periods blue) with their intervals."""
    ax = axes_for(ax, (7, 4))
    es = result.event_study()
    x = es["event_time"].to_numpy(dtype=float)
    pre = x < 0
    _errorbars(ax, x[pre], es[pre], "0.5", _t("pre", lang))
    _errorbars(ax, x[~pre], es[~pre], "tab:blue", _t("post", lang))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="0.6", linestyle="--", linewidth=0.8)
    ax.set_xlabel(_t("event_x", lang))
    has = np.isfinite(es["ci_lower"].to_numpy(dtype=float)) & np.isfinite(es["ci_upper"].to_numpy(dtype=float))
    if has.all():  # the axis names an interval only where every point has one
        ylabel = _t("effect_y", lang)
    elif has.any():
        ylabel = _t("effect_y_some", lang)
    else:
        ylabel = _t("effect_y_plain", lang) + _t("no_ci", lang)
    ax.set_ylabel(ylabel)
    ax.set_xticks(x)
    ax.set_xticklabels([str(int(v)).replace("-", "\u2212") for v in x])
    ax.set_title(_t("event_title", lang))
    ax.legend(frameon=False)
    return ax


def coefficient_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """Horizontal forest plot of every row of ``result.estimates`` with an estimate."""
    rows = result.estimates[np.isfinite(result.estimates["estimate"].to_numpy(dtype=float))]
    ax = axes_for(ax, (6, 0.5 + 0.45 * max(len(rows), 1)))
    y = np.arange(len(rows))[::-1].astype(float)
    est = rows["estimate"].to_numpy(dtype=float)
    lo = rows["ci_lower"].to_numpy(dtype=float)
    hi = rows["ci_upper"].to_numpy(dtype=float)
    has = np.isfinite(lo) & np.isfinite(hi)
    ax.errorbar(est[has], y[has], xerr=[est[has] - lo[has], hi[has] - est[has]], fmt="o",
                color="tab:blue", capsize=3)
    ax.plot(est[~has], y[~has], "o", color="tab:blue")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(rows["term"].astype(str).tolist())
    ax.set_xlabel(_t("effect_y", lang))
    ax.set_title(result.title(lang))
    return ax


def bacon_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """Goodman-Bacon scatter: each 2×2 comparison's estimate against its weight."""
    ax = axes_for(ax, (6, 4))
    bacon = result.tables.get("bacon")
    if bacon is None or bacon.empty:
        return coefficient_plot(result, ax=ax, lang=lang)
    from evalkit.reporting.vocab import has_word, word

    markers = {"treated_vs_never": "o", "earlier_vs_later": "s", "later_vs_earlier": "^"}
    for ctype, group in bacon.groupby("comparison_type"):
        ax.scatter(group["weight"], group["estimate"], marker=markers.get(ctype, "o"),
                   label=word(f"bacon.{ctype}", lang) if has_word(f"bacon.{ctype}") else ctype)
    ax.axhline(result.estimate, color="tab:red", linewidth=1, label=_t("twfe", lang))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel(_t("bacon_x", lang))
    ax.set_ylabel(_t("bacon_y", lang))
    ax.legend(frameon=False, fontsize="small")
    return ax
