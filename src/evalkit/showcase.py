"""The showcase analysis: one pilot community against a synthetic comparison.

A programme office often wants to show one flagship pilot (示范社区). One treated community
has no cluster-robust standard error and, often, no natural twin among the comparison
communities, so the staggered DiD of :mod:`evalkit.impact` is the wrong tool. The showcase
report uses a **synthetic control** by default (Abadie, Diamond & Hainmueller 2010): a
weighted average of comparison communities chosen to track the pilot's community means in
the survey years before its start; the config may ask for **synthetic DiD** instead
(Arkhangelsky et al. 2021). The other method is always reported beside it as a cross-check,
with the plain DiD of the pilot against the equally weighted comparisons.

Input: the community × survey-year means of the construct scores
(:func:`evalkit.designs.community_panel` by survey year), with a cell counted only when at least
``min_respondents`` residents answered (a smaller cell is too noisy to fit). The pilot is
treated from the survey year in which it started, as in the impact report. Donors are the
config's ``showcase.donors`` or else the study's comparison communities that never had the
programme; a donor missing a year of an outcome is left out of that outcome's fit and
listed (``dropped_donors``).

Inference with one pilot is by placebos: every donor in turn plays the pilot. Three numbers
come from them (all from :func:`evalkit.designs.synthetic_control`):

* a placebo standard error and normal interval (Arkhangelsky et al. 2021, Algorithm 4);
* the permutation p-value of the post/pre RMSPE ratio (ADH 2010);
* the permutation p-value of the post-period effect itself, |gap| ranked among the placebos'
  (Firpo & Possebom 2018). With fewer than five pre-start years the placebos' pre-period fits
  are nearly exact, so their RMSPE ratios explode and the ratio test loses its power; the
  report then leads with the effect-rank p-value and says why (``few_pre_periods``).

This module orchestrates the estimators; it estimates nothing itself.

References
----------
Abadie, A., Diamond, A. & Hainmueller, J. (2010). *JASA* 105(490), 493–505.
Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. & Wager, S. (2021). *AER*
111(12), 4088–4118.
Firpo, S. & Possebom, V. (2018). Synthetic control method: inference, sensitivity analysis
and confidence sets. *Journal of Causal Inference* 6(2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.config import Showcase
from evalkit.errors import ConfigError, EvalkitError
from evalkit.intake.load import Study
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records

__all__ = ["ShowcaseReport", "analyse_showcase", "SHOWCASE_FLAGS"]

#: reason codes of a showcase row besides the synthetic designs' diagnostics
SHOWCASE_FLAGS = ("not_estimable", "pilot_cells_missing", "too_few_donors", "too_few_years", "donors_dropped",
                  "exact_pre_fit")

#: a community-year mean resting on fewer respondents is not used
MIN_RESPONDENTS = 10

_COLUMNS = ["outcome", "method", "estimate", "std_error", "ci_lower", "ci_upper", "p_value",
            "p_value_ratio", "p_value_effect", "headline_p", "pre_rmspe", "post_rmspe", "rmspe_ratio",
            "pre_sd", "n_donors", "n_pre", "n_post", "flags", "status", "reason"]


@frozen(eq=False)
class ShowcaseReport(Result):
    """The showcase pilot's effects.

    ``estimates``: one row per outcome for the chosen method (see ``_COLUMNS``): effect, placebo
    SE and interval, ``p_value_ratio`` (RMSPE-ratio rank) and ``p_value_effect`` (|effect| rank),
    ``headline_p`` naming which of the two the report leads with, pre-period fit, ``flags``
    (``;``-joined diagnostic codes) and ``status`` (``estimated`` / ``not_estimable`` with
    ``reason``). ``cross_check``: per outcome the estimates of every method (synthetic control,
    synthetic DiD, plain DiD). ``results``: the full design results by outcome (weights, gaps,
    placebos). ``pilot``: facts about the pilot (id, programme, start, years before/after,
    respondents, donors).
    """

    kind: ClassVar[str] = "showcase"

    cross_check: pd.DataFrame = field(factory=pd.DataFrame)
    robustness: pd.DataFrame = field(factory=pd.DataFrame)
    results: dict[str, Any] = field(factory=dict)
    pilot: dict[str, Any] = field(factory=dict)
    method: str = "synthetic_control"

    def title(self, lang: str = "zh") -> str:
        if lang.startswith("zh"):
            return "示范试点社区的效应（合成控制）"
        return "Effect on the showcase pilot (synthetic control)"

    def result(self, outcome: str) -> Any:
        """The synthetic-design result of one outcome (None if it was not estimable)."""
        return self.results.get(outcome)

    def weights(self, outcome: str) -> pd.DataFrame:
        """Donor weights of one outcome's fit (unit, weight), largest first."""
        r = self.results.get(outcome)
        if r is None:
            return pd.DataFrame(columns=["unit", "weight"])
        return r.tables["weights" if "weights" in r.tables else "unit_weights"]

    def published(self) -> dict[str, Any]:
        """The numbers the showcase report publishes (results.json)."""
        weights = {o: frame_to_records(self.weights(o)) for o in self.results}
        return {"pilot": self.pilot, "method": self.method, "estimates": frame_to_records(self.estimates),
                "cross_check": frame_to_records(self.cross_check), "robustness": frame_to_records(self.robustness),
                "weights": weights}

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"cross_check": frame_to_records(self.cross_check), "pilot": self.pilot, "method": self.method,
                "robustness": frame_to_records(self.robustness),
                "results": {o: r.to_dict() for o, r in self.results.items()}}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {"cross_check": frame_from_records(d["cross_check"]), "pilot": d["pilot"], "method": d["method"],
                "robustness": frame_from_records(d["robustness"]),
                "results": {o: Result.from_dict(r) for o, r in d["results"].items()}}

    def plot(self, ax: Any = None, *, outcome: str | None = None, lang: str = "zh") -> Any:
        """Gap plot of one outcome (default: the first estimable)."""
        outcome = outcome or next(iter(self.results), None)
        if outcome is None:
            msg = "no outcome of the showcase could be estimated; nothing to plot"
            raise EvalkitError(msg)
        return self.results[outcome].plot(ax=ax, lang=lang)


def analyse_showcase(
    study: Study,
    *,
    showcase: Showcase | str | None = None,
    outcomes: Sequence[str] | None = None,
    scored: pd.DataFrame | None = None,
    weights: str | None = None,
    min_respondents: int = MIN_RESPONDENTS,
    draws: int = 200,
    alpha: float = 0.05,
) -> ShowcaseReport:
    """Synthetic control (or synthetic DiD) for the study's showcase pilot (module docstring).

    Parameters
    ----------
    study
        A loaded study.
    showcase
        The pilot and method; default the config's ``showcase:``. A community id alone means
        synthetic control against the comparison communities.
    outcomes
        Constructs; default the showcase's own list, else the config's outcomes.
    scored
        Resident construct scores (default: scored from the study's survey).
    weights
        Survey-weight column for the community means (Hájek), or None.
    min_respondents
        Community-year cells with fewer answering residents are not used.
    draws
        Placebo draws of the synthetic DiD's standard error.

    Raises
    ------
    ConfigError
        No showcase in the config and none given, or the community is not a pilot.
    """
    from evalkit.designs import community_panel, synthetic_control, synthetic_did
    from evalkit.impact import with_survey_year

    show = _resolve(study, showcase)
    outcomes = list(outcomes or show.outcomes or study.config.outcomes)
    if scored is None:
        from evalkit.scales import score

        scored = score(study.tables["survey"], study.codebook, constructs=outcomes)
    # community × year means; a cell with too few answers is left empty (not used)
    panel = community_panel(with_survey_year(scored), outcomes=outcomes, time="year", weights=weights,
                            min_respondents=min_respondents)
    pilots = study.pilots.set_index("community_id")
    cid = show.community_id
    start = int(pilots.loc[cid, "start_year"])
    donors = list(show.donors) if show.donors is not None else [
        c for c in study.comparison_ids() if c not in set(pilots.index)]
    years = sorted(int(y) for y in panel["year"].unique())
    mine = panel[panel["community_id"] == cid]
    facts = {"community_id": cid, "programme": str(pilots.loc[cid, "programme"]),
             "start_date": str(pd.Timestamp(pilots.loc[cid, "start_date"]).date()), "start_year": start,
             "years": years, "years_before": [y for y in years if y < start],
             "years_after": [y for y in years if y >= start],
             "respondents_before": int(mine.loc[mine["year"] < start, "n_respondents"].sum()),
             "respondents_after": int(mine.loc[mine["year"] >= start, "n_respondents"].sum()),
             "donors_offered": len(donors), "min_respondents": int(min_respondents),
             "weighted": weights is not None}

    rows, cross, robust, results = [], [], [], {}
    for outcome in outcomes:
        usable, dropped = _balanced_donors(panel, outcome, donors, years)
        base = {"outcome": outcome, "method": show.method, "n_donors": len(usable),
                "n_pre": len(facts["years_before"]), "n_post": len(facts["years_after"])}
        pilot_cells = mine.set_index("year")[outcome].reindex(years)
        if pilot_cells.isna().any():
            rows.append({**base, "status": "not_estimable", "reason": "pilot_cells_missing",
                         "flags": "pilot_cells_missing"})
            continue
        if len(usable) < 2 or len(facts["years_before"]) < 2 or not facts["years_after"]:
            reason = "too_few_donors" if len(usable) < 2 else "too_few_years"
            rows.append({**base, "status": "not_estimable", "reason": reason, "flags": reason})
            continue
        kwargs = {"outcome": outcome, "unit": "community_id", "time": "year", "start": start, "donors": usable}
        try:
            sc = synthetic_control(panel, treated_unit=cid, alpha=alpha, **kwargs)
            sdid = synthetic_did(panel, treated_units=cid, draws=draws, seed=study.config.seed, alpha=alpha,
                                 **kwargs)
        except EvalkitError as exc:  # too few years or donors: a reason, never a crashed report
            rows.append({**base, "status": "not_estimable", "reason": type(exc).__name__,
                         "flags": "not_estimable"})
            continue
        chosen = sc if show.method == "synthetic_control" else sdid
        results[outcome] = chosen
        rows.append({**base, **_headline(chosen, sc, dropped)})
        for design, r, term in (("synthetic_control", sc, "att"), ("synthetic_did", sdid, "sdid"),
                                ("did", sdid, "did")):
            e = r.estimates.set_index("term").loc[term]
            cross.append({"outcome": outcome, "design": design, "estimate": float(e["estimate"]),
                          "std_error": float(e["std_error"]), "ci_lower": float(e["ci_lower"]),
                          "ci_upper": float(e["ci_upper"]), "chosen": design == show.method})
        facts.setdefault("dropped_donors", {})[outcome] = dropped
        robust += _robustness(panel, sc, outcome=outcome, pilot=cid, start=start, donors=usable)
    return ShowcaseReport(
        estimates=pd.DataFrame(rows, columns=_COLUMNS),
        provenance=Provenance.current(seed=study.config.seed),
        cross_check=pd.DataFrame(cross, columns=["outcome", "design", "estimate", "std_error", "ci_lower",
                                                 "ci_upper", "chosen"]),
        results=results,
        pilot=facts,
        method=show.method,
        robustness=pd.DataFrame(robust, columns=["outcome", "check", "dropped", "start", "estimate"]),
    )


def _resolve(study: Study, showcase: Showcase | str | None) -> Showcase:
    show = showcase if showcase is not None else study.config.showcase
    if show is None:
        msg = (f"{study.config.path}: no showcase pilot. Add to the config: showcase: {{community: '<pilot code>'}} "
               "(synthetic control by default), or pass showcase= to analyse_showcase")
        raise ConfigError(msg)
    if isinstance(show, str):
        show = Showcase(show)
    if show.community_id not in set(study.pilots["community_id"]):
        msg = (f"{study.config.path}: showcase community '{show.community_id}' is not a pilot of this study; "
               "name one of the pilots")
        raise ConfigError(msg)
    return show


def _balanced_donors(panel: pd.DataFrame, outcome: str, donors: Sequence[str],
                     years: Sequence[int]) -> tuple[list[str], list[str]]:
    """Donors with a usable mean in every year, and those left out."""
    wide = panel[panel["community_id"].isin(donors)].pivot(index="community_id", columns="year", values=outcome)
    wide = wide.reindex(index=list(donors), columns=list(years))
    complete = wide.notna().all(axis=1)
    return [d for d in donors if complete.get(d, False)], [d for d in donors if not complete.get(d, False)]


def _headline(chosen: Any, sc: Any, dropped: Sequence[str]) -> dict[str, Any]:
    """The chosen method's row: estimate, interval, both placebo p-values and the one to lead with."""
    row = chosen.estimates.iloc[0]
    sc_row = sc.estimates.iloc[0]
    diag = chosen.tables["diagnostics"]
    flags = [str(c) for c in diag.loc[diag["flagged"].astype(bool), "code"]]
    if dropped:
        flags.append("donors_dropped")
    pre_gap = sc.tables["gaps"].query("phase == 'pre'")["gap"].to_numpy(dtype=float)
    if np.sqrt(np.mean(pre_gap ** 2)) < 1e-6 * max(1.0, float(np.abs(sc.tables["gaps"]["treated"]).max())):
        flags.append("exact_pre_fit")  # more donors than years: the perfectly fitting weights are not unique
    few_pre = bool(sc.tables["diagnostics"].set_index("code").loc["few_pre_periods", "flagged"])
    p_ratio, p_effect = float(sc_row["p_value"]), _effect_rank_p(sc)
    pre_y = sc.tables["gaps"].query("phase == 'pre'")["treated"].to_numpy(dtype=float)
    return {"estimate": float(row["estimate"]), "std_error": float(row["std_error"]),
            "ci_lower": float(row["ci_lower"]), "ci_upper": float(row["ci_upper"]),
            "p_value": p_effect if few_pre else p_ratio, "p_value_ratio": p_ratio, "p_value_effect": p_effect,
            "headline_p": "effect_rank" if few_pre else "rmspe_ratio",
            "pre_rmspe": float(row.get("pre_rmspe", math.nan)), "post_rmspe": float(sc_row["post_rmspe"]),
            "rmspe_ratio": float(sc_row["rmspe_ratio"]),
            "pre_sd": float(np.std(pre_y, ddof=1)) if len(pre_y) > 1 else math.nan,
            "flags": ";".join(flags), "status": "estimated", "reason": ""}


def _robustness(panel: pd.DataFrame, sc: Any, *, outcome: str, pilot: str, start: int,
                donors: Sequence[str]) -> list[dict[str, Any]]:
    """The two checks a referee asks of a synthetic control (Abadie, Diamond & Hainmueller 2015, §4):

    * ``leave_one_out`` – refit without each donor that carries weight: an effect that rests on one
      comparison community moves when it is left out;
    * ``in_time_placebo`` – pretend the pilot started one survey year earlier and fit on the years
      before the real start only: the "effect" in that year should be near zero (needs three
      years before the start).

    Only the point estimate is needed, so the refits take the weights alone
    (:func:`evalkit.designs.synthetic.synthetic_weights`, the same solver as the main fit).
    """
    from evalkit.designs.synthetic import synthetic_weights

    wide = panel.pivot(index="community_id", columns="year", values=outcome)
    years = np.asarray(wide.columns)
    y1 = wide.loc[pilot].to_numpy(dtype=float)

    def effect(pool: Sequence[str], data: pd.DataFrame, fake_start: int) -> float:
        w = synthetic_weights(data, outcome=outcome, unit="community_id", time="year", treated_unit=pilot,
                              start=fake_start, donors=list(pool))
        after = (years >= fake_start) & np.isin(years, data["year"].unique())
        synthetic = w.to_numpy() @ wide.loc[list(w.index)].to_numpy(dtype=float)
        return float(np.mean((y1 - synthetic)[after]))

    out: list[dict[str, Any]] = []
    weights = sc.tables["weights"]
    for donor in weights.loc[weights["weight"] >= 0.005, "unit"]:
        rest = [d for d in donors if d != donor]
        if len(rest) >= 2:
            out.append({"outcome": outcome, "check": "leave_one_out", "dropped": str(donor), "start": start,
                        "estimate": effect(rest, panel, start)})
    before = panel[panel["year"] < start]
    if before["year"].nunique() >= 3:
        fake = int(sorted(before["year"].unique())[-1])
        out.append({"outcome": outcome, "check": "in_time_placebo", "dropped": "", "start": fake,
                    "estimate": effect(donors, before, fake)})
    return out


def _effect_rank_p(sc: Any) -> float:
    """(1 + #{placebos with |effect| ≥ |pilot's|}) / (1 + placebos), from the leave-pilot-out placebo fits."""
    effect = abs(float(sc.estimates["estimate"].iloc[0]))
    placebo = sc.tables["placebos"]
    placebo = placebo.loc[~placebo["is_treated"].astype(bool), "att_placebo"].dropna().abs().to_numpy(dtype=float)
    return float((1 + np.sum(placebo >= effect - 1e-12)) / (1 + len(placebo)))
