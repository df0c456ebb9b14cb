"""Each pilot's own effect: a per-community difference-in-differences with honest uncertainty.

The city-wide estimate (:mod:`evalkit.impact`) pools every pilot. A programme
office also wants each pilot's own number, and a funder wants to know how far
to trust it. For pilot *i* starting in survey year *g*:

    effect_i = (post_i − pre_i) − mean_c (post_c − pre_c)

where ``pre``/``post`` are the mean construct scores of all respondents
interviewed before year *g* and from year *g* on, and *c* runs over the
comparison communities of the study (never-treated by default).

With one treated community, cluster-robust standard errors do not exist. The
interval follows Conley & Taber (2011, *Review of Economics and Statistics*
93(1)): the same contrast is computed for every comparison community as if it
had been a pilot (a placebo), and the spread of those placebo effects — which
carries both sampling noise and community-level shocks — gives the interval
``[effect − q(0.975), effect − q(0.025)]`` and a permutation p-value
``(1 + #{|placebo| ≥ |effect|}) / (1 + C)``. With few comparison communities
the interval is coarse, and that is reported as a fact (``few_comparisons``);
so are few respondents before or after the start (``few_responses``: fewer
than ``min_responses``) and a pilot with no survey before its start
(``no_baseline``: not estimable).

The resident-level sampling standard error of the pilot's own pre/post change
is reported beside it (``sampling_se``), since a reader may ask how much of the
uncertainty is the survey's.

Written here rather than taken from a library: no maintained Python package
offers Conley–Taber inference for a single treated unit; the computation is a
few group means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.intake.load import Study
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records

__all__ = ["CommunityEffects", "community_effects", "COMMUNITY_FLAGS"]

#: reason codes a per-community estimate may carry (rendered to words in evalkit.reporting)
COMMUNITY_FLAGS = ("no_baseline", "no_follow_up", "few_responses", "few_comparisons")

#: fewer placebo communities than this make the interval's ends rest on one or two extreme placebos
_MIN_COMPARISONS = 20

_COLUMNS = ["community_id", "programme", "cohort", "outcome", "estimate", "ci_lower", "ci_upper",
            "p_value", "sampling_se", "pre_mean", "post_mean", "comparison_change", "n_pre", "n_post",
            "n_comparisons", "flags"]


@frozen(eq=False)
class CommunityEffects(Result):
    """Per-pilot effects (``estimates``: one row per pilot × outcome) and the placebo effects.

    ``estimates`` columns: community_id, programme, cohort, outcome, estimate, ci_lower,
    ci_upper (Conley–Taber, ``level``), p_value (placebo permutation), sampling_se,
    pre_mean, post_mean, comparison_change, n_pre, n_post, n_comparisons and flags
    (reason codes joined by ``;``, see :data:`COMMUNITY_FLAGS`). ``placebos``: for each
    pilot × outcome, each comparison community's placebo effect.
    """

    kind: ClassVar[str] = "community_effects"

    placebos: pd.DataFrame = field(factory=pd.DataFrame)
    level: float = 0.95
    min_responses: int = 30

    def title(self, lang: str = "zh") -> str:
        return "各试点社区的效应" if lang.startswith("zh") else "Effect in each pilot community"

    def for_community(self, community_id: str) -> pd.DataFrame:
        """The rows of one pilot (empty if it is not a pilot)."""
        return self.estimates[self.estimates["community_id"] == community_id].reset_index(drop=True)

    def league(self, outcome: str) -> pd.DataFrame:
        """Pilots ranked by their effect on ``outcome`` (estimable ones first, largest effect first)."""
        rows = self.estimates[self.estimates["outcome"] == outcome]
        return rows.sort_values(["estimate", "community_id"], ascending=[False, True],
                                na_position="last").reset_index(drop=True)

    def by_programme(self) -> pd.DataFrame:
        """Mean per-pilot effect and the number of estimable pilots by programme and outcome."""
        ok = self.estimates.dropna(subset=["estimate"])
        return (ok.groupby(["outcome", "programme"], observed=True)
                .agg(mean_effect=("estimate", "mean"), pilots=("estimate", "size"))
                .reset_index())

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"placebos": frame_to_records(self.placebos), "level": self.level,
                "min_responses": self.min_responses}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {"placebos": frame_from_records(d["placebos"]), "level": d["level"],
                "min_responses": d["min_responses"]}

    def plot(self, ax: Any = None, *, outcome: str | None = None, labels: pd.Series | None = None,
             lang: str = "zh") -> Any:
        """Forest plot of every estimable pilot's effect on one outcome (default: the first)."""
        from evalkit.reporting.figures import forest_plot

        outcome = outcome or str(self.estimates["outcome"].iloc[0])
        rows = self.league(outcome).dropna(subset=["estimate"])
        rows = rows.assign(label=rows["community_id"].map(labels) if labels is not None
                           else rows["community_id"])
        return forest_plot(rows, ax=ax, lang=lang)


def community_effects(
    study: Study,
    *,
    outcomes: Sequence[str] | None = None,
    scored: pd.DataFrame | None = None,
    level: float = 0.95,
    min_responses: int = 30,
) -> CommunityEffects:
    """Each pilot's own effect with Conley–Taber intervals (see the module docstring).

    Parameters
    ----------
    study
        A loaded study (pilots with ``start_year``; comparison communities from the config).
    outcomes
        Constructs; default: the config's outcomes.
    scored
        Resident-level construct scores (default: scored from the study's survey).
    level
        Confidence level of the interval.
    min_responses
        Fewer respondents than this before or after the start flags ``few_responses``.
    """
    from evalkit.scales import score  # only when scoring here: keeps a report kernel's imports light

    outcomes = list(outcomes or study.config.outcomes)
    if scored is None:
        scored = score(study.tables["survey"], study.codebook, constructs=outcomes)
    data = scored.assign(year=pd.to_datetime(scored["interview_date"]).dt.year.astype(int))
    pilots = study.pilots.dropna(subset=["start_year"]).copy()
    pilots["start_year"] = pilots["start_year"].astype(int)
    comparisons = [c for c in study.comparison_ids() if c not in set(pilots["community_id"])]
    alpha = 1 - level
    rows, placebo_rows = [], []
    for pilot in pilots.sort_values("community_id").itertuples(index=False):
        cid, g = str(pilot.community_id), int(pilot.start_year)
        for outcome in outcomes:
            rec, placebos = _one_pilot(data, cid, g, comparisons, outcome, alpha, min_responses)
            rows.append({"community_id": cid, "programme": str(pilot.programme), "cohort": g,
                         "outcome": outcome, **rec})
            placebo_rows += [{"community_id": cid, "outcome": outcome, "comparison_id": c, "placebo": p}
                             for c, p in placebos.items()]
    estimates = pd.DataFrame(rows, columns=_COLUMNS)
    return CommunityEffects(
        estimates=estimates,
        provenance=Provenance.current(seed=study.config.seed),
        placebos=pd.DataFrame(placebo_rows, columns=["community_id", "outcome", "comparison_id", "placebo"]),
        level=level,
        min_responses=min_responses,
    )


def _period_stats(data: pd.DataFrame, outcome: str, g: int) -> pd.DataFrame:
    """Per community: mean, variance and count of ``outcome`` before ``g`` and from ``g`` on."""
    x = data[["community_id", "year", outcome]].dropna(subset=[outcome])
    post = x["year"] >= g
    stats = x.assign(period=np.where(post, "post", "pre")).groupby(
        ["community_id", "period"], observed=True)[outcome].agg(["mean", "var", "size"])
    return stats.unstack("period")


def _one_pilot(data: pd.DataFrame, cid: str, g: int, comparisons: list[str], outcome: str,
               alpha: float, min_responses: int) -> tuple[dict[str, Any], dict[str, float]]:
    stats = _period_stats(data[data["community_id"].isin([cid, *comparisons])], outcome, g)

    def get(stat: str, period: str, who: str) -> float:
        try:
            return float(stats.loc[who, (stat, period)])
        except KeyError:
            return float("nan")

    n_pre, n_post = get("size", "pre", cid), get("size", "post", cid)
    n_pre, n_post = (0 if np.isnan(n_pre) else int(n_pre)), (0 if np.isnan(n_post) else int(n_post))
    flags = []
    if n_pre == 0:
        flags.append("no_baseline")
    if n_post == 0:
        flags.append("no_follow_up")
    if 0 < min(n_pre, n_post) < min_responses:
        flags.append("few_responses")
    changes = {c: get("mean", "post", c) - get("mean", "pre", c) for c in comparisons}
    changes = {c: d for c, d in changes.items() if np.isfinite(d)}
    n_comp = len(changes)
    if n_comp < _MIN_COMPARISONS:
        flags.append("few_comparisons")
    rec: dict[str, Any] = {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan,
                           "sampling_se": np.nan, "pre_mean": get("mean", "pre", cid),
                           "post_mean": get("mean", "post", cid), "comparison_change": np.nan,
                           "n_pre": n_pre, "n_post": n_post, "n_comparisons": n_comp}
    if n_pre == 0 or n_post == 0 or n_comp < 2:
        rec["flags"] = ";".join(flags)
        return rec, {}
    values = np.array(list(changes.values()))
    comp_change = float(values.mean())
    estimate = rec["post_mean"] - rec["pre_mean"] - comp_change
    # placebo: comparison c treated as the pilot, against the other comparisons
    others_mean = (values.sum() - values) / (n_comp - 1)
    placebo = values - others_mean
    lo_q, hi_q = np.quantile(placebo, [alpha / 2, 1 - alpha / 2])
    p_value = (1 + np.sum(np.abs(placebo) >= abs(estimate) - 1e-12)) / (1 + n_comp)
    var_pre, var_post = get("var", "pre", cid), get("var", "post", cid)
    sampling_se = np.sqrt(np.nan_to_num(var_pre) / n_pre + np.nan_to_num(var_post) / n_post)
    rec.update(estimate=estimate, ci_lower=estimate - hi_q, ci_upper=estimate - lo_q,
               p_value=float(min(p_value, 1.0)), sampling_se=float(sampling_se),
               comparison_change=comp_change, flags=";".join(flags))
    return rec, dict(zip(changes, placebo.tolist(), strict=True))
