"""The measurement section of a report in one call: :func:`measure` → :class:`MeasurementReport`.

Owns: the order of the measurement steps and the bundle a thin notebook
shows. It computes nothing itself; each number comes from
:mod:`evalkit.scales` (scores, α, ω, EFA), :mod:`evalkit.weighting` (raking
to population margins) and :mod:`evalkit.survey` (design-based means, ICC),
whose docstrings state the conventions.

Steps of :func:`measure`
------------------------
1. Score every construct (reverse coding, partial-response rule ``min_items``).
2. Reliability per construct overall, by wave and by each group column
   (α with Feldt CI, standardised α, ω, item analysis, flags).
3. EFA check of the item → construct map (when ≥ 2 constructs).
4. Weights: with ``population`` the respondents of each community and wave
   are raked to that community's age band × gender × hukou margins (base
   weights ``weights`` if given, caps ``weight_bounds``); without it the
   ``weights`` column, or equal weights. Respondents missing a calibration
   variable get no weight and drop out of the weighted estimates; a variable
   with a populated level but no respondents in a community-wave (e.g. no
   migrants interviewed) is left out of that community-wave's raking. Both
   are listed in the notes.
5. Weighted construct means by community × wave (within-community SEs), by
   wave and by wave × group (clustered by community) with t CIs.
6. ICC of each construct at community level, overall and by wave.

Warnings raised on the way (items that hurt reliability, misfitting items,
binding weight caps) are re-issued once to the caller and kept in
``MeasurementReport.notes`` for the report text.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.codebook import Codebook
from evalkit.errors import EvalkitWarning
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records
from evalkit._checks import check_choice, require_columns
from evalkit.scales.efa import EFAResult, efa
from evalkit.scales.reliability import ReliabilityResult, reliability
from evalkit.scales.scoring import ScoreMethod, item_frame, score
from evalkit.survey.estimates import SurveyEstimates, survey_means
from evalkit.survey.icc import ICCMethod, ICCResult, icc
from evalkit.weighting.margins import age_band
from evalkit.weighting.rake import DEFAULT_VARIABLES as MARGIN_VARIABLES
from evalkit.weighting.rake import rake
from evalkit.weighting.result import WeightingResult

__all__ = ["MeasurementSpec", "MeasurementReport", "measure", "item_distribution", "VALIDATION", "validation_note"]

T = TypeVar("T")
WEIGHT_COLUMN = "_measure_weight"

_HEADLINE = ["construct", "label", "n_items", "n_scored", "alpha", "alpha_ci_lower", "alpha_ci_upper",
             "alpha_std", "omega_total", "n_flagged_items", "icc", "icc_ci_lower", "icc_ci_upper",
             "weighted_mean", "mean_ci_lower", "mean_ci_upper"]


@frozen
class MeasurementSpec:
    """The call behind a :class:`MeasurementReport`."""

    constructs: tuple[str, ...] = field(converter=tuple)
    groups: tuple[str, ...] = field(default=(), converter=tuple)
    wave: str = "wave"
    community: str = "community_id"
    weights: str | None = None
    weighting: str = "none"  # "rake" | "column" | "none"
    weight_bounds: tuple[float, float] | None = field(
        default=None, converter=lambda b: None if b is None else (float(b[0]), float(b[1])))
    min_items: Any = None
    min_share: float | None = None
    score_method: str = "mean"
    deletion: str = "listwise"
    ci_method: str = "feldt"
    level: float = 0.95
    icc_method: str = "anova"

    def to_dict(self) -> dict[str, Any]:
        return {
            "constructs": list(self.constructs), "groups": list(self.groups), "wave": self.wave,
            "community": self.community, "weights": self.weights, "weighting": self.weighting,
            "weight_bounds": None if self.weight_bounds is None else list(self.weight_bounds),
            "min_items": dict(self.min_items) if isinstance(self.min_items, Mapping) else self.min_items,
            "min_share": self.min_share,
            "score_method": self.score_method, "deletion": self.deletion, "ci_method": self.ci_method,
            "level": self.level, "icc_method": self.icc_method,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MeasurementSpec:
        return cls(**d)


#: How the measurement code was checked against independent software (tests/reference/measurement:
#: the R script, stored output, versions and the tests' tolerances). ``agreement`` is the largest
#: difference seen when the references were generated; tests/test_measurement.py re-checks it.
VALIDATION: tuple[dict[str, str], ...] = (
    {"id": "alpha", "quantity": "Cronbach's α, standardised α, item-total r, α if deleted, Feldt CI",
     "reference": "R psych 2.2.9 psych::alpha, bfi data (5 scales, pairwise and listwise)",
     "agreement": "1.5e-15 (abs)", "tolerance": "1e-10 (abs)"},
    {"id": "omega", "quantity": "McDonald's ω (one-factor ML)",
     "reference": "R lavaan 0.6.14 cfa(std.lv = TRUE), bfi data", "agreement": "3.3e-07 (abs)",
     "tolerance": "1e-6 (abs)"},
    {"id": "efa", "quantity": "EFA loadings (ML, oblimin)",
     "reference": "R psych::fa(nfactors = 5, fm = \"ml\", rotate = \"oblimin\"), bfi data",
     "agreement": "2.1e-05 (abs)", "tolerance": "1e-4 (abs)"},
    {"id": "survey_means", "quantity": "design-based means, SEs, design effects, t CIs (strata, clusters, FPC, domains)",
     "reference": "R survey 4.1.1 svymean / svyby / confint, api data (apistrat, apiclus1)",
     "agreement": "4.0e-15 (rel)", "tolerance": "1e-10 (rel)"},
    {"id": "proportions", "quantity": "proportions with logit CI", "reference": "R survey svyciprop(method = \"logit\"), apiclus1",
     "agreement": "4.8e-12 (rel)", "tolerance": "1e-9 (rel)"},
    {"id": "weights", "quantity": "raking, post-stratification and trimming weights",
     "reference": "R survey rake / postStratify / trimWeights, apiclus1", "agreement": "7.8e-12 (rel)",
     "tolerance": "1e-8 (rel)"},
    {"id": "icc", "quantity": "ICC (ANOVA; REML random intercept)",
     "reference": "R aov mean squares; lme4 1.1-31 lmer(REML = TRUE), apiclus1", "agreement": "2.3e-09 (rel)",
     "tolerance": "1e-10 / 1e-6 (rel)"},
)


def validation_note(lang: str = "zh") -> str:
    """Markdown closing note: each reference used and the agreement achieved (words: evalkit.reporting)."""
    from evalkit.reporting.measurement_display import validation_markdown

    return validation_markdown(VALIDATION, lang)


def item_distribution(data: pd.DataFrame, codebook: Codebook, constructs: Sequence[str]) -> pd.DataFrame:
    """Share of each answer per item, as answered (not reverse-coded), missing excluded.

    Columns: construct, item, label, reverse, value, value_label, n, share.
    """
    rows = []
    for c in constructs:
        raw = item_frame(data, codebook, c, reverse=False)
        for var in codebook.items(c):
            counts = raw[var.name].value_counts().sort_index()
            total = counts.sum()
            scale = np.arange(var.scale_min, var.scale_max + 1) if float(var.scale_min).is_integer() else counts.index
            for v in scale:
                n = int(counts.get(v, 0))
                rows.append({"construct": c, "item": var.name, "label": var.label_zh or var.name,
                             "reverse": bool(var.reverse), "value": float(v),
                             "value_label": var.value_labels.get(int(v) if float(v).is_integer() else v, ""),
                             "n": n, "share": n / total if total else np.nan})
    out = pd.DataFrame(rows, columns=["construct", "item", "label", "reverse", "value", "value_label", "n", "share"])
    out["n"] = out["n"].astype("int64")
    return out


def _collect(notes: list[str], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn``, keep its evalkit warnings as notes and re-issue them at the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, EvalkitWarning):
            notes.append(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def measure(
    survey: pd.DataFrame,
    codebook: Codebook,
    *,
    population: pd.DataFrame | None = None,
    constructs: Sequence[str] | None = None,
    groups: Sequence[str] = ("gender", "hukou", "age_band"),
    wave: str = "wave",
    community: str = "community_id",
    weights: str | None = None,
    weight_bounds: tuple[float, float] | None = None,
    min_items: int | Mapping[str, int] | None = None,
    min_share: float | None = None,
    score_method: ScoreMethod = "mean",
    deletion: Literal["listwise", "pairwise"] = "listwise",
    ci_method: Literal["feldt", "duhachek"] = "feldt",
    level: float = 0.95,
    icc_method: Literal["anova", "reml"] = "anova",
    run_efa: bool = True,
) -> MeasurementReport:
    """Reliability, weighted construct means and ICCs for the measurement section.

    Parameters
    ----------
    survey
        Survey frame after intake (items cleaned, not reverse-coded).
    codebook
        Study codebook.
    population
        Population margins (``community_id, age_band, gender, hukou,
        population``); when given, weights are raked to them per community and wave.
    constructs
        Constructs to report; default all with items.
    groups
        Subgroup columns for reliability and means (absent columns are skipped;
        ``age_band`` is derived from ``age`` when missing).
    wave, community
        Column names of the survey wave and the community (cluster).
    weights
        Existing weight column: base weights for raking, or the analysis
        weights when ``population`` is None.
    weight_bounds
        Caps for raking, relative to the mean weight, e.g. ``(0.2, 5)``.
    min_items, min_share
        Partial-response rule for scores as a count or as a share of the
        items (``study.config.min_items_answered``); see :func:`evalkit.scales.score`.
    score_method
        ``"mean"`` (default), ``"sum"`` or ``"z"`` (against the first wave).
    deletion, ci_method
        Reliability conventions (see :mod:`evalkit.scales.reliability`).
    level
        Confidence level of all intervals.
    icc_method
        ``"anova"`` or ``"reml"``.
    run_efa
        Run the EFA check of the item map.

    Returns
    -------
    MeasurementReport

    Examples
    --------
    >>> report = measure(study.survey, study.codebook, population=study.population)  # doctest: +SKIP
    >>> report.summary(lang="zh")  # doctest: +SKIP
    """
    check_choice("score_method", score_method, ScoreMethod)
    check_choice("icc_method", icc_method, ICCMethod)
    require_columns(survey, [wave, community], what="measure()")
    names = list(constructs) if constructs is not None else list(codebook.constructs_used())
    data = survey.copy()
    if "age_band" not in data.columns and "age" in data.columns:
        data["age_band"] = age_band(data["age"])
    group_cols = [g for g in groups if g in data.columns]
    notes: list[str] = []
    skipped = [g for g in groups if g not in data.columns]
    if skipped:
        notes.append(f"group column(s) {', '.join(skipped)} not in the survey; skipped")
    reference = {wave: sorted(data[wave].dropna().unique())[0]} if score_method == "z" else None
    scored = score(data, codebook, constructs=names, method=score_method, min_items=min_items, min_share=min_share,
                   reference=reference)
    rel = _collect(notes, reliability, data, codebook, constructs=names, by=[wave, *group_cols],
                   deletion=deletion, ci_method=ci_method, ci_level=level)
    efa_result = None
    if run_efa and len(names) >= 2:
        efa_result = _collect(notes, efa, data, codebook, constructs=names)
    weighting_result: WeightingResult | None = None
    margins = [v for v in MARGIN_VARIABLES if v in scored.columns and scored[v].notna().any()
               and (population is None or v in population.columns)]
    if population is not None and len(margins) < len(MARGIN_VARIABLES):
        # an optional column the survey lacks (e.g. no hukou question): rake on the others
        left_out = [v for v in MARGIN_VARIABLES if v not in margins]
        notes.append(f"raking margin(s) {', '.join(left_out)} left out: not in the survey")
        if not margins:
            notes.append("no raking margin left: estimates are unweighted")
            population = None
    if population is not None:
        weighting_result = _collect(notes, rake, scored, population, by=[community, wave], weights=weights,
                                    variables=margins, bounds=weight_bounds, on_missing="exclude",
                                    empty_cells="drop")
        scored[WEIGHT_COLUMN] = weighting_result.weights
        weighting = "rake"
        notes += list(weighting_result.notes)
    elif weights is not None:
        require_columns(scored, [weights], what="measure(weights=...)")
        scored[WEIGHT_COLUMN] = pd.to_numeric(scored[weights], errors="coerce")
        weighting = "column"
    else:
        scored[WEIGHT_COLUMN] = 1.0
        weighting = "none"
    labels = {c: {"zh": codebook.construct_label(c, "zh"), "en": codebook.construct_label(c, "en")} for c in names}
    design = {"weights": WEIGHT_COLUMN, "cluster": community, "level": level, "labels": labels,
              "calibration": weighting_result}  # SEs account for the raking (survey_means)
    by_community = _collect(notes, survey_means, scored, outcomes=names, by=[community, wave], **design)
    by_wave = _collect(notes, survey_means, scored, outcomes=names, by=[wave], **design)
    overall = _collect(notes, survey_means, scored, outcomes=names, **design)
    by_group = {g: _collect(notes, survey_means, scored, outcomes=names, by=[wave, g], **design) for g in group_cols}
    icc_result = _collect(notes, icc, scored, outcomes=names, cluster=community, by=wave, method=icc_method,
                          level=level, labels=labels)
    dist = item_distribution(data, codebook, names)
    headline = _headline(names, labels, scored, rel, icc_result, overall)
    spec = MeasurementSpec(
        constructs=tuple(names), groups=tuple(group_cols), wave=wave, community=community, weights=weights,
        weighting=weighting, weight_bounds=weight_bounds, min_items=min_items, min_share=min_share, score_method=score_method,
        deletion=deletion, ci_method=ci_method, level=level, icc_method=icc_method,
    )
    return MeasurementReport(
        estimates=headline, reliability=rel, efa=efa_result, weighting=weighting_result,
        means_by_community=by_community, means_by_wave=by_wave, means_overall=overall, means_by_group=by_group,
        icc=icc_result, item_distribution=dist, spec=spec, notes=tuple(dict.fromkeys(notes)),
        provenance=Provenance.current(),
    )


def _headline(names: list[str], labels: Mapping[str, Mapping[str, str]], scored: pd.DataFrame,
              rel: ReliabilityResult, icc_result: ICCResult, overall: SurveyEstimates) -> pd.DataFrame:
    r = rel.overall().set_index("construct")
    flagged = rel.flagged_items()
    flagged = flagged[flagged.group_var == "all"].groupby("construct").size()
    ic = icc_result.estimates[icc_result.estimates.group_var == "all"].set_index("outcome")
    ov = overall.estimates.set_index("outcome")
    rows = []
    for c in names:
        rows.append({
            "construct": c, "label": labels[c]["zh"], "n_items": int(r.loc[c, "n_items"]),
            "n_scored": int(scored[c].notna().sum()), "alpha": r.loc[c, "alpha"],
            "alpha_ci_lower": r.loc[c, "alpha_ci_lower"], "alpha_ci_upper": r.loc[c, "alpha_ci_upper"],
            "alpha_std": r.loc[c, "alpha_std"], "omega_total": r.loc[c, "omega_total"],
            "n_flagged_items": int(flagged.get(c, 0)),
            "icc": ic.loc[c, "icc"] if c in ic.index else np.nan,
            "icc_ci_lower": ic.loc[c, "ci_lower"] if c in ic.index else np.nan,
            "icc_ci_upper": ic.loc[c, "ci_upper"] if c in ic.index else np.nan,
            "weighted_mean": ov.loc[c, "estimate"] if c in ov.index else np.nan,
            "mean_ci_lower": ov.loc[c, "ci_lower"] if c in ov.index else np.nan,
            "mean_ci_upper": ov.loc[c, "ci_upper"] if c in ov.index else np.nan,
        })
    out = pd.DataFrame(rows, columns=_HEADLINE)
    for col in ("n_items", "n_scored", "n_flagged_items"):
        out[col] = out[col].astype("int64")
    return out


@frozen(eq=False, kw_only=True)
class MeasurementReport(Result):
    """Everything the measurement section shows.

    ``estimates`` (``to_frame()``): one headline row per construct — α with
    CI, standardised α, ω, flagged items, ICC with CI, weighted mean with CI.
    The parts are full results of their own: ``reliability``, ``efa``,
    ``weighting``, ``means_by_community`` (community × wave),
    ``means_by_wave``, ``means_overall``, ``means_by_group`` (wave × group,
    keyed by group column), ``icc``; ``item_distribution`` feeds the Likert
    figure.
    """

    kind: ClassVar[str] = "measurement"

    reliability: ReliabilityResult
    efa: EFAResult | None = None
    weighting: WeightingResult | None = None
    means_by_community: SurveyEstimates
    means_by_wave: SurveyEstimates
    means_overall: SurveyEstimates
    means_by_group: Mapping[str, SurveyEstimates] = field(factory=dict)
    icc: ICCResult
    item_distribution: pd.DataFrame
    spec: MeasurementSpec
    notes: tuple[str, ...] = field(default=(), converter=tuple)

    def title(self, lang: str = "zh") -> str:
        return "测量质量与加权估计" if lang.startswith("zh") else "Measurement quality and weighted estimates"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the section by name (for ``reporting`` to save as CSV)."""
        out = {
            "measurement_headline": self.to_frame(),
            "reliability": self.reliability.to_frame(),
            "reliability_items": self.reliability.items.copy(),
            "means_by_community": self.means_by_community.to_frame(),
            "means_by_wave": self.means_by_wave.to_frame(),
            "icc": self.icc.to_frame(),
            "item_distribution": self.item_distribution.copy(),
        }
        for g, r in self.means_by_group.items():
            out[f"means_by_wave_{g}"] = r.to_frame()
        if self.efa is not None:
            out["efa_loadings"] = self.efa.to_frame()
        if self.weighting is not None:
            out["weighting"] = self.weighting.to_frame()
            out["weighting_margins"] = self.weighting.margins.copy()
        return out

    def published(self) -> dict[str, Any]:
        """Every table of the section as records, for results.json (aggregates only: no weights per person)."""
        return {name: frame_to_records(frame) for name, frame in self.tables().items()}

    def _weighting_line(self, lang: str, decimals: int) -> str:
        zh = lang.startswith("zh")
        if self.weighting is None:
            if self.spec.weighting == "column":
                return f"权重：使用数据列 {self.spec.weights}" if zh else f"Weights: column {self.spec.weights}"
            return "权重：未加权（等权）" if zh else "Weights: none (equal weights)"
        est = self.weighting.estimates
        return (
            f"权重：按社区×轮次将样本 raking 至人口边际（{'、'.join(self.weighting.spec.variables)}），"
            f"{len(est)} 组全部收敛；Kish 设计效应中位数 {est.deff_kish.median():.{decimals}f}，"
            f"有效样本量合计 {est.ess.sum():.0f}（n = {int(est.n_obs.sum())}）"
            if zh else
            f"Weights: raked per community × wave to population margins ({', '.join(self.weighting.spec.variables)}); "
            f"all {len(est)} groups converged; median Kish deff {est.deff_kish.median():.{decimals}f}, "
            f"total effective n {est.ess.sum():.0f} (n = {int(est.n_obs.sum())})"
        )

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        head = self.estimates.copy()
        if not zh:
            head["label"] = [self.reliability.construct_labels.get(c, {}).get("en", c) for c in head.construct]
        cols = {"label": "构念" if zh else "construct", "n_items": "题项" if zh else "items",
                "alpha": "α", "alpha_ci_lower": "α下限" if zh else "α low", "alpha_ci_upper": "α上限" if zh else "α high",
                "omega_total": "ω", "icc": "ICC", "weighted_mean": "加权均值" if zh else "weighted mean",
                "n_flagged_items": "需检查题项" if zh else "items flagged"}
        lines = [self.title(lang), head[list(cols)].rename(columns=cols).round(decimals).to_string(index=False),
                 self._weighting_line(lang, decimals)]
        ci = "Feldt" if self.spec.ci_method == "feldt" else "Duhachek"
        lines.append(
            f"说明：α 的 {self.spec.level:.0%} 置信区间采用 {ci} 方法（{'列删除' if self.spec.deletion == 'listwise' else '成对删除'}）；"
            f"ω 基于单因子最大似然模型；均值的标准误按社区聚类（Taylor 线性化，t 分布，自由度 = 社区数 − 1），"
            f"社区内均值以受访者为抽样单元；ICC 采用{'单因素方差分析' if self.spec.icc_method == 'anova' else 'REML 随机截距模型'}估计。"
            if zh else
            f"Notes: α {self.spec.level:.0%} CI by {ci} ({self.spec.deletion} deletion); ω from a one-factor ML model; "
            "SEs of means clustered by community (Taylor linearisation, t with df = communities − 1), "
            "within-community means use respondents as PSUs; ICC by "
            f"{'one-way ANOVA' if self.spec.icc_method == 'anova' else 'REML random-intercept model'}."
        )
        if self.notes:
            lines.append("数据质量提示：" if zh else "Data-quality notes:")
            lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def table(frame: pd.DataFrame) -> str:
            return frame.to_html(index=False, float_format=lambda x: f"{x:.3f}", na_rep="–")

        wave = self.means_by_wave.to_frame()
        parts = [
            f"<div class='evalkit-result'><strong>{html.escape(self.title())}</strong>",
            table(self.to_frame()),
            f"<p>{html.escape(self._weighting_line('zh', 3))}</p>",
            "<details><summary>各轮加权均值</summary>", table(wave), "</details>",
        ]
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("</div>")
        return "".join(parts)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "reliability": self.reliability.to_dict(),
            "efa": None if self.efa is None else self.efa.to_dict(),
            "weighting": None if self.weighting is None else self.weighting.to_dict(),
            "means_by_community": self.means_by_community.to_dict(),
            "means_by_wave": self.means_by_wave.to_dict(),
            "means_overall": self.means_overall.to_dict(),
            "means_by_group": {g: r.to_dict() for g, r in self.means_by_group.items()},
            "icc": self.icc.to_dict(),
            "item_distribution": frame_to_records(self.item_distribution),
            "spec": self.spec.to_dict(),
            "notes": list(self.notes),
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        dist = frame_from_records(d["item_distribution"])
        dist["reverse"] = dist["reverse"].astype(bool)
        dist["value_label"] = dist["value_label"].fillna("")
        return {
            "reliability": Result.from_dict(d["reliability"]),
            "efa": None if d["efa"] is None else Result.from_dict(d["efa"]),
            "weighting": None if d["weighting"] is None else Result.from_dict(d["weighting"]),
            "means_by_community": Result.from_dict(d["means_by_community"]),
            "means_by_wave": Result.from_dict(d["means_by_wave"]),
            "means_overall": Result.from_dict(d["means_overall"]),
            "means_by_group": {g: Result.from_dict(r) for g, r in d["means_by_group"].items()},
            "icc": Result.from_dict(d["icc"]),
            "item_distribution": dist,
            "spec": MeasurementSpec.from_dict(d["spec"]),
            "notes": tuple(d["notes"]),
        }

    # ---- figures -----------------------------------------------------------------
    def figures(self, *, lang: str = "zh") -> dict[str, Any]:
        """Every figure of the section by name (Axes): α by wave, then items and means per construct."""
        out = {"alpha_by_wave": self.plot_alpha(lang=lang)}
        for c in self.spec.constructs:
            out[f"items_{c}"] = self.plot_items(c, lang=lang)
        for c in self.spec.constructs:
            out[f"means_{c}"] = self.plot_means(c, lang=lang)
        return out

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """α by wave (the section's headline figure)."""
        return self.plot_alpha(ax=ax, lang=lang)

    def plot_alpha(self, ax: Any = None, *, by: str | None = None, lang: str = "zh") -> Any:
        from evalkit.reporting.measurement_figures import plot_alpha

        return plot_alpha(self.reliability, ax=ax, by=by or self.spec.wave, lang=lang)

    def plot_items(self, construct: str, ax: Any = None, *, lang: str = "zh") -> Any:
        """Diverging stacked bars of one construct's Likert items."""
        from evalkit.reporting.measurement_figures import plot_likert

        label = self.reliability.construct_labels.get(construct, {}).get("zh" if lang.startswith("zh") else "en",
                                                                          construct)
        title = f"{label}：各题作答分布" if lang.startswith("zh") else f"{label}: answers per item"
        return plot_likert(self.item_distribution, construct=construct, ax=ax, lang=lang, title=title)

    def plot_means(self, construct: str | None = None, ax: Any = None, *, by: Literal["community", "wave"] = "community",
                   lang: str = "zh") -> Any:
        """Weighted means with CIs: per community (waves as markers) or per wave."""
        from evalkit.reporting.measurement_figures import plot_means

        result = self.means_by_community if by == "community" else self.means_by_wave
        return plot_means(result, ax=ax, outcome=construct or self.spec.constructs[0], lang=lang)
