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

**No comparison communities** (every surveyed community is a pilot): none of these designs
can be estimated; the report's estimate tables are empty and its caveat ``no_comparison`` says
why, and the impact notebook shows the pre-post design within pilots instead
(:func:`evalkit.design_analysis.evaluate_designs`), labelled the weakest design.

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
           "stacked_survey", "has_comparison"]

_BASELINE_VARS = {
    "age": ("年龄", "age"),
    "female": ("女性比例", "share female"),
    "migrant": ("外地户籍比例", "share migrant"),
    "college": ("大专及以上比例", "share college-educated"),
    "years_resident": ("居住年限", "years resident"),
}


def with_survey_year(survey: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``year``: intake's survey year, else the interview date's year (the time axis of
    every community-year analysis)."""
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
    data = with_survey_year(scored)
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
    data = with_survey_year(scored)
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
    caveats: tuple[dict[str, Any], ...] = ()  # reason codes with their facts; words in evalkit.reporting
    weights: str | None = None  # the weight column the estimates used (None: unweighted)
    main_results: dict[str, StaggeredResult] = field(factory=dict)

    def title(self, lang: str = "zh") -> str:
        from evalkit.reporting.vocab import word

        return word("result.impact_report", lang)

    def limitations(self, lang: str = "zh") -> tuple[str, ...]:
        """The caveats as sentences in ``lang`` (rendered by :mod:`evalkit.reporting.story`)."""
        from evalkit.reporting.story import caveat_sentences

        return tuple(caveat_sentences(self.caveats, lang))

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
        out["caveats"] = [dict(c) for c in self.caveats]
        out["weights"] = self.weights
        out["main_results"] = {k: v.to_dict() for k, v in self.main_results.items()}
        return out

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_from_records(d.get(name, [])) for name in cls._FRAMES}
        out["caveats"] = tuple(dict(c) for c in d["caveats"])
        out["weights"] = d["weights"]
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
    if not has_comparison(panel):
        return _without_comparison(study, panel, seed=seed, weights=weights)
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
                     "pretrend_p": float(pre["p_value"].iloc[0]) if not pre.empty else np.nan,
                     "baseline_sd": float(scored.loc[scored["wave"] == scored["wave"].min(), outcome].std())})
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
        for design, r in ((f"cs_{control}", res), (f"cs_{alt_control}", alt), ("twfe", tw)):
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
            sample = stacked.dropna(subset=[outcome, by])
            sg = subgroup_effects(sample, outcome=outcome, treat="treat", post="post", by=by, weights=weights,
                                  cluster="community_id", seed=seed, draws=draws)
            n_level = sample.groupby(by, observed=True).size()
            tests = sg.tables.get("tests", pd.DataFrame())
            p_equal = float(tests["p_value"].iloc[0]) if "p_value" in tests and len(tests) else np.nan
            for r in sg.estimates.itertuples(index=False):
                subgroup_rows.append({"by": by, "outcome": outcome, "term": r.term,
                                      "estimate": r.estimate, "ci_lower": r.ci_lower,
                                      "ci_upper": r.ci_upper, "p_value": r.p_value,
                                      "p_equal_effects": p_equal, "n_obs": _level_count(r.term, n_level)})
    complete = stacked.dropna(subset=outcomes)
    many = multiple_outcomes(complete, outcomes=outcomes, treat="treat", post="post", weights=weights,
                             cluster="community_id", seed=seed, draws=draws)
    subgroups = pd.DataFrame(subgroup_rows)
    if not subgroups.empty:  # one equality test per (by, outcome): BH across that family
        from statsmodels.stats.multitest import multipletests

        tests = subgroups.drop_duplicates(["by", "outcome"])[["by", "outcome", "p_equal_effects"]].dropna()
        if len(tests):
            tests["p_equal_bh"] = multipletests(tests["p_equal_effects"], method="fdr_bh")[1]
            subgroups = subgroups.merge(tests[["by", "outcome", "p_equal_bh"]], on=["by", "outcome"], how="left")

    report = ImpactReport(
        estimates=pd.DataFrame(rows),
        provenance=Provenance.current(seed=seed),
        design=design_table(study, panel),
        balance=balance_table(scored, study, outcomes, lang),
        event_study=pd.concat(events, ignore_index=True),
        robustness=pd.DataFrame(robust),
        subgroups=subgroups,
        many_outcomes=many.to_frame(),
        sensitivity=pd.concat(sens_rows, ignore_index=True) if sens_rows else pd.DataFrame(),
        pretrend_power=pd.DataFrame(power_rows),
        main_results=main,
        weights=weights,
    )
    return attrs.evolve(report, caveats=_caveats(report, study))


def has_comparison(panel: pd.DataFrame) -> bool:
    """Whether the survey has communities that never started a pilot (cohort 0 in
    :func:`community_year_panel`); every design of :func:`estimate_impact` needs them."""
    return bool((panel["cohort"] == 0).any())


#: columns of the (empty) frames of a report without comparison communities
_EMPTY_COLUMNS = {
    "estimates": ["outcome", "label", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "inference",
                  "n_clusters", "n_treated_clusters", "pretrend_p", "baseline_sd"],
    "balance": ["variable", "label", "mean_pilot", "mean_comparison", "smd"],
    "event_study": ["event_time", "estimate", "std_error", "ci_lower", "ci_upper", "outcome"],
    "robustness": ["outcome", "label", "design", "estimate", "ci_lower", "ci_upper", "inference"],
    "subgroups": ["by", "outcome", "term", "estimate", "ci_lower", "ci_upper", "p_value", "p_equal_effects", "n_obs"],
    "many_outcomes": ["term", "estimate", "ci_lower", "ci_upper", "p_value", "p_bh", "p_romano_wolf"],
}


def _without_comparison(study: Study, panel: pd.DataFrame, *, seed: int | None,
                        weights: str | None) -> ImpactReport:
    """The report of a study whose every surveyed community is a pilot: no difference-in-differences
    is possible, so every estimate table is empty and the caveat ``no_comparison`` says why; the
    impact notebook then shows the pre-post design (:mod:`evalkit.design_analysis`), labelled the
    weakest design."""
    frames = {name: pd.DataFrame(columns=cols) for name, cols in _EMPTY_COLUMNS.items()}
    caveats: list[dict[str, Any]] = [{"code": "no_comparison", "n_pilots": int(panel["community_id"].nunique())},
                                     {"code": "repeated_cross_section"}]
    if study.config.synthetic:
        caveats.append({"code": "synthetic"})
    return ImpactReport(provenance=Provenance.current(seed=seed), design=design_table(study, panel),
                        weights=weights, caveats=tuple(caveats), **frames)


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


def _level_count(term: str, counts: pd.Series) -> float:
    """Residents behind a subgroup term ``treat:post[level]``; NaN for a difference row."""
    if term.startswith("treat:post[") and term.endswith("]"):
        return float(counts.get(term[len("treat:post["):-1], np.nan))
    return np.nan


def _caveats(report: ImpactReport, study: Study) -> tuple[dict[str, Any], ...]:
    """The facts behind the limitations paragraph, as reason codes (words: evalkit.reporting.story)."""
    est = report.estimates
    out: list[dict[str, Any]] = [{
        "code": "clusters", "n_clusters": int(est["n_clusters"].max()),
        "n_treated": int(est["n_treated_clusters"].max()), "methods": sorted(set(est["inference"])),
    }]
    first = next(iter(report.main_results.values()))
    if first.inference.method != first.inference.requested or first.inference.reliable_crve is False:
        out.append({"code": "inference_switched", "method": first.inference.method,
                    "requested": first.inference.requested, "n_clusters": first.inference.n_clusters,
                    "n_treated": first.inference.n_treated_clusters})
    n_comp = int(report.design.loc[report.design["group"] == "comparison", "communities"].sum())
    if n_comp < 10:
        out.append({"code": "few_comparisons", "n": n_comp})
    for r in est[est["pretrend_p"] < 0.05].itertuples(index=False):
        out.append({"code": "pretrend_failed", "outcome": r.outcome, "p": float(r.pretrend_p)})
    imbalanced = report.balance[report.balance["smd"].abs() > 0.1]
    if not imbalanced.empty:
        out.append({"code": "baseline_imbalance", "variables": list(imbalanced["variable"])})
    absent = [c for c, codes in getattr(study, "unavailable", {}).items() if "subgroup" in codes]
    if absent:
        out.append({"code": "subgroup_column_absent", "columns": absent})
    out.append({"code": "repeated_cross_section"})
    if study.config.synthetic:
        out.append({"code": "synthetic"})
    return tuple(out)


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
