"""The programme analysis of a study as one result: :func:`analyse_programme` → :class:`ProgrammeReport`.

It follows the logic model an evaluation reports (投入 inputs → 活动 activities → 产出 outputs →
成效 outcomes): inputs from the community-year panel, activities and outputs from the service
ledger (aggregated by DuckDB), responsiveness from the request log, the target frameworks'
attainment, claims tested as claims, the 绩效评估 score and grade, costs, and 三社联动 versus
五社联动. This module orchestrates the modules of :mod:`evalkit.programme`; it computes nothing
itself beyond joining their tables. Numbers and reason codes only; words live in
:mod:`evalkit.reporting.programme_display`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit._checks import check_choice
from evalkit.datamodel import TABLES
from evalkit.intake.load import Study
from evalkit.programme import aggregate as agg
from evalkit.programme import costs, inputs, linkage, reach, responsiveness, targets
from evalkit.programme.claims import claims_table
from evalkit.programme.compare import compare_programmes, unit_did_effects
from evalkit.programme.context import community_context
from evalkit.programme.reach import safe_ratio
from evalkit.programme.scoring import grade_sensitivity, load_scoring_framework, score_indicators
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records, json_safe

__all__ = ["ProgrammeReport", "analyse_programme", "indicator_panel", "target_attainment"]

#: claims tested on the request log: id → (successes column, n column, threshold)
DEFAULT_CLAIMS: dict[str, tuple[str, str, float]] = {
    "satisfaction_100": ("satisfied", "rated", 1.0),
    "resolution_90": ("resolved", "requests", 0.9),
    "response_24h_all": ("within_24h", "requests", 1.0),
}


@frozen(eq=False)
class ProgrammeReport(Result):
    """Everything the programme section shows (city-wide, or one community's slice).

    ``estimates``: impact by programme type and the 五社 − 三社 difference per outcome:
    outcome, term (``sanshe`` / ``wushe`` / ``all`` / ``wushe_minus_sanshe``), estimate,
    std_error, ci_lower, ci_upper, p_value, inference. Per-type rows come from the staggered
    DiD (its own inference); on the difference row the interval and p-value are the
    randomisation-inference ones and ``std_error`` is the Welch standard error (the Welch
    interval is in ``difference``).
    """

    kind: ClassVar[str] = "programme_report"

    community: str | None = None
    logic_model: pd.DataFrame = field(factory=pd.DataFrame)
    reach: pd.DataFrame = field(factory=pd.DataFrame)
    reach_by_block: pd.DataFrame = field(factory=pd.DataFrame)
    reach_by_method: pd.DataFrame = field(factory=pd.DataFrame)
    reach_by_month: pd.DataFrame = field(factory=pd.DataFrame)
    coverage: pd.DataFrame = field(factory=pd.DataFrame)
    linkage: pd.DataFrame = field(factory=pd.DataFrame)
    linkage_by_group: pd.DataFrame = field(factory=pd.DataFrame)
    linkage_pairs: pd.DataFrame = field(factory=pd.DataFrame)
    linkage_change: pd.DataFrame = field(factory=pd.DataFrame)
    inputs: pd.DataFrame = field(factory=pd.DataFrame)
    inputs_by_group: pd.DataFrame = field(factory=pd.DataFrame)
    requests_by_channel: pd.DataFrame = field(factory=pd.DataFrame)
    requests_by_category: pd.DataFrame = field(factory=pd.DataFrame)
    resolution_times: pd.DataFrame = field(factory=pd.DataFrame)
    satisfaction: pd.DataFrame = field(factory=pd.DataFrame)
    costs: pd.DataFrame = field(factory=pd.DataFrame)
    cost_per_effect: pd.DataFrame = field(factory=pd.DataFrame)
    frameworks: pd.DataFrame = field(factory=pd.DataFrame)
    attainment: pd.DataFrame = field(factory=pd.DataFrame)
    attainment_summary: pd.DataFrame = field(factory=pd.DataFrame)
    claims: pd.DataFrame = field(factory=pd.DataFrame)
    score_indicators: pd.DataFrame = field(factory=pd.DataFrame)
    scores: pd.DataFrame = field(factory=pd.DataFrame)
    score_sensitivity: pd.DataFrame = field(factory=pd.DataFrame)
    score_weights: dict[str, Any] = field(factory=dict)
    by_type: pd.DataFrame = field(factory=pd.DataFrame)
    difference: pd.DataFrame = field(factory=pd.DataFrame)
    unit_effects: pd.DataFrame = field(factory=pd.DataFrame)

    _FRAMES: ClassVar[tuple[str, ...]] = (
        "logic_model", "reach", "reach_by_block", "reach_by_method", "reach_by_month", "coverage", "linkage",
        "linkage_by_group", "linkage_pairs", "linkage_change", "inputs", "inputs_by_group", "requests_by_channel",
        "requests_by_category", "resolution_times", "satisfaction", "costs", "cost_per_effect", "frameworks",
        "attainment", "attainment_summary", "claims", "score_indicators", "scores", "score_sensitivity", "by_type",
        "difference", "unit_effects")

    def title(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        base = "项目实施与绩效" if zh else "Programme delivery and performance"
        return base if self.community is None else f"{base}（{self.community}）" if zh else f"{base} ({self.community})"

    def _extra_to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_to_records(getattr(self, name)) for name in self._FRAMES}
        out["community"] = self.community
        out["score_weights"] = json_safe(self.score_weights)
        return out

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_from_records(d[name]) for name in cls._FRAMES}
        out["community"] = d["community"]
        out["score_weights"] = d["score_weights"]
        return out

    def headline(self) -> dict[str, Any]:
        """The numbers results.json keeps at the top of the programme section."""
        diff = {r.outcome: {"estimate": r.estimate, "ri_ci_lower": r.ri_ci_lower, "ri_ci_upper": r.ri_ci_upper,
                            "ri_p_value": r.ri_p_value, "n_wushe": r.n_a, "n_sanshe": r.n_b}
                for r in self.difference.itertuples(index=False)}
        return json_safe({"community": self.community, "wushe_minus_sanshe": diff,
                          # claims resting on fewer than 10 answers are not published (disclosure)
                          "claims": self.claims[self.claims["n"] >= 10].to_dict("records"),
                          "attainment": self.attainment_summary.to_dict("records"),
                          "scores": self.scores.to_dict("records")})

    def for_community(self, community: str) -> ProgrammeReport:
        """One community's slice: its rows of every per-community table, plus the city rows."""
        return _slice(self, community)

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Impact by programme type with the 五社 − 三社 difference (see reporting)."""
        from evalkit.reporting.programme_figures import programme_comparison_plot

        return programme_comparison_plot(self, ax=ax, lang=lang)


def indicator_panel(context: pd.DataFrame, inputs_cy: pd.DataFrame, reach_cy: pd.DataFrame,
                    linkage_cy: pd.DataFrame, requests_cy: pd.DataFrame) -> pd.DataFrame:
    """One row per community × year with every metric the target and scoring frameworks use
    (:data:`evalkit.programme.targets.METRICS`) and their denominators."""
    panel = inputs_cy.drop(columns=["reason"], errors="ignore")
    r = reach_cy[["community_id", "year", "services", "participants", "services_per_1000",
                  "participants_per_resident"]]
    panel = panel.merge(r, on=["community_id", "year"], how="outer")
    lk = linkage_cy[["community_id", "year", "share_ge2", "share_ge3", "share_all5"]]
    panel = panel.merge(lk, on=["community_id", "year"], how="left")
    rq = requests_cy.copy()
    rq["share_resolved"] = safe_ratio(rq["resolved"], rq["requests"])
    rq["share_within_24h"] = safe_ratio(rq["within_24h"], rq["requests"])
    rq["share_within_72h"] = safe_ratio(rq["within_72h"], rq["requests"])
    rq["share_satisfied"] = safe_ratio(rq["satisfied"], rq["rated"])
    panel = panel.merge(rq[["community_id", "year", "requests", "rated", "share_resolved", "share_within_24h",
                            "share_within_72h", "share_satisfied"]], on=["community_id", "year"], how="left")
    ctx = context[["community_id", "urban_rural", "group", "start_year", "population"]]
    panel = panel.drop(columns=[c for c in ("urban_rural", "group", "start_year", "population") if c in panel])
    panel = panel.merge(ctx, on="community_id", how="left")
    panel["pilot_running"] = (panel["start_year"] > 0) & (panel["year"] >= panel["start_year"])
    for col in ("services", "participants", "requests", "rated"):
        panel[col] = panel[col].fillna(0).astype("int64")
    return panel.sort_values(["community_id", "year"]).reset_index(drop=True)


def _logic_model(inputs_g: pd.DataFrame, panel: pd.DataFrame, by_type: pd.DataFrame, year: int) -> pd.DataFrame:
    rows = []
    latest = panel[panel["year"] == year]
    stages = {"inputs": ["social_workers_per_10k", "social_orgs", "volunteers_per_10k", "funding_wan"],
              "activities": ["services_per_1000", "share_ge3"],
              "outputs": ["participants_per_resident", "share_within_72h", "share_satisfied"]}
    for stage, metrics in stages.items():
        for metric in metrics:
            for group, g in latest.groupby("group"):
                rows.append({"stage": stage, "indicator": metric, "group": group, "year": year,
                             "value": float(g[metric].mean()), "ci_lower": np.nan, "ci_upper": np.nan})
    for r in by_type.itertuples(index=False):
        rows.append({"stage": "outcomes", "indicator": r.outcome, "group": r.programme, "year": year,
                     "value": r.estimate, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper})
    return pd.DataFrame(rows)


def _estimates(by_type: pd.DataFrame, difference: pd.DataFrame) -> pd.DataFrame:
    rows = [{"outcome": r.outcome, "term": r.programme, "estimate": r.estimate, "std_error": r.std_error,
             "ci_lower": r.ci_lower, "ci_upper": r.ci_upper, "p_value": r.p_value, "inference": r.inference}
            for r in by_type.itertuples(index=False)]
    rows += [{"outcome": r.outcome, "term": f"{r.a}_minus_{r.b}", "estimate": r.estimate, "std_error": r.welch_se,
              "ci_lower": r.ri_ci_lower, "ci_upper": r.ri_ci_upper, "p_value": r.ri_p_value,
              "inference": "randomization_within_cohort"} for r in difference.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["outcome", "term", "estimate", "std_error", "ci_lower", "ci_upper", "p_value",
                                       "inference"])


def _cost_per_effect(panel_inputs: pd.DataFrame, context: pd.DataFrame, by_type: pd.DataFrame) -> pd.DataFrame:
    fund = panel_inputs[["community_id", "year", "funding_wan"]].merge(
        context[["community_id", "start_year", "group"]], on="community_id")
    fund["cohort"] = fund["start_year"]
    tau = unit_did_effects(fund, outcome="funding_wan")
    tau["group"] = tau["community_id"].map(context.set_index("community_id")["group"])
    rows = []
    for r in by_type.itertuples(index=False):
        sel = tau if r.programme == "all" else tau[tau["group"] == r.programme]
        cost = float(sel["tau"].mean()) if len(sel) else np.nan
        rows.append({"outcome": r.outcome, "programme": r.programme,
                     **costs.cost_per_effect(cost, r.estimate, r.ci_lower, r.ci_upper)})
    out = pd.DataFrame(rows)
    return out.rename(columns={"cost": "incremental_funding_wan"})


def analyse_programme(
    study: Study,
    *,
    outcomes: Sequence[str] | None = None,
    frameworks: Sequence[str | os.PathLike[str]] | None = None,
    scoring: str | os.PathLike[str] = "performance_default",
    weighting: Literal["given", "ahp", "entropy"] | None = None,
    community: str | None = None,
    year: int | None = None,
    seed: int | None = None,
    draws: int = 499,
    ri_draws: int = 1999,
    alpha: float = 0.05,
    memory_limit: str = "1GB",
    temp_directory: str | os.PathLike[str] | None = None,
    partitions_dir: str | os.PathLike[str] | None = None,
) -> ProgrammeReport:
    """Analyse the programme side of a study (see the module docstring).

    Parameters
    ----------
    outcomes
        Survey constructs for impact by programme type (default: the config's outcomes).
    frameworks
        Target frameworks: shipped ids (:data:`evalkit.programme.targets.SHIPPED_FRAMEWORKS`),
        ``config`` (the config's ``targets:``) or YAML paths; default: every shipped framework,
        plus ``config`` when the config has targets.
    scoring, weighting
        The 绩效评估 framework and, optionally, a weighting that overrides its own
        (``given``, ``ahp``, ``entropy``).
    community
        Return one community's slice (tables with a community_id keep that community's rows;
        group-level and city-level tables stay as context).
    year
        The year scored and shown in the logic model (default: the latest year of the panel).
    seed, draws, ri_draws, alpha
        Seed; bootstrap draws of the staggered DiD; permutation draws of the type difference;
        1 − confidence level.
    memory_limit, temp_directory
        DuckDB settings for the aggregation.
    partitions_dir
        When given, per-community service aggregates (community × year × block × method) are
        written there as Parquet partitioned by community_id.
    """
    from evalkit.impact import community_year_panel
    from evalkit.scales import score

    seed = study.config.seed if seed is None else seed
    outcomes = list(outcomes or study.config.outcomes)
    check_choice("weighting", weighting, (None, "given", "ahp", "entropy"))
    tables = _tables(study)
    db = {"memory_limit": memory_limit, "temp_directory": temp_directory}
    ctx = _context(study, tables)
    if community is not None and community not in set(ctx["community_id"]):
        msg = (f"analyse_programme(): community '{community}' is not in the community registry "
               f"({len(ctx)} communities); check the code (ids are text, keep leading zeros)")
        raise KeyError(msg)

    services, requests = tables["services"], tables["requests"]
    # one scan of each log (GROUPING SETS)
    s_cy, s_cyb, s_cym, s_cymeth, detail = agg.service_aggregate_sets(services, sets=(
        ("community_id", "year"), ("community_id", "year", "block"), ("community_id", "year", "month"),
        ("community_id", "year", "method"), ("community_id", "year", "block", "method")), **db)
    if partitions_dir is not None:
        agg.write_partitions(detail, Path(partitions_dir), **db)
    r_cy, r_ch, r_cat = agg.request_aggregate_sets(requests, sets=(
        ("community_id", "year"), ("community_id", "year", "channel"), ("community_id", "year", "category")), **db)

    people = None
    if "person_key" in services.columns:  # a pseudonymised person key: count people, not contacts
        people = agg.distinct_people(services, blocks_by_group={g: b for g, (b, _) in reach.TARGET_GROUPS.items()},
                                     **db)
    reach_cy, link_cy, inputs_cy, panel = _panel_parts(tables["community_panel"], ctx, s_cy, r_cy)
    if year is None:  # the latest year of the panel, else of the survey
        last = panel["year"].max()
        year = int(last) if pd.notna(last) else int(pd.to_datetime(study.tables["survey"]["interview_date"]).dt.year.max())
    year = int(year)

    groups = ctx.set_index("community_id")["group"]
    req = requests.assign(group=requests["community_id"].map(groups).astype(object),
                          year=pd.to_datetime(requests["received_at"]).dt.year)
    times = pd.concat([responsiveness.resolution_times(req, by=("group", "year")).assign(community_id="all"),
                       responsiveness.resolution_times(req, by=("community_id", "year"))], ignore_index=True)
    with_group = [f.merge(ctx[["community_id", "group"]], on="community_id") for f in (r_ch, r_cat, r_cy)]
    r_latest = r_cy[r_cy["year"] == year]
    claim_counts = pd.concat([r_latest.assign(scope=r_latest["community_id"]),
                              r_latest.sum(numeric_only=True).to_frame().T.assign(scope="all", year=year)],
                             ignore_index=True)
    claims = claims_table(claim_counts, DEFAULT_CLAIMS, by=("scope", "year"), alpha=alpha)

    fws = _frameworks(study, frameworks)
    attainment = targets.attainment_table(panel, fws)
    fw_table = pd.DataFrame([{"framework": f.id, "framework_zh": f.label_zh, "framework_en": f.label_en,
                              "source": f.source, "indicator": i.id, "label_zh": i.label_zh, "label_en": i.label_en,
                              "metric": i.metric, "threshold": i.threshold, "direction": i.direction}
                             for f in fws for i in f.indicators])

    sfw = load_scoring_framework(scoring)
    if weighting is not None:
        sfw = attrs.evolve(sfw, weighting=weighting)
    latest = panel[panel["year"] == year].reset_index(drop=True)
    score_long, scores, weights_info = score_indicators(latest, sfw)
    sens = grade_sensitivity(latest, sfw, seed=seed)

    scored = score(study.tables["survey"], study.codebook, constructs=outcomes)
    survey_panel = community_year_panel(scored, study, outcomes)
    by_type, difference, unit_eff = compare_programmes(
        survey_panel, outcomes=outcomes, programme=study.pilots.set_index("community_id")["programme"],
        draws=draws, ri_draws=ri_draws, seed=seed, alpha=alpha)

    report = ProgrammeReport(
        estimates=_estimates(by_type, difference),
        provenance=Provenance.current(seed=seed),
        logic_model=_logic_model(inputs.inputs_by_group(inputs_cy), panel, by_type, year),
        reach=reach_cy,
        reach_by_block=reach.reach_by(s_cyb, ctx, dimension="block"),
        reach_by_method=reach.reach_by(s_cymeth, ctx, dimension="method"),
        reach_by_month=reach.reach_by(s_cym, ctx, dimension="month"),
        coverage=reach.coverage_table(s_cyb, ctx, unique_people=people),
        linkage=link_cy,
        linkage_by_group=linkage.linkage_by_group(s_cy, ctx),
        linkage_pairs=linkage.linkage_pairs(s_cy, ctx, by=("group", "year")),
        linkage_change=linkage.linkage_change(s_cym, ctx),
        inputs=inputs_cy,
        inputs_by_group=inputs.inputs_by_group(inputs_cy),
        requests_by_channel=responsiveness.request_volumes(with_group[0], by=("group", "year", "channel")),
        requests_by_category=responsiveness.request_volumes(with_group[1], by=("group", "category")),
        resolution_times=times,
        satisfaction=responsiveness.satisfaction_table(with_group[2], by=("group", "year")),
        costs=costs.cost_table(s_cy, tables["community_panel"], ctx),
        cost_per_effect=_cost_per_effect(inputs_cy, ctx, by_type),
        frameworks=fw_table,
        attainment=attainment,
        attainment_summary=targets.attainment_summary(attainment),
        claims=claims,
        score_indicators=score_long,
        scores=scores,
        score_sensitivity=sens,
        score_weights=weights_info,
        by_type=by_type,
        difference=difference,
        unit_effects=unit_eff,
    )
    return report if community is None else _slice(report, community)


def target_attainment(
    study: Study,
    *,
    frameworks: Sequence[str | os.PathLike[str]] = ("config",),
    year: int | None = None,
    memory_limit: str = "1GB",
    temp_directory: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Target attainment of a study, one row per framework × indicator (default: the config's
    ``targets:``), without the rest of the programme analysis.

    The same evaluation as :func:`analyse_programme` (the same indicator panel,
    :func:`evalkit.programme.targets.attainment_table`), read back by
    :func:`evalkit.programme.targets.attainment_overview`: communities meeting each target in
    ``year`` (default: the latest year with data), the city-wide value, a status and, for a
    target without data, the reason (an unknown config key is reported as
    ``unknown_target_key``, never dropped). The impact report's target table shows this frame.

    Parameters
    ----------
    frameworks
        ``config``, shipped framework ids or YAML paths, as in :func:`analyse_programme`.
    year
        The year read (default: per indicator, the latest year in which a community has data).
    memory_limit, temp_directory
        DuckDB settings for the aggregation of the service ledger and request log.
    """
    tables = _tables(study)
    db = {"memory_limit": memory_limit, "temp_directory": temp_directory}
    ctx = _context(study, tables)
    s_cy = agg.service_aggregates(tables["services"], **db)
    r_cy = agg.request_aggregates(tables["requests"], **db)
    panel = _panel_parts(tables["community_panel"], ctx, s_cy, r_cy)[3]
    fws = _frameworks(study, frameworks)
    return targets.attainment_overview(targets.attainment_table(panel, fws), fws, year=year)


def _tables(study: Study) -> dict[str, pd.DataFrame]:
    return {name: _table_or_empty(study, name) for name in ("communities", "services", "requests", "community_panel")}


def _context(study: Study, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return community_context(tables["communities"], study.pilots, study.tables.get("population"))


def _panel_parts(community_panel: pd.DataFrame, ctx: pd.DataFrame, s_cy: pd.DataFrame,
                 r_cy: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reach, linkage and inputs per community × year, and the indicator panel joining them."""
    reach_cy = reach.reach_table(s_cy, ctx)
    link_cy = linkage.linkage_table(s_cy, ctx)
    inputs_cy = inputs.inputs_table(community_panel, ctx)
    return reach_cy, link_cy, inputs_cy, indicator_panel(ctx, inputs_cy, reach_cy, link_cy, r_cy)


def _frameworks(study: Study, frameworks: Sequence[str | os.PathLike[str]] | None) -> list[targets.Framework]:
    """The frameworks asked for: ``config`` is the config's ``targets:``; none asked for is every
    shipped framework, plus ``config`` when the config has targets."""
    if not frameworks:
        frameworks = [*targets.SHIPPED_FRAMEWORKS, *(["config"] if study.config.targets else [])]
    return [targets.config_framework(study.config.targets or {}) if str(f) == "config" else targets.load_framework(f)
            for f in frameworks]


_DTYPES = {"id": object, "str": object, "category": object, "int": "int64", "float": "float64",
           "date": "datetime64[ns]", "datetime": "datetime64[ns]", "bool": "bool"}


def _table_or_empty(study: Study, name: str) -> pd.DataFrame:
    """The study's table, or an empty one with the data model's columns (a study without a
    request log still gets every other section; the empty sections say so by having no rows)."""
    if name in study.tables:
        return study.tables[name]
    spec = TABLES[name]
    return pd.DataFrame({c.name: pd.Series(dtype=_DTYPES[c.kind]) for c in spec.columns})


def _slice(report: ProgrammeReport, community: str) -> ProgrammeReport:
    """Keep one community's rows in every table that has community_id (city rows stay: ``all``)."""
    changes: dict[str, Any] = {"community": community}
    for name in ProgrammeReport._FRAMES:
        frame = getattr(report, name)
        if "community_id" in frame.columns:
            keep = frame["community_id"].isin([community, "all"])
            changes[name] = frame[keep].reset_index(drop=True)
        elif "scope" in frame.columns:
            changes[name] = frame[frame["scope"].isin([community, "all"])].reset_index(drop=True)
    return attrs.evolve(report, **changes)
