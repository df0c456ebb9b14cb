"""Tables, figures and sentences of the showcase report (one pilot, synthetic control), zh / en.

Formats only: the numbers come from :class:`evalkit.showcase.ShowcaseReport`, the
diagnostics' words from :mod:`evalkit.reporting.synthetic_display`. Communities are named by
their registry name (a public place name, never a person); counts of respondents under
:data:`evalkit.reporting.pilot_display.MIN_CELL` are not published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.reporting.pilot_display import MIN_CELL
from evalkit.reporting.programme_display import community_names
from evalkit.reporting.synthetic_display import DIAGNOSTIC_TEXT
from evalkit.reporting.tables import ReportTable, fmt_ci, fmt_int, fmt_num, fmt_p
from evalkit.reporting.text import TEXT as _TEXT_KEYS
from evalkit.reporting.text import lang_code, text
from evalkit.reporting.vocab import word

__all__ = ["showcase_title", "showcase_facts_table", "showcase_main_table", "showcase_cross_table",
           "showcase_robustness_table",
           "showcase_weights_table", "showcase_truth_table", "showcase_trajectory_figure",
           "showcase_gap_figure", "showcase_summary", "showcase_limitations"]

_DESIGN = {
    "synthetic_control": ("合成控制法", "Synthetic control"),
    "synthetic_did": ("合成双重差分", "Synthetic difference-in-differences"),
    "did": ("普通双重差分（对照社区等权）", "Plain difference-in-differences (comparisons weighted equally)"),
}


def _zh(lang: str) -> bool:
    return lang_code(lang) == "zh"


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if _zh(lang) else pair[1]


def _name(study: Any, cid: str, lang: str) -> str:
    """The community's name as a report in ``lang`` shows it (English reports carry no Chinese)."""
    return community_names(study, lang).get(str(cid), str(cid))


def _outcome(study: Any, code: str, lang: str) -> str:
    return study.codebook.construct_label(code, lang)


def _count(n: int) -> str:
    return f"<{MIN_CELL}" if 0 < n < MIN_CELL else fmt_int(n)


def _method_text(report: Any, lang: str) -> str:
    return _pick(_DESIGN[report.method], lang)


def showcase_title(report: Any, study: Any, lang: str = "zh") -> str:
    return text("showcase_title", lang, name=_name(study, report.pilot["community_id"], lang),
                study=study.config.display_name(lang))


def showcase_facts_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """The pilot: where, which programme, since when, the survey years and respondents on each side."""
    p = report.pilot
    reg = study.tables["communities"].set_index("community_id")
    row = reg.loc[p["community_id"]] if p["community_id"] in reg.index else pd.Series(dtype=object)
    zh = _zh(lang)
    years = lambda ys: "、".join(map(str, ys)) if zh else ", ".join(map(str, ys))  # noqa: E731
    items = [
        (("社区", "Community"), _name(study, p["community_id"], lang)),
        *([(("所在区（县）", "District"), str(row.get("district")) if not pd.isna(row.get("district")) else "—")]
          if zh else []),  # place names are Chinese: an English report leaves them out
        (("试点类型", "Programme"), word(f"programme.{p['programme']}", lang)),
        (("启动日期", "Start date"), p["start_date"]),
        (("试点前的调查年份", "Survey years before the start"), years(p["years_before"]) or "—"),
        (("试点后的调查年份", "Survey years from the start"), years(p["years_after"]) or "—"),
        (("试点前受访居民", "Residents interviewed before"), _count(p["respondents_before"])),
        (("试点后受访居民", "Residents interviewed from the start"), _count(p["respondents_after"])),
        (("可用的对照社区", "Comparison communities available"), fmt_int(p["donors_offered"])),
    ]
    frame = pd.DataFrame({("项目" if zh else "Item"): [_pick(k, lang) for k, _ in items],
                          ("内容" if zh else "Value"): [v for _, v in items]})
    return ReportTable(frame=frame, lang=lang, weighted="none",
                       title="示范试点社区概况" if zh else "The showcase pilot",
                       notes=[text("showcase_facts_note", lang, min_cell=MIN_CELL)])


def _p_cell(r: Any) -> str:
    return f"{fmt_p(r.p_value)}{' †' if r.headline_p == 'effect_rank' else ''}"


def showcase_main_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Per outcome: effect with the placebo interval, the permutation p-value, the pre-period fit."""
    est = report.estimates
    ok = est[est["status"] == "estimated"]
    zh = _zh(lang)
    frame = pd.DataFrame({
        word("col.outcome", lang): [_outcome(study, o, lang) for o in ok["outcome"]],
        word("col.effect_ci", lang): [fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)
                                      for r in ok.itertuples(index=False)],
        ("置换检验 p 值" if zh else "Permutation p-value"): [_p_cell(r) for r in ok.itertuples(index=False)],
        ("事前拟合误差（RMSPE）" if zh else "Pre-start fit error (RMSPE)"): [fmt_num(v, 3) for v in ok["pre_rmspe"]],
        ("试点前结果的标准差" if zh else "SD of the pilot's pre-start outcome"): [fmt_num(v, 3) for v in ok["pre_sd"]],
        ("对照社区数" if zh else "Comparison communities"): [fmt_int(v) for v in ok["n_donors"]],
    })
    notes = [text("showcase_main_note", lang)]
    if (ok["headline_p"] == "effect_rank").any():
        notes.append(text("showcase_effect_rank_note", lang))
    skipped = est[est["status"] != "estimated"]
    if len(skipped):
        notes.append(text("showcase_not_estimable", lang, outcomes=_list(
            [_outcome(study, o, lang) for o in skipped["outcome"]], lang)))
    n_pre, n_post = len(report.pilot["years_before"]), len(report.pilot["years_after"])
    return ReportTable(frame=frame, lang=lang, weighted="yes" if _weighted(report) else "no",
                       title=("示范试点社区的效应：{m}" if zh else "Effect on the showcase pilot: {m}").format(
                           m=_method_text(report, lang)),
                       unit=word("unit.score", lang),
                       n=(f"1 个试点社区，{fmt_int(ok['n_donors'].max() if len(ok) else 0)} 个对照社区，"
                          f"试点前 {n_pre} 年、试点后 {n_post} 年" if zh else
                          f"1 pilot, {fmt_int(ok['n_donors'].max() if len(ok) else 0)} comparison communities, "
                          f"{n_pre} years before and {n_post} from the start"),
                       method=_method_text(report, lang), inference=word("method.placebo_permutation", lang),
                       notes=notes)


def _weighted(report: Any) -> bool:
    """Whether the community means were survey-weighted (the synthetic designs themselves take no weights)."""
    return bool(report.pilot.get("weighted", False))


def showcase_cross_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Per outcome, the estimate of each method: the chosen one first."""
    cc = report.cross_check
    order = [report.method] + [d for d in ("synthetic_control", "synthetic_did", "did") if d != report.method]
    frame = pd.DataFrame({word("col.outcome", lang): [_outcome(study, o, lang) for o in cc["outcome"].unique()]})
    for design in order:
        part = cc[cc["design"] == design].set_index("outcome")
        frame[_pick(_DESIGN[design], lang)] = [
            fmt_ci(part.loc[o, "estimate"], part.loc[o, "ci_lower"], part.loc[o, "ci_upper"], lang=lang)
            for o in cc["outcome"].unique()]
    zh = _zh(lang)
    return ReportTable(frame=frame, lang=lang, weighted="yes" if _weighted(report) else "no",
                       title="不同方法的交叉检验" if zh else "Cross-check with other methods",
                       unit=word("unit.score", lang), inference=word("method.placebo_variance", lang),
                       notes=[text("showcase_cross_note", lang)])


def showcase_robustness_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Per outcome: the estimate, its range when each weighted comparison community is left out, and
    the in-time placebo (the start moved one survey year earlier)."""
    rob = report.robustness
    est = report.estimates[report.estimates["status"] == "estimated"].set_index("outcome")
    zh = _zh(lang)
    outcomes = [o for o in est.index if o in report.results]
    loo = rob[rob["check"] == "leave_one_out"].groupby("outcome")["estimate"].agg(["min", "max"])
    placebo = rob[rob["check"] == "in_time_placebo"].set_index("outcome")
    frame = pd.DataFrame({
        word("col.outcome", lang): [_outcome(study, o, lang) for o in outcomes],
        ("主估计" if zh else "Main estimate"): [fmt_num(est.loc[o, "estimate"]) for o in outcomes],
        ("去掉单个对照社区后的范围" if zh else "Range leaving out one comparison community"): [
            (f"{fmt_num(loo.loc[o, 'min'])} 至 {fmt_num(loo.loc[o, 'max'])}" if zh else
             f"{fmt_num(loo.loc[o, 'min'])} to {fmt_num(loo.loc[o, 'max'])}") if o in loo.index else "—"
            for o in outcomes],
        ("假定提前一年启动的“效应”" if zh else "Effect if the start were one year earlier"): [
            fmt_num(placebo.loc[o, "estimate"]) if o in placebo.index else "—" for o in outcomes],
    })
    fake = int(placebo["start"].iloc[0]) if len(placebo) else None
    return ReportTable(frame=frame, lang=lang, weighted="no", unit=word("unit.score", lang),
                       title="稳健性检验" if zh else "Robustness checks",
                       method=_method_text(report, lang),
                       notes=[text("showcase_robustness_note", lang, year=fake if fake is not None else "—")])


def showcase_weights_table(report: Any, study: Any, lang: str = "zh") -> ReportTable:
    """Which comparison communities make up the synthetic comparison, per outcome (weights in %)."""
    outcomes = list(report.results)
    weights = {o: report.weights(o).set_index("unit")["weight"] for o in outcomes}
    used = sorted({u for w in weights.values() for u, v in w.items() if v >= 0.005},
                  key=lambda u: -sum(float(w.get(u, 0.0)) for w in weights.values()))
    frame = pd.DataFrame({("对照社区" if _zh(lang) else "Comparison community"): [_name(study, u, lang) for u in used]})
    for o in outcomes:
        frame[_outcome(study, o, lang)] = [_weight(weights[o].get(u, 0.0)) for u in used]
    zh = _zh(lang)
    return ReportTable(frame=frame, lang=lang, weighted="none",
                       title="合成对照的构成（对照社区权重）" if zh else "What the synthetic comparison is made of (weights)",
                       unit="%", notes=[text("showcase_weights_note", lang)])


def _weight(w: float) -> str:
    return "—" if w < 0.005 else f"{100 * float(w):.0f}"


def showcase_truth_table(report: Any, study: Any, lang: str = "zh") -> tuple[ReportTable, dict[str, Any]] | None:
    """Synthetic demo only: the estimates against the true effect planted for the pilot's start cohort.

    The simulation records true effects by cohort and year (not by community), so the
    comparison is the cohort's mean effect over the pilot's post-start years: a pilot's own
    effect scatters around it.
    """
    truth_file = Path(study.config.folder) / "truth.csv"
    if not (study.config.synthetic and truth_file.is_file()):
        return None
    truth = pd.read_csv(truth_file)
    g, years = report.pilot["start_year"], report.pilot["years_after"]
    rows = truth[(truth["level"] == "cohort_year") & (truth["cohort"] == g) & (truth["year"].isin(years))]
    true = rows.groupby("construct")["effect_score"].mean()
    est = report.estimates[report.estimates["status"] == "estimated"]
    est = est[est["outcome"].isin(true.index)]
    if est.empty:
        return None
    covered = [(r.ci_lower <= true[r.outcome] <= r.ci_upper) for r in est.itertuples(index=False)]
    frame = pd.DataFrame({
        word("col.outcome", lang): [_outcome(study, o, lang) for o in est["outcome"]],
        word("col.effect_ci", lang): [fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)
                                      for r in est.itertuples(index=False)],
        word("col.true_effect", lang): [fmt_num(true[o]) for o in est["outcome"]],
        word("col.covered", lang): [word("bool.true" if c else "bool.false", lang) for c in covered],
    })
    zh = _zh(lang)
    table = ReportTable(frame=frame, lang=lang, weighted="none", unit=word("unit.score", lang),
                        title=("估计值与已知真实效应对照（仅合成数据）" if zh else
                               "Estimates against the known truth (synthetic data only)"),
                        notes=[text("showcase_truth_note", lang, cohort=g)])
    facts = {o: {"true_cohort_effect": float(true[o]), "covered": bool(c)}
             for o, c in zip(est["outcome"], covered, strict=True)}
    return table, facts


def _grid(n: int) -> tuple[Any, np.ndarray]:
    import matplotlib.pyplot as plt

    from evalkit.reporting.fonts import setup_matplotlib_fonts

    setup_matplotlib_fonts()
    cols = 2 if n > 1 else 1
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(9, 2.8 * rows), squeeze=False, sharex=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def _label(ax: Any, label: str) -> None:
    # the document clears axes titles (the numbered caption carries the title): label inside the panel
    # (regular weight: the bundled CJK subset has no bold face)
    ax.text(0.02, 0.95, label, transform=ax.transAxes, va="top", ha="left", fontsize=10,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})


def _finish(fig: Any, axes: Any) -> Any:
    """One legend under the grid instead of one per panel; whole years on the axis."""
    handles, labels = axes[0].get_legend_handles_labels()
    bottom = {id(ax) for ax in axes[-2:]}  # the last row (or the last panel and the one beside it)
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_ylabel("")
        if id(ax) not in bottom:
            ax.set_xlabel("")
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return axes[0]


def showcase_trajectory_figure(report: Any, study: Any, lang: str = "zh") -> Any:
    """Per outcome: the pilot's community mean and its synthetic comparison, year by year."""
    from evalkit.reporting.synthetic_figures import trajectory_plot

    outcomes = list(report.results)
    if not outcomes:
        return None  # nothing estimable: the document shows no figure
    fig, axes = _grid(len(outcomes))
    for ax, o in zip(axes, outcomes, strict=True):
        trajectory_plot(report.results[o], ax=ax, lang=lang)
        _label(ax, _outcome(study, o, lang))
    return _finish(fig, axes)


def showcase_gap_figure(report: Any, study: Any, lang: str = "zh") -> Any:
    """Per outcome: pilot minus synthetic comparison, with every comparison community's placebo gap in grey."""
    outcomes = list(report.results)
    if not outcomes:
        return None
    fig, axes = _grid(len(outcomes))
    for ax, o in zip(axes, outcomes, strict=True):
        report.results[o].plot(ax=ax, lang=lang)
        _label(ax, _outcome(study, o, lang))
    return _finish(fig, axes)


def _list(items: list[str], lang: str) -> str:
    return "、".join(items) if _zh(lang) else ", ".join(items)


def showcase_summary(report: Any, study: Any, lang: str = "zh") -> str:
    """The executive summary: what was compared, what moved, how sure we can be."""
    est = report.estimates
    ok = est[est["status"] == "estimated"]
    name = _name(study, report.pilot["community_id"], lang)
    method = _method_text(report, lang)
    if ok.empty:  # nothing estimable: say why and what would make it possible
        reasons = sorted(set(est["reason"]))
        return "\n".join(f"- {line}" for line in [
            text("showcase_summary_none", lang, name=name, n=report.pilot["donors_offered"],
                 before=len(report.pilot["years_before"])),
            *[text(f"showcase_reason_{r}", lang) for r in reasons if f"showcase_reason_{r}" in _TEXT_KEYS]])
    lines = [text("showcase_summary_design", lang, name=name, method=method if _zh(lang) else method.lower(),
                  n=fmt_int(ok["n_donors"].max() if len(ok) else report.pilot["donors_offered"]),
                  start=report.pilot["start_date"])]
    up = ok[ok["ci_lower"] > 0]
    down = ok[ok["ci_upper"] < 0]
    if len(up):
        lines.append(text("showcase_summary_up", lang, outcomes=_list(
            [f"{_outcome(study, r.outcome, lang)} {fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)}"
             for r in up.itertuples(index=False)], lang)))
    if len(down):
        lines.append(text("showcase_summary_down", lang, outcomes=_list(
            [f"{_outcome(study, r.outcome, lang)} {fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)}"
             for r in down.itertuples(index=False)], lang)))
    placebo = report.robustness[report.robustness["check"] == "in_time_placebo"].set_index("outcome")["estimate"]
    shaky = [r for r in pd.concat([up, down]).itertuples(index=False)
             if r.outcome in placebo.index and abs(placebo[r.outcome]) >= 0.5 * abs(r.estimate)]
    if shaky:
        lines.append(text("showcase_summary_placebo", lang, outcomes=_list(
            [f"{_outcome(study, r.outcome, lang)} {fmt_num(placebo[r.outcome])}" for r in shaky], lang)))
    rest = ok[~ok["outcome"].isin([*up["outcome"], *down["outcome"]])]
    if len(rest):
        lines.append(text("showcase_summary_unclear", lang,
                          outcomes=_list([_outcome(study, o, lang) for o in rest["outcome"]], lang)))
    floor = ok["flags"].str.contains("p_value_floor").any()
    if floor:
        lines.append(text("showcase_summary_floor", lang, p=fmt_num(1 / (ok["n_donors"].max() + 1), 3)))
    if ok["flags"].str.contains("few_pre_periods").any():
        lines.append(text("showcase_summary_few_pre", lang, n=len(report.pilot["years_before"])))
    lines.append(text("showcase_summary_scope", lang))
    return "\n".join(f"- {line}" for line in lines)


#: diagnostics whose number is a fact of the design, not of the outcome
_SHARED_FACTS = {"few_pre_periods", "p_value_floor", "few_placebos"}


def _diagnostic(report: Any, outcome: str, code: str, i: int, labels: str) -> str:
    diag = report.results[outcome].tables["diagnostics"].set_index("code").loc[code]
    sentence = DIAGNOSTIC_TEXT[code][i].format(value=diag["value"], threshold=diag["threshold"])
    return f"{sentence}（{labels}）" if i == 0 else f"{sentence} ({labels})"


def showcase_limitations(report: Any, study: Any, lang: str = "zh") -> list[str]:
    """One sentence per diagnostic flagged for any outcome (naming the outcomes), then the design's limits."""
    i = 0 if _zh(lang) else 1
    out: list[str] = []
    est = report.estimates[report.estimates["status"] == "estimated"]
    codes: dict[str, list[str]] = {}
    for r in est.itertuples(index=False):
        for code in filter(None, str(r.flags).split(";")):
            codes.setdefault(code, []).append(r.outcome)
    for code, outcomes in codes.items():
        labels = _list([_outcome(study, o, lang) for o in outcomes], lang)
        if code in DIAGNOSTIC_TEXT and code in _SHARED_FACTS:  # the same number for every outcome: say it once
            out.append(_diagnostic(report, outcomes[0], code, i, labels))
        elif code in DIAGNOSTIC_TEXT:  # a number of its own per outcome
            out += [_diagnostic(report, o, code, i, _outcome(study, o, lang)) for o in outcomes]
        elif code == "exact_pre_fit":
            out.append(text("showcase_exact_fit", lang, outcomes=labels))
        elif code == "donors_dropped":
            out.append(text("showcase_donors_dropped", lang, outcomes=labels, min=report.pilot["min_respondents"]))
    out.append(text("showcase_limit_scope", lang))
    return out
