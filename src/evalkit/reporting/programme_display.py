"""Display-ready tables, headings and the comparison paragraph of a
:class:`~evalkit.programme.report.ProgrammeReport`, in Chinese or English.

Formats only: picks rows and columns, renames them for the reader and turns codes (groups,
statuses, grades, verdicts, reason codes) into words; every number comes from the report.
Small counts are not an issue here (no table describes individual residents).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from evalkit.codebook import CONSTRUCTS
from evalkit.reporting.display import markdown, show_figure, show_table
from evalkit.reporting.programme_figures import (
    GROUP_LABELS,
    attainment_plot,
    programme_comparison_plot,
    trend_by_group_plot,
)
from evalkit.reporting.text import lang_code

__all__ = ["programme_table", "show_programme_table", "programme_narrative", "comparison_paragraph",
           "show_programme_figure"]

_TEXT = {
    "title": ("# 项目实施与绩效：{name}", "# Programme delivery and performance: {name}"),
    "intro": ("本节按逻辑模型（投入 → 活动 → 产出 → 成效）报告服务台账、居民诉求、社区年度投入与目标达标情况，"
              "并比较三社联动与五社联动。", "This section follows the logic model (inputs → activities → outputs → "
              "outcomes) through the service ledger, resident requests, the community-year inputs and the targets, "
              "and compares 三社联动 with 五社联动."),
    "logic_model": ("## 逻辑模型：最近一年各组社区的均值与分类型成效", "## Logic model: latest-year group means and impact by type"),
    "reach": ("## 服务覆盖：服务次数与人次\n人次为服务接触次数，不是服务人数（台账无个人编码时无法去重）。",
              "## Reach: services and contacts\nParticipants are contacts (人次), not people: without a person key the "
              "ledger cannot count people once."),
    "linkage": ("## 联动程度：多方共同提供的服务占比", "## Linkage: services co-delivered by several actors"),
    "inputs": ("## 投入：社会组织、持证社工、志愿者与资金", "## Inputs: organisations, social workers, volunteers, funding"),
    "responsiveness": ("## 诉求响应\n办结时间用 Kaplan–Meier 方法估计：尚未办结的诉求按“至少已用时”计入（删失），不被丢弃。",
                       "## Responsiveness\nTime to resolution is a Kaplan–Meier estimate: requests still open count as "
                       "censored (known to take at least this long), not dropped."),
    "claims": ("### 宣传口径的检验\n“满意率 100%”“办结率 ≥ 90%”等说法按比例检验：给出样本量、精确（Clopper–Pearson）与 "
               "Wilson 区间和单侧精确二项检验。", "### Claims tested as claims\nShares such as “satisfaction 100 %” come with "
               "their number of responses, exact (Clopper–Pearson) and Wilson intervals and one-sided exact tests."),
    "targets": ("## 目标达标情况", "## Target attainment"),
    "scoring": ("## 绩效评分与等级", "## Performance score and grade"),
    "costs": ("## 成本\n单位成效成本 = 试点带来的年度新增资金 ÷ 成效估计；区间由成效的置信区间换算（资金视为已知）。",
              "## Costs\nCost per unit of effect = the pilots' incremental annual funding ÷ the impact estimate; the "
              "interval carries the effect's confidence interval (funding treated as known)."),
    "compare": ("## 三社联动与五社联动比较", "## 三社联动 versus 五社联动"),
}
_HEADERS = {
    "group": ("组别", "group"), "year": ("年份", "year"), "stage": ("环节", "stage"), "indicator": ("指标", "indicator"),
    "value": ("数值", "value"), "ci_lower": ("95% CI 下限", "95% CI low"), "ci_upper": ("95% CI 上限", "95% CI high"),
    "services": ("服务次数", "services"), "participants": ("服务人次", "contacts"),
    "services_per_1000": ("每千人服务次数", "services per 1,000"), "share_ge2": ("≥2 方参与", "≥2 actors"),
    "share_ge3": ("≥3 方参与", "≥3 actors"), "share_all5": ("五方齐聚", "all 5"), "mean_actors": ("平均参与方数", "mean actors"),
    "social_orgs": ("社会组织数", "social orgs"), "social_workers": ("持证社工数", "social workers"),
    "social_workers_per_10k": ("每万人持证社工", "social workers /10k"), "volunteers_per_10k": ("每万人志愿者", "volunteers /10k"),
    "funding_wan": ("资金（万元）", "funding (10k yuan)"), "centre_area_m2": ("中心面积（平方米）", "centre area (m²)"),
    "n": ("样本量", "n"), "median_hours": ("办结时间中位数（小时）", "median hours"), "p90_hours": ("90 分位（小时）", "P90 hours"),
    "km_within_24h": ("24 小时内办结", "within 24 h"), "km_within_72h": ("72 小时内办结", "within 72 h"),
    "n_open": ("未办结", "open"), "scope": ("范围", "scope"), "claim": ("口径", "claim"), "share": ("比例", "share"),
    "cp_lower": ("精确区间下限", "exact low"), "cp_upper": ("精确区间上限", "exact high"),
    "wilson_lower": ("Wilson 下限", "Wilson low"), "wilson_upper": ("Wilson 上限", "Wilson high"),
    "p_contradicted": ("与口径矛盾的 p", "p (contradicted)"), "verdict": ("结论", "verdict"),
    "framework": ("标准", "framework"), "met": ("达标", "met"), "not_met": ("未达标", "not met"),
    "no_data": ("无数据", "no data"), "share_met": ("达标率", "share met"), "community_id": ("社区编码", "community"),
    "inputs": ("投入", "inputs"), "outputs": ("产出", "outputs"), "responsiveness": ("响应", "responsiveness"),
    "satisfaction": ("满意度", "satisfaction"), "score": ("总分", "score"), "grade": ("等级", "grade"),
    "score_min": ("权重变动下最低分", "min score"), "score_max": ("最高分", "max score"),
    "share_same_grade": ("等级不变的比例", "same grade"), "outcome": ("结果", "outcome"), "programme": ("试点类型", "programme"),
    "estimate": ("估计值", "estimate"), "p_value": ("p 值", "p"), "inference": ("推断方法", "inference"),
    "incremental_funding_wan": ("年新增资金（万元）", "incremental funding"), "ratio": ("单位成效成本（万元）", "cost per unit"),
    "ratio_ci_lower": ("区间下限", "low"), "ratio_ci_upper": ("区间上限", "high"), "reason": ("说明", "note"),
    "cost_per_service": ("每次服务成本（元）", "cost per service"), "cost_per_participant": ("每人次成本（元）", "cost per contact"),
    "funding_yuan_per_resident": ("人均资金（元）", "funding per resident"), "term": ("项", "term"),
    "channel": ("渠道", "channel"), "category": ("诉求类别", "category"),
    "resolution_rate": ("诉求办结率", "request resolution rate"),
    "participants_per_resident": ("人均服务人次", "contacts per resident"),
    "share_within_72h": ("72 小时内办结比例", "share resolved within 72 h"),
    "share_within_24h": ("24 小时内办结比例", "share resolved within 24 h"),
    "period": ("时期", "period"),
    "social_orgs_per_community": ("社区社会组织数", "social organisations per community"),
    "status": ("结论", "status"), "threshold": ("目标值", "target"), "config": ("本研究设定的目标", "this study's targets"),
    "share_of_requests": ("占比", "share of requests"), "requests": ("诉求数", "requests"), "share_resolved": ("办结率", "resolved"),
    "share_satisfied": ("满意率", "satisfied"), "mean_score": ("平均评分", "mean score"), "rated": ("评价数", "rated"),
}
_CODES = {
    **GROUP_LABELS,
    "met": ("达标", "met"), "not_met": ("未达标", "not met"), "no_data": ("无数据", "no data"),
    "grid_worker": ("网格员", "grid worker"), "walk_in": ("上门反映", "walk-in"),
    "before": ("试点前 12 个月", "12 months before the start"), "since": ("试点以来", "since the start"),
    "hotline": ("热线电话", "hotline"), "wechat": ("微信", "WeChat"),
    "excellent": ("优秀", "excellent"), "good": ("良好", "good"), "pass": ("合格", "pass"), "fail": ("不合格", "fail"),
    "supported": ("数据支持", "supported"), "contradicted": ("数据否定", "contradicted"),
    "consistent": ("不能否定", "not contradicted"),
    "metric_not_in_data": ("数据中无此指标", "not in the data"), "missing_value": ("数值缺失", "value missing"),
    "zero_denominator": ("分母为 0", "zero denominator"), "unknown_target_key": ("无法识别的目标", "unknown target"),
    "effect_ci_includes_zero": ("成效区间含 0，上限无界", "effect CI includes 0: no upper bound"),
    "effect_not_positive": ("成效不为正", "effect not positive"),
    "p90_not_reached": ("90 分位未达到", "P90 not reached"), "median_not_reached": ("中位数未达到", "median not reached"),
    "inputs": ("投入", "inputs"), "activities": ("活动", "activities"), "outputs": ("产出", "outputs"),
    "outcomes": ("成效", "outcomes"), "satisfaction_100": ("满意率 100%", "satisfaction 100 %"),
    "resolution_90": ("办结率 ≥ 90%", "resolution ≥ 90 %"), "response_24h_all": ("全部 24 小时内办结", "all within 24 h"),
    "multiplier_bootstrap": ("聚类乘数自助法", "cluster multiplier bootstrap"),
    "randomization_within_cohort": ("批次内随机化推断", "randomisation within cohort"),
}
_VIEWS: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "logic_model": ("logic_model", ["stage", "indicator", "group", "value", "ci_lower", "ci_upper"], {}),
    "reach": ("reach", ["group", "year", "services", "participants", "services_per_1000"], {"by_group": True}),
    "linkage": ("linkage_by_group", ["group", "year", "services", "share_ge2", "share_ge3", "share_all5", "mean_actors"], {}),
    "linkage_change": ("linkage_change", ["group", "period", "services", "share_ge2", "share_ge3", "share_all5"],
                       {"by_group": ("group", "period")}),
    "inputs": ("inputs_by_group", ["group", "year", "social_orgs", "social_workers", "social_workers_per_10k",
                                   "volunteers_per_10k", "funding_wan", "centre_area_m2"], {}),
    "channels": ("requests_by_channel", ["group", "year", "channel", "requests", "share_resolved"], {}),
    "categories": ("requests_by_category", ["group", "category", "requests", "share_of_requests", "share_resolved"], {}),
    "resolution": ("resolution_times", ["group", "year", "n", "n_open", "median_hours", "p90_hours", "km_within_24h",
                                        "km_within_72h", "reason"], {"all_only": True}),
    "satisfaction": ("satisfaction", ["group", "year", "rated", "mean_score", "share_satisfied"], {}),
    "claims": ("claims", ["scope", "claim", "n", "share", "cp_lower", "cp_upper", "wilson_lower", "wilson_upper",
                          "p_contradicted", "verdict"], {}),
    "attainment": ("attainment_summary", ["framework", "indicator", "year", "met", "not_met", "no_data", "share_met"], {}),
    # one community's own attainment in the latest year (for the per-pilot report)
    "community_attainment": ("attainment", ["framework", "indicator", "value", "threshold", "status", "reason"],
                             {"latest_year": True}),
    "scores": ("scores", ["community_id", "inputs", "outputs", "responsiveness", "satisfaction", "score", "grade"], {}),
    "sensitivity": ("score_sensitivity", ["community_id", "score", "grade", "score_min", "score_max",
                                          "share_same_grade"], {}),
    "costs": ("costs", ["group", "year", "cost_per_service", "cost_per_participant", "funding_yuan_per_resident"],
              {"by_group": True}),
    "cost_per_effect": ("cost_per_effect", ["outcome", "programme", "incremental_funding_wan", "ratio", "ratio_ci_lower",
                                            "ratio_ci_upper", "reason"], {}),
    "compare": ("estimates", ["outcome", "term", "estimate", "ci_lower", "ci_upper", "p_value", "inference"], {}),
}


#: counts under this are not published, nor the shares and intervals resting on them
MIN_COUNT = 10
_SHARE_VIEWS = {"claims", "community_attainment", "resolution", "satisfaction"}
_SHARE_COLUMNS = {"share", "cp_lower", "cp_upper", "wilson_lower", "wilson_upper", "p_contradicted", "value",
                  "median_hours", "p90_hours", "km_within_24h", "km_within_72h", "share_satisfied", "mean_score",
                  "verdict"}


def _code(value: Any, k: int) -> Any:
    if isinstance(value, str) and ";" in value:
        return "；".join(_code(v, k) for v in value.split(";") if v != "assumes_type_exchangeable_within_cohort")
    return _CODES[value][k] if isinstance(value, str) and value in _CODES else value


def _label(value: Any, k: int) -> Any:
    """A construct or indicator code in words (the code itself when unknown)."""
    if value in CONSTRUCTS:
        return (CONSTRUCTS[value].zh, CONSTRUCTS[value].en)[k]
    return _HEADERS[value][k] if value in _HEADERS else value


def programme_table(report: Any, name: str, lang: str = "zh") -> pd.DataFrame:
    """One of the views in ``_VIEWS`` (logic_model, reach, linkage, …) for display."""
    source_name, cols, opts = _VIEWS[name]
    frame = getattr(report, source_name)
    k = 0 if lang_code(lang) == "zh" else 1
    if opts.get("latest_year") and "year" in frame and frame["year"].notna().any():
        frame = frame[frame["year"] == frame["year"].max()]
    if name in {"attainment", "community_attainment"} and not report.frameworks.empty:  # the frameworks' wording
        labels = report.frameworks.set_index(["framework", "indicator"])
        idx = pd.MultiIndex.from_frame(frame[["framework", "indicator"]])
        named = labels[("label_zh", "label_en")[k]].reindex(idx).to_numpy()
        frame = frame.assign(framework=labels[("framework_zh", "framework_en")[k]].groupby(level=0).first()
                             .reindex(frame["framework"]).to_numpy(),
                             indicator=np.where(pd.isna(named), frame["indicator"], named))
    if opts.get("all_only") and "community_id" in frame:
        frame = frame[frame["community_id"] == "all"]
    if opts.get("by_group"):
        keys = list(opts["by_group"]) if isinstance(opts["by_group"], tuple) else ["group", "year"]
        numeric = [c for c in cols if c not in keys]
        how = "sum" if name == "reach" else "mean"
        frame = frame.groupby(keys, sort=True)[numeric].agg(how).reset_index()
        if name == "reach":
            pop = getattr(report, source_name).groupby(keys)["population"].sum().to_numpy()
            frame["services_per_1000"] = 1000 * frame["services"] / np.where(pop > 0, pop, np.nan)
    out = frame[[c for c in cols if c in frame.columns]].copy()
    if "n" in out and name in _SHARE_VIEWS:  # a share resting on fewer than MIN_COUNT answers is not published
        small = pd.to_numeric(out["n"], errors="coerce") < MIN_COUNT
        shares = [c for c in out.columns if c in _SHARE_COLUMNS]
        out[shares] = out[shares].astype(object).mask(small)
        out["n"] = out["n"].astype(object).mask(small, f"<{MIN_COUNT}")
    labelled = {c for c in ("outcome", "indicator") if c in out}
    for col in labelled:
        out[col] = out[col].map(lambda v: _label(v, k))
    for col in out.columns:
        if col not in labelled and (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            out[col] = out[col].map(lambda v: _code(v, k))
    if "p_value" in out:
        out["p_value"] = out["p_value"].map(lambda p: "—" if pd.isna(p) else ("<0.001" if p < 0.001 else f"{p:.3f}"))
    return out.rename(columns={c: _HEADERS.get(c, (c, c))[k] for c in out.columns})


def show_programme_table(report: Any, name: str, lang: str = "zh") -> None:
    show_table(programme_table(report, name, lang))


def programme_narrative(key: str, lang: str = "zh", **fields: Any) -> None:
    markdown(_TEXT[key][0 if lang_code(lang) == "zh" else 1].format(**fields))


def _funding(ce: pd.DataFrame) -> tuple[float, float]:
    if ce.empty:
        return np.nan, np.nan
    return (float(ce.loc[ce["programme"] == "wushe", "incremental_funding_wan"].mean()),
            float(ce.loc[ce["programme"] == "sanshe", "incremental_funding_wan"].mean()))


def comparison_paragraph(report: Any, lang: str = "zh", *, alpha: float = 0.05) -> str:
    """What the 三社 vs 五社 comparison can and cannot support, from the report's numbers."""
    zh = lang_code(lang) == "zh"
    d = report.difference
    if d.empty:
        return "没有可比较的两类试点。" if zh else "There are no two programme types to compare."
    n_a, n_b = int(d["n_a"].max()), int(d["n_b"].max())
    clear = d[d["ri_p_value"] < alpha]
    unclear = d[d["ri_p_value"] >= alpha]
    ce = report.cost_per_effect
    lines = []
    if zh:
        lines.append(f"比较基于 {n_a} 个五社联动与 {n_b} 个三社联动试点社区，推断采用同一启动批次内交换试点类型的随机化检验，"
                     "对试点数量少的情形依然有效，但前提是同一批次中哪些社区采用五社联动近似随机。")
        if not clear.empty:
            lines.append("五社联动与三社联动成效差异在统计上可以确认的结果：" + "、".join(
                f"{_label(r.outcome, 0)}（差 {r.estimate:.3f}，95% 区间 {r.ri_ci_lower:.3f}～{r.ri_ci_upper:.3f}）"
                for r in clear.itertuples()) + "。")
        if not unclear.empty:
            lines.append("以下结果两类差异不能确认（区间含 0），数据既不支持“五社更好”，也不能排除："
                         + "、".join(_label(o, 0) for o in unclear["outcome"]) + "。")
        w, s = _funding(ce)
        if np.isfinite(w) and np.isfinite(s):
            lines.append(f"五社联动试点每年新增资金约 {w:.1f} 万元，三社联动约 {s:.1f} 万元；是否“值得”取决于上述差异的大小与区间。")
        lines.append("试点并非随机选取，比较只针对试点社区本身，不能外推到所有社区。")
    else:
        lines.append(f"The comparison rests on {n_a} 五社联动 and {n_b} 三社联动 pilots; inference permutes the programme "
                     "type within start cohorts, which holds for few pilots but assumes that within a cohort the type "
                     "was as good as randomly assigned.")
        if not clear.empty:
            lines.append("Differences the data confirm: " + "; ".join(
                f"{_label(r.outcome, 1)} ({r.estimate:.3f}, 95% CI {r.ri_ci_lower:.3f} to {r.ri_ci_upper:.3f})"
                for r in clear.itertuples()) + ".")
        if not unclear.empty:
            lines.append("Not confirmed (interval includes 0) — neither shown nor ruled out: "
                         + ", ".join(_label(o, 1) for o in unclear["outcome"]) + ".")
        w, s = _funding(ce)
        if np.isfinite(w) and np.isfinite(s):
            lines.append(f"五社联动 pilots add about {w:.1f} (10k yuan) a year in funding, 三社联动 about {s:.1f}; "
                         "whether that is worth it depends on the size and interval of the differences above.")
        lines.append("Pilots were not chosen at random: the comparison describes these pilots, not all communities.")
    return "\n\n".join(lines)


def show_programme_figure(report: Any, name: str, lang: str = "zh", *,
                          output_dir: str | os.PathLike[str] | None = None) -> None:
    """``reach``, ``linkage``, ``inputs``, ``response``, ``attainment`` or ``compare``; saved as
    figures/programme_<name>.png with ``output_dir``."""
    zh = lang_code(lang) == "zh"
    sources = {"reach": report.reach, "linkage": report.linkage_by_group, "inputs": report.inputs,
               "response": report.resolution_times, "attainment": report.attainment_summary,
               "compare": report.estimates}
    if sources[name].empty or (name == "response" and "group" not in sources[name]):
        markdown("（本项无数据）" if zh else "(no data for this section)")
        return
    if name == "reach":
        ax = trend_by_group_plot(report.reach, "services_per_1000", lang=lang,
                                 ylabel="每千人服务次数" if zh else "Services per 1,000 residents")
    elif name == "linkage":
        ax = trend_by_group_plot(report.linkage_by_group, "share_ge3", lang=lang,
                                 ylabel="≥3 方参与的服务占比" if zh else "Share of services with ≥3 actors")
    elif name == "inputs":
        ax = trend_by_group_plot(report.inputs, "social_workers_per_10k", lang=lang,
                                 ylabel="每万人持证社工" if zh else "Certified social workers per 10,000")
    elif name == "response":
        times = report.resolution_times
        ax = trend_by_group_plot(times[times["community_id"] == "all"], "km_within_72h", lang=lang,
                                 ylabel="72 小时内办结比例（KM）" if zh else "Resolved within 72 h (KM)")
    elif name == "attainment":
        ax = attainment_plot(report.attainment_summary, lang=lang)
    else:
        ax = programme_comparison_plot(report, lang=lang)
    show_figure(ax, output_dir=output_dir, name=f"programme_{name}")
