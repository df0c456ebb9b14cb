"""The programme report's tables, figures and comparison paragraph, from a
:class:`~evalkit.programme.report.ProgrammeReport`, in Chinese or English.

Formats only: picks rows and columns, renames them for the reader, turns codes (groups,
statuses, grades, verdicts, reason codes) into words and formats numbers with
:mod:`evalkit.reporting.tables`; every number comes from the report. Tables are
:class:`~evalkit.reporting.tables.ReportTable` objects (title, unit, N, method, weighting,
notes) for :class:`~evalkit.reporting.document.ReportDocument`; captions and narrative live
in the text catalogue (``programme_*`` keys of :mod:`evalkit.reporting.text`). Shares and
intervals resting on fewer than :data:`MIN_COUNT` answers are not published.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.codebook import CONSTRUCTS
from evalkit.reporting.programme_figures import (
    GROUP_LABELS,
    attainment_plot,
    programme_comparison_plot,
    trend_by_group_plot,
)
from evalkit.reporting.tables import ReportTable, fmt_ci, fmt_int, fmt_num, fmt_p, fmt_share, sig_marks
from evalkit.reporting.text import text
from evalkit.reporting.vocab import lang_code, word

__all__ = ["MIN_COUNT", "programme_table", "programme_report_table", "add_programme_table", "programme_figure",
           "add_programme_figure", "comparison_paragraph"]

_HEADERS = {
    "group": ("组别", "group"), "year": ("年份", "year"), "stage": ("环节", "stage"), "indicator": ("指标", "indicator"),
    "value": ("数值", "value"), "ci_lower": ("95% CI 下限", "95% CI low"), "ci_upper": ("95% CI 上限", "95% CI high"),
    "services": ("服务次数", "services"), "participants": ("服务人次", "contacts"),
    "services_per_1000": ("每千人服务次数", "services per 1,000 residents"), "share_ge2": ("≥2 方参与", "≥2 actors"),
    "share_ge3": ("≥3 方参与", "≥3 actors"), "share_all5": ("五方齐聚", "all 5"), "mean_actors": ("平均参与方数", "mean actors"),
    "social_orgs": ("社会组织数", "social organisations"), "social_workers": ("持证社工数", "social workers"),
    "social_workers_per_10k": ("每万人持证社工", "social workers per 10,000"),
    "volunteers_per_10k": ("每万人志愿者", "volunteers per 10,000"),
    "funding_wan": ("资金（万元）", "funding (10,000 yuan)"), "centre_area_m2": ("中心面积（平方米）", "centre area (m²)"),
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
    "incremental_funding_wan": ("年新增资金（万元）", "incremental funding (10,000 yuan a year)"), "ratio": ("单位成效成本（万元）", "cost per unit"),
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



def _view_frame(report: Any, name: str, k: int) -> pd.DataFrame:
    """The rows and columns of view ``name``, codes in words, small counts suppressed, numbers raw."""
    source_name, cols, opts = _VIEWS[name]
    frame = getattr(report, source_name)
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
        if name == "reach":  # per community, then averaged: as in the logic model and the figure
            source = getattr(report, source_name)
            if "services_per_1000" in source:
                frame["services_per_1000"] = source.groupby(keys)["services_per_1000"].mean().to_numpy()
            else:
                pop = source.groupby(keys)["population"].sum().to_numpy()
                frame["services_per_1000"] = 1000 * frame["services"] / np.where(pop > 0, pop, np.nan)
    out = frame[[c for c in cols if c in frame.columns]].copy()
    count = next((c for c in ("n", "rated") if c in out), None)
    if count and name in _SHARE_VIEWS:  # a share resting on fewer than MIN_COUNT answers is not published
        small = pd.to_numeric(out[count], errors="coerce") < MIN_COUNT
        shares = [c for c in out.columns if c in _SHARE_COLUMNS]
        out[shares] = out[shares].astype(object).mask(small)
        out[count] = out[count].astype(object).mask(small, f"<{MIN_COUNT}")
    labelled = {c for c in ("outcome", "indicator") if c in out}
    for col in labelled:
        out[col] = out[col].map(lambda v: _label(v, k))
    for col in out.columns:
        if col not in labelled and (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            out[col] = out[col].map(lambda v: _code(v, k))
    return out


def programme_table(report: Any, name: str, lang: str = "zh") -> pd.DataFrame:
    """One of the views in ``_VIEWS`` (logic_model, reach, linkage, …) as a frame with raw numbers.

    The report uses :func:`programme_report_table` (formatted, captioned); this frame is for
    exploration and for checks on the numbers.
    """
    k = 0 if lang_code(lang) == "zh" else 1
    out = _view_frame(report, name, k)
    if "p_value" in out:
        out["p_value"] = out["p_value"].map(fmt_p)
    return out.rename(columns={c: _HEADERS.get(c, (c, c))[k] for c in out.columns})


# ---- the report's tables: formatted, captioned ----------------------------------------------

_INT = {"services", "participants", "n", "n_open", "requests", "rated", "met", "not_met", "no_data", "year"}
_PCT = {"share_ge2", "share_ge3", "share_all5", "km_within_24h", "km_within_72h", "share_resolved", "share_satisfied",
        "share_of_requests", "share_met", "share_same_grade"}
_DEC = {"centre_area_m2": 0, "cost_per_service": 0, "mean_actors": 2, "mean_score": 2}  # else 1 place
_UNITS = {
    "reach": ("次；人次；每千名常住居民的服务次数", "services; contacts; services per 1,000 residents"),
    "linkage": ("服务次数为次，其余为占全部服务的比例", "services as counts, the rest as shares of all services"),
    "linkage_change": ("每个试点社区该时期的服务次数（平均）与占比", "services per pilot in the period (mean) and shares"),
    "inputs": ("个；人；每万名常住居民；万元；平方米", "count; persons; per 10,000 residents; 10,000 yuan; m²"),
    "resolution": ("件；小时；比例", "requests; hours; shares"),
    "satisfaction": ("件；评分 1–5 分；比例", "ratings; score 1–5; share"),
    "claims": ("比例", "shares"), "attainment": ("个社区", "communities"),
    "community_attainment": ("见各行", "see rows"), "scores": ("分（0–100）", "points (0–100)"),
    "costs": ("元", "yuan"), "cost_per_effect": ("万元；每 1 分（或参与比例 1 个单位）的成效", "10,000 yuan per unit of effect"),
    "logic_model": ("见各行", "see rows"), "compare": ("量表分（参与为 0–1 比例）", "scale points (participation: 0–1 share)"),
}
_METHODS = {
    "admin": ("服务台账、社区年度面板与诉求记录的汇总（全部记录）", "totals of the service ledger, community panel "
              "and request log (all records)"),
    "km": ("Kaplan–Meier 估计，未办结诉求按删失处理", "Kaplan–Meier, open requests censored"),
    "claims": ("精确（Clopper–Pearson）与 Wilson 95% 区间；单侧精确二项检验",
               "exact (Clopper–Pearson) and Wilson 95% intervals; one-sided exact binomial tests"),
    "scores": ("绩效评估框架加权评分；权重敏感性为 ±20% 与随机（Dirichlet）权重",
               "weighted score of the performance framework; weight sensitivity by ±20% and random (Dirichlet) weights"),
    "cost": ("年度新增资金 ÷ 成效估计", "incremental annual funding ÷ impact estimate"),
}
_EXTRA_HEADERS = {
    "estimate_ci": ("效应 [95% 置信区间]", "effect [95% CI]"),
    "share_cp": ("比例 [精确 95% 区间]", "share [exact 95% CI]"),
    "wilson": ("Wilson 95% 区间", "Wilson 95% CI"),
    "ratio_ci": ("单位成效成本 [95% 区间]", "cost per unit of effect [95% CI]"),
    "score_range": ("权重变动下得分范围", "score range when weights change"),
    "difference": ("五社 − 三社 [95% 区间]", "five-party − three-party [95% CI]"),
    "p_difference": ("两类之差 p 值", "p (difference)"),
    "community": ("社区", "community"),
}


def _t(pair: tuple[str, str], k: int) -> str:
    return pair[k]


def _header(col: str, k: int) -> str:
    h = (_EXTRA_HEADERS.get(col) or _HEADERS.get(col) or (col, col))[k]
    return h[:1].upper() + h[1:] if k and h[:1].isalpha() and not h.startswith("p ") else h


def _inline(label: str, k: int) -> str:
    """A label inside an English sentence starts lower-case ("Comparison communities" → "comparison …")."""
    return label if k == 0 or not label[:1].isupper() or label[1:2].isupper() else label[0].lower() + label[1:]


def _capital(v: Any, k: int) -> Any:
    """An English cell starts upper-case ("not met" → "Not met"); Chinese and numbers as they are."""
    return v[0].upper() + v[1:] if k and isinstance(v, str) and v[:1].islower() else v


def _is_text(v: Any) -> bool:
    return isinstance(v, str)


def _fmt_cell(col: str, v: Any, lang: str) -> str:
    if _is_text(v):  # already words (or "<10")
        return v
    if col in _INT:
        return fmt_int(v) if col != "year" else ("—" if pd.isna(v) else str(int(v)))
    if col in _PCT:
        return fmt_share(v)
    if col == "p_value" or col == "p_contradicted":
        return fmt_p(v)
    return fmt_num(v, _DEC.get(col, 1))


def _pct_ci(est: Any, lo: Any, hi: Any, lang: str) -> str:
    if pd.isna(est):
        return "—"
    if pd.isna(lo) or pd.isna(hi):
        return fmt_share(est)
    return word("ci.fmt", lang, est=fmt_share(est), lo=fmt_share(lo), hi=fmt_share(hi))


def _value(v: Any) -> str:
    """A target value as written: whole numbers without decimals, shares and others with 2."""
    if _is_text(v) or pd.isna(v):
        return "—" if not _is_text(v) else v
    return fmt_int(v) if float(v).is_integer() else fmt_num(v, 2)


def community_names(study: Any, lang: str = "zh") -> dict[str, str]:
    """Community id → the name a report in ``lang`` shows.

    Chinese reports use the registry's ``community_name``; English reports use
    ``community_name_en`` when the registry has it, else "Community <id>", so that an English
    report carries no Chinese.
    """
    if study is None or "communities" not in getattr(study, "tables", {}):
        return {}
    reg = study.tables["communities"]
    ids = reg["community_id"].astype(str)
    column = "community_name" if lang_code(lang) == "zh" else "community_name_en"
    if column in reg:
        names = reg[column].astype("string")
        return {i: (str(n) if pd.notna(n) and str(n).strip() else i) for i, n in zip(ids, names, strict=True)}
    return {i: (i if lang_code(lang) == "zh" else f"Community {i}") for i in ids}


def _group_counts(report: Any) -> dict[str, int]:
    """Communities per group, city-wide (also in a one-community slice, whose group tables stay city-wide)."""
    by_group = report.inputs_by_group
    if {"group", "communities"} <= set(by_group.columns) and len(by_group):
        return {g: int(n) for g, n in by_group.groupby("group")["communities"].max().items()}
    for source in (report.inputs, report.reach):
        if {"group", "community_id"} <= set(source.columns) and len(source):
            return source.groupby("group")["community_id"].nunique().to_dict()
    return {}


def _n_text(report: Any, k: int, *, sliced: bool = False) -> str:
    """N of a table: its one community (``sliced``) or the communities per group."""
    if sliced:
        return "1 个社区" if k == 0 else "1 community"
    counts = _group_counts(report)
    if not counts:
        return ""
    order = [g for g in ("comparison", "sanshe", "wushe", "other") if g in counts]
    total = sum(counts.values())
    parts = [f"{_inline(GROUP_LABELS[g][k], k)} {counts[g]}" for g in order]
    return (f"{total} 个社区（{'，'.join(parts)}）" if k == 0 else f"{total} communities ({', '.join(parts)})")


def _latest(frame: pd.DataFrame) -> int | None:
    return int(frame["year"].max()) if "year" in frame and frame["year"].notna().any() else None


def programme_report_table(report: Any, name: str, lang: str = "zh", *, study: Any = None) -> ReportTable:
    """A view of the :class:`~evalkit.programme.report.ProgrammeReport` as a captioned :class:`ReportTable`.

    ``name``: ``logic_model, reach, linkage, linkage_change, inputs, resolution, satisfaction,
    claims, attainment, community_attainment, scores, costs, cost_per_effect, compare``.
    With ``study``, community ids are shown as the registry's community names. Shares and
    intervals resting on fewer than :data:`MIN_COUNT` answers are not published ("<10").
    """
    k = 0 if lang_code(lang) == "zh" else 1
    zh = k == 0
    names = community_names(study, lang)
    source_name, _, opts = _VIEWS[name]
    sliced = (report.community is not None and "community_id" in getattr(report, source_name).columns
              and not opts.get("all_only"))
    n_text = _n_text(report, k, sliced=sliced)
    if name == "linkage_change":
        counts = _group_counts(report)
        pilots = sum(v for g, v in counts.items() if g != "comparison")
        n_text = f"{pilots} 个试点社区" if zh else f"{pilots} pilots"
    admin = dict(method=_METHODS["admin"][k], weighted="none", n=n_text)
    small_note = [("样本量少于 {m} 的比例及其区间不予公布（以“<{m}”表示）。" if zh else
                   "Shares and intervals resting on fewer than {m} answers are not published (shown as \"<{m}\").")
                  .format(m=MIN_COUNT)]
    title_key = f"programme_tab_{name}"
    if getattr(report, _VIEWS[name][0]).empty:  # e.g. a study without a service ledger or request log
        return ReportTable(frame=pd.DataFrame(), title=text(title_key, lang, year="—"), lang=lang,
                           empty=text("programme_no_data", lang))
    if name == "logic_model":
        return _logic_model_table(report, lang, n_text)
    if name == "compare":
        return _compare_table(report, lang)
    if name == "scores":
        return _scores_table(report, lang, names)
    frame = _view_frame(report, name, k)
    if name in {"claims"}:
        raw = report.claims
        year = _latest(raw)
        keep = raw["scope"].isin(["all"] if report.community is None else [report.community, "all"])
        if year is not None:
            keep &= raw["year"] == year
        frame = frame[keep.to_numpy()]
        scope = {"all": "全部社区" if zh else "all communities", **names}
        frame = frame.assign(scope=[scope.get(s, s) for s in raw.loc[keep, "scope"]])
    elif name == "attainment":
        year = _latest(report.attainment_summary)
        frame = frame[(report.attainment_summary["year"] == year).to_numpy()] if year is not None else frame
        frame = frame.drop(columns=["year"])
    elif name == "community_attainment":
        year = _latest(report.attainment)
    else:
        year = None
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        if col in {"cp_lower", "cp_upper", "wilson_lower", "wilson_upper", "ratio_ci_lower", "ratio_ci_upper"}:
            continue
        if col == "share" and "cp_lower" in frame:
            out["share_cp"] = [_pct_ci(a, b, c, lang) for a, b, c in
                               zip(frame["share"], frame["cp_lower"], frame["cp_upper"], strict=True)]
            out["wilson"] = [_pct_ci(np.nan, b, c, lang) if pd.isna(b) else
                             word("ci.fmt", lang, est="", lo=fmt_share(b), hi=fmt_share(c)).strip()
                             for b, c in zip(frame["wilson_lower"], frame["wilson_upper"], strict=True)]
        elif col == "ratio":
            out["ratio_ci"] = [fmt_ci(a, b, c, decimals=1, lang=lang) if not pd.isna(a) else "—" for a, b, c in
                               zip(frame["ratio"], frame["ratio_ci_lower"], frame["ratio_ci_upper"], strict=True)]
        elif col in {"value", "threshold"}:
            out[col] = [_value(v) for v in frame[col]]
        elif col == "services" and name == "linkage_change":
            out[col] = [fmt_num(v, 1) for v in frame[col]]
        else:
            out[col] = [_fmt_cell(col, v, lang) for v in frame[col]]
    if "reason" in out and out["reason"].isin(["", "—"]).all():  # a notes column without a note
        out = out.drop(columns=["reason"])
    out = out.map(lambda v: _capital(v, k)) if k else out
    out = out.rename(columns={c: _header(c, k) for c in out.columns}).reset_index(drop=True)
    title = text(title_key, lang, year=year) if year is not None else text(title_key, lang)
    unit = _t(_UNITS.get(name, ("", "")), k)
    if name in {"resolution"}:
        return ReportTable(frame=out, title=title, lang=lang, unit=unit, n=n_text, method=_METHODS["km"][k],
                           weighted="none", notes=small_note)
    if name == "satisfaction":
        return ReportTable(frame=out, title=title, lang=lang, unit=unit, **admin, notes=small_note)
    if name == "claims":
        notes = [text("programme_tab_claims_note", lang, min_n=MIN_COUNT)]
        return ReportTable(frame=out, title=title, lang=lang, unit=unit, method=_METHODS["claims"][k],
                           weighted="none", notes=notes,
                           n="每行的样本量见表" if zh else "per row, see the n column")
    if name == "community_attainment":
        return ReportTable(frame=out, title=title, lang=lang, unit=unit, **admin, notes=small_note)
    if name == "cost_per_effect":
        return ReportTable(frame=out, title=title, lang=lang, unit=unit, method=_METHODS["cost"][k],
                           weighted="no", n=n_text,
                           notes=["区间由成效的 95% 置信区间换算；成效区间含 0 或成效不为正时不计算。" if zh else
                                  "The interval carries the effect's 95% CI; not computed when the effect is not "
                                  "positive or its interval includes 0."])
    notes = []
    if name == "reach":
        notes.append("服务次数与人次为各组合计；每千人服务次数为各社区的简单平均。人次为服务接触次数，不是服务人数。" if zh else
                     "Services and contacts are group totals; services per 1,000 residents is the simple mean over "
                     "communities. Contacts are service contacts, not people.")
    if name == "attainment":
        notes.append("“无数据”为缺少该指标数据的社区数。" if zh else '"No data": communities without data for the indicator.')
    return ReportTable(frame=out, title=title, lang=lang, unit=unit, **admin, notes=notes)


def _logic_model_table(report: Any, lang: str, n_text: str) -> ReportTable:
    k = 0 if lang_code(lang) == "zh" else 1
    lm = report.logic_model
    groups = [g for g in ("comparison", "sanshe", "wushe", "all") if g in set(lm["group"])]
    rows = []
    for (stage, indicator), g in lm.groupby(["stage", "indicator"], sort=False):
        by = g.set_index("group")
        row = {_header("stage", k): _capital(_code(stage, k), k),
               _header("indicator", k): _capital(_label(indicator, k), k)}
        for grp in groups:
            if grp not in by.index:
                cell = "—"
            elif stage == "outcomes":
                r = by.loc[grp]
                cell = fmt_ci(r["value"], r["ci_lower"], r["ci_upper"], lang=lang)
            elif indicator.startswith("share"):
                cell = fmt_share(by.loc[grp, "value"])
            else:
                cell = fmt_num(by.loc[grp, "value"], 2 if indicator == "participants_per_resident" else 1)
            row[GROUP_LABELS[grp][k]] = cell
        rows.append(row)
    year = _latest(lm)
    return ReportTable(frame=pd.DataFrame(rows), title=text("programme_tab_logic_model", lang, year=year), lang=lang,
                       unit=_t(_UNITS["logic_model"], k), n=n_text, weighted="no",
                       notes=[text("programme_tab_logic_model_note", lang)])


def _compare_table(report: Any, lang: str) -> ReportTable:
    k = 0 if lang_code(lang) == "zh" else 1
    est = report.estimates
    terms = [t for t in ("sanshe", "wushe", "all") if t in set(est["term"])]
    rows = []
    for outcome, g in est.groupby("outcome", sort=False):
        by = g.set_index("term")
        row = {_header("outcome", k): _label(outcome, k)}
        for t in terms:
            r = by.loc[t] if t in by.index else None
            row[GROUP_LABELS[t][k]] = "—" if r is None else \
                f"{fmt_ci(r['estimate'], r['ci_lower'], r['ci_upper'], lang=lang)} {sig_marks(r['p_value'])}".rstrip()
        if "wushe_minus_sanshe" in by.index:
            r = by.loc["wushe_minus_sanshe"]
            row[_header("difference", k)] = fmt_ci(r["estimate"], r["ci_lower"], r["ci_upper"], lang=lang)
            row[_header("p_difference", k)] = fmt_p(r["p_value"])
        rows.append(row)
    methods = sorted({m for m in est.loc[est["term"] != "wushe_minus_sanshe", "inference"] if isinstance(m, str)})
    inference = ("、" if k == 0 else ", ").join(word(f"method.{m}", lang) for m in methods)
    n_a = int(report.difference["n_a"].max()) if len(report.difference) else 0
    n_b = int(report.difference["n_b"].max()) if len(report.difference) else 0
    counts = _group_counts(report)
    n_text = (f"五社联动试点 {n_a} 个，三社联动试点 {n_b} 个，对照社区 {counts.get('comparison', 0)} 个" if k == 0 else
              f"{n_a} five-party and {n_b} three-party pilots, {counts.get('comparison', 0)} comparison communities")
    return ReportTable(frame=pd.DataFrame(rows), title=text("programme_tab_compare", lang), lang=lang,
                       unit=_t(_UNITS["compare"], k), n=n_text, weighted="no", significance=True,
                       notes=[text("programme_tab_compare_note", lang, inference=inference)])


def _scores_table(report: Any, lang: str, names: dict[str, str]) -> ReportTable:
    k = 0 if lang_code(lang) == "zh" else 1
    scores = report.scores
    sens = report.score_sensitivity.set_index("community_id") if len(report.score_sensitivity) else None
    groups = {}
    for source in (report.inputs, report.reach):
        if {"group", "community_id"} <= set(source.columns) and len(source):
            groups = source.drop_duplicates("community_id").set_index("community_id")["group"].to_dict()
            break
    rows = []
    for r in scores.itertuples(index=False):
        row = {_header("community", k): names.get(str(r.community_id), str(r.community_id))}
        if groups:
            row[_header("group", k)] = GROUP_LABELS.get(groups.get(r.community_id), ("—", "—"))[k]
        for dim in ("inputs", "outputs", "responsiveness", "satisfaction", "score"):
            row[_header(dim, k)] = fmt_num(getattr(r, dim), 1)
        row[_header("grade", k)] = _capital(_code(r.grade, k), k)
        if sens is not None and r.community_id in sens.index:
            s = sens.loc[r.community_id]
            row[_header("score_range", k)] = f"{fmt_num(s['score_min'], 1)}–{fmt_num(s['score_max'], 1)}"
            row[_header("share_same_grade", k)] = fmt_share(s["share_same_grade"])
        rows.append(row)
    year = _latest(report.inputs) if "year" in report.inputs else None
    title = text("programme_tab_scores", lang, year=year if year is not None else "—")
    return ReportTable(frame=pd.DataFrame(rows), title=title, lang=lang, unit=_t(_UNITS["scores"], k),
                       n=_n_text(report, k, sliced=report.community is not None), method=_METHODS["scores"][k],
                       weighted="none",
                       notes=[text("programme_tab_scores_note", lang)])


# ---- figures ------------------------------------------------------------------------------------

_FIGURES = ("reach", "linkage", "inputs", "response", "attainment", "compare")


def programme_figure(report: Any, name: str, lang: str = "zh") -> Any:
    """The Axes of figure ``name`` (one of ``_FIGURES``), or ``None`` when its data are absent."""
    zh = lang_code(lang) == "zh"
    sources = {"reach": report.reach, "linkage": report.linkage_by_group, "inputs": report.inputs,
               "response": report.resolution_times, "attainment": report.attainment_summary,
               "compare": report.estimates}
    if sources[name].empty or (name == "response" and "group" not in sources[name]):
        return None
    if name == "reach":
        return trend_by_group_plot(report.reach, "services_per_1000", lang=lang,
                                   ylabel="每千人服务次数" if zh else "Services per 1,000 residents")
    if name == "linkage":
        return trend_by_group_plot(report.linkage_by_group, "share_ge3", lang=lang,
                                   ylabel="≥3 方参与的服务占比" if zh else "Share of services with ≥3 actors")
    if name == "inputs":
        return trend_by_group_plot(report.inputs, "social_workers_per_10k", lang=lang,
                                   ylabel="每万人持证社工" if zh else "Certified social workers per 10,000")
    if name == "response":
        times = report.resolution_times
        return trend_by_group_plot(times[times["community_id"] == "all"], "km_within_72h", lang=lang,
                                   ylabel="72 小时内办结比例（KM）" if zh else "Resolved within 72 h (KM)")
    if name == "attainment":
        k = 0 if zh else 1
        summary = report.attainment_summary
        if not report.frameworks.empty:
            fw = report.frameworks.drop_duplicates("framework").set_index("framework")[("framework_zh",
                                                                                        "framework_en")[k]]
            labels = report.frameworks.set_index(["framework", "indicator"])[("label_zh", "label_en")[k]]
            idx = pd.MultiIndex.from_frame(summary[["framework", "indicator"]])
            named = labels.reindex(idx).to_numpy()
            summary = summary.assign(framework=fw.reindex(summary["framework"]).fillna(summary["framework"])
                                     .to_numpy(), indicator=np.where(pd.isna(named), summary["indicator"], named))
            summary = summary.assign(indicator=[_label(v, k) for v in summary["indicator"]])
        return attainment_plot(summary, lang=lang)
    return programme_comparison_plot(report, lang=lang)


def add_programme_figure(doc: Any, report: Any, name: str, lang: str = "zh") -> None:
    """Figure ``name`` as a numbered figure of ``doc`` (saved as figures/programme_<name>.png),
    or a line saying there are no data."""
    ax = programme_figure(report, name, lang)
    if ax is None:
        doc.markdown(text("programme_no_data", lang))
        return
    if name == "compare":
        note = text("programme_fig_compare_note", lang, table=doc.table_count)
    elif name == "attainment":
        note = text("programme_fig_attainment_note", lang)
    else:
        note = text("programme_fig_admin_note", lang)
    doc.figure(ax, name=f"programme_{name}", title=text(f"programme_fig_{name}", lang), notes=[note])


def add_programme_table(doc: Any, report: Any, name: str, lang: str = "zh", *, study: Any = None) -> None:
    """:func:`programme_report_table` as a numbered table of ``doc``."""
    doc.table(programme_report_table(report, name, lang, study=study))


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
        ue = report.unit_effects
        no_comparison = len(ue) and "reason" in ue and (ue["reason"] == "no_comparison").all()
        return text("programme_compare_no_comparison" if no_comparison else "programme_compare_none", lang)
    n_a, n_b = int(d["n_a"].max()), int(d["n_b"].max())
    clear = d[d["ri_p_value"] < alpha]
    unclear = d[d["ri_p_value"] >= alpha]
    i = 0 if zh else 1
    sep = "、" if zh else "; "
    lines = [text("programme_compare_basis", lang, n_a=n_a, n_b=n_b)]
    if not clear.empty:
        lines.append(text("programme_compare_clear", lang, items=sep.join(
            text("programme_compare_item", lang, outcome=_label(r.outcome, i), estimate=fmt_num(r.estimate),
                 lo=fmt_num(r.ri_ci_lower), hi=fmt_num(r.ri_ci_upper)) for r in clear.itertuples())))
    if not unclear.empty:
        lines.append(text("programme_compare_unclear", lang,
                          items=("、" if zh else ", ").join(_label(o, i) for o in unclear["outcome"])))
    w, s = _funding(report.cost_per_effect)
    if np.isfinite(w) and np.isfinite(s):
        lines.append(text("programme_compare_funding", lang, wushe=f"{w:.1f}", sanshe=f"{s:.1f}"))
    lines.append(text("programme_compare_scope", lang))
    return "\n\n".join(lines)

