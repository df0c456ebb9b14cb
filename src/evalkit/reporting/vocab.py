"""The report vocabulary: every code a computation returns, rendered in zh or en.

Computations return column names, option names and reason codes (``multiplier_bootstrap``,
``never_treated``, ``pretrend_failed``); this module is the one place that turns them into
words. One dict per language with the same keys, so a report in one language never borrows
a word from the other; :func:`word` raises on an unknown key, so a code can never reach a
reader as it is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VOCAB", "word", "has_word", "lang_code"]


def lang_code(lang: str) -> str:
    """``zh-CN`` / ``zh`` → ``zh``; anything else → ``en``."""
    return "zh" if str(lang).lower().startswith("zh") else "en"


_ZH: dict[str, str] = {
    # ---- booleans, missing, significance -------------------------------------------------
    "bool.true": "是", "bool.false": "否", "na": "—",
    "sig.legend": "显著性：*** p < 0.001，** p < 0.01，* p < 0.05（双侧）。",
    "ci.fmt": "{est} [{lo}, {hi}]",
    "weighted.yes": "加权（按社区人口结构迭代比例加权 raking）",
    "weighted.no": "未加权",
    "weighted.partial": "均值加权（raking），信度与题目分析未加权",
    # ---- caption pieces ------------------------------------------------------------------
    "table.prefix": "表 {n}", "figure.prefix": "图 {n}", "caption.sep": "　",
    "note.head": "注：", "note.source": "资料来源：{source}。", "note.n": "N = {n}",
    "note.method": "方法：{method}", "note.inference": "推断：{inference}",
    "note.unit": "单位：{unit}", "note.weighted": "{weighted}",
    "toc.title": "目录", "summary.title": "结论摘要", "recommendations.title": "问题与建议",
    "synthetic.label": "【合成演示数据】",
    # ---- units ---------------------------------------------------------------------------
    "unit.score": "分（量表 1–5 分；参与为 0–1 比例）", "unit.persons": "人",
    "unit.communities": "个社区", "unit.share": "比例（0–1）", "unit.mixed": "见各行",
    "unit.alpha": "信度系数（0–1）",
    # ---- designs, methods ----------------------------------------------------------------
    "design.cs_never_treated": "交错双重差分（Callaway–Sant'Anna），对照：从未试点社区",
    "design.cs_not_yet_treated": "交错双重差分（Callaway–Sant'Anna），对照：尚未试点社区",
    "design.twfe": "双向固定效应（TWFE，仅作参照）",
    "design.stacked": "分批叠加 2×2 双重差分（居民层面，对照：从未试点社区）",
    "control.never_treated": "从未试点的社区", "control.not_yet_treated": "尚未试点的社区",
    "method.multiplier_bootstrap": "聚类乘数自助法", "method.wild_bootstrap": "野聚类自助法",
    "method.randomization": "随机化推断", "method.cr2": "CR2 小样本校正聚类稳健标准误",
    "method.cr1": "聚类稳健标准误（CR1）", "method.hc1": "异方差稳健标准误（未聚类）",
    "method.influence_function": "影响函数解析标准误", "method.model": "模型标准误",
    "method.classical": "经典（同方差）标准误", "method.hc0": "异方差稳健标准误（HC0）",
    "method.hc2": "异方差稳健标准误（HC2）", "method.hc3": "异方差稳健标准误（HC3）",
    "method.cr0": "聚类稳健标准误（CR0）", "method.twoway": "双向聚类稳健标准误（Cameron–Gelbach–Miller）",
    "method.sandwich": "堆叠估计方程的三明治标准误（计入权重估计）", "method.mixed_model": "混合模型（REML）标准误",
    "method.abadie_imbens": "Abadie–Imbens 匹配估计量标准误",
    "method.placebo_variance": "安慰剂方差（对照社区轮流充当试点）",
    "method.placebo_permutation": "空间安慰剂置换检验；标准误来自安慰剂方差",
    "programme.sanshe": "三社联动", "programme.wushe": "五社联动", "programme.other": "其他",
    "programme.comparison": "对照", "group.pilot": "试点", "group.comparison": "对照",
    "by.age_band": "年龄段", "by.hukou": "户籍", "by.gender": "性别",
    "level.under_60": "60 岁以下", "level.60_plus": "60 岁及以上", "level.local": "本地户籍",
    "level.migrant": "外地户籍", "level.female": "女性", "level.male": "男性",
    "term.effect": "{level}", "term.difference": "差异：{a} − {b}",
    "cohort.never": "—（从未试点）", "wave.n": "第 {w} 轮",
    "var.age": "年龄（岁）", "var.female": "女性比例", "var.migrant": "外地户籍比例",
    "var.college": "大专及以上比例", "var.years_resident": "居住年限（年）",
    "var.survey_year": "调查年份（由访问日期推算）", "var.age_band": "年龄段（由年龄推算）",
    "var.birth_year": "出生年份",
    "klk_index": "综合指数（Kling–Liebman–Katz 2007，等权）",
    "severity.error": "错误", "severity.warning": "提示",
    # ---- column headers ------------------------------------------------------------------
    "col.outcome": "结果", "col.effect_ci": "效应 [95% 置信区间]", "col.p": "p 值", "col.sig": "显著性",
    "col.p_bh": "BH 校正 p", "col.p_rw": "Romano–Wolf 校正 p", "col.p_equal": "组间相等检验 p",
    "col.p_equal_adj": "组间相等检验 p（BH 校正）", "col.inference": "推断方法",
    "col.n_clusters": "社区数", "col.n_treated": "试点社区数", "col.pretrend_p": "前趋势检验 p",
    "col.cohort": "启动年份", "col.programme": "试点类型", "col.communities": "社区数",
    "col.respondents": "受访者人次", "col.variable": "变量", "col.mean_pilot": "试点均值",
    "col.mean_comparison": "对照均值", "col.smd": "标准化均值差（SMD）", "col.design": "估计方法与对照组",
    "col.by": "分组变量", "col.subgroup": "群体", "col.n": "样本量", "col.true_effect": "真实效应",
    "col.covered": "置信区间覆盖真值", "col.note": "说明", "col.construct": "维度",
    "col.n_items": "题目数", "col.n_scored": "有效得分人数", "col.alpha_ci": "α [95% 置信区间]",
    "col.alpha_std": "标准化 α", "col.omega": "McDonald's ω", "col.n_flagged": "问题题目数",
    "col.icc": "ICC", "col.icc_ci": "ICC [95% 置信区间]", "col.mean_ci": "加权均值 [95% 置信区间]",
    "col.item": "题目编号", "col.question": "题目内容", "col.mean": "均值", "col.sd": "标准差",
    "col.r_corrected": "校正题总相关", "col.alpha_if_deleted": "删除后 α", "col.flag": "标记",
    "col.assigned": "设定维度", "col.main_factor": "主载荷因子", "col.loading": "主载荷",
    "col.communality": "共同度", "col.fits": "归属一致", "col.wave": "轮次",
    "col.deff_kish": "平均设计效应", "col.ess": "有效样本量合计", "col.max_weight_ratio": "最大权重比",
    "col.all_converged": "全部收敛", "col.deff": "设计效应", "col.between_var": "社区间方差",
    "col.within_var": "社区内方差", "col.deff_cluster": "整群设计效应", "col.column": "变量",
    "col.label": "名称", "col.n_missing": "缺失人数", "col.share_missing": "缺失比例",
    "col.n_missing_codes": "缺失代码数", "col.source_table": "数据表", "col.file": "文件",
    "col.format": "格式", "col.rows": "行数", "col.severity": "级别", "col.check": "检查项",
    "col.message": "说明", "col.package": "软件包", "col.version": "版本",
    "col.effect_sd": "效应 / 基线标准差",
    # ---- flags ---------------------------------------------------------------------------
    "flag.low_item_total": "题总相关偏低", "flag.raises_alpha_if_deleted": "删除后 α 提高",
    "flag.reverse": "（反向题）", "flag.none": "",
    "flag.negative_r": "与其余题目负相关（可能漏标反向计分）", "flag.low_r": "题总相关偏低",
    "flag.raises_alpha": "删除后 α 提高",
    "bacon.treated_vs_never": "处理组 vs 从未处理组", "bacon.earlier_vs_later": "早处理组 vs 晚处理组（晚组作对照）",
    "bacon.later_vs_earlier": "晚处理组 vs 早处理组（已处理组作对照，“禁止比较”）",
    "target.social_orgs_per_community": "每社区社会组织数（个）", "target.resolution_rate": "居民诉求办结率",
    "status.met": "达成", "status.partly_met": "总体达成，部分社区未达成", "status.not_met": "未达成",
    "status.not_measurable": "无法测量（缺少数据或指标未定义）",
    "col.target": "目标", "col.threshold": "目标值", "col.year": "年份", "col.value": "实际值（全部社区）",
    "col.n_met": "达标社区数", "col.status": "结论",
    # ---- result titles (estimators' summary()) ------------------------------------------
    "result.impact": "成效估计",
    "result.impact_report": "试点成效估计",
    "result.design": "评估设计估计",
    "result.matching": "近邻匹配估计（ATT）", "result.design_weighting": "加权估计（逆概率加权 / 熵平衡 / 双重稳健）",
    "result.multilevel": "多层模型（居民嵌套于社区）", "result.ordered_logit": "有序 logit 模型",
    "result.pre_post": "试点前后比较（无对照组，最弱设计）", "result.regression": "线性回归",
    "result.synthetic_control": "合成控制", "result.synthetic_did": "合成双重差分",
    "result.did": "双重差分（2×2）估计",
    "result.twfe": "双向固定效应（TWFE）估计（仅作参照）",
    "result.staggered": "交错启动双重差分（Callaway–Sant'Anna）",
    "result.subgroup": "分群体成效（异质性）",
    "result.multiple_outcomes": "多结果成效（多重检验校正）",
    "result.ordinal": "有序 logit 稳健性检验（单个李克特题）",
}

_EN: dict[str, str] = {
    "bool.true": "yes", "bool.false": "no", "na": "—",
    "sig.legend": "Significance: *** p < 0.001, ** p < 0.01, * p < 0.05 (two-sided).",
    "ci.fmt": "{est} [{lo}, {hi}]",
    "weighted.yes": "Weighted (raked to each community's population margins)",
    "weighted.no": "Unweighted",
    "weighted.partial": "Means weighted (raking); reliability and item analysis unweighted",
    "table.prefix": "Table {n}", "figure.prefix": "Figure {n}", "caption.sep": ". ",
    "note.head": "Note: ", "note.source": "Source: {source}.", "note.n": "N = {n}",
    "note.method": "Method: {method}", "note.inference": "Inference: {inference}",
    "note.unit": "Unit: {unit}", "note.weighted": "{weighted}",
    "toc.title": "Contents", "summary.title": "Executive summary",
    "recommendations.title": "Findings and recommendations",
    "synthetic.label": "[SYNTHETIC DEMO DATA]",
    "unit.score": "points (1–5 scales; participation as a 0–1 share)", "unit.persons": "respondents",
    "unit.communities": "communities", "unit.share": "share (0–1)", "unit.mixed": "see rows",
    "unit.alpha": "reliability coefficient (0–1)",
    "design.cs_never_treated": "Staggered DiD (Callaway–Sant'Anna), never-treated comparison",
    "design.cs_not_yet_treated": "Staggered DiD (Callaway–Sant'Anna), not-yet-treated comparison",
    "design.twfe": "Two-way fixed effects (TWFE, reference only)",
    "design.stacked": "Stacked 2×2 DiD (resident level, never-treated comparison)",
    "control.never_treated": "never-treated communities", "control.not_yet_treated": "not-yet-treated communities",
    "method.multiplier_bootstrap": "cluster multiplier bootstrap", "method.wild_bootstrap": "wild cluster bootstrap",
    "method.randomization": "randomisation inference", "method.cr2": "CR2 small-sample cluster-robust SE",
    "method.cr1": "cluster-robust SE (CR1)", "method.hc1": "heteroskedasticity-robust SE (no clustering)",
    "method.influence_function": "analytic influence-function SE", "method.model": "model-based SE",
    "method.classical": "classical (homoskedastic) SE", "method.hc0": "heteroskedasticity-robust SE (HC0)",
    "method.hc2": "heteroskedasticity-robust SE (HC2)", "method.hc3": "heteroskedasticity-robust SE (HC3)",
    "method.cr0": "cluster-robust SE (CR0)", "method.twoway": "two-way cluster-robust SE (Cameron–Gelbach–Miller)",
    "method.sandwich": "sandwich SE of the stacked estimating equations (accounts for estimated weights)",
    "method.mixed_model": "mixed-model (REML) SE", "method.abadie_imbens": "Abadie–Imbens matching SE",
    "method.placebo_variance": "placebo variance (comparison communities take turns as the pilot)",
    "method.placebo_permutation": "in-space placebo permutation test; SE from placebo variance",
    "programme.sanshe": "Three-party linkage (sanshe)", "programme.wushe": "Five-party linkage (wushe)",
    "programme.other": "other", "programme.comparison": "comparison", "group.pilot": "pilot",
    "group.comparison": "comparison",
    "by.age_band": "age band", "by.hukou": "hukou", "by.gender": "gender",
    "level.under_60": "under 60", "level.60_plus": "60 and over", "level.local": "local hukou",
    "level.migrant": "migrant", "level.female": "women", "level.male": "men",
    "term.effect": "{level}", "term.difference": "difference: {a} − {b}",
    "cohort.never": "— (never treated)", "wave.n": "Wave {w}",
    "var.age": "Age (years)", "var.female": "Share women", "var.migrant": "Share migrant hukou",
    "var.college": "Share college-educated", "var.years_resident": "Years resident",
    "var.survey_year": "Survey year (from the interview date)", "var.age_band": "Age band (from age)",
    "var.birth_year": "Birth year",
    "klk_index": "summary index (Kling–Liebman–Katz 2007, equal weights)",
    "severity.error": "error", "severity.warning": "warning",
    "col.outcome": "Outcome", "col.effect_ci": "Effect [95% CI]", "col.p": "p", "col.sig": "Sig.",
    "col.p_bh": "BH-adjusted p", "col.p_rw": "Romano–Wolf p", "col.p_equal": "Equal-effects p",
    "col.p_equal_adj": "Equal-effects p (BH-adjusted)", "col.inference": "Inference",
    "col.n_clusters": "Communities", "col.n_treated": "Pilot communities", "col.pretrend_p": "Pre-trend p",
    "col.cohort": "Start year", "col.programme": "Programme", "col.communities": "Communities",
    "col.respondents": "Interviews", "col.variable": "Variable", "col.mean_pilot": "Pilot mean",
    "col.mean_comparison": "Comparison mean", "col.smd": "Standardised difference (SMD)",
    "col.design": "Estimator and comparison", "col.by": "Grouped by", "col.subgroup": "Group",
    "col.n": "N", "col.true_effect": "Known true effect", "col.covered": "CI covers truth", "col.note": "Note",
    "col.construct": "Construct", "col.n_items": "Items", "col.n_scored": "Scored respondents",
    "col.alpha_ci": "α [95% CI]", "col.alpha_std": "Standardised α", "col.omega": "McDonald's ω",
    "col.n_flagged": "Flagged items", "col.icc": "ICC", "col.icc_ci": "ICC [95% CI]",
    "col.mean_ci": "Weighted mean [95% CI]", "col.item": "Item", "col.question": "Question",
    "col.mean": "Mean", "col.sd": "SD", "col.r_corrected": "Corrected item-total r",
    "col.alpha_if_deleted": "α if deleted", "col.flag": "Flag", "col.assigned": "Assigned construct",
    "col.main_factor": "Main factor", "col.loading": "Main loading", "col.communality": "Communality",
    "col.fits": "Fits", "col.wave": "Wave", "col.deff_kish": "Mean design effect",
    "col.ess": "Effective N (sum)", "col.max_weight_ratio": "Max weight ratio",
    "col.all_converged": "All converged", "col.deff": "Design effect", "col.between_var": "Between variance",
    "col.within_var": "Within variance", "col.deff_cluster": "Cluster design effect", "col.column": "Variable",
    "col.label": "Label", "col.n_missing": "Missing", "col.share_missing": "Share missing",
    "col.n_missing_codes": "Missing codes", "col.source_table": "Table", "col.file": "File",
    "col.format": "Format", "col.rows": "Rows", "col.severity": "Severity", "col.check": "Check",
    "col.message": "Message", "col.package": "Package", "col.version": "Version",
    "col.effect_sd": "Effect / baseline SD",
    "flag.low_item_total": "low item-total r", "flag.raises_alpha_if_deleted": "α rises if deleted",
    "flag.reverse": " (reverse-keyed)", "flag.none": "",
    "flag.negative_r": "correlates negatively with the rest (reverse coding missing?)",
    "flag.low_r": "low item-total r", "flag.raises_alpha": "α rises if deleted",
    "bacon.treated_vs_never": "treated vs never treated", "bacon.earlier_vs_later": "earlier vs later treated",
    "bacon.later_vs_earlier": "later vs earlier treated (forbidden)",
    "target.social_orgs_per_community": "Social organisations per community", "target.resolution_rate":
    "Share of residents' requests resolved",
    "status.met": "met", "status.partly_met": "met overall, not in every community", "status.not_met": "not met",
    "status.not_measurable": "not measurable (no data or unknown measure)",
    "col.target": "Target", "col.threshold": "Threshold", "col.year": "Year", "col.value": "Value (all communities)",
    "col.n_met": "Communities meeting it", "col.status": "Verdict",
    "result.impact": "Impact estimate",
    "result.impact_report": "Programme impact",
    "result.design": "Design estimate",
    "result.matching": "Nearest-neighbour matching (ATT)",
    "result.design_weighting": "Weighting estimate (IPW / entropy balancing / doubly robust)",
    "result.multilevel": "Multilevel model (residents in communities)", "result.ordered_logit": "Ordered logit model",
    "result.pre_post": "Before-after within pilots (no comparison: the weakest design)",
    "result.regression": "Linear regression", "result.synthetic_control": "Synthetic control",
    "result.synthetic_did": "Synthetic difference-in-differences",
    "result.did": "Difference-in-differences (2×2)",
    "result.twfe": "Two-way fixed effects (for reference)",
    "result.staggered": "Staggered difference-in-differences (Callaway–Sant'Anna)",
    "result.subgroup": "Effects by subgroup (heterogeneity)",
    "result.multiple_outcomes": "Effects on several outcomes (multiple-testing adjusted)",
    "result.ordinal": "Ordered-logit check (single Likert item)",
}

VOCAB: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}


def has_word(key: str) -> bool:
    return key in _ZH


def word(key: str, lang: str = "zh", **fields: Any) -> str:
    """The word for ``key`` in ``lang``; raises ``KeyError`` naming the key if it has none."""
    table = VOCAB[lang_code(lang)]
    if key not in table:
        msg = f"reporting vocabulary has no entry {key!r} ({lang_code(lang)}); add it to evalkit/reporting/vocab.py"
        raise KeyError(msg)
    return table[key].format(**fields) if fields else table[key]
