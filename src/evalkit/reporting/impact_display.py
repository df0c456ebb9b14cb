"""The impact report's tables and figures, built from an :class:`~evalkit.impact.ImpactReport`.

Formats only: every number comes from the report object unchanged; headers, labels, units,
notes and warnings are in the report language (:mod:`evalkit.reporting.vocab`), estimates
are ``0.28 [0.24, 0.33]`` with significance marks (:mod:`evalkit.reporting.tables`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.reporting.tables import ReportTable, fmt_bool, fmt_ci, fmt_int, fmt_num, fmt_p, sig_marks
from evalkit.reporting.target_text import target_label, target_status_text, target_threshold_text, target_value_text
from evalkit.reporting.vocab import has_word, lang_code, word

__all__ = ["impact_table", "impact_truth_table", "impact_intro", "has_estimates", "targets_table",
           "impact_estimates_figure", "event_study_figure", "weighted_kind", "sensitivity_table",
           "sensitivity_report_table"]

_DIFF = re.compile(r"difference \[(?P<a>[^\]]+)\] − \[(?P<b>[^\]]+)\]")
_EFFECT = re.compile(r"treat:post\[(?P<level>[^\]]+)\]")


def _outcome(study: Any, code: str, lang: str) -> str:
    if code == "klk_index":
        return word("klk_index", lang)
    return study.codebook.construct_label(code, lang)


def _variable(study: Any, code: str, lang: str) -> str:
    return word(f"var.{code}", lang) if has_word(f"var.{code}") else _outcome(study, code, lang)


def _level(code: str, lang: str) -> str:
    return word(f"level.{code}", lang) if has_word(f"level.{code}") else code


def subgroup_term(term: str, lang: str) -> str:
    """``treat:post[female]`` → 女性; ``difference [male] − [female]`` → 差异：男性 − 女性."""
    if m := _DIFF.fullmatch(term):
        return word("term.difference", lang, a=_level(m["a"], lang), b=_level(m["b"], lang))
    if m := _EFFECT.fullmatch(term):
        return _level(m["level"], lang)
    return term


def weighted_kind(report: Any) -> str:
    return "yes" if getattr(report, "weights", None) else "no"


def _estimate_cells(frame: pd.DataFrame, lang: str, *, marks: bool = True) -> list[str]:
    cells = []
    for r in frame.itertuples(index=False):
        text = fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)
        p = getattr(r, "p_value", None)
        cells.append(f"{text} {sig_marks(p)}".rstrip() if marks else text)
    return cells


def _inference(report: Any, lang: str) -> str:
    return "、".join(word(f"method.{m}", lang) for m in sorted(set(report.estimates["inference"]))) \
        if lang_code(lang) == "zh" else ", ".join(word(f"method.{m}", lang)
                                                    for m in sorted(set(report.estimates["inference"])))


def _control(study: Any) -> str:
    c = study.config.comparison
    return c if isinstance(c, str) else "never_treated"


def impact_table(report: Any, study: Any, name: str, lang: str = "zh", *, refer_to: int | None = None) -> ReportTable:
    """One of ``design, balance, main, robustness, subgroups, many_outcomes`` as a :class:`ReportTable`.

    ``refer_to`` is the number of the main-estimates table, which the many-outcomes table
    names in its note (it uses another estimator).
    """
    zh = lang_code(lang) == "zh"
    est = report.estimates
    if name != "design" and not has_estimates(report):
        return ReportTable(frame=pd.DataFrame(), title="", lang=lang, empty=_not_applicable(lang))
    n_int = int(report.design["respondents"].sum()) if len(report.design) else 0
    n_comm = int(report.design["communities"].sum()) if len(report.design) else 0
    n_text = (f"{n_comm} 个社区，{n_int:,} 人次受访" if zh else f"{n_comm} communities, {n_int:,} interviews")
    weighted = weighted_kind(report)
    if name == "design":
        d = report.design
        frame = pd.DataFrame({
            word("col.cohort", lang): [word("cohort.never", lang) if c == 0 else str(int(c)) for c in d["cohort"]],
            word("col.programme", lang): [word(f"programme.{p}", lang) for p in d["programme"]],
            word("col.communities", lang): [fmt_int(v) for v in d["communities"]],
            word("col.respondents", lang): [fmt_int(v) for v in d["respondents"]],
        })
        return ReportTable(frame=frame, lang=lang, n=n_text, weighted="no",
                           title="试点启动批次与样本" if zh else "Pilot cohorts and sample",
                           unit=word("unit.communities", lang) + ("；" if zh else "; ") + word("unit.persons", lang),
                           notes=["受访者人次为各轮调查合计；同一居民在不同轮次可能重复受访。" if zh else
                                  "Interviews are summed over waves."])
    if name == "balance":
        b = report.balance
        smd = [f"{fmt_num(s)}{' †' if abs(s) > 0.1 else ''}" for s in b["smd"]]
        frame = pd.DataFrame({
            word("col.variable", lang): [_variable(study, v, lang) for v in b["variable"]],
            word("col.mean_pilot", lang): [fmt_num(v) for v in b["mean_pilot"]],
            word("col.mean_comparison", lang): [fmt_num(v) for v in b["mean_comparison"]],
            word("col.smd", lang): smd,
        })
        notes = ["† |SMD| > 0.1，通常视为不平衡（Austin 2009）。SMD = 均值差 / 合并标准差。" if zh else
                 "† |SMD| > 0.1, commonly read as imbalance (Austin 2009). SMD = mean difference / pooled SD."]
        return ReportTable(frame=frame, lang=lang, n=n_text, weighted="no",
                           title="基线（第 1 轮）试点与对照社区居民特征" if zh else
                           "Baseline (wave 1) characteristics of pilot and comparison residents",
                           unit=word("unit.mixed", lang), method="居民层面均值" if zh else "resident-level means",
                           notes=notes)
    if name == "main":
        failed = est["pretrend_p"] < 0.05
        warned = _estimation_warnings(report, study, lang)
        effect = [f"{c}{' ‡' if f else ''}{' §' if o in warned else ''}"
                  for c, f, o in zip(_estimate_cells(est, lang), failed, est["outcome"], strict=True)]
        ratio = [fmt_num(abs(r.estimate) / r.baseline_sd) if getattr(r, "baseline_sd", 0) else "—"
                 for r in est.itertuples(index=False)] if "baseline_sd" in est else ["—"] * len(est)
        frame = pd.DataFrame({
            word("col.outcome", lang): [_outcome(study, o, lang) for o in est["outcome"]],
            word("col.effect_ci", lang): effect,
            word("col.p", lang): [fmt_p(p) for p in est["p_value"]],
            word("col.effect_sd", lang): ratio,
            word("col.pretrend_p", lang): [fmt_p(p) for p in est["pretrend_p"]],
            word("col.n_clusters", lang): [fmt_int(v) for v in est["n_clusters"]],
            word("col.n_treated", lang): [fmt_int(v) for v in est["n_treated_clusters"]],
        })
        notes = ["效应为试点社区的平均处理效应（ATT），按启动批次规模加权汇总（R did::aggte(type = \"group\")）；"
                 "“效应 / 基线标准差”为效应绝对值除以第 1 轮居民得分的标准差。" if zh else
                 "The effect is the average effect on pilot communities (ATT), aggregated over cohorts by size "
                 "(R did::aggte(type = \"group\")); effect / baseline SD divides its absolute value by the SD of "
                 "residents' wave-1 scores."]
        if failed.any():
            notes.append("‡ 试点前趋势检验未通过（p < 0.05），该估计的平行趋势假设存疑。" if zh else
                         "‡ Pre-trend test fails (p < 0.05): parallel trends are doubtful for this estimate.")
        for outcome, lines in warned.items():
            sep = "：" if zh else ": "
            notes += [f"§ {_outcome(study, outcome, lang)}{sep}{line}" for line in lines]
        return ReportTable(frame=frame, lang=lang, n=n_text, weighted=weighted, significance=True,
                           title="试点对居民各项结果的平均效应" if zh else "Average effect of the pilots on residents' outcomes",
                           unit=word("unit.score", lang), method=word(f"design.cs_{_control(study)}", lang),
                           inference=_inference(report, lang), notes=notes)
    if name == "robustness":
        r = report.robustness
        frame = pd.DataFrame({
            word("col.outcome", lang): [_outcome(study, o, lang) for o in r["outcome"]],
            word("col.design", lang): [word(f"design.{d}", lang) for d in r["design"]],
            word("col.effect_ci", lang): _estimate_cells(r, lang, marks=False),
            word("col.inference", lang): [word(f"method.{m}", lang) for m in r["inference"]],
        })
        return ReportTable(frame=frame, lang=lang, n=n_text, weighted=weighted,
                           title="稳健性：更换对照组与估计方法" if zh else "Robustness: other comparison groups and estimators",
                           unit=word("unit.score", lang), notes=[
                               "双向固定效应在交错启动、效应随时间变化时可能有偏，仅作参照。" if zh else
                               "Two-way fixed effects can be biased under staggered adoption with changing effects; "
                               "shown for reference only."])
    if name == "subgroups":
        s = report.subgroups
        frame = pd.DataFrame({
            word("col.by", lang): [word(f"by.{b}", lang) for b in s["by"]],
            word("col.outcome", lang): [_outcome(study, o, lang) for o in s["outcome"]],
            word("col.subgroup", lang): [subgroup_term(t, lang) for t in s["term"]],
            word("col.n", lang): [fmt_int(v) for v in s.get("n_obs", pd.Series([None] * len(s)))],
            word("col.effect_ci", lang): _estimate_cells(s, lang),
            word("col.p_equal", lang): [fmt_p(p) for p in s["p_equal_effects"]],
            word("col.p_equal_adj", lang): [fmt_p(p) for p in s.get("p_equal_bh", pd.Series([None] * len(s)))],
        })
        return ReportTable(frame=frame, lang=lang, weighted=weighted, significance=True,
                           n=(f"居民层面叠加样本，各群体人次见“{word('col.n', lang)}”列" if zh else
                              "stacked resident-level sample; per group in the N column"),
                           title="不同居民群体的效应" if zh else "Effects for different groups of residents",
                           unit=word("unit.score", lang), method=word("design.stacked", lang),
                           inference=word("method.wild_bootstrap", lang), notes=[
                               "组间相等检验 p 的 BH 校正在全部分组变量 × 结果的检验之间进行（Benjamini–Hochberg）。" if zh else
                               "The BH adjustment of the equal-effects p runs over all grouping × outcome tests "
                               "(Benjamini–Hochberg)."])
    if name == "many_outcomes":
        m = report.many_outcomes
        frame = pd.DataFrame({
            word("col.outcome", lang): [_outcome(study, o, lang) for o in m["term"]],
            word("col.effect_ci", lang): _estimate_cells(m, lang),
            word("col.p", lang): [fmt_p(p) for p in m["p_value"]],
            word("col.p_bh", lang): [fmt_p(p) for p in m["p_bh"]],
            word("col.p_rw", lang): [fmt_p(p) for p in m["p_romano_wolf"]],
        })
        ref = (f"表 {refer_to}" if zh else f"Table {refer_to}") if refer_to else ("主估计表" if zh else "the main table")
        notes = [f"本表使用居民层面的分批叠加 2×2 双重差分（与{ref}的社区层面 Callaway–Sant'Anna 估计不同），"
                 "因此数值与主估计略有差异；校正 p 值针对这一估计。综合指数为 Kling–Liebman–Katz (2007) 等权指数："
                 "各结果按对照组基线标准化后取平均。" if zh else
                 f"This table uses the resident-level stacked 2×2 DiD (not the community-level Callaway–Sant'Anna "
                 f"estimator of {ref}), so numbers differ slightly from the main estimates; the adjusted p-values "
                 "refer to this estimator. The summary index is the equal-weight index of Kling, Liebman & "
                 "Katz (2007): outcomes standardised by the comparison group's baseline, then averaged."]
        return ReportTable(frame=frame, lang=lang, weighted=weighted, significance=True, n=n_text,
                           title="多重检验校正与综合指数" if zh else "Many outcomes: adjusted p-values and summary index",
                           unit=word("unit.score", lang), method=word("design.stacked", lang),
                           inference=word("method.wild_bootstrap", lang), notes=notes)
    msg = f"unknown impact table {name!r}; use design, balance, main, robustness, subgroups or many_outcomes"
    raise KeyError(msg)


def has_estimates(report: Any) -> bool:
    """False for the report of a study without comparison communities (caveat ``no_comparison``)."""
    return not report.estimates.empty


def _not_applicable(lang: str) -> str:
    from evalkit.reporting.text import text

    return text("impact_not_applicable", lang)


def impact_intro(report: Any, lang: str = "zh") -> str:
    """The question-and-method section: the staggered DiD, or the pre-post design without comparisons."""
    from evalkit.reporting.text import text

    return text("impact_intro" if has_estimates(report) else "impact_intro_no_comparison", lang)


#: estimation notes that change what a number rests on (shown as § next to it)
_WARNING_CODES = ("rows_dropped", "few_never_treated", "library_message")


def _estimation_warnings(report: Any, study: Any, lang: str) -> dict[str, list[str]]:
    """Per outcome, the sentences of the main estimate's notes that qualify its number."""
    from evalkit.reporting.notes import note_sentence

    out: dict[str, list[str]] = {}
    labels = {v.name: v.label(lang) for v in study.codebook.variables}
    labels.update({c: _outcome(study, c, lang) for c in report.estimates["outcome"]})
    for outcome, result in getattr(report, "main_results", {}).items():
        lines = [note_sentence(n, lang, labels=labels) for n in getattr(result, "notes", ())
                 if n.get("code") in _WARNING_CODES]
        if lines:
            out[outcome] = lines
    return out


def impact_truth_table(report: Any, study: Any, lang: str = "zh") -> tuple[ReportTable, dict[str, Any]] | None:
    """For a synthetic study with ``truth.csv`` beside its config: estimates against the known truth."""
    truth_file = Path(study.config.folder) / "truth.csv"
    if not (study.config.synthetic and truth_file.is_file()) or not has_estimates(report):
        return None
    from evalkit.impact import truth_comparison

    zh = lang_code(lang) == "zh"
    t = truth_comparison(report, pd.read_csv(truth_file), study)
    frame = pd.DataFrame({
        word("col.outcome", lang): [_outcome(study, o, lang) for o in t["outcome"]],
        word("col.effect_ci", lang): [fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)
                                      for r in t.itertuples(index=False)],
        word("col.true_effect", lang): [fmt_num(v) for v in t["true_effect"]],
        word("col.covered", lang): [fmt_bool(v, lang) for v in t["covered"]],
    })
    table = ReportTable(frame=frame, lang=lang, weighted=weighted_kind(report),
                        title="估计值与已知真实效应对照（仅合成数据）" if zh else "Estimates against the known truth (synthetic data only)",
                        unit=word("unit.score", lang), method=word(f"design.cs_{_control(study)}", lang),
                        notes=["真实效应按与主估计相同的方式汇总。" if zh else
                               "The true effect is aggregated exactly as the main estimate is."])
    facts = {r.outcome: {"true_effect": r.true_effect, "covered": bool(r.covered)} for r in t.itertuples(index=False)}
    return table, facts


def impact_estimates_figure(report: Any, study: Any, lang: str = "zh") -> Any:
    """Forest plot of the main estimates, outcome names in the report language (None without estimates:
    the document then shows no figure)."""
    from evalkit.reporting.figures import forest_plot

    if not has_estimates(report):
        return None
    frame = report.estimates.assign(label=[_outcome(study, o, lang) for o in report.estimates["outcome"]])
    return forest_plot(frame, lang=lang)


def event_study_figure(report: Any, study: Any, outcome: str, lang: str = "zh") -> Any:
    ax = report.plot(outcome=outcome, lang=lang)
    ax.set_title(_outcome(study, outcome, lang))
    return ax


def add_event_studies(doc: Any, report: Any, study: Any, lang: str = "zh") -> None:
    """One numbered event-study figure per outcome (saved as figures/event_study_<outcome>.png)."""
    from evalkit.reporting.story import is_share
    from evalkit.reporting.text import text

    zh = lang_code(lang) == "zh"
    if not has_estimates(report):
        doc.markdown(_not_applicable(lang))
    for outcome in report.estimates["outcome"]:
        unit = (("比例（0–1）" if zh else "share (0–1)") if is_share(study.codebook, outcome)
                else ("分（量表 1–5 分）" if zh else "points on the 1–5 scale"))
        doc.figure(event_study_figure(report, study, outcome, lang), name=f"event_study_{outcome}",
                   title=text("fig_event", lang, outcome=_outcome(study, outcome, lang)),
                   notes=[text("fig_event_note", lang, unit=unit)])


def add_truth_check(doc: Any, report: Any, study: Any, lang: str = "zh") -> dict[str, Any] | None:
    """For a synthetic study with its truth file: the section and table; returns the facts for results.json."""
    truth = impact_truth_table(report, study, lang)
    if truth is None:
        return None
    doc.section("impact_truth")
    doc.table(truth[0])
    return truth[1]




def targets_table(attainment: pd.DataFrame, lang: str = "zh") -> ReportTable:
    """The config's targets in the latest year with data, as evaluated by the programme
    analysis (:func:`evalkit.target_attainment`, framework ``config``)."""
    zh = lang_code(lang) == "zh"
    a = attainment
    def without(k: int) -> str:  # communities in scope without data
        return "" if not k else f"（另 {k} 个无数据）" if zh else f" ({k} no data)"

    met = [f"{int(m)} / {int(n)}{without(int(k - n))}" if n else "—"
           for m, n, k in zip(a["n_met"], a["n_with_data"], a["n_communities"], strict=True)]
    frame = pd.DataFrame({
        word("col.target", lang): [target_label(t, lang) for t in a["indicator"]],
        word("col.threshold", lang): [target_threshold_text(d, v, s)
                                      for d, v, s in zip(a["direction"], a["threshold"], a["summary"], strict=True)],
        word("col.year", lang): ["—" if pd.isna(y) else str(int(y)) for y in a["year"]],
        word("col.value", lang): [target_value_text(v, s) for v, s in zip(a["value"], a["summary"], strict=True)],
        word("col.n_met", lang): met,
        word("col.status", lang): [target_status_text(st, r, lang)
                                   for st, r in zip(a["status"], a["reason"], strict=True)],
    })
    n = int(a["n_communities"].max()) if len(a) else 0
    return ReportTable(frame=frame, lang=lang, weighted="none",
                       title="目标达成情况（最近一年）" if zh else "Targets (latest year)",
                       n=f"{n} 个社区" if zh else f"{n} communities",
                       method="每个社区分别对照目标值，结论按达标社区数给出；实际值为全部社区合计：计数取各社区中位数，"
                              "比例为全部记录合计（如全部诉求中已办结的比例）" if zh else
                       "each community is held to the target and the verdict counts communities; the value is for "
                       "all communities: the median of a count, the pooled share of all records for a share "
                       "(e.g. all requests resolved)",
                       notes=["目标值来自本次评估设定的工作目标；与项目实施与绩效报告中“评估配置中的目标”为同一计算。" if zh else
                              "Thresholds are the targets set for this evaluation; the programme report shows the same "
                              "evaluation (“Targets in the study config”)."])


def sensitivity_table(report: Any, lang: str = "zh") -> pd.DataFrame:
    """Per outcome: the event-study average, its HonestDiD intervals (relative magnitudes
    M = 1, smoothness M = 0) with breakdown values, and the pre-test's 80 % minimal
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
        "rm1": ("相对幅度 M=1 稳健 95% CI", "relative magnitude M=1 robust 95% CI"),
        "rm_break": ("相对幅度临界 M", "relative-magnitude breakdown M"),
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


def sensitivity_report_table(report: Any, lang: str = "zh") -> ReportTable:
    """:func:`sensitivity_table` as a numbered report table (empty when the report has none)."""
    zh = lang_code(lang) == "zh"
    return ReportTable(frame=sensitivity_table(report, lang), lang=lang, weighted=weighted_kind(report),
                       empty="" if has_estimates(report) else _not_applicable(lang),
                       title="对平行趋势假设的敏感性（HonestDiD）" if zh else
                       "Sensitivity to violations of parallel trends (HonestDiD)",
                       method="Rambachan & Roth (2023) 稳健置信区间；Roth (2022) 预检验功效" if zh else
                       "Rambachan & Roth (2023) robust intervals; Roth (2022) pre-test power",
                       notes=["社区数较少时区间基于解析协方差，仅供参考。" if zh else
                              "With few communities the intervals use the analytic covariance and are indicative only."])
