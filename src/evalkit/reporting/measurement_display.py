"""The measurement and data-quality reports' tables, built from their result objects.

Formats only: selects what a reader needs, names it in the report language, marks
reverse-keyed items and summarises the per community-wave weighting diagnostics by wave;
every number comes from the result objects unchanged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalkit.reporting.tables import ReportTable, fmt_bool, fmt_ci, fmt_int, fmt_num, fmt_share
from evalkit.reporting.vocab import has_word, lang_code, word

__all__ = ["measurement_table", "data_quality_table", "means_figure", "session_table", "MIN_PLOT_N",
           "localised_distribution", "item_distribution_figure", "likert_figure"]

#: A community-wave mean resting on fewer respondents is not drawn (and no interval for it).
MIN_PLOT_N = 30


def _flag(code: Any, lang: str) -> str:
    if code is None or (isinstance(code, float) and pd.isna(code)) or not str(code).strip():
        return ""
    return "；".join(word(f"flag.{c.strip()}", lang) for c in str(code).split(";") if c.strip()) \
        if lang_code(lang) == "zh" else "; ".join(word(f"flag.{c.strip()}", lang) for c in str(code).split(";") if c.strip())


def measurement_table(m: Any, name: str, lang: str = "zh", *, codebook: Any = None) -> ReportTable:
    """One of ``overview, items, efa, weights, means, icc`` as a :class:`ReportTable`."""
    zh = lang_code(lang) == "zh"
    f = m.to_frame()
    label = {c: (codebook.construct_label(c, lang) if codebook is not None else lab)
             for c, lab in zip(f["construct"], f["label"], strict=True)}
    n_max = fmt_int(f["n_scored"].max())
    if name == "overview":
        frame = pd.DataFrame({
            word("col.construct", lang): [label[c] for c in f["construct"]],
            word("col.n_items", lang): [fmt_int(v) for v in f["n_items"]],
            word("col.n_scored", lang): [fmt_int(v) for v in f["n_scored"]],
            word("col.alpha_ci", lang): [fmt_ci(r.alpha, r.alpha_ci_lower, r.alpha_ci_upper, lang=lang)
                                         for r in f.itertuples(index=False)],
            word("col.omega", lang): [fmt_num(v) for v in f["omega_total"]],
            word("col.icc", lang): [fmt_num(v, 3) for v in f["icc"]],
            word("col.mean_ci", lang): [fmt_ci(r.weighted_mean, r.mean_ci_lower, r.mean_ci_upper, lang=lang)
                                        for r in f.itertuples(index=False)],
            word("col.n_flagged", lang): [fmt_int(v) for v in f["n_flagged_items"]],
        })
        return ReportTable(frame=frame, lang=lang, n=n_max, weighted="partial",
                           title="各维度测量质量概览" if zh else "Constructs at a glance",
                           unit=word("unit.mixed", lang),
                           method="Cronbach's α（Feldt 置信区间）、McDonald's ω（单因子 ML）、ICC（社区层面）" if zh else
                           "Cronbach's alpha (Feldt CI), McDonald's omega (one-factor ML), ICC (community level)",
                           notes=["加权均值的置信区间考虑社区整群抽样。" if zh else
                                  "Intervals of weighted means account for clustering by community."])
    if name == "items":
        it = m.reliability.items_overall()
        reverse = {v.name for v in codebook.items() if v.reverse} if codebook is not None else set()

        def question(item: str, fallback: str) -> str:
            text = codebook[item].label(lang) if codebook is not None and item in codebook else fallback
            return text + (word("flag.reverse", lang) if item in reverse else "")

        frame = pd.DataFrame({
            word("col.item", lang): list(it["item"]),
            word("col.question", lang): [question(i, lab) for i, lab in zip(it["item"], it["label"], strict=True)],
            word("col.n", lang): [fmt_int(v) for v in it["n_obs"]],
            word("col.mean", lang): [fmt_num(v) for v in it["mean"]],
            word("col.sd", lang): [fmt_num(v) for v in it["sd"]],
            word("col.r_corrected", lang): [fmt_num(v) for v in it["r_corrected"]],
            word("col.alpha_if_deleted", lang): [fmt_num(v) for v in it["alpha_if_deleted"]],
            word("col.flag", lang): [_flag(v, lang) for v in it["flag"]],
        })
        notes = ["反向题已在计分前反向编码。" if zh else "Reverse-keyed items were recoded before scoring."] if reverse else []
        return ReportTable(frame=frame, lang=lang, n=n_max, weighted="no", notes=notes,
                           title="题目分析" if zh else "Item analysis", unit=word("unit.mixed", lang),
                           method="校正题总相关、删除该题后的 α" if zh else "corrected item-total r, α if item deleted")
    if name == "efa":
        e = m.efa.to_frame()
        frame = pd.DataFrame({
            word("col.item", lang): list(e["item"]),
            word("col.assigned", lang): [label.get(c, c) for c in e["construct"]],
            word("col.main_factor", lang): [label.get(c.removeprefix("f_"), c) for c in e["primary_factor"]],
            word("col.loading", lang): [fmt_num(v) for v in e["primary_loading"]],
            word("col.communality", lang): [fmt_num(v) for v in e["communality"]],
            word("col.fits", lang): [fmt_bool(v, lang) for v in e["fits"]],
        })
        return ReportTable(frame=frame, lang=lang, n=fmt_int(m.efa.n_obs), weighted="no",
                           title="探索性因子分析：题目是否归属设定维度" if zh else "Exploratory factor analysis: do items fit their construct?",
                           unit=word("unit.mixed", lang),
                           method=f"最大似然提取，{m.efa.rotation} 旋转" if zh else f"maximum likelihood, {m.efa.rotation} rotation")
    if name == "weights" and m.weighting is None:  # no population margins: say how it was weighted
        return ReportTable(frame=pd.DataFrame(), lang=lang, weighted="no", title="",
                           empty=m._weighting_line(lang, 3))
    if name == "weights":
        w = m.weighting.to_frame()
        g = w.groupby("wave").agg(n_groups=("community_id", "nunique"), n_obs=("n_obs", "sum"),
                                  deff_kish=("deff_kish", "mean"), ess=("ess", "sum"),
                                  max_weight_ratio=("weight_ratio", "max"), all_converged=("converged", "all")).reset_index()
        frame = pd.DataFrame({
            word("col.wave", lang): [word("wave.n", lang, w=int(v)) for v in g["wave"]],
            word("col.communities", lang): [fmt_int(v) for v in g["n_groups"]],
            word("col.n", lang): [fmt_int(v) for v in g["n_obs"]],
            word("col.deff_kish", lang): [fmt_num(v) for v in g["deff_kish"]],
            word("col.ess", lang): [fmt_int(round(v)) for v in g["ess"]],
            word("col.max_weight_ratio", lang): [fmt_num(v, 1) for v in g["max_weight_ratio"]],
            word("col.all_converged", lang): [fmt_bool(v, lang) for v in g["all_converged"]],
        })
        return ReportTable(frame=frame, lang=lang, n=fmt_int(g["n_obs"].sum()), weighted="yes",
                           title="加权诊断（按轮次汇总）" if zh else "Weighting diagnostics by wave",
                           unit=word("unit.mixed", lang),
                           method="按年龄段 × 性别 × 户籍边际迭代比例加权（raking），每社区每轮单独进行" if zh else
                           "raking to age band × gender × hukou margins, per community and wave",
                           notes=["设计效应为 Kish 设计效应；有效样本量 = 样本量 / 设计效应。" if zh else
                                  "Design effect: Kish; effective N = N / design effect."])
    if name == "means":
        d = m.means_by_wave.to_frame()
        waves = sorted(d["wave"].unique())
        cells = {(r.outcome, r.wave): fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang) for r in d.itertuples(index=False)}
        constructs = list(dict.fromkeys(d["outcome"]))
        frame = pd.DataFrame({word("col.construct", lang): [label.get(c, c) for c in constructs],
                              **{word("wave.n", lang, w=int(w)): [cells.get((c, w), "—") for c in constructs]
                                 for w in waves}})
        n_by_wave = d.groupby("wave")["n_obs"].max()
        sep = "，" if zh else ", "
        n_text = sep.join(f"{word('wave.n', lang, w=int(w))} {fmt_int(n)}" for w, n in n_by_wave.items())
        return ReportTable(frame=frame, lang=lang, n=n_text, weighted="yes",
                           title="各轮次各维度加权均值及 95% 置信区间" if zh else "Weighted means by wave, with 95% CIs",
                           unit=word("unit.score", lang),
                           method="设计加权均值，标准误按社区整群线性化" if zh else
                           "design-weighted means, linearised SE clustered by community",
                           notes=[f"设计效应（相对简单随机抽样）介于 {fmt_num(d['deff'].min(), 1)} 与 "
                                  f"{fmt_num(d['deff'].max(), 1)} 之间，主要来自社区整群。" if zh else
                                  f"Design effects range from {fmt_num(d['deff'].min(), 1)} to "
                                  f"{fmt_num(d['deff'].max(), 1)}, mostly from clustering by community."])
    if name == "icc":
        icc = m.icc.to_frame()
        icc = icc[icc["group_var"] == "all"]
        frame = pd.DataFrame({
            word("col.construct", lang): [label.get(c, c) for c in icc["outcome"]],
            word("col.icc_ci", lang): [fmt_ci(r.icc, r.ci_lower, r.ci_upper, decimals=3, lang=lang)
                                       for r in icc.itertuples(index=False)],
            word("col.n_clusters", lang): [fmt_int(v) for v in icc["n_clusters"]],
            word("col.deff_cluster", lang): [fmt_num(v, 1) for v in icc["deff_cluster"]],
        })
        return ReportTable(frame=frame, lang=lang, n=n_max, weighted="no",
                           title="社区层面组内相关系数（ICC）" if zh else "Intra-class correlation (community level)",
                           unit="比例（0–1）" if zh else "share (0–1)",
                           method="单因素随机效应方差分解" if zh else "one-way random-effects variance decomposition",
                           notes=["整群设计效应 = 1 + (平均社区样本量 − 1) × ICC。" if zh else
                                  "Cluster design effect = 1 + (mean cluster size − 1) × ICC."])
    msg = f"unknown measurement table {name!r}; use overview, items, efa, weights, means or icc"
    raise KeyError(msg)


def data_quality_table(profile: Any, study: Any, name: str, lang: str = "zh") -> ReportTable:
    """One of ``sources, missingness, warnings`` as a :class:`ReportTable`."""
    zh = lang_code(lang) == "zh"
    cb = study.codebook
    if name == "sources":
        s = study.sources
        cols = {c.lower(): c for c in s.columns}
        from evalkit.datamodel import TABLES

        def table_name(code: str) -> str:
            spec = TABLES.get(code)
            return (spec.label_zh if zh else spec.label_en) if spec else code

        frame = pd.DataFrame({
            word("col.source_table", lang): [table_name(t) for t in s[cols.get("table", s.columns[0])]],
            word("col.file", lang): [str(v) for v in s[cols["file"]]] if "file" in cols else "",
            word("col.rows", lang): [fmt_int(v) for v in s[cols["rows"]]] if "rows" in cols else "",
        })
        return ReportTable(frame=frame, lang=lang, weighted="none", title="数据来源" if zh else "Data sources",
                           notes=["文件路径相对于研究配置文件所在文件夹。" if zh else
                                  "File paths are relative to the study config's folder."])
    if name == "missingness":
        miss = profile.missingness
        frame = pd.DataFrame({
            word("col.column", lang): [cb[c].label(lang) if c in cb else
                                       word(f"var.{c}", lang) if has_word(f"var.{c}") else c for c in miss["column"]],
            word("col.construct", lang): ["" if pd.isna(c) or c is None else cb.construct_label(c, lang)
                                          for c in miss["construct"]],
            word("col.n_missing", lang): [fmt_int(v) for v in miss["n_missing"]],
            word("col.share_missing", lang): [fmt_share(v) for v in miss["share_missing"]],
            word("col.n_missing_codes", lang): [fmt_int(v) for v in miss["n_missing_codes"]],
        })
        return ReportTable(frame=frame, lang=lang, weighted="no", n=fmt_int(profile.headline()["n_respondents"]),
                           title="各变量缺失情况" if zh else "Missing data by variable", unit=word("unit.persons", lang),
                           notes=["“缺失代码数”为读入时由“不知道”“拒答”等代码转为缺失值的回答数。" if zh else
                                  "Missing codes: answers such as \"don't know\" or \"refused\" turned into missing values at intake."])
    if name == "warnings":
        w = profile.warnings
        frame = pd.DataFrame({
            word("col.severity", lang): [word(f"severity.{s}", lang) if s in {"error", "warning"} else str(s)
                                         for s in w.get("severity", [])],
            word("col.file", lang): [str(v) for v in w.get("file", [])],
            word("col.column", lang): [str(v) for v in w.get("column", [])],
            word("col.rows", lang): [str(v) for v in w.get("rows", [])],
            word("col.message", lang): [str(v) for v in w.get("message", [])],
        })
        from evalkit.reporting.text import text

        return ReportTable(frame=frame, lang=lang, weighted="none", n=fmt_int(len(w)),
                           title="数据校验提示" if zh else "Validation warnings", empty=text("dq_no_warnings", lang))
    msg = f"unknown data-quality table {name!r}; use sources, missingness or warnings"
    raise KeyError(msg)


def means_figure(m: Any, construct: str, lang: str = "zh", *, study: Any = None,
                 min_n: int = MIN_PLOT_N) -> tuple[Any, int]:
    """Weighted means by community and wave, leaving out cells under ``min_n`` respondents.

    Communities are named from the study's community table when ``study`` is given. Returns the
    Axes and the number of community-wave cells left out (no point and no interval is drawn
    for a mean resting on a handful of respondents).
    """
    from attrs import evolve

    from evalkit.reporting.measurement_figures import plot_means

    res = m.means_by_community
    est = res.estimates
    keep = est["n_obs"] >= min_n
    dropped = int((~keep & (est["outcome"] == construct)).sum())
    shown = est[keep].reset_index(drop=True)
    community = list(res.by)[0] if len(res.by) else None
    if study is not None and community is not None and "communities" in study.tables:
        names = study.tables["communities"].set_index("community_id")["community_name"].astype(str)
        shown[community] = shown[community].map(lambda c: names.get(c, c))
    return plot_means(evolve(res, estimates=shown), outcome=construct, lang=lang), dropped


def session_table(lang: str = "zh") -> ReportTable:
    """Software versions of the run (:func:`evalkit.session_info`)."""
    from evalkit import session_info

    info = session_info()
    frame = pd.DataFrame({word("col.package", lang): [str(v) for v in info["component"]],
                          word("col.version", lang): [str(v) for v in info["version"]]})
    zh = lang_code(lang) == "zh"
    return ReportTable(frame=frame, lang=lang, weighted="none", title="运行环境" if zh else "Session information",
                       notes=["用于复现本报告。" if zh else "For reproducing this report."])


_QUANTITY = {
    "alpha": ("Cronbach's α、标准化 α、校正题总相关、删除后 α、Feldt 置信区间",
              "Cronbach's α, standardised α, item-total r, α if deleted, Feldt CI"),
    "omega": ("McDonald's ω（单因子最大似然）", "McDonald's ω (one-factor ML)"),
    "efa": ("探索性因子分析载荷（最大似然，oblimin 旋转）", "EFA loadings (ML, oblimin)"),
    "survey_means": ("设计加权均值、标准误、设计效应、t 置信区间（分层、整群、有限总体校正、子总体）",
                     "design-based means, SEs, design effects, t CIs (strata, clusters, FPC, domains)"),
    "proportions": ("比例及 logit 置信区间", "proportions with logit CI"),
    "weights": ("迭代比例加权、事后分层与权重截尾", "raking, post-stratification and trimming weights"),
    "icc": ("组内相关系数（方差分析；REML 随机截距）", "ICC (ANOVA; REML random intercept)"),
}


def validation_markdown(rows: Any, lang: str = "zh") -> str:
    """The measurement report's validation note and table (Markdown) from ``evalkit.measurement.VALIDATION``."""
    zh = lang_code(lang) == "zh"
    head = ("| 指标 | 参照（R 4.2.2） | 最大差异 | 测试容差 |" if zh
            else "| Quantity | Reference (R 4.2.2) | Max difference | Test tolerance |")
    lines = [
        "测量模块的每个估计量都与独立软件的结果逐一核对（脚本、R 版本与输出见 tests/reference/measurement）："
        if zh else "Each measurement estimator was checked against independent software (script, R versions and "
        "output in tests/reference/measurement):",
        "", head, "|---|---|---|---|",
    ]
    for v in rows:
        name = _QUANTITY[v["id"]][0 if zh else 1] if v.get("id") in _QUANTITY else v["quantity"]
        agreement, tolerance = v["agreement"], v["tolerance"]
        if zh:
            agreement, tolerance = (x.replace(" (abs)", "（绝对）").replace(" (rel)", "（相对）")
                                    for x in (agreement, tolerance))
        lines.append(f"| {name} | {v['reference']} | {agreement} | {tolerance} |")
    lines += ["", "另有模拟数据上的已知真值检验（α、ω、ICC、置信区间覆盖率、加权纠偏）与 Hypothesis 性质检验。" if zh else
              "Known-truth checks on simulated data (α, ω, ICC, CI coverage, weighting bias) and Hypothesis "
              "property tests complement them."]
    return "\n".join(lines)


def localised_distribution(dist: pd.DataFrame, codebook: Any, lang: str = "zh") -> pd.DataFrame:
    """An item-distribution frame with question texts in ``lang`` from the codebook.

    Value labels the codebook has only in Chinese are dropped in an English report (the legend
    then shows the answer codes, explained in the figure note), so no Chinese reaches it.
    """
    import re

    out = dist.copy()
    if "item" in out and "label" in out:
        out["label"] = [codebook[i].label(lang) if i in codebook else lab for i, lab in zip(out["item"], out["label"],
                                                                                          strict=True)]
    if lang_code(lang) == "en" and "value_label" in out:
        out["value_label"] = ["" if re.search(r"[\u3400-\u9fff]", str(v)) else v for v in out["value_label"]]
    return out


def item_distribution_figure(profile: Any, study: Any, lang: str = "zh") -> Any:
    """The data-quality report's answer distribution of every item, labelled in ``lang``."""
    from evalkit.reporting.figures import item_distribution_bars

    return item_distribution_bars(localised_distribution(profile.item_distributions, study.codebook, lang), lang=lang)


def likert_figure(m: Any, construct: str, study: Any, lang: str = "zh") -> Any:
    """The measurement report's diverging bars of one construct's items, labelled in ``lang``."""
    from evalkit.reporting.measurement_figures import plot_likert

    dist = localised_distribution(m.item_distribution, study.codebook, lang)
    return plot_likert(dist, construct=construct, lang=lang, title="")
