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

__all__ = ["impact_table", "sensitivity_table", "show_event_studies", "show_impact_table",
           "show_limitations", "show_sensitivity", "show_truth_check"]

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
_TERMS = {"klk_index": ("综合指数（Kling–Liebman–Katz 2007，等权）",
                         "summary index (Kling–Liebman–Katz 2007, equal weights)")}
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
    if name == "many_outcomes":
        frame["term"] = frame["term"].map(lambda t: _TERMS.get(t, (t, t))[code])
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


def sensitivity_table(report: Any, lang: str = "zh") -> pd.DataFrame:
    """Per outcome: the event-study average, its HonestDiD intervals (relative magnitudes
    M̄ = 1, smoothness M = 0) with breakdown values, and the pre-test's 80 % minimal
    detectable linear trend (Roth 2022). Formats ``report.sensitivity`` and
    ``report.pretrend_power``; empty when the report has none."""
    power, sens = report.pretrend_power, report.sensitivity
    if power.empty:
        return pd.DataFrame()
    code = 0 if lang_code(lang) == "zh" else 1

    def ci(outcome: str, restriction: str, m: float) -> str:
        rows = sens[(sens["outcome"] == outcome) & (sens["restriction"] == restriction)
                    & (sens["m"] == m)]
        if rows.empty:
            return "—"
        r = rows.iloc[0]
        return f"[{r['ci_lower']:.3f}, {r['ci_upper']:.3f}]"

    def num(x: Any) -> str:
        return "—" if pd.isna(x) else f"{x:.3g}"

    heads = {
        "label": ("结果", "outcome"),
        "estimate": ("启动后平均效应", "average post-start effect"),
        "rm1": ("相对幅度 M̄=1 稳健 95% CI", "relative magnitude M̄=1 robust 95% CI"),
        "rm_break": ("相对幅度临界 M̄", "relative-magnitude breakdown M̄"),
        "sd0": ("平滑 M=0 稳健 95% CI", "smoothness M=0 robust 95% CI"),
        "mdv_80": ("预检验 80% 功效可检出的线性趋势斜率", "linear pre-trend slope detected with 80% power"),
        "reliable": ("协方差可靠（社区数充足）", "covariance reliable (enough communities)"),
    }
    yes_no = (("是", "否"), ("yes", "no"))[code]
    rows = [{"label": r.label, "estimate": f"{r.estimate:.3f}",
             "rm1": ci(r.outcome, "relative_magnitude", 1.0), "rm_break": num(r.breakdown_relative_magnitude),
             "sd0": ci(r.outcome, "smoothness", 0.0), "mdv_80": num(r.mdv_80),
             "reliable": yes_no[0] if r.reliable_covariance else yes_no[1]}
            for r in power.itertuples(index=False)]
    return pd.DataFrame(rows).rename(columns={k: v[code] for k, v in heads.items()})


def show_sensitivity(report: Any, lang: str = "zh") -> None:
    """The sensitivity table (see :func:`sensitivity_table`), if the report has one."""
    table = sensitivity_table(report, lang)
    if not table.empty:
        show_table(table)
