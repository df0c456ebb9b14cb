"""Further impact designs on a study's data, as cross-checks of the staggered DiD.

:func:`evaluate_designs` runs the designs the config asks for (``designs:`` in study.yaml,
:class:`evalkit.config.DesignChoice`) with specifications a methodologist can defend for
community pilots observed in repeated resident surveys. This module builds the analysis
frames and calls the estimators of :mod:`evalkit.designs`; it estimates nothing itself.

Specifications
--------------
**Matching and weighting (community level).** The programme is assigned to communities, so
the unit is the community: pilots against the study's comparison communities
(``Study.comparison_ids()``). The outcome is the change in the community's mean construct
score from the *baseline* wave (the first survey wave) to the *last* wave; matching or
weighting on baseline characteristics then gives a matched / weighted difference-in-differences
on changes (Heckman, Ichimura & Todd 1997; Abadie 2005): levels that differ between
pilots and comparison communities cancel, and the covariates make parallel trends more
plausible. Covariates are the community characteristics the study has: log registered
population, migrant share and urban/rural from the registry, and the baseline share of
residents aged 60+ (and the share of migrants when the registry has no migrant share) from the
survey. With about 50 communities a propensity model carries only a handful of covariates,
hence this short list; covariates constant across the communities are left out.

The baseline *level of the outcome* is not a covariate by default (``match_baseline_outcome=
True`` adds it). Pilots are chosen for being better-off: their outcome levels are higher for
lasting reasons. Matching a pilot to a comparison community with the same *measured* baseline
picks pilots whose baseline was low by chance (survey noise, a bad year) and comparison
communities whose baseline was high by chance; both regress to their own means, so the change
of the pilots is overstated – regression to the mean created by the matching (Daw & Hatfield
2018). On the demo city, where selection is on a lasting community trait, matching on the
baseline level turns the true null effect on security into 0.20 [0.02, 0.38] and moves the
estimate for gain from 0.45 to 0.49 against a truth of 0.35; without it both cover the truth.
The change outcome already removes the level difference.

* the baseline wave must precede every pilot's start. Pilots that started in or before the
  baseline year have no untreated baseline and are left out of the community-level designs
  (reason code ``pilots_started_before_baseline`` with their number);
* pilots starting after the last wave are not yet treated there; they are neither treated
  nor comparison units;
* comparison units are ``Study.comparison_ids()`` minus every pilot that started by the
  last wave (for ``comparison: not_yet_treated`` these are the never-treated communities,
  as no community is "not yet treated" at the last wave).

The estimand is the average effect at the last wave on the pilots (ATT; with ``estimand:
ATE``, on all communities), i.e. after 1 to several years of exposure depending on the
cohort — not the average over post-start years of the main estimate. ``weighting`` runs
inverse-probability weighting (ATT or ATE), AIPW (the ATE: evalkit's doubly robust
estimator targets the ATE) or entropy balancing (the ATT); a method asked for an estimand
it does not estimate gives a row with reason code ``estimand_not_offered``. Matching SEs
are clustered by matched pair (two-way by pair and control with replacement, MatchIt's
vignette); weighting SEs are stacked sandwich SEs that account for the estimated weights.

**Multilevel model (residents in communities).** Residents of the pilots and comparison
communities; outcome the construct score; fixed part: pilot community, pilot × post (the
survey year is at or after the community's start: the DiD contrast), survey-year effects,
and the resident covariates the survey has (age in decades, female, migrant); random
intercept by community and, with ``random_slope: true``, a random slope of pilot × post by
community (pilot-specific effects). A separate ``post`` term is not identified: it is 0 in
comparison communities (so equal to pilot × post), and a calendar "post" is absorbed by the
year effects. Reported: the pilot × post coefficient, variance components and the
conditional and adjusted ICC (Nakagawa et al. 2017). Unweighted (``MixedLM`` takes no
sampling weights; reason code ``unweighted`` when the study asks for weights).

**Ordered logit.** Each outcome construct's first codebook item (or the ``items`` listed in
the config), its answers as an ordinal outcome (reverse-keyed items turned round so that up
is better), covariates pilot, pilot × post, survey-year dummies and the resident covariates;
SEs clustered by community (CR1 sandwich). Reported: the odds ratio of pilot × post. Yes/no
items have two categories and give a row with reason code ``item_not_ordinal``.

**Pre-post.** Residents of pilot communities only (:func:`evalkit.designs.pre_post`):
the change after the start within each pilot (community fixed effects, resident covariates),
CR2 SEs by community. Without a comparison group it cannot separate the programme from
everything else that changed: the weakest design (reason code ``pre_post_no_comparison``).

**Without comparison communities** (the survey covers pilots only) the pre-post design is added
even when the config does not ask for it: it is the one description left, and the impact report
shows it in place of the estimates it cannot make.

Each design and outcome gives one row of :attr:`DesignsReport.estimates`. A design that cannot
be estimated (too few comparison communities, no overlap, no convergence …) gives a row with
no estimate and a reason code; the report never fails because one design cannot be run.

References
----------
Heckman, J. J., Ichimura, H., & Todd, P. E. (1997). Matching as an econometric evaluation
    estimator. Review of Economic Studies, 64(4), 605–654.
Abadie, A. (2005). Semiparametric difference-in-differences estimators. Review of Economic
    Studies, 72(1), 1–19.
Daw, J. R., & Hatfield, L. A. (2018). Matching and regression to the mean in difference-in-
    differences analysis. Health Services Research, 53(6), 4138–4156.
Nakagawa, S., Johnson, P. C. D., & Schielzeth, H. (2017). The coefficient of determination R²
    and intra-class correlation coefficient from generalized linear mixed-effects models
    revisited and expanded. J. R. Soc. Interface, 14, 20170213.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.config import DesignChoice
from evalkit.designs.results import DesignResult
from evalkit.errors import (ConvergenceError, DataQualityWarning, DataValidationError, EvalkitError,
                            NotIdentifiedError)
from evalkit.impact import with_survey_year, community_year_panel
from evalkit.intake.load import Study
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records

__all__ = ["DesignCode", "DesignsReport", "evaluate_designs", "community_changes", "resident_frame",
           "design_truth", "surveys_comparison", "truth_file", "ROW_COLUMNS"]


class DesignCode(enum.StrEnum):
    """Reason codes of the report rows (on top of :class:`evalkit.designs.DesignCaveat`)."""

    #: pilots that started in or before the baseline year are left out (community level)
    PILOTS_STARTED_BEFORE_BASELINE = "pilots_started_before_baseline"
    #: fewer than 2 comparison communities (or 3 for the multilevel model's groups)
    TOO_FEW_COMPARISON = "too_few_comparison"
    #: fewer than 2 pilots with a baseline
    TOO_FEW_TREATED = "too_few_treated"
    #: the estimator found the effect not identified (e.g. no overlap, collinear covariates)
    NOT_IDENTIFIED = "not_identified"
    #: the estimator did not converge
    DID_NOT_CONVERGE = "did_not_converge"
    #: the data do not fit the design (e.g. too few answer categories)
    DATA_NOT_USABLE = "data_not_usable"
    #: the item has fewer than three answer categories (yes/no)
    ITEM_NOT_ORDINAL = "item_not_ordinal"
    #: an item listed in the config's ordered_logit items is not a scored codebook item
    ITEM_NOT_FOUND = "item_not_found"
    #: the chosen weighting method does not estimate the chosen estimand
    ESTIMAND_NOT_OFFERED = "estimand_not_offered"
    #: the design ran unweighted although the study asks for weights
    UNWEIGHTED = "unweighted"
    #: the survey has only one wave, or no wave before any pilot started
    NO_BASELINE = "no_baseline"


#: columns of one row of :attr:`DesignsReport.estimates`
ROW_COLUMNS = ("design", "method", "outcome", "item", "term", "estimand", "scale", "estimate",
               "std_error", "ci_lower", "ci_upper", "p_value", "n_units", "n_treated", "n_comparison",
               "unit", "inference", "caveats", "status")

#: registry covariates (column → how it enters) used when present
_REGISTRY_COVARIATES = ("log_population", "migrant_share", "urban")
_RESIDENT_COVARIATES = ("age_decades", "female", "migrant")


@frozen(eq=False)
class DesignsReport(Result):
    """The further designs of an impact report.

    ``estimates``: one row per design and outcome (columns :data:`ROW_COLUMNS`; ``caveats`` is
    a ``;``-joined list of reason codes, ``status`` ``ok`` or ``not_estimable``). Further
    tables: ``balance`` (design, outcome, covariate, SMD and variance ratios before/after),
    ``variance_components`` and ``icc`` (multilevel), ``specification`` (one row per design:
    unit, baseline and last year, covariates, options). ``results`` holds each design's own
    result object by ``"<design>:<outcome>"`` (``"ordered_logit:<item>"``).
    """

    kind: ClassVar[str] = "designs_report"

    designs: tuple[str, ...] = ()
    balance: pd.DataFrame = field(factory=pd.DataFrame)
    variance_components: pd.DataFrame = field(factory=pd.DataFrame)
    icc: pd.DataFrame = field(factory=pd.DataFrame)
    specification: pd.DataFrame = field(factory=pd.DataFrame)
    weights: str | None = None
    results: dict[str, DesignResult] = field(factory=dict)

    _FRAMES: ClassVar[tuple[str, ...]] = ("balance", "variance_components", "icc", "specification")

    @property
    def is_empty(self) -> bool:
        """True when the config asked for no further design."""
        return not self.designs

    def title(self, lang: str = "zh") -> str:
        from evalkit.reporting.vocab import word

        return word("result.designs_report", lang)

    def published(self) -> dict[str, Any]:
        """Every number the designs section shows, for results.json (empty without designs)."""
        if self.is_empty:
            return {}
        return {"designs": list(self.designs), "estimates": frame_to_records(self.estimates),
                **{name: frame_to_records(getattr(self, name)) for name in self._FRAMES}}

    def results_entry(self) -> dict[str, Any]:
        """``{"designs": published()}`` for the impact results, or ``{}`` without designs."""
        return {} if self.is_empty else {"designs": self.published()}

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        if self.is_empty:
            return self.title(lang)
        cols = ["design", "outcome", "estimate", "ci_lower", "ci_upper", "p_value", "caveats"]
        return f"{self.title(lang)}\n{self.estimates[cols].round(decimals).to_string(index=False)}"

    def _extra_to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_to_records(getattr(self, name)) for name in self._FRAMES}
        out["designs"] = list(self.designs)
        out["weights"] = self.weights
        out["results"] = {k: v.to_dict() for k, v in self.results.items()}
        return out

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {name: frame_from_records(d[name]) for name in cls._FRAMES}
        out["designs"] = tuple(d["designs"])
        out["weights"] = d["weights"]
        out["results"] = {k: Result.from_dict(v) for k, v in d["results"].items()}
        return out

    def plot(self, ax: Any = None, *, design: str = "matching", outcome: str | None = None,
             lang: str = "zh") -> Any:
        """Love plot of one matching or weighting result (default: the first outcome)."""
        keys = [k for k in self.results if k.startswith(f"{design}:")]
        key = f"{design}:{outcome}" if outcome else (keys[0] if keys else f"{design}:")
        if key not in self.results:
            msg = f"no {design} result{f' for {outcome!r}' if outcome else ''} in this report; have {sorted(self.results)}"
            raise KeyError(msg)
        return self.results[key].plot(ax=ax, lang=lang)


# ---- analysis frames --------------------------------------------------------------------
def community_changes(scored: pd.DataFrame, study: Study, outcomes: Sequence[str], *,
                      weights: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per community: ``treat``, ``change_<o>`` and ``baseline_<o>`` per outcome, and the
    baseline covariates; plus the facts of the sample (baseline and last year, pilots left out).

    See the module docstring for who enters as treated and as comparison unit.
    """
    panel = community_year_panel(scored, study, outcomes, weights=weights)
    years = sorted(panel["year"].unique())
    base, last = int(years[0]), int(years[-1])
    start = study.pilots.set_index("community_id")["start_year"].astype("float64")
    early = sorted(c for c, s in start.items() if s <= base)
    treated = sorted(c for c, s in start.items() if base < s <= last)
    started = set(c for c, s in start.items() if s <= last)
    comparison = sorted(set(study.comparison_ids()) - started)
    facts = {"baseline_year": base, "last_year": last, "n_started_before_baseline": len(early),
             "n_treated": len(treated), "n_comparison": len(comparison), "n_years": len(years)}
    wide = panel[panel["year"].isin([base, last])].pivot(index="community_id", columns="year",
                                                         values=list(outcomes))
    rows = pd.DataFrame(index=pd.Index(treated + comparison, name="community_id"))
    rows["treat"] = [1] * len(treated) + [0] * len(comparison)
    for o in outcomes:
        b = wide[(o, base)] if (o, base) in wide.columns else pd.Series(dtype=float)
        e = wide[(o, last)] if (o, last) in wide.columns else pd.Series(dtype=float)
        rows[f"baseline_{o}"] = b.reindex(rows.index)
        rows[f"change_{o}"] = (e - b).reindex(rows.index)
    reg = study.tables["communities"].set_index("community_id")
    if "population" in reg and reg["population"].notna().any():
        rows["log_population"] = np.log(pd.to_numeric(reg["population"], errors="coerce")).reindex(rows.index)
    if "migrant_share" in reg and reg["migrant_share"].notna().any():
        rows["migrant_share"] = pd.to_numeric(reg["migrant_share"], errors="coerce").reindex(rows.index)
    if "urban_rural" in reg and reg["urban_rural"].notna().any():
        rows["urban"] = (reg["urban_rural"].astype("string") == "urban").astype(float) \
            .where(reg["urban_rural"].notna()).reindex(rows.index)
    first = with_survey_year(scored)
    first = first[first["year"] == base]
    by = first.groupby("community_id", observed=True)
    if "age" in first and first["age"].notna().any():
        rows["share_60plus"] = by["age"].apply(lambda a: float((a.dropna() >= 60).mean())).reindex(rows.index)
    if "migrant_share" not in rows and "hukou" in first and first["hukou"].notna().any():
        rows["share_migrant"] = by["hukou"].apply(
            lambda h: float((h.dropna() == "migrant").mean())).reindex(rows.index)
    return rows.reset_index(), facts


def surveys_comparison(scored: pd.DataFrame, study: Study) -> bool:
    """Whether the survey covers any community that is not a pilot (the condition of
    :func:`evalkit.impact.has_comparison`)."""
    return bool(set(scored["community_id"].dropna()) - set(study.pilots["community_id"]))


def community_covariates(frame: pd.DataFrame) -> list[str]:
    """The community covariates present in ``frame`` that vary across its units."""
    cands = [*_REGISTRY_COVARIATES, "share_60plus", "share_migrant"]
    return [c for c in cands if c in frame and frame[c].notna().any() and frame[c].nunique(dropna=True) > 1]


def resident_frame(scored: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Residents of pilots and comparison communities with ``pilot``, ``pilot_post``, year dummies
    (``year_<y>``, the first year left out) and the resident covariates the survey has."""
    data = with_survey_year(scored)
    start = study.pilots.set_index("community_id")["start_year"].astype("float64")
    keep = set(start.index) | set(study.comparison_ids())
    data = data[data["community_id"].isin(keep)].copy()
    cohort = data["community_id"].map(start)
    data["pilot"] = cohort.notna().astype(int).to_numpy()
    data["pilot_post"] = (cohort.notna() & (data["year"] >= cohort)).astype(int).to_numpy()
    for y in sorted(data["year"].unique())[1:]:
        data[f"year_{int(y)}"] = (data["year"] == y).astype(float)
    if "age" in data and data["age"].notna().any():
        data["age_decades"] = pd.to_numeric(data["age"], errors="coerce") / 10
    if "gender" in data and data["gender"].notna().any():
        data["female"] = (data["gender"] == "female").astype(float).where(data["gender"].notna())
    if "hukou" in data and data["hukou"].notna().any():
        data["migrant"] = (data["hukou"] == "migrant").astype(float).where(data["hukou"].notna())
    return data.reset_index(drop=True)


def _resident_covariates(frame: pd.DataFrame) -> list[str]:
    return [c for c in _RESIDENT_COVARIATES if c in frame and frame[c].nunique(dropna=True) > 1]


def _year_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("year_") and frame[c].nunique() > 1]


# ---- rows -------------------------------------------------------------------------------
_ERROR_CODES: tuple[tuple[type[BaseException], DesignCode], ...] = (
    (NotIdentifiedError, DesignCode.NOT_IDENTIFIED),
    (ConvergenceError, DesignCode.DID_NOT_CONVERGE),
    (np.linalg.LinAlgError, DesignCode.NOT_IDENTIFIED),
    (DataValidationError, DesignCode.DATA_NOT_USABLE),
    (EvalkitError, DesignCode.DATA_NOT_USABLE),
)


def _failed(design: str, method: str, outcome: str, *, codes: Sequence[str], unit: str,
            estimand: str, scale: str = "score", item: str | None = None,
            n_treated: int | None = None, n_comparison: int | None = None) -> dict[str, Any]:
    return {"design": design, "method": method, "outcome": outcome, "item": item, "term": None,
            "estimand": estimand, "scale": scale, "estimate": np.nan, "std_error": np.nan,
            "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan,
            "n_units": np.nan if n_treated is None or n_comparison is None else n_treated + n_comparison,
            "n_treated": np.nan if n_treated is None else n_treated,
            "n_comparison": np.nan if n_comparison is None else n_comparison, "unit": unit,
            "inference": None, "caveats": ";".join(dict.fromkeys(codes)), "status": "not_estimable"}


def _attempt(fn: Callable[[], DesignResult]) -> tuple[DesignResult | None, str | None]:
    """Run one estimator; a failure the data explain becomes a reason code, never a crash.

    Rows the estimator leaves out for missing values are kept as its ``rows_dropped`` note; the
    warning that also says so is not repeated once per design and outcome.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            return fn(), None
    except tuple(e for e, _ in _ERROR_CODES) as exc:  # noqa: B030 - built from the table above
        code = next(c for e, c in _ERROR_CODES if isinstance(exc, e))
        return None, code.value


def _row(design: str, method: str, outcome: str, res: DesignResult, *, term: str, estimand: str,
         unit: str, n_units: int, n_treated: int, extra: Sequence[str] = (), scale: str = "score",
         item: str | None = None) -> dict[str, Any]:
    r = res.estimates.loc[res.estimates["term"] == term].iloc[0]
    est, lo, hi = float(r["estimate"]), float(r["ci_lower"]), float(r["ci_upper"])
    if scale == "odds_ratio":
        est, lo, hi = float(np.exp(est)), float(np.exp(lo)), float(np.exp(hi))
    return {"design": design, "method": method, "outcome": outcome, "item": item, "term": term,
            "estimand": estimand, "scale": scale, "estimate": est, "std_error": float(r["std_error"]),
            "ci_lower": lo, "ci_upper": hi, "p_value": float(r["p_value"]), "n_units": n_units,
            "n_treated": n_treated, "n_comparison": n_units - n_treated, "unit": unit,
            "inference": str(r["inference"]), "caveats": ";".join(dict.fromkeys([*extra, *res.caveats])),
            "status": "ok"}


# ---- the designs --------------------------------------------------------------------------
_WEIGHTING_ESTIMANDS = {"ipw": ("ATT", "ATE"), "aipw": ("ATE",), "entropy": ("ATT",)}


def _community_designs(choice: DesignChoice, comm: pd.DataFrame, facts: dict[str, Any],
                       outcomes: Sequence[str], out: dict[str, list[Any]], *, baseline_outcome: bool) -> None:
    from evalkit.designs import aipw, entropy_balance, ipw, match_nearest

    opts = dict(choice.options)
    base_codes = ([DesignCode.PILOTS_STARTED_BEFORE_BASELINE.value]
                  if facts["n_started_before_baseline"] else [])
    if choice.name == "matching":
        method, estimand = "matching", "ATT"
    else:
        method = str(opts.get("method", "ipw"))
        estimand = str(opts.get("estimand", _WEIGHTING_ESTIMANDS[method][0]))
    covs = community_covariates(comm)
    out["spec"].append({"design": choice.name, "method": method, "unit": "community",
                        "outcome_definition": "change_baseline_to_last", "estimand": estimand,
                        "covariates": ";".join([*(["baseline_outcome"] if baseline_outcome else []), *covs]),
                        **facts,
                        "options": ";".join(f"{k}={v}" for k, v in sorted(opts.items()))})
    n_t, n_c = facts["n_treated"], facts["n_comparison"]
    for o in outcomes:
        fail = dict(unit="community", estimand=estimand, n_treated=n_t, n_comparison=n_c)
        if facts["n_years"] < 2:
            out["rows"].append(_failed(choice.name, method, o, codes=[DesignCode.NO_BASELINE.value], **fail))
            continue
        if n_c < 2 or n_t < 2:
            code = DesignCode.TOO_FEW_COMPARISON if n_c < 2 else DesignCode.TOO_FEW_TREATED
            out["rows"].append(_failed(choice.name, method, o, codes=[*base_codes, code.value], **fail))
            continue
        if estimand not in _WEIGHTING_ESTIMANDS.get(method, ("ATT",)):
            out["rows"].append(_failed(choice.name, method, o, codes=[DesignCode.ESTIMAND_NOT_OFFERED.value],
                                       **fail))
            continue
        y, x = f"change_{o}", [*([f"baseline_{o}"] if baseline_outcome else []), *covs]
        kw: dict[str, Any] = dict(outcome=y, treat="treat", covariates=x)
        if method == "matching":
            fn = lambda: match_nearest(comm, **kw, replace=bool(opts.get("replace", False)),  # noqa: E731
                                       caliper=opts.get("caliper"),  # type: ignore[arg-type]
                                       distance=str(opts.get("distance", "propensity")))  # type: ignore[arg-type]
        elif method == "ipw":
            fn = lambda: ipw(comm, **kw, estimand=estimand)  # type: ignore[arg-type]  # noqa: E731
        elif method == "aipw":
            fn = lambda: aipw(comm, **kw)  # noqa: E731
        else:
            fn = lambda: entropy_balance(comm, **kw)  # noqa: E731
        res, code = _attempt(fn)
        if res is None:
            out["rows"].append(_failed(choice.name, method, o, codes=[*base_codes, str(code)], **fail))
            continue
        n_units = int(res.n_obs)
        n_tr = int(comm.dropna(subset=[y, *x])["treat"].sum())
        out["rows"].append(_row(choice.name, method, o, res, term=estimand, estimand=estimand,
                                unit="community", n_units=n_units, n_treated=n_tr, extra=base_codes))
        out["results"][f"{choice.name}:{o}"] = res
        bal = res.tables["balance"]
        out["balance"].append(bal.assign(design=choice.name, outcome=o,
                                         covariate=bal["covariate"].replace({f"baseline_{o}": "baseline_outcome"})))


def _multilevel(choice: DesignChoice, res_frame: pd.DataFrame, outcomes: Sequence[str],
                weights: str | None, out: dict[str, list[Any]]) -> None:
    from evalkit.designs import multilevel_model

    slope = bool(choice.options.get("random_slope", False))
    covs = ["pilot", *_year_columns(res_frame), *_resident_covariates(res_frame)]
    extra = [DesignCode.UNWEIGHTED.value] if weights else []
    out["spec"].append({"design": "multilevel", "method": "multilevel", "unit": "resident",
                        "outcome_definition": "score", "estimand": "pilot_post",
                        "covariates": ";".join(["pilot", "year_effects", *_resident_covariates(res_frame)]),
                        "options": f"random_slope={slope}"})
    n_groups = int(res_frame["community_id"].nunique())
    n_tr = int(res_frame.loc[res_frame["pilot"] == 1, "community_id"].nunique())
    for o in outcomes:
        if n_groups - n_tr < 1 or n_groups < 3:
            out["rows"].append(_failed("multilevel", "multilevel", o, unit="resident", estimand="pilot_post",
                                       codes=[DesignCode.TOO_FEW_COMPARISON.value], n_treated=n_tr,
                                       n_comparison=n_groups - n_tr))
            continue
        res, code = _attempt(lambda: multilevel_model(
            res_frame, outcome=o, group="community_id", covariates=covs, treat="pilot_post",
            random_slopes=["pilot_post"] if slope else []))
        if res is None:
            out["rows"].append(_failed("multilevel", "multilevel", o, unit="resident", estimand="pilot_post",
                                       codes=[str(code)], n_treated=n_tr, n_comparison=n_groups - n_tr))
            continue
        n_units = int(res.estimates["n_clusters"].iloc[0])
        n_t = int(res.estimates["n_treated_clusters"].iloc[0])
        row = _row("multilevel", "multilevel", o, res, term="pilot_post", estimand="pilot_post",
                   unit="resident", n_units=n_units, n_treated=n_t, extra=extra)
        # the treated count of the estimator is of communities observed after their start
        row["n_treated"] = int(res_frame.dropna(subset=[o]).query("pilot == 1")["community_id"].nunique())
        row["n_comparison"] = n_units - row["n_treated"]
        out["rows"].append(row)
        out["results"][f"multilevel:{o}"] = res
        out["variance"].append(res.tables["variance_components"].assign(outcome=o))
        out["icc"].append(res.tables["icc"].assign(outcome=o))


def _ordinal_items(study: Study, outcomes: Sequence[str], items: Sequence[str]) -> list[tuple[str, Any, str]]:
    """(outcome, codebook variable or None when unknown, item name): the configured items, else
    each outcome's first item."""
    if items:
        by_name = {v.name: v for v in study.codebook.items()}
        return [(str(by_name[n].construct) if n in by_name else "", by_name.get(n), n) for n in items]
    return [(o, study.codebook.items(o)[0], study.codebook.items(o)[0].name)
            for o in outcomes if study.codebook.items(o)]


def _ordered_logit(choice: DesignChoice, study: Study, res_frame: pd.DataFrame, outcomes: Sequence[str],
                   weights: str | None, out: dict[str, list[Any]]) -> None:
    from evalkit.designs import ordered_logit

    pairs = _ordinal_items(study, outcomes, tuple(choice.options.get("items", ())))  # type: ignore[arg-type]
    covs = ["pilot", "pilot_post", *_year_columns(res_frame), *_resident_covariates(res_frame)]
    out["spec"].append({"design": "ordered_logit", "method": "ordered_logit", "unit": "resident",
                        "outcome_definition": "item", "estimand": "odds_ratio_pilot_post",
                        "covariates": ";".join(["pilot", "pilot_post", "year_effects",
                                                *_resident_covariates(res_frame)]),
                        "options": ";".join(n for _, _, n in pairs)})
    n_groups = int(res_frame["community_id"].nunique())
    n_tr = int(res_frame.loc[res_frame["pilot"] == 1, "community_id"].nunique())
    for outcome, var, item in pairs:
        fail = dict(unit="resident", estimand="odds_ratio", scale="odds_ratio", item=item,
                    n_treated=n_tr, n_comparison=n_groups - n_tr)
        if var is None:  # a name in the config's items that the codebook does not score
            out["rows"].append(_failed("ordered_logit", "ordered_logit", outcome,
                                       codes=[DesignCode.ITEM_NOT_FOUND.value], **fail))
            continue
        name = f"item_{var.name}"
        frame = res_frame
        if var.name in frame:
            col = pd.to_numeric(frame[var.name], errors="coerce")
            if var.reverse:  # turned round so that a higher answer is better, as the score
                lo, hi = (var.scale_min, var.scale_max) if var.scale_min is not None else (col.min(), col.max())
                col = lo + hi - col
            frame = frame.assign(**{name: col})
        if var.name not in res_frame or frame[name].nunique() < 3:
            out["rows"].append(_failed("ordered_logit", "ordered_logit", outcome,
                                       codes=[DesignCode.ITEM_NOT_ORDINAL.value], **fail))
            continue
        if n_groups - n_tr < 1:
            out["rows"].append(_failed("ordered_logit", "ordered_logit", outcome,
                                       codes=[DesignCode.TOO_FEW_COMPARISON.value], **fail))
            continue
        res, code = _attempt(lambda: ordered_logit(frame, outcome=name, covariates=covs, weights=weights,
                                                   cluster="community_id"))
        if res is None:
            out["rows"].append(_failed("ordered_logit", "ordered_logit", outcome, codes=[str(code)], **fail))
            continue
        out["rows"].append(_row("ordered_logit", "ordered_logit", outcome, res, term="pilot_post",
                                estimand="odds_ratio", unit="resident", n_units=n_groups, n_treated=n_tr,
                                scale="odds_ratio", item=var.name))
        out["results"][f"ordered_logit:{item}"] = res


def _pre_post(res_frame: pd.DataFrame, outcomes: Sequence[str], weights: str | None,
              out: dict[str, list[Any]]) -> None:
    from evalkit.designs import pre_post

    pilots = res_frame[res_frame["pilot"] == 1]
    covs = _resident_covariates(pilots)
    out["spec"].append({"design": "pre_post", "method": "pre_post", "unit": "resident",
                        "outcome_definition": "score", "estimand": "post",
                        "covariates": ";".join(["community_effects", *covs]), "options": ""})
    n_tr = int(pilots["community_id"].nunique())
    for o in outcomes:
        res, code = (None, DesignCode.TOO_FEW_TREATED.value) if n_tr < 2 else _attempt(
            lambda: pre_post(pilots, outcome=o, post="pilot_post", cluster="community_id", covariates=covs,
                             weights=weights))
        if res is None:
            out["rows"].append(_failed("pre_post", "pre_post", o, unit="resident", estimand="post",
                                       codes=["pre_post_no_comparison", str(code)], n_treated=n_tr,
                                       n_comparison=0))
            continue
        out["rows"].append(_row("pre_post", "pre_post", o, res, term="pilot_post", estimand="post",
                                unit="resident", n_units=n_tr, n_treated=n_tr))
        out["results"][f"pre_post:{o}"] = res


def evaluate_designs(
    study: Study,
    *,
    designs: Sequence[DesignChoice] | None = None,
    outcomes: Sequence[str] | None = None,
    scored: pd.DataFrame | None = None,
    weights: str | None = None,
    seed: int | None = None,
    lang: str = "zh",
    match_baseline_outcome: bool = False,
) -> DesignsReport:
    """Run the further designs on a loaded study (see the module docstring).

    Parameters
    ----------
    study : Study
        A loaded study (:func:`evalkit.load_study`).
    designs : sequence of DesignChoice, optional
        Default: the config's ``designs:``. Empty: an empty report (nothing to show).
    outcomes : sequence of str, optional
        Constructs (default: the config's outcomes).
    scored : DataFrame, optional
        Resident survey with construct scores (default: scored here, unweighted).
    weights : str, optional
        Weight column of ``scored`` (community means, ordered logit and pre-post use it).
    seed : int, optional
        Recorded in the provenance (no design here draws random numbers).
    lang : str
        Unused by the numbers (kept for the run cache's call signature, like ``estimate_impact``).
    match_baseline_outcome : bool
        Add the baseline level of the outcome to the matching and weighting covariates (off by
        default: regression to the mean, see the module docstring).

    Returns
    -------
    DesignsReport

    Examples
    --------
    >>> # report = ek.evaluate_designs(study)          # the designs study.yaml asks for
    >>> # report.estimates[["design", "outcome", "estimate", "ci_lower", "ci_upper"]]
    """
    from evalkit.scales import score

    chosen = tuple(study.config.designs if designs is None else designs)
    seed = study.config.seed if seed is None else seed
    outcomes = list(outcomes or study.config.outcomes)
    if scored is None:
        scored = score(study.tables["survey"], study.codebook, constructs=outcomes)
    if not surveys_comparison(scored, study) and "pre_post" not in {c.name for c in chosen}:
        chosen = (*chosen, DesignChoice("pre_post", {}))  # the one design left without comparisons
    if not chosen:
        return DesignsReport(estimates=pd.DataFrame(columns=list(ROW_COLUMNS)),
                             provenance=Provenance.current(seed=seed), weights=weights)
    out: dict[str, Any] = {"rows": [], "balance": [], "variance": [], "icc": [], "spec": [], "results": {}}
    names = [c.name for c in chosen]
    comm = facts = None
    if {"matching", "weighting"} & set(names):
        comm, facts = community_changes(scored, study, outcomes, weights=weights)
    residents = resident_frame(scored, study) if {"multilevel", "ordered_logit", "pre_post"} & set(names) else None
    for choice in chosen:
        if choice.name in ("matching", "weighting"):
            _community_designs(choice, comm, facts, outcomes, out,  # type: ignore[arg-type]
                               baseline_outcome=match_baseline_outcome)
        elif choice.name == "multilevel":
            _multilevel(choice, residents, outcomes, weights, out)  # type: ignore[arg-type]
        elif choice.name == "ordered_logit":
            _ordered_logit(choice, study, residents, outcomes, weights, out)  # type: ignore[arg-type]
        elif choice.name == "pre_post":
            _pre_post(residents, outcomes, weights, out)  # type: ignore[arg-type]
    return DesignsReport(
        estimates=pd.DataFrame(out["rows"], columns=list(ROW_COLUMNS)),
        provenance=Provenance.current(seed=seed), designs=tuple(names),
        balance=_concat(out["balance"]), variance_components=_concat(out["variance"]),
        icc=_concat(out["icc"]), specification=pd.DataFrame(out["spec"]), weights=weights,
        results=out["results"])


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# ---- known truth (synthetic studies) ----------------------------------------------------
def design_truth(report: DesignsReport, truth: pd.DataFrame, study: Study) -> pd.Series:
    """The known true value of each row's estimand in a synthetic study (``truth.csv``), NaN
    where the demo has none.

    * community-level ATT (matching, weighting with ATT): the effect at the last wave averaged
      over the pilots that entered, i.e. the ``cohort_year`` rows of the last year weighted by
      the number of pilots per cohort;
    * multilevel and pre-post: the overall ATT over treated respondent-waves (``overall`` row;
      the multilevel coefficient is a variance-weighted average of the same effects, so it is
      close but not equal to it; pre-post is biased by any secular trend);
    * ATE and odds ratios: NaN (the demo defines no effect for comparison communities, and no
      effect on the odds scale).
    """
    spec = report.specification.set_index("design") if len(report.specification) else pd.DataFrame()
    overall = truth[truth["level"] == "overall"].set_index("construct")["effect_score"]
    start = study.pilots["start_year"].astype(int)
    values = []
    for r in report.estimates.itertuples(index=False):
        value = np.nan
        if r.unit == "community" and r.estimand == "ATT":
            s = spec.loc[r.design]
            base, last = int(s["baseline_year"]), int(s["last_year"])
            sizes = start[(start > base) & (start <= last)].value_counts()
            cells = truth[(truth["level"] == "cohort_year") & (truth["construct"] == r.outcome)
                          & (truth["year"] == last)].copy()
            cells["n"] = cells["cohort"].astype(int).map(sizes).fillna(0)
            if cells["n"].sum() > 0:
                value = float(np.average(cells["effect_score"], weights=cells["n"]))
        elif r.design in ("multilevel", "pre_post"):
            value = float(overall.get(r.outcome, np.nan))
        values.append(value)
    return pd.Series(values, index=report.estimates.index, name="true_effect")


def truth_file(study: Study) -> pd.DataFrame | None:
    """The demo's ``truth.csv`` beside a synthetic study's config, or None."""
    from pathlib import Path

    path = Path(study.config.folder) / "truth.csv"
    return pd.read_csv(path) if study.config.synthetic and path.is_file() else None

