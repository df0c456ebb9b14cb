"""Words and figures for power results: titles, column labels (zh / en), power curves.

Formats only; computes nothing new. Figures draw on a given Axes (or a new one), return it
and never call ``plt.show()``; the bundled CJK font is registered first (``axes_for``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.figures import axes_for
from evalkit.reporting.text import lang_code

__all__ = ["power_title", "power_table", "power_curve", "simulation_title", "simulation_table", "planning_table",
           "simulation_report_table",
           "simulation_curve", "POWER_LABELS"]

#: column → (zh, en) label
POWER_LABELS: dict[str, tuple[str, str]] = {
    "effect": ("效应（原单位）", "effect (outcome units)"),
    "effect_size": ("标准化效应", "standardised effect"),
    "sd": ("标准差", "SD"),
    "p1": ("对照组比例", "comparison proportion"),
    "p2": ("试点组比例", "pilot proportion"),
    "p_control": ("对照组比例", "comparison proportion"),
    "n_per_group": ("每组人数", "n per group"),
    "n_per_group_ceil": ("每组人数（取整）", "n per group (whole)"),
    "n_total": ("总人数", "total n"),
    "ratio": ("两组人数比", "group size ratio"),
    "alpha": ("显著性水平", "alpha"),
    "power": ("检验效能", "power"),
    "alternative": ("备择假设", "alternative"),
    "n_clusters": ("社区总数", "communities"),
    "n_treated_clusters": ("试点社区数", "pilot communities"),
    "cluster_size": ("每社区每轮受访居民", "residents per community and wave"),
    "icc": ("组内相关系数", "ICC"),
    "r2_cluster": ("协变量解释的社区间方差", "R² between communities"),
    "r2_individual": ("协变量解释的社区内方差", "R² within communities"),
    "treated_share": ("试点社区占比", "share of pilot communities"),
    "waves_pre": ("试点前调查轮数", "waves before"),
    "waves_post": ("试点后调查轮数", "waves after"),
    "autocorrelation": ("社区效应跨轮相关", "cluster autocorrelation"),
    "se_effect_size": ("标准误（标准化）", "SE (standardised)"),
    "df": ("自由度", "df"),
    "multiplier": ("最小可检测效应乘数", "MDE multiplier"),
    "design_effect": ("设计效应", "design effect"),
    "n_residents": ("受访居民总数", "residents surveyed"),
    "n_effective": ("有效样本量", "effective sample size"),
    "mc_std_error": ("模拟误差", "Monte Carlo SE"),
    "mean_estimate": ("估计均值", "mean estimate"),
    "bias": ("偏差", "bias"),
    "sd_estimate": ("估计标准差", "SD of estimates"),
    "coverage": ("置信区间覆盖率", "CI coverage"),
    "n_draws": ("模拟次数", "draws"),
    "n_failed": ("失败次数", "failed draws"),
}

_SOLVED = {
    "power": ("检验效能", "power"),
    "n_per_group": ("所需样本量", "sample size needed"),
    "n_clusters": ("所需社区数", "communities needed"),
    "effect": ("最小可检测效应", "minimum detectable effect"),
}
_DESIGN = {
    "two_means": ("两组均值比较", "two means"),
    "two_proportions": ("两组比例比较", "two proportions"),
    "cluster": ("以社区为单位的试点设计", "community-level pilot design"),
}


def _i(lang: str) -> int:
    return 0 if lang_code(lang) == "zh" else 1


def label(column: str, lang: str = "zh") -> str:
    """Label of a power-table column in ``lang`` (the column name if unknown)."""
    pair = POWER_LABELS.get(column)
    return pair[_i(lang)] if pair else column


def power_title(result: Any, *, lang: str = "zh") -> str:
    """``<design>：<solved quantity>`` in ``lang``."""
    d = _DESIGN.get(result.design, (result.design, result.design))[_i(lang)]
    s = _SOLVED.get(result.solved_for, (result.solved_for, result.solved_for))[_i(lang)]
    return f"{d}：{s}" if lang_code(lang) == "zh" else f"{d}: {s}"


def _varying(frame: pd.DataFrame, skip: set[str]) -> list[str]:
    return [c for c in frame.columns if c not in skip and frame[c].nunique(dropna=False) > 1]


def power_table(result: Any, *, lang: str = "zh") -> pd.DataFrame:
    """The scenarios with the solved quantity and the inputs that vary, labelled in ``lang``."""
    est = result.estimates
    keep = {"two_means": ["effect", "effect_size", "n_per_group", "n_per_group_ceil", "power", "alpha"],
            "two_proportions": ["p1", "p2", "effect", "n_per_group", "n_per_group_ceil", "power", "alpha"],
            "cluster": ["effect", "effect_size", "n_clusters", "n_treated_clusters", "cluster_size", "icc",
                        "power", "alpha", "design_effect", "n_residents", "n_effective"]}.get(result.design,
                                                                                            list(est.columns))
    cols = [c for c in keep if c in est.columns]
    cols += [c for c in _varying(est, set(cols)) if c not in cols]
    return est[cols].rename(columns={c: label(c, lang) for c in cols})


def power_curve(result: Any, *, x: str | None = None, ax: Any = None, lang: str = "zh") -> Any:
    """The solved quantity (y) against the input that varies (x); one line per other varying input."""
    est = result.estimates
    y = result.solved_for
    varying = _varying(est, {y, "effect_size", "n_per_group_ceil", "n_total", "n_treated_clusters", "se_effect_size",
                             "df", "multiplier", "design_effect", "n_residents", "n_effective", "p2"})
    x = x or (varying[0] if varying else None)
    ax = axes_for(ax, (6, 4))
    if x is None:
        ax.bar([label(y, lang)], est[y].to_numpy(dtype=float), color="tab:blue")
        ax.set_ylabel(label(y, lang))
        return ax
    groups = [c for c in varying if c != x][:1]
    if groups:
        for key, g in est.groupby(groups[0], sort=True):
            g = g.sort_values(x)
            ax.plot(g[x], g[y], marker="o", label=f"{label(groups[0], lang)} = {key:g}")
        ax.legend(fontsize=8)
    else:
        g = est.sort_values(x)
        ax.plot(g[x], g[y], marker="o", color="tab:blue")
    if y == "power":
        ax.axhline(0.8, color="0.5", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, 1.02)
    ax.set_xlabel(label(x, lang))
    ax.set_ylabel(_SOLVED[y][_i(lang)] if y in _SOLVED else label(y, lang))
    ax.set_title(power_title(result, lang=lang))
    ax.grid(alpha=0.3)
    return ax


def simulation_title(result: Any, *, lang: str = "zh") -> str:
    spec = result.spec
    if lang_code(lang) == "zh":
        pool = "对照社区" if spec.get("pool") == "comparison" else "试点前各期"
        return (f"模拟检验效能（交错双重差分，{spec.get('n_pilots')} 个安慰剂试点社区，"
                f"取自{pool}，{spec.get('draws')} 次模拟）")
    pool = "comparison communities" if spec.get("pool") == "comparison" else "pre-pilot periods"
    return (f"Simulated power (staggered DiD, {spec.get('n_pilots')} placebo pilots drawn from {pool}, "
            f"{spec.get('draws')} draws)")


def simulation_table(result: Any, *, lang: str = "zh") -> pd.DataFrame:
    cols = ["effect", "power", "mc_std_error", "mean_estimate", "bias", "sd_estimate", "coverage", "n_draws",
            "n_failed"]
    return result.estimates[cols].rename(columns={c: label(c, lang) for c in cols})


def simulation_curve(result: Any, *, ax: Any = None, lang: str = "zh") -> Any:
    est = result.estimates.sort_values("effect")
    ax = axes_for(ax, (6, 4))
    err = 1.96 * est["mc_std_error"].to_numpy(dtype=float)
    ax.errorbar(est["effect"], est["power"], yerr=np.nan_to_num(err), marker="o", capsize=3, color="tab:blue")
    ax.axhline(0.8, color="0.5", linestyle="--", linewidth=0.8)
    ax.axhline(result.spec.get("alpha", 0.05), color="tab:red", linestyle=":", linewidth=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(label("effect", lang))
    ax.set_ylabel(label("power", lang))
    ax.set_title(simulation_title(result, lang=lang), fontsize=9)
    ax.grid(alpha=0.3)
    return ax


# ---- the planning report's numbered tables -----------------------------------------------------
#: columns of the planning tables, in order; counts are shown whole (rounded up when solved for)
_PLAN_COLUMNS = {
    "effect": ["n_clusters", "n_treated_clusters", "cluster_size", "n_residents", "design_effect", "n_effective",
               "effect", "effect_size"],
    "n_clusters": ["cluster_size", "n_clusters", "n_treated_clusters", "n_residents", "design_effect",
                   "n_effective", "effect"],
    "power": ["n_clusters", "n_treated_clusters", "cluster_size", "n_residents", "effect", "power"],
}
_COUNTS = {"n_clusters", "n_treated_clusters", "cluster_size", "n_residents", "n_effective"}


def planning_table(result: Any, *, lang: str = "zh") -> Any:
    """A cluster-design power result as a numbered report table: what the office decides (communities,
    residents) first, then what it buys (minimum detectable effect or power)."""
    from evalkit.reporting.tables import ReportTable, fmt_int, fmt_num

    est = result.estimates
    cols = [c for c in _PLAN_COLUMNS.get(result.solved_for, list(POWER_LABELS)) if c in est.columns]
    frame = pd.DataFrame({label(c, lang): [fmt_int(np.ceil(v - 1e-9)) if c in _COUNTS else fmt_num(v, 2 if c in
                                           {"design_effect", "power"} else 3) for v in est[c]] for c in cols})
    zh = lang_code(lang) == "zh"
    first = est.iloc[0]
    facts = (f"组内相关系数 {fmt_num(first['icc'], 3)}，显著性水平 {fmt_num(first['alpha'], 2)}，检验效能 "
             f"{fmt_num(first['power'], 2)}，试点社区占 {fmt_num(first['treated_share'], 2)}，"
             f"试点前 {int(first['waves_pre'])} 轮、试点后 {int(first['waves_post'])} 轮调查。"
             if zh else
             f"ICC {fmt_num(first['icc'], 3)}, alpha {fmt_num(first['alpha'], 2)}, power {fmt_num(first['power'], 2)}, "
             f"pilot share {fmt_num(first['treated_share'], 2)}, {int(first['waves_pre'])} wave(s) before and "
             f"{int(first['waves_post'])} after the start.")
    notes = [facts, ("社区数、人数向上取整。设计效应 = 1 + (每社区人数 − 1) × 组内相关系数；有效样本量 = 受访居民总数 / 设计效应。"
                     if zh else "Counts are rounded up. Design effect = 1 + (residents per community − 1) × ICC; "
                     "effective sample size = residents surveyed / design effect.")]
    return ReportTable(frame=frame, lang=lang, title=power_title(result, lang=lang), weighted="none",
                       unit=("效应为结果变量的原单位" if zh else "effects in outcome units"),
                       method=("以社区为单位的设计（Bloom 2005；PowerUpR）" if zh else
                               "community-level design (Bloom 2005; PowerUpR)"), notes=notes)


def simulation_report_table(result: Any, *, lang: str = "zh") -> Any:
    """The simulated power of the staggered DiD on the study's own data, as a numbered report table."""
    from evalkit.reporting.tables import ReportTable, fmt_int, fmt_num

    est = result.estimates
    frame = pd.DataFrame({
        label("effect", lang): [fmt_num(v, 2) for v in est["effect"]],
        label("power", lang): [fmt_num(v, 2) for v in est["power"]],
        label("mc_std_error", lang): [fmt_num(v, 3) for v in est["mc_std_error"]],
        label("mean_estimate", lang): [fmt_num(v, 3) for v in est["mean_estimate"]],
        label("coverage", lang): [fmt_num(v, 2) for v in est["coverage"]],
        label("n_draws", lang): [fmt_int(v) for v in est["n_draws"]],
    })
    zh = lang_code(lang) == "zh"
    return ReportTable(frame=frame, lang=lang, title=simulation_title(result, lang=lang), weighted="none",
                       method=("交错双重差分（Callaway 和 Sant'Anna），在本研究数据上把效应加给随机抽取的安慰剂试点社区"
                               if zh else "staggered DiD (Callaway & Sant'Anna) on the study's own data, the effect "
                               "added to randomly drawn placebo pilots"),
                       notes=[("效应为 0 的一行是检验的实际显著性水平，应接近设定的显著性水平。" if zh else
                               "The row with effect 0 is the test's actual size; it should be near alpha.")])
