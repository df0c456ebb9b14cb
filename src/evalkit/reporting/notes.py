"""Sentences for the reason codes estimators return: estimation notes and the inference decision.

Estimators return facts: ``notes`` is a tuple of ``{"code": ..., **facts}`` and the
:class:`~evalkit.estimators.results.InferenceRecord` carries the cluster counts, the method
used, the method requested and ``reasons`` (codes). This module is the only place that turns
them into zh or en sentences; :func:`note_sentence` raises on an unknown code, so a new code
cannot silently reach a reader untranslated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evalkit.reporting.vocab import lang_code, word

__all__ = ["note_sentence", "note_sentences", "inference_message"]

_CRVE_MIN_CLUSTERS = 50
_CRVE_MIN_TREATED = 10


def _pct(x: float) -> str:
    return f"{100 * float(x):.1f}%"


def note_sentence(note: Mapping[str, Any], lang: str = "zh", *, labels: Mapping[str, str] | None = None) -> str:
    """One estimation note in ``lang``; ``labels`` names columns for the reader (code → label)."""
    zh = lang_code(lang) == "zh"
    code = note["code"]
    labels = labels or {}
    if code == "rows_dropped":
        detail = ("，" if zh else ", ").join(f"{labels.get(c, c)}: {n}" for c, n in note.get("by_column", {}).items())
        return (f"{note['n_dropped']}/{note['n_rows']} 行在所需变量上有缺失（{detail}），未纳入估计。" if zh else
                f"{note['n_dropped']} of {note['n_rows']} rows have missing values ({detail}) and were left "
                "out of the estimation.")
    if code == "equal_effects_wald_approx":
        return ("多于两组时的等效应检验为聚类稳健 Wald F 检验，聚类较少时仅为近似。" if zh else
                "With more than two subgroups the equal-effects test is a cluster-robust Wald F test, only "
                "approximate when clusters are few.")
    if code == "multiple_testing_methods":
        return ("BH 校正 p：Benjamini–Hochberg 校正（控制错误发现率）；Romano–Wolf 校正 p：逐步校正（控制族错误率，"
                "基于共同的聚类自助抽样）；综合指数按对照组基线标准化后取平均。" if zh else
                "BH-adjusted p: Benjamini–Hochberg (false discovery rate); Romano–Wolf p: step-down "
                "(family-wise error rate, joint cluster bootstrap); the summary index averages outcomes "
                "standardised by the comparison group's baseline.")
    if code == "pretrend_rejected":
        p = float(note["p"])
        return (f"平行趋势预检验被拒绝（Wald 检验 p = {p:.3f}）：试点前试点社区与对照社区的变化已有差异，"
                "估计可能有偏，应结合事件研究图谨慎解读。" if zh else
                f"The parallel-trends pre-test rejects (Wald p = {p:.3f}): treated and comparison communities "
                "already diverged before the pilot; read the estimates with care and inspect the event-study plot.")
    if code == "pretest_multiplier_bootstrap":
        return ("试点批次在聚类内不一致，无法置换分配，平行趋势预检验改用乘数自助法；处理组聚类很少时该检验可能过度拒绝。"
                if zh else
                "Cohorts vary within clusters, so the pre-test cannot permute the assignment and uses the "
                "multiplier bootstrap, which can over-reject with few treated clusters.")
    if code == "treatment_switches_off":
        return ("处理在部分单位中中途停止：该系数混合了开启与停止的对比，只能作描述性平均，不是处理效应；"
                "不提供 Goodman-Bacon 分解。" if zh else
                "The treatment switches off for some units: the coefficient mixes switch-on and switch-off "
                "contrasts and is a descriptive average, not a treatment effect; no Goodman-Bacon decomposition.")
    if code == "few_never_treated":
        return (f"从未试点的对照聚类只有 {note['n']} 个，对照组过小；可考虑以尚未试点的社区作对照。" if zh else
                f"Only {note['n']} never-treated comparison clusters; consider not-yet-treated communities "
                "as the comparison group.")
    if code == "library_message":
        return (f"{note['source']} 提示（原文）：{note['text']}" if zh else f"{note['source']}: {note['text']}")
    if code == "twfe_reference_only":
        return ("双向固定效应估计仅作参照：试点启动时间不同且效应随时间变化时，它可能严重有偏，"
                "主要结论以 Callaway–Sant'Anna 估计为准。" if zh else
                "Two-way fixed effects is shown for reference only: with staggered starts and effects that "
                "change over time it can be badly biased; conclusions rest on the Callaway–Sant'Anna estimates.")
    if code == "bacon_not_applicable":
        return ("未做 Goodman-Bacon 分解：它只适用于无协变量、无权重的平衡面板。" if zh else
                "No Goodman-Bacon decomposition: it applies to balanced panels without covariates or weights.")
    if code == "bacon_forbidden_share":
        return (f"Goodman-Bacon 分解：{_pct(note['share'])} 的权重来自以已试点社区为对照的“禁止比较”。" if zh else
                f"Goodman-Bacon decomposition: {_pct(note['share'])} of the weight is on 'forbidden' "
                "comparisons that use already-treated communities as controls.")
    if code == "ordinal_robustness_only":
        return ("有序 logit 仅为稳健性检验：系数为对数优势比，方向应与线性双重差分一致。" if zh else
                "The ordered logit is a robustness check: the coefficient is a log odds ratio whose sign "
                "should agree with the linear DiD.")
    msg = f"no wording for estimation note code {code!r}; add it to evalkit/reporting/notes.py"
    raise KeyError(msg)


def note_sentences(notes: Iterable[Mapping[str, Any]], lang: str = "zh", *,
                   labels: Mapping[str, str] | None = None) -> list[str]:
    return [note_sentence(n, lang, labels=labels) for n in notes]


def _method(method: str, lang: str) -> str:
    return word(f"method.{method}", lang)


def inference_message(record: Any, lang: str = "zh") -> str:
    """The paragraph saying how many clusters an estimate has and which inference it uses, and why."""
    zh = lang_code(lang) == "zh"
    reasons = set(getattr(record, "reasons", ()))
    parts: list[str] = []
    if "no_cluster" in reasons:
        return ("未指定聚类变量：标准误假定居民之间相互独立；同一社区居民的结果通常相关，应指定社区作为聚类变量。" if zh else
                "No cluster column given: standard errors assume independent respondents; residents of one "
                "community are usually correlated, so cluster by community.")
    g, g1 = record.n_clusters, record.n_treated_clusters
    if g is not None and g1 is not None:
        parts.append(f"本估计共有 {g} 个聚类（社区），其中处理组 {g1} 个、对照组 {g - g1} 个。" if zh else
                     f"This estimate has {g} clusters (communities): {g1} treated and {g - g1} untreated.")
    if "crve_reliable" in reasons:
        parts.append("聚类数量和处理组聚类数量均足够，采用常规聚类稳健标准误进行推断。" if zh else
                     "Both numbers are large enough for conventional cluster-robust inference, which is used.")
    why = ""
    if "few_clusters" in reasons:
        why = f"聚类数少于 {_CRVE_MIN_CLUSTERS} 个" if zh else f"fewer than {_CRVE_MIN_CLUSTERS} clusters"
    elif "few_treated_or_untreated" in reasons:
        why = (f"处理组或对照组聚类少于 {_CRVE_MIN_TREATED} 个" if zh else
               f"fewer than {_CRVE_MIN_TREATED} treated or untreated clusters")
    if "too_few_for_wild" in reasons and g is not None and g1 is not None:
        k = min(g1, g - g1)
        parts.append(f"处理组或对照组仅有 {k} 个聚类，常规聚类稳健标准误和野聚类自助法均不可靠（MacKinnon & Webb 2018），"
                     "报告改用基于试点分配的随机化推断（置换检验）；其有效性依赖于处理组与对照组社区可比。" if zh else
                     f"Only {k} treated or untreated clusters: neither cluster-robust standard errors nor the wild "
                     "cluster bootstrap are reliable (MacKinnon & Webb 2018), so inference uses randomisation "
                     "inference over the pilot assignment, which assumes treated and comparison communities are "
                     "comparable.")
    elif why:
        used = _method(record.method, lang)
        parts.append(f"由于{why}，常规聚类稳健标准误的 p 值偏小、不可靠（MacKinnon & Webb 2017），报告不采用；"
                     f"p 值和置信区间改用{used}计算。" if zh else
                     f"With {why}, conventional cluster-robust p-values are too small to be trusted (MacKinnon & "
                     f"Webb 2017) and are not reported; p-values and confidence intervals come from the {used}.")
    if "multiplier_bootstrap" in reasons:
        parts.append("对交错启动估计，乘数自助法对影响函数按社区聚类抽样（Rademacher 权重，与 R did 包相同）。" if zh else
                     "For the staggered estimator the multiplier bootstrap resamples the influence functions by "
                     "community (Rademacher weights, as in R's did package).")
    if "crve_request_refused" in reasons:
        req = _method(record.requested, lang)
        parts.append(f"所请求的{req}在此聚类数下不可靠，不据此报告 p 值和置信区间；表中标准误仅作描述。" if zh else
                     f"The requested {req} is unreliable here, so its p-values and intervals are not reported; "
                     "the standard error shown is descriptive only.")
    if "as_requested" in reasons:
        parts.append(f"按要求使用{_method(record.method, lang)}。" if zh else
                     f"{_method(record.method, lang).capitalize()} used as requested.")
    if "ordinal_no_wild" in reasons:
        parts.append("有序 logit 无法使用野聚类自助法，且处理在社区内不恒定、无法做随机化推断：仅报告描述性标准误，不报告 p 值。"
                     if zh else "The ordered logit has no wild bootstrap and treatment varies within clusters, so "
                     "no randomisation inference either: only a descriptive SE is shown, without p-value.")
    return ("" if zh else " ").join(parts)
