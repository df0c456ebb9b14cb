"""Display-ready tables of an :class:`~evalkit.impact.ImpactReport`, in Chinese or English.

Formats only: picks columns, renames them for the reader, and formats p-values; every number
comes from the report object unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.reporting.display import narrative, show_table
from evalkit.reporting.text import lang_code

__all__ = ["impact_table", "show_event_studies", "show_impact_table", "show_limitations", "show_truth_check"]

_HEADERS = {
    "label": ("结果", "outcome"), "outcome": ("结果代码", "outcome code"),
    "estimate": ("估计值", "estimate"), "std_error": ("标准误", "SE"),
    "ci_lower": ("95% CI 下限", "95% CI low"), "ci_upper": ("95% CI 上限", "95% CI high"),
    "p_value": ("p 值", "p"), "inference": ("推断方法", "inference"),
    "n_clusters": ("社区数", "communities"), "n_treated_clusters": ("试点社区数", "pilots"),
    "pretrend_p": ("前趋势检验 p", "pre-trend p"), "cohort": ("启动年份", "start year"),
    "programme": ("试点类型", "programme"), "communities": ("社区数", "communities"),
    "respondents": ("受访者数", "respondents"), "group": ("组别", "group"),
    "variable": ("变量", "variable"), "mean_pilot": ("试点均值", "pilot mean"),
    "mean_comparison": ("对照均值", "comparison mean"), "smd": ("SMD", "SMD"),
    "design": ("设计", "design"), "by": ("分组变量", "by"), "term": ("项", "term"),
    "p_equal_effects": ("组间相等检验 p", "equal-effects p"), "p_bh": ("BH 校正 p", "BH p"),
    "p_romano_wolf": ("Romano–Wolf p", "Romano–Wolf p"), "event_time": ("启动后年数", "years since start"),
    "true_effect": ("真实效应", "true effect"), "covered": ("置信区间覆盖真值", "CI covers truth"),
}
_METHODS = {
    "multiplier_bootstrap": ("聚类乘数自助法", "cluster multiplier bootstrap"),
    "wild_bootstrap": ("野聚类自助法", "wild cluster bootstrap"),
    "randomization": ("随机化推断", "randomisation inference"),
    "cr2": ("CR2 小样本校正", "CR2 small-sample"), "cr1": ("聚类稳健 CR1", "cluster-robust CR1"),
}
_PROGRAMMES = {"sanshe": ("三社联动", "三社联动 (sanshe)"), "wushe": ("五社联动", "五社联动 (wushe)"),
               "other": ("其他", "other"), "comparison": ("对照", "comparison")}
_BY = {"age_band": ("年龄段", "age band"), "hukou": ("户籍", "hukou"), "gender": ("性别", "gender")}
_COLUMNS = {
    "main": ["label", "estimate", "ci_lower", "ci_upper", "p_value", "inference", "n_clusters",
             "n_treated_clusters", "pretrend_p"],
    "design": ["cohort", "programme", "communities", "respondents"],
    "balance": ["label", "mean_pilot", "mean_comparison", "smd"],
    "robustness": ["label", "design", "estimate", "ci_lower", "ci_upper", "inference"],
    "subgroups": ["by", "outcome", "term", "estimate", "ci_lower", "ci_upper", "p_equal_effects"],
    "many_outcomes": ["term", "estimate", "ci_lower", "ci_upper", "p_value", "p_bh", "p_romano_wolf"],
}


def _p(p: Any) -> Any:
    if pd.isna(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def impact_table(report: Any, name: str, lang: str = "zh") -> pd.DataFrame:
    """One of ``main, design, balance, robustness, subgroups, many_outcomes`` for display."""
    source = report.estimates if name == "main" else getattr(report, name)
    cols = [c for c in _COLUMNS[name] if c in source.columns]
    frame = source[cols].copy()
    code = 0 if lang_code(lang) == "zh" else 1
    for col in ("p_value", "pretrend_p", "p_equal_effects", "p_bh", "p_romano_wolf"):
        if col in frame:
            frame[col] = frame[col].map(_p)
    if "inference" in frame:
        frame["inference"] = frame["inference"].map(lambda m: _METHODS.get(m, (m, m))[code])
    if "programme" in frame:
        frame["programme"] = frame["programme"].map(lambda m: _PROGRAMMES.get(m, (m, m))[code])
    if name == "subgroups":
        labels = dict(zip(report.estimates["outcome"], report.estimates["label"], strict=True))
        frame["outcome"] = frame["outcome"].map(lambda o: labels.get(o, o))
        frame["by"] = frame["by"].map(lambda b: _BY.get(b, (b, b))[code])
    if "cohort" in frame:
        frame["cohort"] = frame["cohort"].map(lambda c: ("—" if c == 0 else str(c)))
    headers = {c: _HEADERS.get(c, (c, c))[code] for c in frame.columns}
    if name == "balance":
        headers["label"] = ("变量", "variable")[code]
    if name == "subgroups":
        headers["outcome"] = _HEADERS["label"][code]
    return frame.rename(columns=headers)


def show_impact_table(report: Any, name: str, lang: str = "zh") -> None:
    show_table(impact_table(report, name, lang))


def show_limitations(report: Any, lang: str = "zh") -> None:
    from IPython.display import Markdown, display

    display(Markdown("\n".join(f"- {line}" for line in report.limitations(lang))))


def show_truth_check(report: Any, study: Any, lang: str = "zh") -> dict[str, Any] | None:
    """For a synthetic study with ``truth.csv`` beside its config: estimates vs the truth."""
    truth_file = Path(study.config.folder) / "truth.csv"
    if not (study.config.synthetic and truth_file.is_file()):
        return None
    from evalkit.impact import truth_comparison

    narrative("impact_truth", lang)
    table = truth_comparison(report, pd.read_csv(truth_file), study)
    code = 0 if lang_code(lang) == "zh" else 1
    shown = table.drop(columns=["outcome"]).rename(columns={c: _HEADERS.get(c, (c, c))[code] for c in table})
    show_table(shown)
    return {r.outcome: {"true_effect": r.true_effect, "covered": bool(r.covered)}
            for r in table.itertuples(index=False)}


def show_event_studies(report: Any, lang: str = "zh", *, output_dir: str | None = None) -> None:
    """One event-study figure per outcome (saved as figures/event_study_<outcome>.png)."""
    from evalkit.reporting.display import show_figure

    sep = "：" if lang_code(lang) == "zh" else ": "
    for outcome, label in zip(report.estimates["outcome"], report.estimates["label"], strict=True):
        ax = report.plot(outcome=outcome, lang=lang)
        ax.set_title(f"{ax.get_title()}{sep}{label}")
        show_figure(ax, output_dir=output_dir, name=f"event_study_{outcome}")
