"""The impact analysis of a study: design, balance, main estimates, event study, heterogeneity,
robustness and the limitations paragraph, as one result the impact notebook shows.

:func:`estimate_impact` chooses the designs a methodologist expects for community pilots
that start in different years:

* **Main estimate**: Callaway & Sant'Anna group-time ATTs on the community × year panel of
  construct means (one unit = one community, so inference is at the level the programme was
  assigned), aggregated to cohorts and then to one overall ATT weighted by cohort size
  (R ``did::aggte(type = "group")``), with the comparison group from the config.
* **Event study** of every outcome (ATT by years since the start, with pre-periods).
* **Robustness**: the not-yet-treated comparison group, and two-way fixed effects with its
  Goodman-Bacon diagnostic (shown as the estimate naive tools give).
* **Sensitivity to parallel trends**: HonestDiD relative-magnitude and smoothness intervals
  for the average post-start event-study effect and the power of the pre-test (Roth 2022),
  from a universal-base-period fit (:mod:`evalkit.estimators.sensitivity`).
* **Heterogeneity**: a stacked 2×2 design (each cohort against never-treated communities,
  Cengiz et al. 2019) on resident-level scores, by age band, hukou and gender.
* **Many outcomes**: Benjamini–Hochberg and Romano–Wolf adjusted p-values and the
  Kling–Liebman–Katz (2007) equal-weight summary index on the same stacked design.

Every estimate carries its number of clusters and treated clusters and the inference the
few-clusters guardrail chose (:mod:`evalkit.estimators.guardrails`); the limitations text is
generated from those facts. This module orchestrates estimators; it estimates nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import attrs
from attrs import field, frozen

from evalkit.estimators import did_staggered, multiple_outcomes, subgroup_effects, twfe
from evalkit.estimators.sensitivity import parallel_trends_sensitivity
from evalkit.estimators.results import StaggeredResult
from evalkit.intake.load import Study
from evalkit.reporting.text import lang_code
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records
from evalkit.scales import score

__all__ = ["ImpactReport", "estimate_impact", "community_year_panel", "balance_table",
           "stacked_survey"]

_BASELINE_VARS = {
    "age": ("年龄", "age"),
    "female": ("女性比例", "share female"),
    "migrant": ("外地户籍比例", "share migrant"),
    "college": ("大专及以上比例", "share college-educated"),
    "years_resident": ("居住年限", "years resident"),
}


def _with_year(survey: pd.DataFrame) -> pd.DataFrame:
    out = survey.copy()
    if "survey_year" in out.columns and out["survey_year"].notna().all():
        out["year"] = out["survey_year"].astype(int)  # intake's year (interview date or wave window)
    else:
        out["year"] = pd.to_datetime(out["interview_date"]).dt.year.astype(int)
    return out


def community_year_panel(scored: pd.DataFrame, study: Study, outcomes: Sequence[str],
                         *, weights: str | None = None) -> pd.DataFrame:
    """Mean construct scores per community and survey year, with cohort (start year, 0 = never).

    A pilot counts as treated from the survey year in which it started (surveys run in
    autumn; pilots start in spring), as the config's start dates say.
    """
    data = _with_year(scored)
    if weights is None:
        means = data.groupby(["community_id", "year"], observed=True)[list(outcomes)].mean()
    else:
        def wmean(g: pd.DataFrame) -> pd.Series:
            w = g[weights]
            return pd.Series({o: np.average(g[o].dropna(), weights=w[g[o].notna()])
                              for o in outcomes})

        means = data.groupby(["community_id", "year"], observed=True).apply(wmean)
    counts = data.groupby(["community_id", "year"], observed=True).size().rename("n_respondents")
    panel = means.join(counts).reset_index()
    pilots = study.pilots.set_index("community_id")
    panel["cohort"] = (panel["community_id"].map(pilots["start_year"].astype("float64"))
                       .fillna(0).astype(int))
    panel["programme"] = panel["community_id"].map(pilots["programme"]).fillna("comparison")
    panel["treated_now"] = ((panel["cohort"] > 0) & (panel["year"] >= panel["cohort"])).astype(int)
    return panel


def stacked_survey(scored: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Resident-level stacked 2×2 data: each cohort with the never-treated communities.

    Columns ``treat`` (community in the cohort), ``post`` (year ≥ cohort) and ``stack``
    (the cohort) are added; never-treated residents appear once per stack.
    """
    data = _with_year(scored)
    pilots = study.pilots.set_index("community_id")
    cohort = data["community_id"].map(pilots["start_year"].astype("float64")).astype("float64")
    never = cohort.isna()
    stacks = []
    for g in sorted(pilots["start_year"].dropna().unique()):
        part = data[(cohort == g) | never].copy()
        part["stack"] = int(g)
        part["treat"] = (cohort[part.index] == g).to_numpy().astype(int)
        part["post"] = (part["year"] >= g).astype(int)
        stacks.append(part)
    out = pd.concat(stacks, ignore_index=True)
    if "age" in out.columns:
        out["age_band"] = pd.cut(out["age"].astype(float), [0, 59.5, 200],
                                 labels=["under_60", "60_plus"]).astype("string")
    return out


def balance_table(scored: pd.DataFrame, study: Study, outcomes: Sequence[str],
                  lang: str = "zh") -> pd.DataFrame:
    """Baseline (first wave) means of pilots and comparison communities and the standardised
    mean difference, SMD = (mean_t − mean_c) / sqrt((var_t + var_c) / 2); |SMD| > 0.1 is
    commonly read as imbalance (Austin 2009)."""
    data = scored[scored["wave"] == scored["wave"].min()].copy()
    pilots = set(study.pilots["community_id"])
    comparison = set(study.comparison_ids())
    data["group"] = np.where(data["community_id"].isin(pilots), "pilot",
                             np.where(data["community_id"].isin(comparison), "comparison", "other"))
    data = data[data["group"] != "other"]
    if "gender" in data:  # optional columns: absent ones are left out of the table
        data["female"] = (data["gender"] == "female").astype(float).where(data["gender"].notna())
    if "hukou" in data:
        data["migrant"] = (data["hukou"] == "migrant").astype(float).where(data["hukou"].notna())
    if "education" in data:
        data["college"] = (data["education"] == "college").astype(float).where(data["education"].notna())
    code = 0 if lang_code(lang) == "zh" else 1
    rows = []
    variables = [v for v in _BASELINE_VARS if v in data] + list(outcomes)
    for var in variables:
        x = pd.to_numeric(data[var], errors="coerce").astype(float)
        t, c = x[data["group"] == "pilot"].dropna(), x[data["group"] == "comparison"].dropna()
        pooled = np.sqrt((t.var() + c.var()) / 2)
        label = _BASELINE_VARS[var][code] if var in _BASELINE_VARS else study.codebook.construct_label(var, lang)
        rows.append({"variable": var, "label": label, "mean_pilot": t.mean(), "mean_comparison": c.mean(),
                     "smd": (t.mean() - c.mean()) / pooled if pooled > 0 else np.nan})
    return pd.DataFrame(rows)


@frozen(eq=False)
class ImpactReport(Result):
    """Everything the impact section shows.

    ``estimates``: one row per outcome with the main (Callaway–Sant'Anna, cohort-weighted)
    ATT: outcome, label, estimate, std_error, ci_lower, ci_upper, p_value, inference,
    n_clusters, n_treated_clusters, pretrend_p.
    """

    kind: ClassVar[str] = "impact_report"

    design: pd.DataFrame = field(factory=pd.DataFrame)
    balance: pd.DataFrame = field(factory=pd.DataFrame)
    event_study: pd.DataFrame = field(factory=pd.DataFrame)  # outcome, event_time, estimate, ci
    robustness: pd.DataFrame = field(factory=pd.DataFrame)
    subgroups: pd.DataFrame = field(factory=pd.DataFrame)
    many_outcomes: pd.DataFrame = field(factory=pd.DataFrame)
    #: HonestDiD intervals: outcome, label, restriction, m, lb, ub, ci_lower, ci_upper
    sensitivity: pd.DataFrame = field(factory=pd.DataFrame)
    #: per outcome: estimate (event-study average), original_se, breakdown_relative_magnitude,
    #: breakdown_smoothness, mdv_50, mdv_80 (Roth 2022), reliable_covariance
    pretrend_power: pd.DataFrame = field(factory=pd.DataFrame)
    limitations_zh: tuple[str, ...] = ()
    limitations_en: tuple[str, ...] = ()
    main_results: dict[str, StaggeredResult] = field(factory=dict)

    def title(self, lang: str = "zh") -> str:
        return "试点成效估计" if lang_code(lang) == "zh" else "Programme impact"

    def limitations(self, lang: str = "zh") -> tuple[str, ...]:
        return self.limitations_zh if lang_code(lang) == "zh" else self.limitations_en

    def headline(self) -> dict[str, Any]:
        return {r.outcome: {"att": r.estimate, "std_error": r.std_error, "ci_lower": r.ci_lower,
                            "ci_upper": r.ci_upper, "p_value": r.p_value, "inference": r.inference,
                            "n_clusters": r.n_clusters, "n_treated_clusters": r.n_treated_clusters,
                            "pretrend_p": r.pretrend_p}
                for r in self.estimates.itertuples(index=False)}

    def published(self) -> dict[str, Any]:
        """Every number the impact report shows (headline and each table), for results.json."""
        return {"estimates": self.headline(),
                **{name: frame_to_records(getattr(self, name)) for name in self._FRAMES}}

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        cols = ["label", "estimate", "ci_lower", "ci_upper", "p_value", "inference"]
        body = self.estimates[cols].round(decimals).to_string(index=False)
        return f"{self.title(lang)}\n{body}\n" + "\n".join(self.limitations(lang))

    _FRAMES: ClassVar[tuple[str, ...]] = ("design", "balance", "event_study", "robustness",
                                          "subgroups", "many_outcomes", "sensitivity",
                                          "pretrend_power")

    def _extra_to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_to_records(getattr(self, name)) for name in self._FRAMES}
        out["limitations_zh"] = list(self.limitations_zh)
        out["limitations_en"] = list(self.limitations_en)
        out["main_results"] = {k: v.to_dict() for k, v in self.main_results.items()}
        return out

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_from_records(d.get(name, [])) for name in cls._FRAMES}
        out["limitations_zh"] = tuple(d["limitations_zh"])
        out["limitations_en"] = tuple(d["limitations_en"])
        out["main_results"] = {k: Result.from_dict(v) for k, v in d["main_results"].items()}
        return out

    def plot(self, ax: Any = None, *, outcome: str | None = None, lang: str = "zh") -> Any:
        """Event-study figure of one outcome (default: the first)."""
        outcome = outcome or str(self.estimates["outcome"].iloc[0])
        return self.main_results[outcome].plot(ax=ax, lang=lang)

    def plot_estimates(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Main ATT of every outcome with its confidence interval."""
        from evalkit.reporting.figures import forest_plot

        title = "试点平均处理效应（ATT）" if lang_code(lang) == "zh" else "Average effect on pilots (ATT)"
        return forest_plot(self.estimates, ax=ax, lang=lang, title=title)


def estimate_impact(
    study: Study,
    *,
    outcomes: Sequence[str] | None = None,
    scored: pd.DataFrame | None = None,
    weights: str | None = None,
    seed: int | None = None,
    draws: int = 999,
    lang: str = "zh",
) -> ImpactReport:
    """Run the impact designs on a loaded study (see the module docstring)."""
    outcomes = list(outcomes or study.config.outcomes)
    seed = study.config.seed if seed is None else seed
    if scored is None:
        scored = score(study.tables["survey"], study.codebook, constructs=outcomes)
    panel = community_year_panel(scored, study, outcomes, weights=weights)
    control = "not_yet_treated" if study.config.comparison == "not_yet_treated" else "never_treated"

    rows, events, robust, sens_rows, power_rows = [], [], [], [], []
    main: dict[str, StaggeredResult] = {}
    for outcome in outcomes:
        res = did_staggered(panel, outcome=outcome, unit="community_id", time="year", cohort="cohort",
                            cluster="community_id", control=control, seed=seed, draws=draws)
        main[outcome] = res
        head = res.estimates.iloc[0]
        pre = res.estimates[res.estimates["aggregation"] == "pretest"]
        label = study.codebook.construct_label(outcome, lang)
        rows.append({"outcome": outcome, "label": label, "estimate": head["estimate"],
                     "std_error": head["std_error"], "ci_lower": head["ci_lower"],
                     "ci_upper": head["ci_upper"], "p_value": head["p_value"],
                     "inference": res.inference.method, "n_clusters": res.n_clusters,
                     "n_treated_clusters": res.n_treated_clusters,
                     "pretrend_p": float(pre["p_value"].iloc[0]) if not pre.empty else np.nan})
        ev = res.event_study()[["event_time", "estimate", "std_error", "ci_lower", "ci_upper"]]
        events.append(ev.assign(outcome=outcome))
        alt_control = "not_yet_treated" if control == "never_treated" else "never_treated"
        alt = did_staggered(panel, outcome=outcome, unit="community_id", time="year", cohort="cohort",
                            cluster="community_id", control=alt_control, seed=seed, draws=draws)
        tw = twfe(panel, outcome=outcome, unit="community_id", time="year", treat="treated_now",
                  cluster="community_id", seed=seed, draws=draws)
        sens = _trend_sensitivity(panel, outcome, control=control, seed=seed, draws=draws)
        if sens is not None:
            sens_rows.append(sens.estimates.assign(outcome=outcome, label=label))
            power_rows.append({"outcome": outcome, "label": label, "estimate": sens.original_estimate,
                               "std_error": sens.original_se,
                               "breakdown_relative_magnitude": sens.breakdown_relative_magnitude,
                               "breakdown_smoothness": sens.breakdown_smoothness,
                               "mdv_50": sens.mdv_50, "mdv_80": sens.mdv_80,
                               "reliable_covariance": sens.reliable_covariance})
        for design, r in ((f"CS, {control}", res), (f"CS, {alt_control}", alt), ("TWFE", tw)):
            robust.append({"outcome": outcome, "label": label, "design": design,
                           "estimate": r.estimate, "ci_lower": r.estimates["ci_lower"].iloc[0],
                           "ci_upper": r.estimates["ci_upper"].iloc[0],
                           "inference": r.inference.method})

    stacked = stacked_survey(scored, study)
    subgroup_rows = []
    for by in ("age_band", "hukou", "gender"):
        if by not in stacked.columns or stacked[by].notna().sum() == 0:
            continue  # not asked in this survey (Study.unavailable); the limitations say so
        for outcome in outcomes:
            # residents with no score for this construct are left out (counted in the design notes)
            sg = subgroup_effects(stacked.dropna(subset=[outcome, by]), outcome=outcome, treat="treat", post="post", by=by,
                                  cluster="community_id", seed=seed, draws=draws)
            tests = sg.tables.get("tests", pd.DataFrame())
            p_equal = float(tests["p_value"].iloc[0]) if "p_value" in tests and len(tests) else np.nan
            for r in sg.estimates.itertuples(index=False):
                subgroup_rows.append({"by": by, "outcome": outcome, "term": r.term,
                                      "estimate": r.estimate, "ci_lower": r.ci_lower,
                                      "ci_upper": r.ci_upper, "p_value": r.p_value,
                                      "p_equal_effects": p_equal})
    complete = stacked.dropna(subset=outcomes)
    many = multiple_outcomes(complete, outcomes=outcomes, treat="treat", post="post",
                             cluster="community_id", seed=seed, draws=draws)

    report = ImpactReport(
        estimates=pd.DataFrame(rows),
        provenance=Provenance.current(seed=seed),
        design=design_table(study, panel),
        balance=balance_table(scored, study, outcomes, lang),
        event_study=pd.concat(events, ignore_index=True),
        robustness=pd.DataFrame(robust),
        subgroups=pd.DataFrame(subgroup_rows, columns=["by", "outcome", "term", "estimate", "ci_lower",
                                                       "ci_upper", "p_value", "p_equal_effects"]),
        many_outcomes=many.to_frame(),
        sensitivity=pd.concat(sens_rows, ignore_index=True) if sens_rows else pd.DataFrame(),
        pretrend_power=pd.DataFrame(power_rows),
        main_results=main,
    )
    zh, en = _limitations(report, study, control)
    return attrs.evolve(report, limitations_zh=zh, limitations_en=en)


def _trend_sensitivity(panel: pd.DataFrame, outcome: str, *, control: str, seed: int | None,
                       draws: int) -> Any:
    """HonestDiD and pre-test power for one outcome from a universal-base-period fit; None
    when the design has no pre-treatment event time besides the reference (a fact the
    report shows as a missing row)."""
    from evalkit.errors import NotIdentifiedError

    uni = did_staggered(panel, outcome=outcome, unit="community_id", time="year", cohort="cohort",
                        cluster="community_id", control=control, base_period="universal",
                        headline="event", seed=seed, draws=draws)
    try:
        return parallel_trends_sensitivity(uni, relative_magnitudes=(0.0, 0.5, 1.0, 2.0))
    except NotIdentifiedError:
        return None


def design_table(study: Study, panel: pd.DataFrame) -> pd.DataFrame:
    """Who is treated when: communities and residents per cohort and programme."""
    per = panel.groupby("community_id").agg(cohort=("cohort", "first"), programme=("programme", "first"),
                                            n_respondents=("n_respondents", "sum"))
    table = per.groupby(["cohort", "programme"]).agg(
        communities=("n_respondents", "size"), respondents=("n_respondents", "sum")).reset_index()
    table["group"] = np.where(table["cohort"] == 0, "comparison", "pilot")
    return table


def _limitations(report: ImpactReport, study: Study, control: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    est = report.estimates
    g = int(est["n_clusters"].max())
    gt = int(est["n_treated_clusters"].max())
    methods = sorted(set(est["inference"]))
    zh = [f"本评估共涉及 {g} 个社区（其中试点 {gt} 个），推断在社区层面进行；所用推断方法：{'、'.join(methods)}。"]
    en = [f"The evaluation covers {g} communities ({gt} pilots); inference is at community level, "
          f"using: {', '.join(methods)}."]
    first = next(iter(report.main_results.values()))
    if first.inference.message("zh"):
        zh.append(first.inference.message("zh"))
        en.append(first.inference.message("en"))
    n_comp = int(report.design.loc[report.design["group"] == "comparison", "communities"].sum())
    if n_comp < 10:
        zh.append(f"对照社区只有 {n_comp} 个，结论对个别对照社区较敏感。")
        en.append(f"Only {n_comp} comparison communities: results are sensitive to individual ones.")
    failed = est[est["pretrend_p"] < 0.05]
    for r in failed.itertuples(index=False):
        zh.append(f"“{r.label}”在试点前的趋势检验未通过（p = {r.pretrend_p:.3f}），平行趋势假设存疑，应谨慎解读。")
        en.append(f"Pre-trend test fails for {r.outcome} (p = {r.pretrend_p:.3f}): parallel trends are doubtful.")
    imbalanced = report.balance[report.balance["smd"].abs() > 0.1]
    if not imbalanced.empty:
        zh.append("基线时试点与对照社区在以下方面差异较大（|SMD| > 0.1）：" + "、".join(imbalanced["label"])
                  + "；双重差分只要求趋势平行，但差异提示试点并非随机选择。")
        en.append("At baseline pilots and comparisons differ (|SMD| > 0.1) in: " + ", ".join(imbalanced["variable"])
                  + "; DiD needs parallel trends only, but pilots were not chosen at random.")
    absent = [c for c, codes in getattr(study, "unavailable", {}).items() if "subgroup" in codes]
    if absent:
        names_zh = {"hukou": "户籍", "gender": "性别", "age": "年龄", "age_band": "年龄段"}
        zh.append("问卷未包含" + "、".join(names_zh.get(c, c) for c in absent) + "，相应的分组分析未做。")
        en.append("The survey has no " + ", ".join(absent) + ": those subgroup analyses were not run.")
    zh.append("居民问卷为重复横截面，社区层面均值的变化也可能来自样本构成的变化。")
    en.append("The survey is a repeated cross-section: changes in community means may partly reflect "
              "changes in who was interviewed.")
    if study.config.synthetic:
        zh.append("本报告数据为合成演示数据，估计结果不代表任何真实试点的成效。")
        en.append("The data are synthetic: these estimates describe no real programme.")
    return tuple(zh), tuple(en)


def truth_comparison(report: ImpactReport, truth: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Main estimates next to the known true effects of a synthetic study.

    ``truth`` is the demo city's ``truth.csv``. The true value is aggregated exactly as the
    main estimate is: the mean of ATT(g, t) over the post-start years of each cohort, then the
    cohort average weighted by the number of pilot communities (``did::aggte(type="group")``).
    """
    cells = truth[(truth["level"] == "cohort_year") & (truth["event_time"] >= 0)]
    per_cohort = cells.groupby(["construct", "cohort"])["effect_score"].mean().reset_index()
    sizes = study.pilots["start_year"].astype(int).value_counts()
    per_cohort["n"] = per_cohort["cohort"].astype(int).map(sizes)
    true_att = per_cohort.groupby("construct").apply(
        lambda d: float(np.average(d["effect_score"], weights=d["n"])), include_groups=False)
    out = report.estimates[["outcome", "label", "estimate", "ci_lower", "ci_upper"]].copy()
    out["true_effect"] = out["outcome"].map(true_att)
    out["covered"] = (out["ci_lower"] <= out["true_effect"]) & (out["true_effect"] <= out["ci_upper"])
    return out
