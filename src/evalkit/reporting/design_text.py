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
}


def caveat_text(code: str, lang: str = "zh") -> str:
    """The sentence for reason code ``code`` in ``lang`` (the code itself if unknown)."""
    key = "zh" if lang.lower().startswith("zh") else "en"
    return CAVEAT_TEXT.get(code, {}).get(key, code)
