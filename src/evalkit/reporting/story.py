"""The report's story, generated from the results: executive summary, caveats, problems and recommendations.

Functions here read result objects (facts and reason codes) and return Markdown in zh or en.
They estimate nothing. A study can replace or extend each text with its own Markdown
(keys ``summary``, ``recommendations``; see :mod:`evalkit.reporting.narrative`).

Plain-language rules: an effect is "raised" / "lowered" only when its 95% interval excludes 0;
it is given in scale points with its interval and as a multiple of the baseline SD; an
interval that includes 0 is reported as "not supported", never as "no effect".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.target_text import target_label, target_reason_text, target_threshold_text, target_value_text
from evalkit.reporting.tables import fmt_num, fmt_p
from evalkit.reporting.vocab import has_word, lang_code, word

__all__ = ["caveat_sentences", "impact_summary", "impact_recommendations", "measurement_summary",
           "measurement_recommendations", "data_quality_summary", "data_quality_recommendations"]


def _in_chinese(lang: str) -> bool:
    return lang_code(lang) == "zh"


def _join(items: Iterable[str], lang: str) -> str:
    items = list(items)
    if _in_chinese(lang):
        return "、".join(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _label(codebook: Any, code: str, lang: str) -> str:
    if code == "klk_index":
        return word("klk_index", lang)
    if codebook is not None:
        return codebook.construct_label(code, lang)
    return code


def _inline(label: str, lang: str) -> str:
    """A label inside an English sentence: "Sense of gain" → "sense of gain" (acronyms kept)."""
    if _in_chinese(lang) or len(label) < 2 or not label[1].islower():
        return label
    return label[0].lower() + label[1:]


def _var_label(codebook: Any, code: str, lang: str) -> str:
    key = f"var.{code}"
    return word(key, lang) if has_word(key) else _label(codebook, code, lang)


def _methods(codes: Iterable[str], lang: str) -> str:
    return _join((word(f"method.{c}", lang) for c in codes), lang)


# ---- caveats ---------------------------------------------------------------------------


def caveat_sentences(caveats: Iterable[Mapping[str, Any]], lang: str = "zh", *, codebook: Any = None) -> list[str]:
    """One sentence per caveat code of an :class:`~evalkit.impact.ImpactReport`."""
    zh = _in_chinese(lang)
    out = []
    for c in caveats:
        code = c["code"]
        if code == "clusters":
            out.append(
                f"本评估共涉及 {c['n_clusters']} 个社区（其中试点 {c['n_treated']} 个），推断在社区层面进行，"
                f"所用推断方法：{_methods(c['methods'], lang)}。" if zh else
                f"The evaluation covers {c['n_clusters']} communities ({c['n_treated']} pilots); inference is at "
                f"community level, using {_methods(c['methods'], lang)}.")
        elif code == "inference_switched":
            out.append(
                f"社区数（{c['n_clusters']} 个）较少，常规聚类稳健标准误的 p 值会偏小（MacKinnon & Webb 2017），"
                f"因此 p 值和置信区间改用{word('method.' + c['method'], lang)}计算。" if zh else
                f"With {c['n_clusters']} communities, conventional cluster-robust p-values are too small "
                f"(MacKinnon & Webb 2017); p-values and intervals use the {word('method.' + c['method'], lang)} instead.")
        elif code == "few_comparisons":
            out.append(f"对照社区只有 {c['n']} 个，结论对个别对照社区较敏感。" if zh else
                       f"Only {c['n']} comparison communities: results are sensitive to individual ones.")
        elif code == "pretrend_failed":
            name = _label(codebook, c["outcome"], lang)
            out.append(f"“{name}”在试点前的趋势检验未通过（p = {fmt_p(c['p'])}），平行趋势假设存疑，应谨慎解读。" if zh
                       else f"The pre-trend test fails for {_inline(name, lang)} (p = {fmt_p(c['p'])}): parallel trends are doubtful.")
        elif code == "baseline_imbalance":
            names = _join((_inline(_var_label(codebook, v, lang), lang) for v in c["variables"]), lang)
            out.append(f"基线时试点与对照社区在以下方面差异较大（|SMD| > 0.1）：{names}；双重差分只要求趋势平行，"
                       "但差异提示试点社区并非随机选定。" if zh else
                       f"At baseline pilots and comparisons differ (|SMD| > 0.1) in {names}; DiD needs parallel "
                       "trends only, but the difference shows that pilots were not chosen at random.")
        elif code == "subgroup_column_absent":
            names_zh = {"hukou": "户籍", "gender": "性别", "age": "年龄", "age_band": "年龄段"}
            out.append("问卷未包含" + "、".join(names_zh.get(col, col) for col in c["columns"])
                       + "，相应的分组分析未做。" if zh else
                       "The survey has no " + ", ".join(c["columns"]) + ": those subgroup analyses were not run.")
        elif code == "repeated_cross_section":
            out.append("居民问卷为重复横截面（每轮访问不同居民），社区均值的变化也可能部分来自受访者构成的变化。" if zh else
                       "The survey is a repeated cross-section (different residents each wave): changes in "
                       "community means may partly reflect changes in who was interviewed.")
        elif code == "synthetic":
            out.append("本报告数据为合成演示数据，估计结果不代表任何真实试点的成效。" if zh else
                       "The data are synthetic: these estimates describe no real programme.")
        elif code == "no_comparison":
            out.append(f"调查只覆盖 {c['n_pilots']} 个试点社区，没有对照社区：无法估计试点效应，"
                       "试点前后的变化也包含同期的其他变化（整体趋势、其他政策），只能作描述。" if zh else
                       f"The survey covers the {c['n_pilots']} pilot communities only, with no comparison community: "
                       "no effect can be estimated, and the change after the start also contains everything else "
                       "that changed over the same time (general trends, other policies); it is descriptive only.")
        else:
            msg = f"no wording for caveat code {code!r}; add it to evalkit/reporting/story.py"
            raise KeyError(msg)
    return out


def _main_caveat(caveats: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    order = ["no_comparison", "pretrend_failed", "few_comparisons", "baseline_imbalance", "repeated_cross_section"]
    for code in order:
        for c in caveats:
            if c["code"] == code:
                return c
    return None


# ---- impact ------------------------------------------------------------------------------


def is_share(codebook: Any, outcome: str) -> bool:
    """A construct scored as a 0–1 share (all its items yes/no), reported in percentage points."""
    if codebook is None:
        return False
    items = codebook.items(outcome)
    return bool(items) and all(v.scale_max is not None and v.scale_max <= 1 for v in items)


def _amount(x: float, share: bool, lang: str) -> str:
    if share:
        return f"{fmt_num(100 * x, 1)} 个百分点" if _in_chinese(lang) else f"{fmt_num(100 * x, 1)} percentage points"
    return f"{fmt_num(x)} 分" if _in_chinese(lang) else f"{fmt_num(x)} points"


def _interval(lo: float, hi: float, share: bool, lang: str = "zh") -> str:
    """``0.24–0.33``; with a negative bound ``−0.11 至 0.01`` / ``−0.11 to 0.01`` (a dash would read as minus)."""
    scale, d = (100, 1) if share else (1, 2)
    sep = "–" if lo >= 0 else (" 至 " if _in_chinese(lang) else " to ")
    return f"{fmt_num(scale * lo, d)}{sep}{fmt_num(scale * hi, d)}"


def _effect_sentence(r: Any, label: str, lang: str, share: bool = False) -> str:
    zh = _in_chinese(lang)
    up = r.estimate > 0
    size = abs(r.estimate)
    sd = getattr(r, "baseline_sd", np.nan)
    ratio = size / sd if sd and np.isfinite(sd) and sd > 0 else np.nan
    ci = _interval(r.ci_lower, r.ci_upper, share, lang)
    if zh:
        text = (f"{label}{'提高' if up else '降低'} {_amount(size, share, lang)}（95% 置信区间 {ci}）")
        if np.isfinite(ratio):
            text += f"，约为基线标准差的 {fmt_num(ratio)} 倍"
        return text + "。"
    text = f"{label} {'rose' if up else 'fell'} by {_amount(size, share, lang)} (95% CI {ci})"
    if np.isfinite(ratio):
        text += f", about {fmt_num(ratio)} baseline standard deviations"
    return text + "."


def _significant(est: pd.DataFrame) -> pd.Series:
    return (est["ci_lower"] > 0) | (est["ci_upper"] < 0)


def impact_summary(report: Any, study: Any, lang: str = "zh") -> str:
    """Executive summary (Markdown) of the impact report: question, design, findings, gaps, caveat."""
    zh = _in_chinese(lang)
    cb = study.codebook
    est = report.estimates
    if est.empty:  # no comparison communities: nothing was estimated
        return _summary_without_comparison(report, study, lang)
    labels = {o: _label(cb, o, lang) for o in est["outcome"]}
    inline = {o: _inline(v, lang) for o, v in labels.items()}
    design = report.design
    pilots = design[design["group"] == "pilot"]
    years = sorted(int(y) for y in pilots["cohort"].unique())
    n_pilot = int(pilots["communities"].sum())
    n_comp = int(design.loc[design["group"] == "comparison", "communities"].sum())
    n_interviews = int(design["respondents"].sum())
    programmes = _join(dict.fromkeys(word(f"programme.{p}", lang) for p in pilots["programme"]), lang)
    control = study.config.comparison if isinstance(study.config.comparison, str) else "never_treated"
    methods = _methods(sorted(set(est["inference"])), lang)
    weighted = word("weighted.yes" if report.weights else "weighted.no", lang)
    sig = _significant(est)
    lines: list[str] = []
    if zh:
        lines.append(f"**评估问题**：与可比的对照社区相比，{programmes}试点是否改变了居民的"
                     f"{_join(inline.values(), lang)}？")
        lines.append(f"**研究设计**：{n_pilot} 个试点社区于 {years[0]}–{years[-1]} 年分批启动，以 "
                     f"{n_comp} 个{word('control.' + control, lang)}作对照；采用交错启动双重差分"
                     f"（Callaway & Sant'Anna 2021），以社区 × 年份的均值为分析单位，在社区层面推断（{methods}），"
                     f"共 {n_interviews:,} 人次受访；估计{weighted}。")
    else:
        lines.append(f"**Question**: compared with similar comparison communities, did the {programmes} pilots "
                     f"change residents' {_join(inline.values(), lang)}?")
        lines.append(f"**Design**: {n_pilot} pilot communities started in {years[0]}–{years[-1]} and are compared "
                     f"with {n_comp} {word('control.' + control, lang)} by staggered difference-in-differences "
                     f"(Callaway & Sant'Anna 2021) on community × year means, with inference at community level "
                     f"({methods}); {n_interviews:,} interviews; estimates {weighted.lower()}.")
    found = [_effect_sentence(r, labels[r.outcome], lang, is_share(cb, r.outcome))
             for r in est[sig].itertuples(index=False)]
    if found:
        lines.append(("**主要发现**：" if zh else "**Findings**:") + "\n\n" + "\n".join(f"- {f}" for f in found))
    flat = est[~sig]
    if len(flat):
        parts = [f"{inline[r.outcome]}（{_amount(r.estimate, is_share(cb, r.outcome), lang)}，95% 置信区间 "
                 f"{_interval(r.ci_lower, r.ci_upper, is_share(cb, r.outcome), lang)}）" if zh else
                 f"{inline[r.outcome]} ({_amount(r.estimate, is_share(cb, r.outcome), lang)}, 95% CI "
                 f"{_interval(r.ci_lower, r.ci_upper, is_share(cb, r.outcome), lang)})" for r in flat.itertuples(index=False)]
        lines.append(
            f"**未获支持的结论**：{_join(parts, lang)}的置信区间包含 0，现有数据不足以说明试点改变了"
            f"{'这一结果' if len(parts) == 1 else '这些结果'}（这不等于证明没有效果）。" if zh else
            f"**Not supported**: the {'interval' if len(parts) == 1 else 'intervals'} for {_join(parts, lang)} "
            f"{'includes' if len(parts) == 1 else 'include'} 0; the data do not show that the pilots changed "
            f"{'this outcome' if len(parts) == 1 else 'these outcomes'} (which is not proof of no effect).")
    sub = report.subgroups
    if "p_equal_bh" in sub and len(sub):
        tests = sub.drop_duplicates(["by", "outcome"])
        differ = tests[tests["p_equal_bh"] < 0.05]
        if len(differ):
            names = _join((f"{inline.get(r.outcome, r.outcome)}（{word('by.' + r.by, lang)}）" if zh else
                           f"{inline.get(r.outcome, r.outcome)} ({word('by.' + r.by, lang)})"
                           for r in differ.itertuples(index=False)), lang)
            lines.append(f"**群体差异**：经多重检验校正后，{names}的效应在群体间存在差异。" if zh else
                         f"**Groups**: after multiple-testing adjustment, effects differ between groups for {names}.")
        else:
            lines.append("**群体差异**：经多重检验校正后，没有证据表明效应因年龄段、户籍或性别而不同。" if zh else
                         "**Groups**: after multiple-testing adjustment there is no evidence that effects differ "
                         "by age band, hukou or gender.")
    main = _main_caveat(list(report.caveats))
    if main is not None:
        sentence = caveat_sentences([main], lang, codebook=cb)[0]
        lines.append(("**主要注意事项**：" if zh else "**Main caveat**: ") + sentence)
    return "\n\n".join(lines)


def _summary_without_comparison(report: Any, study: Any, lang: str) -> str:
    zh = _in_chinese(lang)
    design = report.design
    years = sorted(int(y) for y in design["cohort"].unique())
    n_pilot = int(design["communities"].sum())
    caveat = next(c for c in report.caveats if c["code"] == "no_comparison")
    sentence = caveat_sentences([caveat], lang, codebook=study.codebook)[0]
    if zh:
        return (f"**研究设计**：{n_pilot} 个试点社区于 {years[0]}–{years[-1]} 年启动；调查没有覆盖对照社区。\n\n"
                f"**主要注意事项**：{sentence}\n\n"
                "**建议**：下一轮调查同时访问若干未参加试点、条件相近的社区，才能评估试点成效。")
    return (f"**Design**: {n_pilot} pilot communities started in {years[0]}–{years[-1]}; the survey covers no "
            f"comparison community.\n\n**Main caveat**: {sentence}\n\n**Recommendation**: survey some similar "
            "communities without the pilot in the next wave; only then can the pilots' effect be evaluated.")


def target_lines(attainment: pd.DataFrame | None, lang: str = "zh") -> list[str]:
    """One recommendation per target not met in every community, or without data
    (``attainment``: :func:`evalkit.target_attainment`)."""
    if attainment is None or attainment.empty:
        return []
    zh = _in_chinese(lang)
    out = []
    for r in attainment.itertuples(index=False):
        name = target_label(r.indicator, lang)
        value = target_value_text(r.value, r.summary)
        goal = target_threshold_text(r.direction, r.threshold, r.summary)
        short = r.n_with_data - r.n_met
        if r.status == "not_met":
            out.append(f"**{name}未达到目标**（{int(r.year)} 年没有社区达标，目标 {goal}，全部社区合计 {value}）："
                       "建议查明原因并制定分社区的改进计划。" if zh else
                       f"**{name}: target not met** (no community reached it in {int(r.year)}; target {goal}, "
                       f"{value} over all communities): find the causes and agree an improvement plan per community.")
        elif r.status == "partly_met":
            out.append(f"**{name}：{short} 个社区未达标**（{int(r.year)} 年 {r.n_met} / {r.n_with_data} 个社区达标，"
                       f"目标 {goal}，全部社区合计 {value}）：建议对未达标社区重点支持。" if zh else
                       f"**{name}: {short} {'community falls' if short == 1 else 'communities fall'} short** "
                       f"({r.n_met} of {r.n_with_data} met it in {int(r.year)}; target {goal}, {value} over all "
                       "communities): support them specifically.")
        elif r.status == "no_data":
            why = target_reason_text(r.reason, lang)
            out.append(f"**{name}无法评估**（{why}）：建议在数据中补充相应字段，或核对目标名称。" if zh else
                       f"**{name} cannot be assessed** ({why}): add the data it needs or check the target's name.")
    return out


def impact_recommendations(report: Any, study: Any, lang: str = "zh", *,
                           targets: pd.DataFrame | None = None) -> str:
    """问题与建议 (Markdown list) from the impact results: outcomes that did not move, doubtful trends,
    design gaps and, with ``targets`` (:func:`evalkit.target_attainment`), targets not met everywhere."""
    zh = _in_chinese(lang)
    cb = study.codebook
    est = report.estimates
    out: list[str] = list(target_lines(targets, lang))
    for r in est.itertuples(index=False):
        label = _label(cb, r.outcome, lang)
        if r.ci_upper < 0:
            out.append(f"**{label}下降**（{_amount(r.estimate, is_share(cb, r.outcome), lang)}）：建议核查试点期间相关服务是否减少或居民期望是否提高，"
                       "并在下一轮调查中补充相关题目。" if zh else
                       f"**{label} fell** ({_amount(r.estimate, is_share(cb, r.outcome), lang)}): check whether related services were "
                       "reduced or expectations rose, and add questions on it to the next wave.")
        elif r.ci_lower <= 0:
            out.append(f"**{label}未见改善**：试点内容可能未覆盖这一方面；建议明确与{label}相关的服务项目和目标，"
                       "并在后续评估中单独跟踪。" if zh else
                       f"**{label} did not improve**: the pilots may not address it; name the services meant to "
                       "change it, set a target and track it separately in the next evaluation.")
    for c in report.caveats:
        if c["code"] == "pretrend_failed":
            label = _label(cb, c["outcome"], lang)
            out.append(f"**{label}的前趋势检验未通过**：建议补充试点前数据或采用合成控制等方法复核。" if zh else
                       f"**Pre-trend test fails for {label}**: add pre-pilot data or check with synthetic control.")
        elif c["code"] == "few_comparisons":
            out.append(f"**对照社区偏少（{c['n']} 个）**：建议下一轮评估增加对照社区。" if zh else
                       f"**Few comparison communities ({c['n']})**: add comparison communities next round.")
        elif c["code"] == "baseline_imbalance":
            out.append("**试点并非随机选定**：基线时试点社区各项得分已高于对照社区；建议今后按事先公开的规则"
                       "（如抽签或评分排序）选择试点，以便更可信地评估成效。" if zh else
                       "**Pilots were not chosen at random**: pilot communities already scored higher at baseline; "
                       "choose future pilots by a published rule (lottery or ranked scores) so impact can be "
                       "judged more credibly.")
        elif c["code"] == "no_comparison":
            out.append("**没有对照社区**：建议下一轮调查同时访问若干未参加试点、条件相近的社区（或按事先公布的顺序分批启动试点，"
                       "让后启动的社区在启动前充当对照），以便评估试点成效。" if zh else
                       "**No comparison communities**: survey some similar communities without the pilot in the next "
                       "wave (or start pilots in a published order, so that later pilots serve as comparisons before "
                       "their start), so that the pilots' effect can be evaluated.")
        elif c["code"] == "repeated_cross_section":
            out.append("**每轮访问不同居民**：建议保留一部分固定样本（追踪调查），以区分试点效应与样本构成变化。" if zh else
                       "**Different residents each wave**: keep a panel of re-interviewed residents to separate "
                       "pilot effects from changes in the sample.")
    return "\n".join(f"- {line}" for line in out)


# ---- measurement -------------------------------------------------------------------------


def _measurement_frame(m: Any, lang: str, codebook: Any) -> pd.DataFrame:
    f = m.to_frame()
    if codebook is not None:
        f = f.assign(label=[codebook.construct_label(c, lang) for c in f["construct"]])
    return f


def measurement_summary(m: Any, lang: str = "zh", *, codebook: Any = None) -> str:
    """Executive summary (Markdown) of the measurement report."""
    zh = _in_chinese(lang)
    f = _measurement_frame(m, lang, codebook)
    weak = f[f["alpha"] < 0.7]
    good = f[f["alpha"] >= 0.7]
    n = int(f["n_scored"].max())
    lines = []
    a_lo, a_hi = fmt_num(f["alpha"].min()), fmt_num(f["alpha"].max())
    if zh:
        lines.append(f"**测量问题**：问卷的 {len(f)} 个维度是否测得可靠、样本能否代表社区人口？")
        lines.append(f"**结果**：{len(f)} 个维度的 Cronbach's α 介于 {a_lo} 与 {a_hi} 之间（最多 {n:,} 人有效得分）；"
                     f"{len(good)} 个维度达到 0.7 的常用标准。"
                     + (f"{_join(weak['label'], lang)}的信度偏低（α = {_join((fmt_num(a) for a in weak['alpha']), lang)}）。"
                        if len(weak) else ""))
        icc_hi = f.loc[f["icc"].idxmax()]
        lines.append(f"**社区差异**：居民得分差异中有 {fmt_num(f['icc'].min())}–{fmt_num(f['icc'].max())} 来自社区之间"
                     f"（ICC），以{icc_hi['label']}最高；评估需要足够多的社区。")
    else:
        lines.append(f"**Question**: are the survey's {len(f)} constructs measured reliably, and does the sample "
                     "represent the communities?")
        lines.append(f"**Results**: Cronbach's α ranges from {a_lo} to {a_hi} (up to {n:,} scored respondents); "
                     f"{len(good)} constructs meet the usual 0.7 benchmark."
                     + (f" Reliability is low for {_join((_inline(x, lang) for x in weak['label']), lang)} (α = "
                        f"{_join((fmt_num(a) for a in weak['alpha']), lang)})." if len(weak) else ""))
        icc_hi = f.loc[f["icc"].idxmax()]
        lines.append(f"**Between communities**: {fmt_num(f['icc'].min())}–{fmt_num(f['icc'].max())} of the variation "
                     f"lies between communities (ICC), highest for {_inline(icc_hi['label'], lang)}; an evaluation needs many communities.")
    return "\n\n".join(lines)


def measurement_recommendations(m: Any, lang: str = "zh", *, codebook: Any = None) -> str:
    """问题与建议 (Markdown list) from the measurement results."""
    zh = _in_chinese(lang)
    f = _measurement_frame(m, lang, codebook)
    out = []
    for r in f[f["alpha"] < 0.7].itertuples(index=False):
        out.append(f"**{r.label}信度偏低**（α = {fmt_num(r.alpha)}）：建议修订或增加题目，下一轮调查前做认知访谈和预调查。" if zh
                   else f"**Low reliability of {_inline(r.label, lang)}** (α = {fmt_num(r.alpha)}): revise or add items and pre-test "
                   "them before the next wave.")
    flagged = int(f["n_flagged_items"].sum())
    if flagged:
        out.append(f"**{flagged} 道题目被标记**（见题目分析表）：建议检查题目措辞和反向题。" if zh else
                   f"**{flagged} flagged items** (see the item table): check wording and reverse-keyed items.")
    if m.efa is not None and "fits" in m.efa.to_frame():
        misfit = m.efa.to_frame()
        misfit = misfit[~misfit["fits"].astype(bool)]
        if len(misfit):
            out.append(f"**{len(misfit)} 道题目主要载荷不在其设定维度**：建议复核维度设定。" if zh else
                       f"**{len(misfit)} items load mainly on another construct**: review the construct map.")
    w = getattr(m, "weighting", None)
    if w is not None:
        frame = w.to_frame()
        if len(frame) and not frame["converged"].all():
            out.append("**部分社区-轮次的加权未收敛**：建议核对人口结构数据。" if zh else
                       "**Raking did not converge in some community-waves**: check the population table.")
    if getattr(m, "notes", ()):
        out.append(f"**加权时有 {len(m.notes)} 类提示**（部分社区-轮次无法同时满足所有人口边际，相应变量未参与加权）："
                   "建议在下一轮调查中补足这些群体的样本。" if zh else
                   f"**{len(m.notes)} kinds of weighting notes** (some community-waves could not meet every "
                   "population margin, so that margin was left out there): sample these groups in the next wave.")
    if not out:
        out.append("各维度信度和加权诊断均未发现需要处理的问题。" if zh else
                   "Reliability and weighting diagnostics raise no problems.")
    return "\n".join(f"- {line}" for line in out)


# ---- data quality --------------------------------------------------------------------------


def data_quality_summary(profile: Any, lang: str = "zh", *, codebook: Any = None) -> str:
    """Executive summary (Markdown) of the data-quality report."""
    h = profile.headline()
    miss = profile.missingness
    worst = miss.sort_values("share_missing", ascending=False).head(1)
    zh = _in_chinese(lang)
    if zh:
        text = (f"**数据概况**：{h['n_respondents']:,} 名受访者，{h['n_communities']} 个社区，{h['n_waves']} 轮调查；"
                f"每社区每轮样本量中位数 {h['median_cell']:g}，最少 {h['min_cell']}；"
                f"{h['n_small']} 个社区-轮次少于 {h['min_ok']} 人。数据校验提示 {h['n_warnings']} 条。")
        if len(worst) and worst["share_missing"].iloc[0] > 0:
            text += (f"\n\n**缺失**：缺失比例最高的变量是“{worst['label'].iloc[0]}”（{100 * worst['share_missing'].iloc[0]:.1f}%）。")
    else:
        text = (f"**Data**: {h['n_respondents']:,} respondents in {h['n_communities']} communities over "
                f"{h['n_waves']} waves; median {h['median_cell']:g} per community-wave, minimum {h['min_cell']}; "
                f"{h['n_small']} community-waves below {h['min_ok']}. {h['n_warnings']} validation warnings.")
        if len(worst) and worst["share_missing"].iloc[0] > 0:
            col = str(worst["column"].iloc[0])
            name = codebook[col].label("en") if codebook is not None and col in codebook else col
            text += (f"\n\n**Missing data**: the variable missing most often is \"{name}\" "
                     f"({100 * worst['share_missing'].iloc[0]:.1f}%).")
    return text


def data_quality_recommendations(profile: Any, lang: str = "zh", *, codebook: Any = None) -> str:
    zh = _in_chinese(lang)
    h = profile.headline()
    out = []
    if h["n_small"]:
        out.append(f"**{h['n_small']} 个社区-轮次样本量不足 {h['min_ok']} 人**：这些单元的均值不单独报告；建议补充调查。" if zh
                   else f"**{h['n_small']} community-waves below {h['min_ok']} respondents**: their means are not "
                   "reported separately; top up the sample.")
    high = profile.missingness[profile.missingness["share_missing"] > 0.1]
    for r in high.itertuples(index=False):
        name = r.label if zh else (codebook[r.column].label("en") if codebook is not None and r.column in codebook
                                   else r.column)
        out.append(f"**“{name}”缺失 {100 * r.share_missing:.1f}%**：建议检查问卷跳转逻辑和访员培训。" if zh else
                   f"**{name} missing for {100 * r.share_missing:.1f}%**: check skip logic and interviewer training.")
    if h["n_warnings"]:
        out.append(f"**{h['n_warnings']} 条数据校验提示**（见校验表）：建议在分析前逐条核实。" if zh else
                   f"**{h['n_warnings']} validation warnings** (see the table): resolve each before analysis.")
    if not out:
        out.append("未发现影响分析的数据问题。" if zh else "No data problems that affect the analysis were found.")
    return "\n".join(f"- {line}" for line in out)
