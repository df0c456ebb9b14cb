"""Gap plots for the synthetic designs (ADH 2010, Figures 3–4; Arkhangelsky et al. 2021, Figure 1).

Formats only; computes nothing new. Draws on a given Axes (or a new one), returns it and never
calls ``plt.show()``; the bundled CJK font is registered first.
"""

from __future__ import annotations

from typing import Any


from evalkit.reporting.figures import axes_for
from evalkit.reporting.text import lang_code

__all__ = ["gap_plot", "trajectory_plot"]

_TXT = {
    "gap": ("试点社区与合成对照之差", "Pilot minus synthetic comparison"),
    "time": ("时期", "Period"),
    "placebo": ("安慰剂（对照社区）", "placebos (comparison communities)"),
    "pilot": ("试点社区", "pilot"),
    "synthetic": ("合成对照", "synthetic comparison"),
    "start": ("试点启动", "pilot start"),
    "outcome": ("结果变量", "outcome"),
}


def _t(key: str, lang: str) -> str:
    return _TXT[key][0 if lang_code(lang) == "zh" else 1]


def _whole_periods(ax: Any, gaps: Any) -> None:
    """Survey years are whole numbers: tick each one, never 2020.5."""
    times = sorted(gaps["time"].unique())
    if all(float(t).is_integer() for t in times) and len(times) <= 15:
        ax.set_xticks(times)
        ax.set_xticklabels([str(int(t)) for t in times])


def _start(gaps: Any) -> Any:
    post = gaps[gaps["phase"] == "post"]["time"].to_numpy()
    return post.min() if len(post) else None


def gap_plot(result: Any, ax: Any = None, *, lang: str = "zh", max_placebo_ratio: float | None = None) -> Any:
    """Gap per period (pilot minus synthetic), placebo gap paths in grey when the result has them.

    ``max_placebo_ratio`` hides placebos whose pre-period RMSPE exceeds that multiple of the
    pilot's (ADH 2010, Figures 5–7, drop placebos whose pre-period MSPE is over 5 × the pilot's,
    i.e. ``max_placebo_ratio=5 ** 0.5``); ``None`` shows all.
    """
    ax = axes_for(ax, (7, 4))
    gaps = result.tables["gaps"]
    pg = result.tables.get("placebo_gaps")
    if pg is not None and len(pg):
        keep = set(pg["unit"])
        if max_placebo_ratio is not None and "placebos" in result.tables:
            pl = result.tables["placebos"]
            pilot_pre = float(result.estimates["pre_rmspe"].iloc[0])
            keep = set(pl.loc[pl["pre_rmspe"] <= max_placebo_ratio * pilot_pre, "unit"])
        first = True
        for u, g in pg.groupby("unit", sort=False):
            if u in keep:
                ax.plot(g["time"], g["gap"], color="0.75", linewidth=0.8,
                        label=_t("placebo", lang) if first else None)
                first = False
    ax.plot(gaps["time"], gaps["gap"], color="black", linewidth=2, label=_t("pilot", lang))
    ax.axhline(0, color="0.3", linestyle="--", linewidth=0.8)
    start = _start(gaps)
    if start is not None:
        ax.axvline(start, color="tab:red", linestyle=":", linewidth=1, label=_t("start", lang))
    ax.set_xlabel(_t("time", lang))
    _whole_periods(ax, gaps)
    ax.set_ylabel(_t("gap", lang))
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return ax


def trajectory_plot(result: Any, ax: Any = None, *, lang: str = "zh") -> Any:
    """Pilot and synthetic comparison outcomes per period (the synthetic DiD one after its level shift)."""
    ax = axes_for(ax, (7, 4))
    gaps = result.tables["gaps"]
    ax.plot(gaps["time"], gaps["treated"], color="black", linewidth=2, label=_t("pilot", lang))
    ax.plot(gaps["time"], gaps["synthetic"], color="tab:blue", linestyle="--", linewidth=1.5,
            label=_t("synthetic", lang))
    start = _start(gaps)
    if start is not None:
        ax.axvline(start, color="tab:red", linestyle=":", linewidth=1, label=_t("start", lang))
    ax.set_xlabel(_t("time", lang))
    _whole_periods(ax, gaps)
    ax.set_ylabel(str(result.spec.columns.get("outcome", _t("outcome", lang))))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax
