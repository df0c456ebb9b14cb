"""The story of the programme reports, generated from their results: executive summaries and recommendations.

Sibling of :mod:`evalkit.reporting.story` for the three programme-level reports: the
programme delivery report (``04_programme``, a :class:`~evalkit.programme.report.ProgrammeReport`),
the per-pilot report and the batch programme report (both from
:class:`~evalkit.community.CommunityEffects`). Functions read numbers and codes and return
Markdown in zh or en; they estimate nothing. The same plain-language rules as the impact
story hold: an effect is "raised" / "lowered" only when its 95% interval excludes 0, an
interval that includes 0 is "not supported" (never "no effect"), and every number carries
its interval or its base. A study replaces or extends each text with ``narrative/summary.md``
or ``narrative/recommendations.md``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalkit.reporting.programme_display import MIN_COUNT, _code, _label, community_names
from evalkit.reporting.story import _inline, _interval, _join, is_share
from evalkit.reporting.tables import fmt_num, fmt_share
from evalkit.reporting.vocab import lang_code, word

__all__ = ["programme_summary", "programme_recommendations", "pilot_summary", "pilot_recommendations",
           "pilots_summary"]

#: an indicator counts as "mostly met" when at least this share of communities with data meet it
MOSTLY_MET = 0.5
#: a grade is "fragile" when it stays the same under fewer than this share of random weights
STABLE_GRADE = 0.8


def _zh(lang: str) -> bool:
    return lang_code(lang) == "zh"


def _some(names: list[str], total: int, lang: str) -> str:
    """``names`` joined, with "等 n 项" / "and k more" when only some of ``total`` are named."""
    if total <= len(names):
        return _join(names, lang)
    if _zh(lang):
        return f"{_join(names, lang)}等 {total} 项"
    return f"{', '.join(names)} and {total - len(names)} more"


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _construct(study: Any, code: str, lang: str) -> str:
    return study.codebook.construct_label(code, lang)


def _programme(code: str, lang: str) -> str:
    return word(f"programme.{code}", lang)


def _effect_phrase(study: Any, outcome: str, est: float, lo: float, hi: float, lang: str) -> str:
    share = is_share(study.codebook, outcome)
    scale, d = (100, 1) if share else (1, 2)
    unit = ("个百分点" if share else "分") if _zh(lang) else ("percentage points" if share else "points")
    size = fmt_num(abs(scale * est), d)
    ci = _interval(lo, hi, share, lang)
    name = _construct(study, outcome, lang)
    if _zh(lang):
        return f"{name}{'提高' if est > 0 else '降低'} {size} {unit}（95% 区间 {ci}）"
    return f"{_inline(name, lang)} {'rose' if est > 0 else 'fell'} by {size} {unit} (95% interval {ci})"


def _labels(report: Any, lang: str) -> pd.Series:
    """(framework, indicator) → the framework's wording of the indicator."""
    fw = report.frameworks
    if fw.empty:
        return pd.Series(dtype=object)
    return fw.set_index(["framework", "indicator"])["label_zh" if _zh(lang) else "label_en"]


def _indicator_name(labels: pd.Series, framework: str, indicator: str, lang: str) -> str:
    key = (framework, indicator)
    if key in labels.index and isinstance(labels.loc[key], str):
        return labels.loc[key]
    return str(_label(indicator, 0 if _zh(lang) else 1))


# ---- 04_programme -------------------------------------------------------------------------------


def _lm(report: Any, indicator: str) -> dict[str, float]:
    lm = report.logic_model
    rows = lm[lm["indicator"] == indicator]
    return dict(zip(rows["group"], rows["value"].astype(float), strict=True))


def programme_summary(report: Any, study: Any, lang: str = "zh", *, alpha: float = 0.05) -> str:
    """Executive summary (Markdown) of the programme delivery report: question, delivery,
    responsiveness, targets, impact, 三社 vs 五社, cost, main caveat."""
    zh = _zh(lang)
    lines: list[str] = []
    lm = report.logic_model
    year = int(lm["year"].max()) if len(lm) and lm["year"].notna().any() else None
    lines.append("**评估问题**：试点做了什么、覆盖了多少居民、是否达到工作目标、居民是否受益，五社联动是否好于三社联动？" if zh
                 else "**Question**: what did the pilots deliver, to how many residents, did they meet their targets, "
                      "did residents benefit, and does five-party linkage do better than three-party linkage?")
    services, ge3 = _lm(report, "services_per_1000"), _lm(report, "share_ge3")
    if {"sanshe", "wushe", "comparison"} <= set(services) and year is not None:
        s, w, c = (fmt_num(services[g], 0) for g in ("sanshe", "wushe", "comparison"))
        line = (f"**服务与联动**：{year} 年每千名居民的服务次数，三社联动试点 {s} 次、五社联动试点 {w} 次，对照社区 {c} 次"
                if zh else f"**Delivery**: in {year} three-party pilots delivered {s} services per 1,000 residents, "
                           f"five-party pilots {w} and comparison communities {c}")
        if {"sanshe", "wushe", "comparison"} <= set(ge3):
            line += (f"；至少三方共同提供的服务占 {fmt_share(ge3['sanshe'])}、{fmt_share(ge3['wushe'])} 与 "
                     f"{fmt_share(ge3['comparison'])}。" if zh else
                     f"; {fmt_share(ge3['sanshe'])}, {fmt_share(ge3['wushe'])} and {fmt_share(ge3['comparison'])} "
                     "of services were co-delivered by at least three actors.")
        else:
            line += "。" if zh else "."
        lines.append(line)
    within72 = _lm(report, "share_within_72h")
    claims = report.claims[report.claims["scope"] == "all"] if len(report.claims) else report.claims
    if len(claims):
        claims = claims[claims["year"] == claims["year"].max()]
    if {"sanshe", "wushe", "comparison"} <= set(within72):
        line = (f"**诉求响应**：72 小时内办结的诉求占 {fmt_share(within72['sanshe'])}（三社联动）、"
                f"{fmt_share(within72['wushe'])}（五社联动）与 {fmt_share(within72['comparison'])}（对照）。" if zh else
                f"**Responsiveness**: {fmt_share(within72['sanshe'])} of requests were resolved within 72 hours in "
                f"three-party pilots, {fmt_share(within72['wushe'])} in five-party pilots and "
                f"{fmt_share(within72['comparison'])} in comparison communities.")
        contradicted = claims[claims["verdict"] == "contradicted"] if len(claims) else claims
        if len(contradicted):
            k = 0 if zh else 1
            parts = [f"“{_code(r.claim, k)}”（实际 {fmt_share(r.share)}）" if zh else
                     f"\"{_code(r.claim, k)}\" (actual {fmt_share(r.share)})" for r in contradicted.itertuples()]
            line += (f"宣传口径中{_join(parts, lang)}被数据否定。" if zh else
                     f" The data contradict the claims {_join(parts, lang)}.")
        lines.append(line)
    summary = report.attainment_summary
    if len(summary):
        latest = summary[summary["year"] == summary["year"].max()]
        with_data = latest[(latest["met"] + latest["not_met"]) > 0]
        mostly = with_data[with_data["share_met"] >= MOSTLY_MET]
        none = latest[(latest["met"] + latest["not_met"]) == 0]
        y = int(latest["year"].iloc[0])
        lines.append(
            f"**目标达标**：{y} 年有数据的 {len(with_data)} 项指标中，{len(mostly)} 项有过半社区达标；"
            f"另有 {len(none)} 项指标缺少数据，无法判断。" if zh else
            f"**Targets**: of the {len(with_data)} indicators with data in {y}, {len(mostly)} are met by more than "
            f"half of the communities; {len(none)} more cannot be judged for lack of data.")
    est = report.estimates
    pooled = est[est["term"] == "all"]
    if len(pooled):
        sig = pooled[(pooled["ci_lower"] > 0) | (pooled["ci_upper"] < 0)]
        flat = pooled[~pooled.index.isin(sig.index)]
        text = "**居民成效**：" if zh else "**Residents**: "
        if len(sig):
            text += ("与对照社区相比，" if zh else "compared with the comparison communities, ") + _join(
                (_effect_phrase(study, r.outcome, r.estimate, r.ci_lower, r.ci_upper, lang) for r in sig.itertuples()),
                lang) + ("。" if zh else ".")
        if len(flat):
            names = _join((_inline(_construct(study, o, lang), lang) for o in flat["outcome"]), lang)
            text += (f"{names}的区间包含 0，数据不足以说明试点改变了它（不等于没有效果）。" if zh else
                     f"{' ' if len(sig) else ''}For {names} the interval includes 0: the data do not show a change "
                     "(which is not proof of no effect).")
        lines.append(text)
    diff = report.difference
    if len(diff):
        clear = diff[diff["ri_p_value"] < alpha]
        unclear = diff[diff["ri_p_value"] >= alpha]
        if zh:
            text = (f"**五社联动与三社联动**：比较 {int(diff['n_a'].max())} 个五社联动与 {int(diff['n_b'].max())} 个"
                    "三社联动试点，")
            text += ("五社联动在" + _join((_construct(study, o, "zh") for o in clear["outcome"]), lang)
                     + "上的成效确实更高；" if len(clear) else "")
            text += ("在" + _join((_construct(study, o, "zh") for o in unclear["outcome"]), lang)
                     + "上两类的差异不能确认。" if len(unclear) else "")
        else:
            text = (f"**Five-party versus three-party**: comparing {int(diff['n_a'].max())} five-party with "
                    f"{int(diff['n_b'].max())} three-party pilots, ")
            text += ("five-party linkage did better on " + _join((_inline(_construct(study, o, "en"), lang)
                                                                  for o in clear["outcome"]), lang)
                     + ("; " if len(unclear) else ".") if len(clear) else "")
            text += ("the difference is not confirmed for " + _join((_inline(_construct(study, o, "en"), lang)
                                                                      for o in unclear["outcome"]), lang) + "."
                     if len(unclear) else "")
        lines.append(text)
    ce = report.cost_per_effect
    if len(ce):
        fund = ce.drop_duplicates("programme").set_index("programme")["incremental_funding_wan"]
        if {"sanshe", "wushe"} <= set(fund.index) and fund[["sanshe", "wushe"]].notna().all():
            lines.append(f"**成本**：与对照社区相比，五社联动试点每年新增资金约 {fmt_num(fund['wushe'], 1)} 万元，"
                         f"三社联动约 {fmt_num(fund['sanshe'], 1)} 万元。" if zh else
                         f"**Cost**: against the comparison communities, five-party pilots add about "
                         f"{fmt_num(fund['wushe'], 1)} (10,000 yuan) a year, three-party pilots about "
                         f"{fmt_num(fund['sanshe'], 1)}.")
    lines.append("**主要注意事项**：试点并非随机选取，两类试点的比较假定同一启动批次内采用哪一类近似随机；"
                 "结论只适用于这些试点社区。" if zh else
                 "**Main caveat**: pilots were not chosen at random; the type comparison assumes that within a start "
                 "cohort the type was as good as random. The results describe these pilots only.")
    return "\n\n".join(lines)


def programme_recommendations(report: Any, study: Any, lang: str = "zh", *, alpha: float = 0.05,
                              max_items: int = 4) -> str:
    """问题与建议 (Markdown list) from the programme results: targets not met or not measurable,
    claims the data contradict, outcomes that did not move, fragile grades, the type comparison."""
    zh = _zh(lang)
    out: list[str] = []
    labels = _labels(report, lang)
    summary = report.attainment_summary
    if len(summary):
        latest = summary[summary["year"] == summary["year"].max()]
        low = latest[((latest["met"] + latest["not_met"]) > 0) & (latest["share_met"] < MOSTLY_MET)]
        low = low.sort_values("share_met")
        if len(low):
            names = [f"{_indicator_name(labels, r.framework, r.indicator, lang)}（{fmt_share(r.share_met)}）" if zh
                     else f"{_indicator_name(labels, r.framework, r.indicator, lang)} ({fmt_share(r.share_met)})"
                     for r in low.head(max_items).itertuples()]
            listed = _some(names, len(low), lang)
            out.append(f"**多数社区未达标的指标**：{listed}（括号内为达标社区比例）："
                       "建议逐项查明原因，制定分社区的改进计划并明确完成时限。" if zh else
                       f"**Targets most communities miss**: {listed} (share of communities "
                       "meeting them): find the causes and agree a dated improvement plan per community.")
        none = latest[(latest["met"] + latest["not_met"]) == 0]
        if len(none):
            names = [_indicator_name(labels, r.framework, r.indicator, lang) for r in none.head(max_items).itertuples()]
            listed = _some(names, len(none), lang)
            out.append(f"**无法判断的指标**：{listed}缺少数据：建议在社区年度台账中补充相应字段。" if zh else
                       f"**Targets that cannot be judged**: {listed} have no data: add the fields "
                       "they need to the community's yearly records.")
    claims = report.claims[report.claims["scope"] == "all"] if len(report.claims) else report.claims
    if len(claims):
        k = 0 if zh else 1
        latest = claims[claims["year"] == claims["year"].max()]
        for r in latest[latest["verdict"] == "contradicted"].itertuples():
            out.append(f"**“{_code(r.claim, k)}”的说法与数据不符**（实际 {fmt_share(r.share)}，n = {int(r.n):,}）："
                       "建议对外报告实际比例及其区间，不再使用这一口径。" if zh else
                       f"**The claim \"{_code(r.claim, k)}\" is contradicted** (actual {fmt_share(r.share)}, "
                       f"n = {int(r.n):,}): report the actual share with its interval instead.")
    est = report.estimates
    pooled = est[est["term"] == "all"]
    for r in pooled.itertuples():
        name = _construct(study, r.outcome, lang)
        if r.ci_upper < 0:
            out.append(f"**{name}下降**：建议核查试点期间相关服务是否减少，并在下一轮调查中补充相关题目。" if zh else
                       f"**{name} fell**: check whether related services were cut and add questions on it to the "
                       "next survey wave.")
        elif r.ci_lower <= 0:
            out.append(f"**{name}未见改善**：试点服务可能未覆盖这一方面；建议明确相关服务项目和目标并单独跟踪。" if zh else
                       f"**{name} did not improve**: the pilots may not address it; name the services meant to change "
                       "it, set a target and track it.")
    diff = report.difference
    if len(diff) and (diff["ri_p_value"] >= alpha).any():
        unclear = diff[diff["ri_p_value"] >= alpha]
        names = _join((_inline(_construct(study, o, lang), lang) for o in unclear["outcome"]), lang)
        out.append(f"**五社联动的额外成效尚未确认**（{names}）：推广五社联动前，建议在更多社区按事先公开的规则"
                   "（如抽签）分配两类模式，继续比较。" if zh else
                   f"**The extra benefit of five-party linkage is not confirmed** ({names}): before scaling it up, "
                   "assign the two models to more communities by a published rule (e.g. a lottery) and keep comparing.")
    sens = report.score_sensitivity
    if len(sens) and "share_same_grade" in sens:
        fragile = int((sens["share_same_grade"] < STABLE_GRADE).sum())
        if fragile:
            out.append(f"**{fragile} 个社区的等级对权重敏感**（随机权重下等级不变的比例低于 {fmt_share(STABLE_GRADE, 0)}）："
                       "建议不要仅凭等级排序奖惩，应结合各维度得分。" if zh else
                       f"**{fragile} communities have grades that depend on the weights** (same grade under fewer than "
                       f"{fmt_share(STABLE_GRADE, 0)} of random weights): do not reward or sanction on the grade alone.")
    if not out:
        out.append("各项目标均已达成，未发现需要处理的问题。" if zh else "All targets are met; no problems were found.")
    return _bullets(out)


# ---- per-pilot report ---------------------------------------------------------------------------


def pilot_summary(effects: Any, study: Any, community_id: str, lang: str = "zh", *,
                  programme: Any = None) -> str:
    """Executive summary (Markdown) of one pilot's report: the pilot, its own effects, its targets."""
    zh = _zh(lang)
    name = community_names(study, lang).get(community_id, community_id)
    rows = effects.for_community(community_id)
    pilot = study.pilots.set_index("community_id").loc[community_id]
    kind = _programme(str(pilot["programme"]), lang) if "programme" in pilot.index else ""
    start = int(pilot["start_year"]) if "start_year" in pilot.index and pd.notna(pilot["start_year"]) else None
    n_pre, n_post = (int(rows["n_pre"].max()), int(rows["n_post"].max())) if len(rows) else (0, 0)
    lines = []
    if zh:
        lines.append(f"**试点**：{name}为{kind}试点" + (f"，{start} 年启动" if start else "")
                     + f"；试点前后分别有 {n_pre:,} 与 {n_post:,} 名居民受访。")
    else:
        lines.append(f"**The pilot**: {name}, a {_inline(kind, lang)} pilot" + (f" started in {start}" if start else "")
                     + f"; {n_pre:,} residents were interviewed before the start and {n_post:,} after.")
    ok = rows[rows["estimate"].notna()]
    sig = ok[(ok["ci_lower"] > 0) | (ok["ci_upper"] < 0)]
    flat = ok[~ok.index.isin(sig.index)]
    if len(sig):
        lines.append(("**本社区的成效**：与对照社区同期变化相比，" if zh else
                      "**Effects here**: against the change in comparison communities, ")
                     + _join((_effect_phrase(study, r.outcome, r.estimate, r.ci_lower, r.ci_upper, lang)
                              for r in sig.itertuples()), lang) + ("。" if zh else "."))
    if len(flat):
        names = _join((_inline(_construct(study, o, lang), lang) for o in flat["outcome"]), lang)
        lines.append(f"**未获支持**：{names}的区间包含 0，本社区的数据不足以说明试点改变了{'它' if len(flat) == 1 else '它们'}。"
                     if zh else f"**Not supported**: for {names} the interval includes 0; this community's data do not "
                                "show a change.")
    missing = rows[rows["estimate"].isna()]
    if len(missing):
        lines.append(f"**无法估计**：{_join((_construct(study, o, lang) for o in missing['outcome']), lang)}"
                     "（试点前或后没有足够的调查数据）。" if zh else
                     f"**Not estimable**: {_join((_inline(_construct(study, o, lang), lang) for o in missing['outcome']), lang)} "
                     "(not enough survey data before or after the start).")
    if programme is not None and len(programme.attainment):
        att = programme.attainment
        latest = att[att["year"] == att["year"].max()]
        judged = latest[latest["status"].isin(["met", "not_met"])]
        if len(judged):
            met = int((judged["status"] == "met").sum())
            lines.append(f"**目标**：{int(latest['year'].iloc[0])} 年可判断的 {len(judged)} 项指标中达标 {met} 项。" if zh else
                         f"**Targets**: {met} of the {len(judged)} indicators that could be judged in "
                         f"{int(latest['year'].iloc[0])} are met.")
    coarse = rows["flags"].astype(str).str.contains("few_comparisons").any()
    lines.append(("**注意**：单个社区的估计远不如全市汇总估计精确" + ("；对照社区少于 20 个，区间较粗" if coarse else "")
                  + "，应结合全市结果解读。") if zh else
                 ("**Caveat**: one community's estimate is far less precise than the city-wide one"
                  + ("; with under 20 comparison communities the interval is coarse" if coarse else "")
                  + ". Read it together with the city-wide results."))
    return "\n\n".join(lines)


def pilot_recommendations(effects: Any, study: Any, community_id: str, lang: str = "zh", *,
                          programme: Any = None, max_items: int = 4) -> str:
    """问题与建议 (Markdown list) for one pilot: targets not met, claims contradicted, outcomes not improved."""
    zh = _zh(lang)
    out: list[str] = []
    if programme is not None and len(programme.attainment):
        att = programme.attainment
        latest = att[(att["year"] == att["year"].max()) & (att["status"] == "not_met")]
        labels = _labels(programme, lang)
        names = list(dict.fromkeys(_indicator_name(labels, r.framework, r.indicator, lang)
                                   for r in latest.itertuples()))
        if names:
            listed = _some(names[:max_items], len(names), lang)
            out.append(f"**未达标的指标**：{listed}：建议制定改进计划并明确完成时限。" if zh else
                       f"**Targets not met**: {listed}: agree a dated improvement plan.")
    if programme is not None and len(programme.claims):
        k = 0 if zh else 1
        mine = programme.claims[(programme.claims["scope"] == community_id)
                                & (programme.claims["verdict"] == "contradicted")
                                & (programme.claims["n"] >= MIN_COUNT)]
        if len(mine):
            parts = [f"“{_code(c, k)}”" if zh else f"\"{_code(c, k)}\"" for c in mine["claim"]]
            out.append(f"**{_join(parts, lang)}的说法与本社区数据不符**：对外报告时请使用实际比例。" if zh else
                       f"**The claims {_join(parts, lang)} do not hold here**: report the actual shares instead.")
    rows = effects.for_community(community_id)
    ok = rows[rows["estimate"].notna()]
    down = ok[ok["ci_upper"] < 0]
    for r in down.itertuples():
        name = _construct(study, r.outcome, lang)
        out.append(f"**{name}下降**：建议与居民座谈，了解原因。" if zh else
                   f"**{name} fell**: hold resident meetings to understand why.")
    if (rows["estimate"].isna()).any():
        n = effects.min_responses
        out.append(f"**部分指标无法估计**：建议保证每轮调查在本社区有足够样本（试点前后各至少 {n} 人）。" if zh else
                   f"**Some outcomes cannot be estimated**: keep enough respondents here (at least {n} before and "
                   "after the start).")
    if not out:
        out.append("未发现需要本社区单独处理的问题。" if zh else "No problems specific to this community were found.")
    return _bullets(out)


# ---- batch programme report -----------------------------------------------------------------------


def pilots_summary(effects: Any, study: Any, outcome: str, lang: str = "zh") -> str:
    """Executive summary (Markdown) of the batch programme report: how many pilots show an effect
    on ``outcome`` (interval excluding 0), the spread, and the mean by programme type."""
    zh = _zh(lang)
    league = effects.league(outcome)
    n = len(league)
    ok = league[league["estimate"].notna()]
    up = int((ok["ci_lower"] > 0).sum())
    down = int((ok["ci_upper"] < 0).sum())
    unclear = len(ok) - up - down
    missing = n - len(ok)
    label = _construct(study, outcome, lang)
    lines = []
    if zh:
        lines.append(f"**评估问题**：各试点社区的{label}是否比对照社区提高得更多？")
        lines.append(f"**结果**：{n} 个试点社区中，{up} 个的{label}提高幅度明显大于对照社区（区间不含 0），{down} 个明显较低，"
                     f"{unclear} 个不能确定" + (f"，{missing} 个因调查数据不足无法估计" if missing else "") + "。")
        if len(ok):
            lines.append(f"**差异**：各试点的效应介于 {fmt_num(ok['estimate'].min())} 与 {fmt_num(ok['estimate'].max())} 分之间，"
                         f"中位数 {fmt_num(ok['estimate'].median())} 分。")
    else:
        lines.append(f"**Question**: did {_inline(label, lang)} rise more in each pilot community than in the "
                     "comparison communities?")
        lines.append(f"**Results**: of {n} pilots, {up} show a clearly larger rise than the comparisons (interval "
                     f"excluding 0), {down} a clearly smaller one and {unclear} cannot be told apart"
                     + (f"; {missing} cannot be estimated for lack of survey data" if missing else "") + ".")
        if len(ok):
            lines.append(f"**Spread**: the pilots' effects range from {fmt_num(ok['estimate'].min())} to "
                         f"{fmt_num(ok['estimate'].max())} points, median {fmt_num(ok['estimate'].median())}.")
    by_type = effects.by_programme()
    mine = by_type[by_type["outcome"] == outcome]
    if len(mine) >= 2:
        parts = [f"{_programme(r.programme, lang)} {fmt_num(r.mean_effect)}（{int(r.pilots)} 个）" if zh else
                 f"{_inline(_programme(r.programme, lang), lang)} {fmt_num(r.mean_effect)} ({int(r.pilots)} pilots)"
                 for r in mine.itertuples()]
        lines.append(f"**按试点类型**：平均效应为{_join(parts, lang)}；类型间差异的正式检验见项目实施与绩效报告。" if zh else
                     f"**By type**: mean effects are {_join(parts, lang)}; the formal test of the difference is in the "
                     "programme delivery report.")
    lines.append("**注意**：单个试点的区间较宽，排名只是描述，相邻名次的差异通常在不确定性范围之内。" if zh else
                 "**Caveat**: each pilot's interval is wide; ranks describe, and neighbouring ranks usually differ by "
                 "less than the uncertainty.")
    return "\n\n".join(lines)

