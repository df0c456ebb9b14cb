"""The impact report's section on further designs, built from a
:class:`~evalkit.design_analysis.DesignsReport`.

Formats only: every number comes from the report objects unchanged. One summary table puts
the main staggered DiD estimate next to each configured design per outcome (with the known
truth of each row's own estimand for a synthetic study); per design, the detail a reader
needs to judge it: balance before and after matching or weighting (table and Love plot) and
the multilevel model's variance components. Words come from :mod:`evalkit.reporting.vocab`,
:mod:`evalkit.reporting.text` and :mod:`evalkit.reporting.design_text` (reason codes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.design_text import caveat_text
from evalkit.reporting.tables import ReportTable, fmt_ci, fmt_int, fmt_num, fmt_p, sig_marks
from evalkit.reporting.text import text
from evalkit.reporting.vocab import has_word, lang_code, word

__all__ = ["add_design_checks", "design_explanations", "designs_summary_table", "design_balance_table",
           "design_love_figure", "designs_variance_table", "pre_post_only_table"]

#: marks for the reason codes of a table, in order of appearance
_MARKS = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_COMMUNITY = ("matching", "weighting")


def _outcome(study: Any, code: str, lang: str) -> str:
    return study.codebook.construct_label(code, lang)


def _design_name(row: Any, lang: str) -> str:
    key = row.method if row.design == "weighting" else row.design
    return word(f"design.{key}", lang)


def _item_label(study: Any, name: str | None, lang: str) -> str:
    if not name:
        return ""
    var = next((v for v in study.codebook.variables if v.name == name), None)
    return var.label(lang) if var is not None else name


def _estimand(row: Any, report: Any, study: Any, lang: str) -> str:
    if row.unit == "community":
        spec = report.specification.set_index("design").loc[row.design]
        return word(f"estimand.community_{row.estimand}", lang, base=int(spec["baseline_year"]),
                    last=int(spec["last_year"]))
    if row.estimand == "odds_ratio":
        return word("estimand.odds_ratio", lang, item=_item_label(study, row.item, lang))
    return word(f"estimand.{row.estimand}", lang)


def _caveat_marks(codes_per_row: list[list[str]], lang: str) -> tuple[list[str], list[str]]:
    """Per row the marks of its reason codes, and one note per code (in order of appearance)."""
    order: list[str] = []
    for codes in codes_per_row:
        order += [c for c in codes if c not in order]
    mark = {c: _MARKS[i] if i < len(_MARKS) else f"({i + 1})" for i, c in enumerate(order)}
    cells = ["".join(mark[c] for c in codes) for codes in codes_per_row]
    notes = [f"{mark[c]} {caveat_text(c, lang)}" for c in order]
    return cells, notes


def _codes(value: Any) -> list[str]:
    return [c for c in str(value or "").split(";") if c and c != "nan"]


def _truth(report: Any, impact: Any, study: Any) -> tuple[pd.Series, dict[str, float]] | None:
    from evalkit.design_analysis import design_truth, truth_file

    truth = truth_file(study)
    if truth is None:
        return None
    from evalkit.impact import truth_comparison

    main = {} if impact is None else dict(zip(*truth_comparison(impact, truth, study)[["outcome", "true_effect"]]
                                              .to_numpy().T, strict=True))
    return design_truth(report, truth, study), main


def designs_summary_table(report: Any, impact: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Per outcome: the main estimate, then each configured design (one row each)."""
    zh = lang_code(lang) == "zh"
    est = report.estimates
    truth = _truth(report, impact, study)
    rows, codes = [], []
    control = study.config.comparison if isinstance(study.config.comparison, str) else "never_treated"
    main = impact.estimates.set_index("outcome") if impact is not None else pd.DataFrame()
    outcomes = list(dict.fromkeys([*(main.index if len(main) else []), *est["outcome"]]))
    for o in outcomes:
        if o in main.index:
            m = main.loc[o]
            cell = f"{fmt_ci(m['estimate'], m['ci_lower'], m['ci_upper'], lang=lang)} {sig_marks(m['p_value'])}".rstrip()
            n_t = int(m["n_treated_clusters"])
            rows.append({"outcome": _outcome(study, o, lang), "design": word(f"design.cs_{control}", lang),
                         "estimand": word("estimand.main", lang), "effect": cell, "p": fmt_p(m["p_value"]),
                         "units": f"{n_t} / {int(m['n_clusters']) - n_t}",
                         "truth": fmt_num(truth[1].get(o)) if truth else None})
            codes.append([])
        for r in est[est["outcome"] == o].itertuples():
            ok = r.status == "ok"
            cell = (f"{fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)} {sig_marks(r.p_value)}".rstrip()
                    if ok else "—")
            rows.append({"outcome": _outcome(study, o, lang), "design": _design_name(r, lang),
                         "estimand": _estimand(r, report, study, lang), "effect": cell,
                         "p": fmt_p(r.p_value) if ok else "—",
                         "units": "—" if pd.isna(r.n_treated) else
                         f"{fmt_int(r.n_treated)} / {fmt_int(r.n_comparison)}",
                         "truth": fmt_num(truth[0].loc[r.Index]) if truth else None})
            codes.append(_codes(r.caveats))
    marks, notes = _caveat_marks(codes, lang)
    shown = [r["outcome"] if i == 0 or rows[i - 1]["outcome"] != r["outcome"] else "" for i, r in enumerate(rows)]
    frame = pd.DataFrame({
        word("col.outcome", lang): shown,  # each outcome named once, on the first row of its group
        word("col.design", lang): [r["design"] for r in rows],
        word("col.estimand", lang): [r["estimand"] for r in rows],
        word("col.effect_ci", lang): [r["effect"] for r in rows],
        word("col.p", lang): [r["p"] for r in rows],
        word("col.units_tc", lang): [r["units"] for r in rows],
    })
    if truth:
        frame[word("col.true_effect", lang)] = [r["truth"] for r in rows]
    frame[word("col.remarks", lang)] = marks
    present = set(report.designs)
    parts = {  # what each configured kind of design compares, in the table's note
        "community": ("社区层面的匹配与加权比较各社区从第一轮到最后一轮的均值变化（对变化的匹配 / 加权双重差分）",
                      "community-level matching and weighting compare each community's change in mean score from "
                      "the first to the last wave (a matched / weighted difference-in-differences on changes)"),
        "resident": ("多层模型与有序 logit 使用居民层面数据", "the multilevel model and the ordered logit use "
                     "resident-level data"),
        "pre_post": ("试点前后比较只用试点社区", "the before-after comparison uses pilots only"),
    }
    keys = [k for k, names in (("community", {"matching", "weighting"}), ("resident", {"multilevel", "ordered_logit"}),
                               ("pre_post", {"pre_post"})) if names & present]
    said = [parts[k][0 if zh else 1] for k in keys]
    lead = ("；".join(said) + "。") if zh else ("; ".join(said)[:1].upper() + "; ".join(said)[1:] + ".")
    if truth:
        lead += ("真实效应按各行自己的估计对象汇总（仅合成数据）；优势比与 ATE 没有对应的真实值（—）。" if zh else
                 " The known true effect is aggregated for each row's own quantity (synthetic data only); odds "
                 "ratios and ATEs have none (—).")
    return ReportTable(frame=frame, lang=lang, weighted="yes" if report.weights else "no", significance=True,
                       title="主估计与其他研究设计的比较" if zh else "The main estimate and the other designs",
                       unit=("分（量表 1–5；参与为 0–1 比例）；有序 logit 为优势比" if zh else
                             "points (1–5 scales; participation as a 0–1 share); odds ratios for the ordered logit"),
                       inference=("各设计的推断方法见其说明；社区层面为配对聚类或堆叠估计方程三明治标准误，居民层面按社区聚类" if zh else
                                  "per design: pair-clustered or stacked-sandwich SEs at community level; "
                                  "community-clustered at resident level"),
                       notes=[lead, *notes])


def _covariate(code: str, lang: str) -> str:
    return word(f"covar.{code}", lang) if has_word(f"covar.{code}") else code


def _balance_rows(report: Any, design: str) -> tuple[pd.DataFrame, bool]:
    """The design's balance rows; ``True`` when they are the same for every outcome (shown once)."""
    bal = report.balance[report.balance["design"] == design]
    outcomes = list(dict.fromkeys(bal["outcome"]))
    cols = ["smd_before", "smd_after", "var_ratio_before", "var_ratio_after"]
    first = bal[bal["outcome"] == outcomes[0]][["covariate", *cols]].reset_index(drop=True)
    same = all(np.allclose(bal[bal["outcome"] == o][cols].to_numpy(float), first[cols].to_numpy(float),
                           equal_nan=True) and list(bal[bal["outcome"] == o]["covariate"]) == list(first["covariate"])
               for o in outcomes[1:])
    return (bal[bal["outcome"] == outcomes[0]] if same else bal), same


def _method(report: Any, design: str) -> str:
    spec = report.specification.set_index("design").loc[design]
    return "matching" if design == "matching" else str(spec["method"])


def design_balance_table(report: Any, study: Any, design: str, lang: str = "zh") -> ReportTable:
    """Balance of the baseline covariates before and after matching or weighting (one design)."""
    zh = lang_code(lang) == "zh"
    if report.balance.empty or design not in set(report.balance["design"]):
        return ReportTable(frame=pd.DataFrame(), title="", lang=lang)
    bal, same = _balance_rows(report, design)
    frame = pd.DataFrame({
        **({} if same else {word("col.outcome", lang): [_outcome(study, o, lang) for o in bal["outcome"]]}),
        word("col.covariate", lang): [_covariate(c, lang) for c in bal["covariate"]],
        word("col.mean_treated", lang): [fmt_num(v) for v in bal["mean_treated_before"]],
        word("col.mean_control_before", lang): [fmt_num(v) for v in bal["mean_control_before"]],
        word("col.mean_control_after", lang): [fmt_num(v) for v in bal["mean_control_after"]],
        word("col.smd_before", lang): [fmt_num(v) for v in bal["smd_before"]],
        word("col.smd_after", lang): [f"{fmt_num(v)}{' †' if abs(v) > 0.1 else ''}" for v in bal["smd_after"]],
        word("col.vr_before", lang): [fmt_num(v) for v in bal["var_ratio_before"]],
        word("col.vr_after", lang): [fmt_num(v) for v in bal["var_ratio_after"]],
    })
    name = word(f"design.{_method(report, design)}", lang)
    notes = ["† 调整后 |SMD| > 0.1，仍不平衡。SMD 分母为试点组（ATT）或两组平均（ATE）的基线标准差，调整前后相同；"
             "方差比为试点 / 对照，二元变量不计算（—）。" if zh else
             "† |SMD| > 0.1 after adjustment: still imbalanced. The SMD denominator is the baseline SD of the pilots "
             "(ATT) or of both groups (ATE), the same before and after; variance ratio = pilot / comparison, not "
             "computed for binary covariates (—)."]
    if same:
        notes.append("各结果的匹配 / 加权使用相同的协变量和社区，平衡情况相同，只列一次。" if zh else
                     "Every outcome uses the same covariates and communities, so balance is the same and shown once.")
    n_t = int(report.specification.set_index("design").loc[design, "n_treated"])
    n_c = int(report.specification.set_index("design").loc[design, "n_comparison"])
    return ReportTable(frame=frame, lang=lang, weighted="no",
                       title=(f"基线协变量平衡：{name}" if zh else f"Baseline covariate balance: {name}"),
                       n=(f"{n_t} 个试点社区，{n_c} 个对照社区" if zh else f"{n_t} pilots, {n_c} comparison communities"),
                       unit=word("unit.mixed", lang), method=name, notes=notes)


def design_love_figure(report: Any, study: Any, design: str, lang: str = "zh") -> Any:
    """Love plot of one matching or weighting design (one panel, or one per outcome when balance differs)."""
    import matplotlib.pyplot as plt

    from evalkit.reporting.design_figures import love_plot
    from evalkit.reporting.fonts import setup_matplotlib_fonts

    setup_matplotlib_fonts()
    bal, same = _balance_rows(report, design)
    bal = bal.assign(covariate=[_covariate(c, lang) for c in bal["covariate"]])
    panels = [(None, bal)] if same else [(o, bal[bal["outcome"] == o]) for o in dict.fromkeys(bal["outcome"])]
    n_cov = max(len(p) for _, p in panels)
    ncols = min(2, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols if ncols > 1 else 6.5, nrows * (0.9 + 0.35 * n_cov)),
                             layout="constrained", squeeze=False)
    for ax, (outcome, part) in zip(axes.flat, panels, strict=False):
        love_plot(part, ax=ax, lang=lang)
        if outcome:  # the document clears titles (the caption carries it): name the panel on its axis
            ax.set_ylabel(_outcome(study, outcome, lang))
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return axes.flat[0]


def designs_variance_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Multilevel model: variance components and ICCs per outcome."""
    zh = lang_code(lang) == "zh"
    vc, icc = report.variance_components, report.icc
    if vc.empty:
        return ReportTable(frame=pd.DataFrame(), title="", lang=lang)
    rows = []
    for o in dict.fromkeys(vc["outcome"]):
        v, i = vc[vc["outcome"] == o], icc[icc["outcome"] == o].set_index("measure")["value"]

        def pick(t1: str, t2: str, col: str = "variance") -> Any:
            hit = v[(v["term_1"] == t1) & (v["term_2"] == t2)]
            return hit[col].iloc[0] if len(hit) else np.nan

        rows.append({"outcome": _outcome(study, o, lang), "intercept": fmt_num(pick("(Intercept)", "(Intercept)"), 3),
                     "slope": fmt_num(pick("pilot_post", "pilot_post"), 3),
                     "corr": fmt_num(pick("(Intercept)", "pilot_post", "correlation")),
                     "resid": fmt_num(pick("residual", "residual"), 3),
                     "icc_a": fmt_num(i.get("icc_adjusted"), 3), "icc_c": fmt_num(i.get("icc_conditional"), 3)})
    frame = pd.DataFrame({
        word("col.outcome", lang): [r["outcome"] for r in rows],
        word("col.var_intercept", lang): [r["intercept"] for r in rows],
        word("col.var_slope", lang): [r["slope"] for r in rows],
        word("col.corr_re", lang): [r["corr"] for r in rows],
        word("col.var_residual", lang): [r["resid"] for r in rows],
        word("col.icc_adjusted", lang): [r["icc_a"] for r in rows],
        word("col.icc_conditional", lang): [r["icc_c"] for r in rows],
    })
    notes = ["调整 ICC = 社区间方差 / (社区间方差 + 残差方差)；条件 ICC 的分母另含固定效应（年份、居民特征、试点）解释的方差"
             "（Nakagawa 等 2017）。含随机斜率时社区间方差取样本各观测处的平均值。没有随机斜率时相应列为“—”。" if zh else
             "Adjusted ICC = between-community variance / (between + residual); the conditional ICC also counts the "
             "variance explained by the fixed effects (year, resident characteristics, pilot) in the denominator "
             "(Nakagawa et al. 2017). With a random slope the between-community variance is averaged over the "
             "sample's observations. Without a random slope those columns show —."]
    n = int(report.estimates.loc[report.estimates["design"] == "multilevel", "n_units"].max())
    return ReportTable(frame=frame, lang=lang, weighted="no",
                       title="多层模型的方差分解" if zh else "Multilevel model: variance components",
                       n=(f"{n} 个社区的受访居民" if zh else f"residents of {n} communities"),
                       unit=("分的平方" if zh else "squared points"), method=word("design.multilevel", lang),
                       inference=word("method.mixed_model", lang), notes=notes)


def design_explanations(report: Any, lang: str = "zh") -> list[str]:
    """One plain-language paragraph per configured design (what it does, why it is a cross-check)."""
    return [text(f"design_explain_{d}", lang) for d in report.designs]


def add_design_checks(doc: Any, report: Any, impact: Any, study: Any, lang: str = "zh") -> None:
    """The section "Other designs as cross-checks": intro, one summary table, balance tables and Love
    plots of the community-level designs, the multilevel variance components. Nothing without designs."""
    if report.is_empty:
        return
    if impact is not None and impact.estimates.empty:  # no comparison communities: pre-post only
        doc.section("impact_pre_post_only")
        doc.table(pre_post_only_table(report, study, lang))
        return
    doc.section("impact_designs")
    doc.bullets(design_explanations(report, lang))
    doc.table(designs_summary_table(report, impact, study, lang))
    for design in report.designs:
        if design in _COMMUNITY and not report.balance.empty and design in set(report.balance["design"]):
            doc.table(design_balance_table(report, study, design, lang))
            name = word(f"design.{_method(report, design)}", lang)
            doc.figure(design_love_figure(report, study, design, lang), name=f"love_plot_{design}",
                       title=text("fig_love", lang, design=name), notes=[text("fig_love_note", lang)])
        elif design == "multilevel":
            doc.table(designs_variance_table(report, study, lang))


def pre_post_only_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """The pre-post rows of a study without comparison communities, clearly the weakest design."""
    zh = lang_code(lang) == "zh"
    est = report.estimates[report.estimates["design"] == "pre_post"]
    codes = [_codes(c) for c in est["caveats"]]
    marks, notes = _caveat_marks(codes, lang)
    others = report.estimates[report.estimates["design"] != "pre_post"]
    if len(others):  # the configured designs that need comparison communities
        names = dict.fromkeys(_design_name(r, lang) for r in others.itertuples())
        notes.append(("研究配置中的其他设计（" + "、".join(names) + "）需要对照社区，未能估计。") if zh else
                     ("The other designs of the study config (" + "; ".join(names) + ") need comparison "
                      "communities and were not estimated."))
    frame = pd.DataFrame({
        word("col.outcome", lang): [_outcome(study, o, lang) for o in est["outcome"]],
        word("col.estimand", lang): [word("estimand.post", lang)] * len(est),
        word("col.effect_ci", lang): [f"{fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)} {sig_marks(r.p_value)}"
                                      .rstrip() if r.status == "ok" else "—" for r in est.itertuples()],
        word("col.p", lang): [fmt_p(p) for p in est["p_value"]],
        word("col.n_treated", lang): [fmt_int(v) for v in est["n_treated"]],
        word("col.remarks", lang): marks,
    })
    return ReportTable(frame=frame, lang=lang, weighted="yes" if report.weights else "no", significance=True,
                       title=("试点社区启动前后的变化（无对照组，证据最弱）" if zh else
                              "Change in pilot communities after the start (no comparison group; weakest design)"),
                       unit=word("unit.score", lang), method=word("design.pre_post", lang),
                       inference=word("method.cr2", lang), notes=notes)
