"""Words for the designs' reason codes (:class:`evalkit.designs.results.DesignCaveat`).

Formats only: the computation returns codes, this module says them in Chinese or English.
"""

from __future__ import annotations

__all__ = ["caveat_text", "CAVEAT_TEXT"]

CAVEAT_TEXT: dict[str, dict[str, str]] = {
    "pre_post_no_comparison": {
        "zh": "注意：这是仅在试点社区内部的前后比较，没有对照组，无法区分项目效应与同期的其他变化，"
              "是证据强度最弱的设计，仅作描述。",
        "en": "Caution: a pre-post comparison within pilots only, with no comparison group; it "
              "cannot separate the programme's effect from other changes over the same time and "
              "is the weakest design, descriptive only."},
    "ps_treated_as_known": {
        "zh": "匹配后的标准误把倾向得分视为已知（按匹配对聚类，MatchIt 推荐做法）。",
        "en": "Standard errors after matching treat the propensity score as known (clustered by "
              "matched pair, as MatchIt documents)."},
    "caliper_dropped_treated": {
        "zh": "卡尺剔除了部分处理组单位：估计对象是被匹配上的处理组的平均效应。",
        "en": "The caliper dropped some treated units: the estimate is the effect on the matched "
              "treated units only."},
    "imbalance_remains": {
        "zh": "调整后仍有协变量的标准化均值差超过 0.1，结果需谨慎解读。",
        "en": "Some covariate still has a standardised mean difference above 0.1 after adjustment."},
    "extreme_weights": {
        "zh": "存在极端权重（单个单位占组内权重 10% 以上），估计可能不稳定。",
        "en": "Extreme weights: a single unit carries more than 10% of its group's weight."},
    "few_clusters": {
        "zh": "聚类数少于 30，聚类稳健标准误可能偏小。",
        "en": "Fewer than 30 clusters: cluster-robust standard errors may be too small."},
    "treatment_switches_off": {
        "zh": "处理在部分单位中中途停止：双向固定效应估计混合了开启与停止的对比，不是单一处理效应。",
        "en": "The treatment switches off for some units: the TWFE estimate mixes switch-on and "
              "switch-off contrasts and is not a single treatment effect."},
    # ---- reason codes of the impact report's designs (evalkit.design_analysis.DesignCode) ----
    "pilots_started_before_baseline": {
        "zh": "部分试点在第一轮调查当年或之前已启动，没有试点前的基线，未纳入社区层面的比较。",
        "en": "Some pilots started in or before the year of the first survey wave; with no baseline before "
              "the start they are left out of the community-level comparison."},
    "too_few_comparison": {
        "zh": "对照社区太少，无法估计该设计。",
        "en": "Too few comparison communities to estimate this design."},
    "too_few_treated": {
        "zh": "有基线数据的试点社区太少，无法估计该设计。",
        "en": "Too few pilots with a baseline to estimate this design."},
    "not_identified": {
        "zh": "无法识别：试点与对照社区在基线特征上几乎没有重叠，或协变量共线，该设计无法给出估计。",
        "en": "Not identified: pilots and comparison communities barely overlap in their baseline "
              "characteristics, or covariates are collinear; this design gives no estimate."},
    "did_not_converge": {
        "zh": "估计未收敛（例如熵平衡无法让对照社区在全部基线特征上与试点一致），该设计无法给出估计。",
        "en": "The estimation did not converge (e.g. entropy balancing cannot match the pilots on every "
              "baseline characteristic); this design gives no estimate."},
    "data_not_usable": {
        "zh": "数据不符合该设计的要求，未能估计。",
        "en": "The data do not meet this design's requirements; not estimated."},
    "item_not_ordinal": {
        "zh": "该题只有“是 / 否”两个答案，不适用有序 logit。",
        "en": "The item has only yes/no answers; an ordered logit does not apply."},
    "item_not_found": {
        "zh": "研究配置为有序 logit 列出的该题目不是编码本中的计分题目；请核对研究配置中的题目名称。",
        "en": "The item listed for the ordered logit in the study config is not a scored item of the "
              "codebook; check the item names in the study config."},
    "estimand_not_offered": {
        "zh": "所选加权方法不估计所选的估计对象（AIPW 估计 ATE，熵平衡估计 ATT）；请在研究配置中更换方法或估计对象。",
        "en": "The chosen weighting method does not estimate the chosen quantity (AIPW estimates the ATE, "
              "entropy balancing the ATT); change the method or the estimand in the study config."},
    "unweighted": {
        "zh": "多层模型未使用调查权重（混合模型不支持抽样权重），为未加权估计。",
        "en": "The multilevel model is unweighted (the mixed model takes no sampling weights)."},
    "no_baseline": {
        "zh": "调查只有一轮，没有基线，无法比较变化。",
        "en": "The survey has a single wave: no baseline to compare changes with."},
}


def caveat_text(code: str, lang: str = "zh") -> str:
    """The sentence for reason code ``code`` in ``lang`` (the code itself if unknown)."""
    key = "zh" if lang.lower().startswith("zh") else "en"
    return CAVEAT_TEXT.get(code, {}).get(key, code)
