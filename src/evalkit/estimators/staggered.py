"""Staggered adoption: Callaway & Sant'Anna (2021) group-time ATTs and their aggregations.

What is wrapped and what is written here
----------------------------------------
* **ATT(g,t) and their influence functions**: on balanced panels they are computed by
  :mod:`evalkit.estimators.group_time`, written by hand for speed with
  ``diff_diff.CallawaySantAnna`` (diff-diff, pinned version) as its reference; everything it
  does not cover — repeated cross-sections, unbalanced panels, IPW with covariates, and every
  case in which diff-diff would warn, drop a cell or fall back — is fitted by diff-diff itself:
  outcome regression (``method="reg"``), inverse probability weighting (``"ipw"``,
  normalised/Hájek) or doubly robust (``"dr"``, Sant'Anna & Zhao 2020), never-treated or
  not-yet-treated comparisons, panels or repeated cross-sections, sampling weights (passed as a
  ``SurveyDesign(weights=...)``), ``base_period`` "varying" (R's default) or "universal",
  anticipation. From a diff-diff fit evalkit reads the per-cell influence functions it retains
  and checks at run time that they reproduce diff-diff's own standard errors, so a change in
  diff-diff's internals fails loudly instead of silently. ``tests/estimators/test_fast_path.py``
  holds the two routes to the same numbers (1e-10).
* **Aggregations are computed here**, following R ``did::aggte`` (version 2.x) exactly,
  because diff-diff 3.13 has no calendar-time aggregation, no overall summary for the
  cohort and calendar aggregations, and does not truncate event times under ``balance_e``
  the way R does. Each aggregate is a weighted average of ATT(g,t) whose influence function
  includes the term for the estimated cohort shares (R's ``wif``):

  - ``overall`` / "simple": post-treatment cells weighted by cohort size P(G=g);
  - ``group``: each cohort's post cells averaged with equal weights; the overall cohort
    summary weights cohorts by P(G=g) (R's recommended headline);
  - ``calendar``: at each post period t, cohorts treated by t weighted by P(G=g); overall is
    the mean over periods;
  - ``event``: at each event time e = t − g, cohorts weighted by P(G=g); the overall dynamic
    summary is the mean over e ≥ 0; ``balance_e``, ``min_e``, ``max_e`` as in R.

  Cohort sizes use the sampling weights when given (weighted shares of units, or of
  respondents for repeated cross-sections).
* **Pre-trend test**: the Wald statistic on all pre-treatment ATT(g,t) with their
  cluster-robust covariance, under the same guardrail as the main estimate: χ²(k) (R's
  "P-value for pre-test of parallel trends assumption") only when analytic inference is
  trusted, otherwise randomisation over cohort permutations
  (:mod:`evalkit.estimators.staggered_inference`, which also states the measured size).
  ``tables["event_vcov"]`` keeps the event-study covariance for sensitivity analyses
  (:mod:`evalkit.estimators.sensitivity`).
* **Inference** follows the few-clusters policy (:mod:`evalkit.estimators.guardrails`).
  Clusters default to the panel unit. With enough clusters: analytic influence-function SEs
  with normal critical values — exactly R ``did``'s (sqrt(Σψ²), no G/(G−1)) when every unit
  is its own cluster, with the factor G/(G−1) (as Stata) when units are grouped into
  clusters. Otherwise: a cluster multiplier (wild) bootstrap of the influence functions with
  Rademacher or Webb weights (symmetric percentile-t intervals, bootstrap SE from the
  interquartile range as in R), or randomisation inference that permutes cohort labels
  across clusters (studentised statistic; p-values only); both studentise by the SEs with
  the G/(G−1) factor. Aggregation lives in :mod:`evalkit.estimators.staggered_aggregation`,
  the resampling routes in :mod:`evalkit.estimators.staggered_inference`.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. Journal of Econometrics, 225(2), 200–230.
Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    Journal of Econometrics, 219(1), 101–122.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit.estimators.estimation_sample import check_weights, select_sample
from evalkit.estimators.group_time import Unsupported, group_time_effects, wide_panel
from evalkit._checks import check_choice
from evalkit.estimators.guardrails import InferenceRequest, decide_inference
from evalkit.estimators.results import ESTIMATE_COLUMNS, InferenceRecord, Spec, StaggeredResult
from evalkit.estimators.staggered_aggregation import Aggregates, GroupTimeFit, aggregate
from evalkit.estimators.staggered_inference import (PreTrendTest, cluster_sums, multiplier_bootstrap,
                                                    one_value_per_cluster, pretest_bootstrap,
                                                    pretest_chi2, pretest_randomization,
                                                    pretest_wald, randomization, relabel)
from evalkit.inference.clusters import cluster_codes as encode_clusters
from evalkit.results import Provenance

__all__ = ["did_staggered", "STAGGERED_COLUMNS"]

#: ``estimates`` columns of a staggered result, after the canonical ones.
STAGGERED_COLUMNS: tuple[str, ...] = (*ESTIMATE_COLUMNS, "aggregation", "group", "time", "event_time")

Control = Literal["never_treated", "not_yet_treated"]
Method = Literal["dr", "ipw", "reg"]
Headline = Literal["group", "simple", "event", "calendar"]
BasePeriod = Literal["varying", "universal"]
_HEAD_TERM = {"group": "ATT (group)", "simple": "ATT (simple)", "event": "ATT (event)",
              "calendar": "ATT (calendar)"}


def _fit_cs(df: pd.DataFrame, *, covariates: Sequence[str], control: str, method: str, panel: bool,
            weighted: bool, anticipation: int, base_period: str, check: bool) -> GroupTimeFit:
    """The ATT(g,t) from ``diff_diff.CallawaySantAnna`` (for what :mod:`group_time` does not cover)."""
    from diff_diff import CallawaySantAnna, SurveyDesign

    est = CallawaySantAnna(control_group=control, anticipation=anticipation,
                           estimation_method=method, base_period=base_period, panel=panel,
                           cband=False, n_bootstrap=0, rank_deficient_action="error")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = est.fit(df, outcome="y", unit="unit", time="time", first_treat="first_treat",
                          covariates=list(covariates) or None,
                          survey_design=SurveyDesign(weights="w") if weighted else None)
        except ValueError as exc:
            msg = f"did_staggered(): the Callaway–Sant'Anna fit failed: {exc}"
            raise NotIdentifiedError(msg) from exc
    messages = [str(w.message) for w in caught if "normalized to mean=1" not in str(w.message)]
    kit = getattr(res, "_aggregation_kit", None)
    if kit is None:
        msg = "did_staggered(): diff-diff returned no group-time effects (no estimable cell)."
        raise NotIdentifiedError(msg)
    keys = [k for k in res.group_time_effects if np.isfinite(res.group_time_effects[k]["effect"])]
    # one row per unit, in unit-code order (diff-diff's order); the columns are constant within
    # a unit (checked by did_staggered), so any row of the unit represents it
    rows = _unit_rows(df["unit"].to_numpy()) if panel else np.arange(len(df))
    n_units = len(kit.bookkeeping["all_units"])
    if n_units != len(rows):
        msg = (f"did_staggered(): diff-diff kept {n_units} units but the data have "
               f"{len(rows)}; the installed diff-diff does not match the pinned version.")
        raise EstimationError(msg)
    psi = np.zeros((len(keys), n_units))  # cells × units, filled by rows (contiguous)
    for k, key in enumerate(keys):
        inf = kit.influence[key]
        for side in ("treated", "control"):
            idx = np.asarray(inf[f"{side}_idx"], dtype=np.intp)
            if idx.size:
                psi[k] += np.bincount(idx, weights=np.asarray(inf[f"{side}_inf"], dtype=float),
                                      minlength=n_units)
    att = np.array([res.group_time_effects[k]["effect"] for k in keys], dtype=float)
    if check:
        se_dd = np.array([res.group_time_effects[k]["se"] for k in keys], dtype=float)
        se_me = np.sqrt(np.einsum("ki,ki->k", psi, psi))
        ok = np.isfinite(se_dd) & (se_dd > 0)
        if ok.any() and np.max(np.abs(se_me[ok] / se_dd[ok] - 1)) > 1e-6:
            msg = ("did_staggered(): the influence functions read from diff-diff do not reproduce "
                   "its standard errors; the installed diff-diff does not match the version evalkit "
                   "pins. Install the pinned version.")
            raise EstimationError(msg)
    return GroupTimeFit(att=att, group=np.array([k[0] for k in keys], dtype=float),
                time=np.array([k[1] for k in keys], dtype=float), psi=psi,
                unit_group=df["first_treat"].to_numpy()[rows].astype(float),
                unit_weight=df["w"].to_numpy()[rows].astype(float), n_obs=len(df),
                caught=messages)


class StaggeredData:
    """The estimation sample of one call, prepared once: row arrays, unit bookkeeping, the wide
    layout for the hand-written ATT(g,t) (:mod:`evalkit.estimators.group_time`) and, only when
    diff-diff has to be used, the frame it reads."""

    def __init__(self, *, y: np.ndarray, unit: np.ndarray, time: np.ndarray, cohort: np.ndarray,
                 w: np.ndarray, cluster: np.ndarray, covariates: dict[str, np.ndarray],
                 opts: dict[str, Any], unit_rows: np.ndarray | None = None):
        self.y, self.unit, self.time, self.cohort, self.w = y, unit, time, cohort, w
        self.cluster, self.covariates, self.opts = cluster, covariates, opts
        self.n = len(y)
        if unit_rows is None:
            unit_rows = _unit_rows(unit) if opts["panel"] else np.arange(self.n)
        self.unit_rows = unit_rows
        self.n_units = len(self.unit_rows)
        self.unit_weight = w[self.unit_rows]
        self._wide: tuple | None = None
        self._frame: pd.DataFrame | None = None

    def frame(self) -> pd.DataFrame:
        """diff-diff's input (built once; ``first_treat`` is replaced for permutations)."""
        if self._frame is None:
            df = pd.DataFrame({"y": self.y, "unit": self.unit, "time": self.time,
                               "first_treat": self.cohort, "w": self.w, "cluster": self.cluster})
            for c, v in self.covariates.items():
                df[c] = v
            self._frame = df
        return self._frame

    def wide(self) -> tuple | None:
        """(periods, Y, X) of a balanced panel, laid out wide once; None if not a balanced panel."""
        if self._wide is None:
            wp = wide_panel(self.unit, self.time, self.n_units) if self.opts["panel"] else None
            if wp is None:
                self._wide = (None,)
            else:
                X = (np.stack([wp.wide(v) for v in self.covariates.values()])
                     if self.covariates else None)
                self._wide = (wp.periods, wp.wide(self.y), X)
        return None if self._wide[0] is None else self._wide

    def fit(self, cohort: np.ndarray | None = None, *, check: bool = True) -> GroupTimeFit:
        """ATT(g,t) with the observed cohorts, or with ``cohort`` (one per row) for a permutation:
        the hand-written path where it applies, diff-diff otherwise."""
        rows = self.cohort if cohort is None else cohort
        unit_group = rows[self.unit_rows]
        wide = self.wide()
        if wide is not None:
            o = self.opts
            try:
                gt = group_time_effects(
                    wide[1], wide[0], unit_group, self.unit_weight if o["weighted"] else None,
                    wide[2], control=o["control"], method=o["method"],
                    anticipation=o["anticipation"], base_period=o["base_period"])
            except Unsupported:
                pass
            else:
                return GroupTimeFit(att=gt.att, group=gt.group, time=gt.time, psi=gt.psi,
                            unit_group=unit_group, unit_weight=self.unit_weight, n_obs=self.n,
                            caught=[])
        df = self.frame() if cohort is None else self.frame().assign(first_treat=cohort)
        return _fit_cs(df, check=check, covariates=list(self.covariates), **self.opts)


def _unit_rows(codes: np.ndarray) -> np.ndarray:
    """For dense codes 0..U−1, one row index per code (any row of that code)."""
    rows = np.empty(int(codes.max()) + 1, dtype=np.intp)
    rows[codes] = np.arange(len(codes))
    return rows


_OVERALL = {"overall_group": "overall", "overall_event": "overall", "overall_calendar": "overall",
            "simple": "overall"}


def _tidy(agg: Aggregates, decision: InferenceRecord, inf: dict[str, np.ndarray],
          pretest: PreTrendTest, head_term: str) -> pd.DataFrame:
    """The ``estimates`` frame: the headline row first, then the others in order, the pre-trend
    Wald test last."""
    W, k, p_pre = pretest.statistic, pretest.df, pretest.p_value
    lab = agg.labels
    terms = [*lab["term"], "pre-trend Wald"]
    n = len(terms)
    nan1 = np.array([np.nan])
    cols: dict[str, Any] = {
        "term": terms,
        "estimate": np.r_[agg.att, np.nan],
        "std_error": np.r_[inf["std_error"], np.nan],
        "statistic": np.r_[inf["statistic"], W],
        "p_value": np.r_[inf["p_value"], p_pre],
        "ci_lower": np.r_[inf["ci_lower"], nan1],
        "ci_upper": np.r_[inf["ci_upper"], nan1],
        "df": np.r_[np.full(n - 1, np.nan), float(k)],
        "inference": [decision.method] * (n - 1) + [f"wald_{pretest.method}"],
        "n_clusters": np.full(n, decision.n_clusters),
        "n_treated_clusters": np.full(n, decision.n_treated_clusters),
        "aggregation": [_OVERALL.get(a, a) for a in lab["aggregation"]] + ["pretest"],
        "group": np.r_[np.array(lab["group"], dtype=float), np.nan],
        "time": np.r_[np.array(lab["time"], dtype=float), np.nan],
        "event_time": np.r_[np.array(lab["event_time"], dtype=float), np.nan],
    }
    head = terms.index(head_term) if head_term in terms else None
    if head is not None:
        order = np.r_[head, np.arange(head), np.arange(head + 1, n)]
        cols = {c: ([v[i] for i in order] if isinstance(v, list) else v[order])
                for c, v in cols.items()}
    frame = pd.DataFrame(cols)
    return frame[list(STAGGERED_COLUMNS)]


def did_staggered(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] = (),
    control: Control = "never_treated",
    method: Method = "dr",
    panel: bool = True,
    weights: str | None = None,
    cluster: str | None = None,
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
    headline: Headline = "group",
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    inference: InferenceRequest = "auto",
    draws: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> StaggeredResult:
    """Group-time average treatment effects with staggered pilot starts (Callaway & Sant'Anna).

    Parameters
    ----------
    data : DataFrame
        Long data: one row per unit and period (``panel=True``) or per respondent
        (``panel=False``, repeated cross-sections; ``unit`` is then a row id).
    outcome, unit, time : str
        Outcome, unit id and period (integer wave or year) columns.
    cohort : str
        First period in which the unit is treated; never-treated units have 0, NaN or inf.
    covariates : sequence of str
        Pre-treatment covariates for conditional parallel trends (base-period values).
    control : {"never_treated", "not_yet_treated"}
        Comparison group.
    method : {"dr", "ipw", "reg"}
        Doubly robust, inverse probability weighting or outcome regression.
    weights : str, optional
        Sampling weights (constant within unit for panels).
    cluster : str, optional
        Cluster column (e.g. ``"community_id"``); defaults to ``unit`` for panels.
    headline : {"group", "simple", "event", "calendar"}
        Which overall summary comes first in ``estimates`` (R's recommendation: "group").
    balance_e, min_e, max_e
        Event-study options as in R ``did::aggte``.
    inference : {"auto", "cr2", "cr1", "wild_bootstrap", "randomization"}
        Few-clusters policy (see module docstring); "cr1"/"cr2" mean the analytic
        cluster-robust influence-function SEs here.
    draws, seed, alpha
        Resampling draws, seed and 1 − confidence level.

    Returns
    -------
    StaggeredResult
        ``estimates`` rows with ``aggregation`` ∈ {overall, group, calendar, event,
        group_time, pretest}; the first row is the headline overall ATT.

    Notes
    -----
    Aggregation weights: cohort shares P(G=g) (weighted by sampling weights); cohort effects
    average their post periods equally. Standard errors: influence functions, R did's when
    units are the clusters, clustered with the G/(G−1) factor otherwise; no t-distribution
    correction (none is defined for these estimators), which is why the few-clusters policy
    routes small designs to resampling.

    Examples
    --------
    >>> # R: did::att_gt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
    >>> #                data=mpdta); did::aggte(out, type="group")
    >>> # ek.did_staggered(mpdta, outcome="lemp", unit="countyreal", time="year",
    >>> #                  cohort="first_treat")  # doctest: +SKIP
    """
    where = "did_staggered()"
    check_choice("control", control, Control, where=where)
    check_choice("method", method, Method, where=where)
    check_choice("headline", headline, Headline, where=where)
    check_choice("base_period", base_period, BasePeriod, where=where)
    cluster_col = cluster if cluster is not None else unit
    required = [outcome, unit, time, *covariates, weights, cluster_col]
    # a missing cohort means never treated (below), so it drops no row
    sample, drop_note = select_sample(
        data, [outcome, unit, time, cohort, *covariates, weights, cluster_col], where=where,
        optional=() if cohort in required else (cohort,), only_columns=True)
    coh = pd.to_numeric(sample[cohort], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    coh = np.where(np.isfinite(coh), coh, 0.0)  # 0, NaN, ±inf: never treated
    w = np.ones(len(sample)) if weights is None else check_weights(sample[weights], where=where)
    # units and clusters as integer codes of their string labels, numbered in order of first
    # appearance (numbering in order of appearance keeps a panel sorted by unit sorted by code,
    # which spares diff-diff a reordering); clusters are only counted and summed over here, and
    # get their string-sorted numbering only when a bootstrap or permutation needs an order
    unit_codes = encode_clusters(sample[unit]) if panel else np.arange(len(sample))
    if panel and cluster_col == unit:
        cluster_codes = unit_codes
    else:
        cluster_codes = encode_clusters(sample[cluster_col])
    time_values = pd.to_numeric(sample[time]).to_numpy()
    y = pd.to_numeric(sample[outcome]).to_numpy(dtype=float)
    cov_values = {c: pd.to_numeric(sample[c]).to_numpy(dtype=float) for c in covariates}
    unit_rows = _unit_rows(unit_codes) if panel else None
    if panel:
        rows = unit_rows[unit_codes]
        checks = {"first_treat": coh}  # no weights, or clusters = units: constant by construction
        if weights is not None:
            checks["w"] = w
        if cluster_col != unit:
            checks["cluster"] = cluster_codes
        bad = [c for c, v in checks.items() if (v[rows] != v).any()]
        if bad:
            names = {"first_treat": cohort, "w": weights, "cluster": cluster_col}
            msg = (f"{where}: column(s) {', '.join(repr(names[b]) for b in bad)} vary within a "
                   f"unit ({unit!r}); a panel needs one cohort, weight and cluster per unit.")
            raise DataValidationError(msg)
    if not (coh > 0).any():
        msg = f"{where}: no unit is ever treated in {cohort!r}; nothing to estimate."
        raise NotIdentifiedError(msg)

    opts = dict(control=control, method=method, panel=panel, weighted=weights is not None,
                anticipation=anticipation, base_period=base_period)
    prep = StaggeredData(y=y, unit=unit_codes, time=time_values, cohort=coh, w=w, cluster=cluster_codes,
                 covariates=cov_values, opts=opts, unit_rows=unit_rows)
    fit = prep.fit()
    agg = aggregate(fit, balance_e=balance_e, min_e=min_e, max_e=max_e)
    att = np.array(agg.att)

    # clusters and the decision
    unit_cluster = cluster_codes[prep.unit_rows]
    treated = fit.unit_group > 0
    if panel and cluster_col == unit:  # every unit its own cluster, with one cohort
        n_c, n_t, ri_possible = prep.n_units, int(treated.sum()), True
    else:
        n_c = int(unit_cluster.max()) + 1
        n_t = int(np.count_nonzero(np.bincount(unit_cluster, weights=treated, minlength=n_c)))
        ri_possible = one_value_per_cluster(fit.unit_group, unit_cluster, n_c)
    decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                randomization_possible=ri_possible)
    # R did's analytic SEs when every unit is its own cluster; G/(G−1) for real clusters (and
    # for the resampling routes, whose statistics are studentised by the same SEs as before)
    own = panel and cluster_col == unit
    small_sample = np.sqrt(n_c / (n_c - 1))
    se_raw = agg.se(unit_cluster, n_c, small_sample=False)
    se_a = se_raw * small_sample
    W_pre, Q_pre = pretest_wald(fit, unit_cluster, n_c)
    seed0 = seed if seed is not None else 0
    if decision.method in ("cr1", "cr2"):
        decision = relabel(decision, "influence_function")
        se_a = se_raw if own else se_a
        z = stats.norm.ppf(1 - alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = att / se_a
        inf = {"std_error": se_a, "statistic": tstat, "p_value": 2 * stats.norm.sf(np.abs(tstat)),
               "ci_lower": att - z * se_a, "ci_upper": att + z * se_a}
        pre = pretest_chi2(W_pre, Q_pre.shape[0])
    else:
        # string-sorted cluster numbers fix the order of bootstrap weights and permutations
        cluster_sorted = encode_clusters(sample[cluster_col], order="string_sorted")
        if decision.method == "wild_bootstrap":
            decision = relabel(decision, "multiplier_bootstrap")
            psi = agg.matrix()  # estimates × units
            wt = decision.weight_type or "rademacher"
            inf = multiplier_bootstrap(att, psi, cluster_sorted[prep.unit_rows], n_c, se_a,
                                       draws=draws, seed=seed0, weight_type=wt, alpha=alpha)
            if ri_possible:  # the pre-test by randomisation: see staggered_inference
                pre = pretest_randomization(prep, fit, cluster_sorted, draws=draws, seed=seed0,
                                            pretest=(W_pre, Q_pre, unit_cluster, n_c))
            else:
                Q_sorted = cluster_sums(fit.psi[fit.time < fit.group],
                                        cluster_sorted[prep.unit_rows], n_c)
                pre = pretest_bootstrap(W_pre, Q_sorted, draws=draws, seed=seed0, weight_type=wt)
        else:
            head_idx = agg.terms.index(_HEAD_TERM[headline])
            inf, pre = randomization(prep, fit, agg, att, se_a, cluster_sorted, head=head_idx,
                                     balance_e=balance_e, min_e=min_e, max_e=max_e, draws=draws,
                                     seed=seed0, pretest=(W_pre, Q_pre, unit_cluster, n_c))
    p_pre = pre.p_value
    frame = _tidy(agg, decision, inf, pre, _HEAD_TERM[headline])
    tables = {"event_vcov": _event_vcov(agg, unit_cluster, n_c, 1.0 if own else n_c / (n_c - 1))}

    notes: list[dict[str, Any]] = [drop_note] if drop_note else []
    if np.isfinite(p_pre) and p_pre < 0.05:
        notes.append({"code": "pretrend_rejected", "p": float(p_pre)})
    if pre.method == "multiplier_bootstrap":
        notes.append({"code": "pretest_multiplier_bootstrap"})
    never = fit.unit_group == 0
    n_never = (int(never.sum()) if panel and cluster_col == unit
               else int(np.unique(unit_cluster[never]).size))
    if control == "never_treated" and n_never < 5:
        notes.append({"code": "few_never_treated", "n": n_never})
    notes += [{"code": "library_message", "source": "diff-diff", "text": str(m)} for m in fit.caught]
    spec = Spec("did_staggered", columns={
        "outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
        "covariates": list(covariates), "weights": weights, "cluster": cluster_col},
        options={"control": control, "method": method, "panel": panel, "anticipation": anticipation,
                 "base_period": base_period, "headline": headline, "balance_e": balance_e,
                 "min_e": None if not np.isfinite(min_e) else min_e,
                 "max_e": None if not np.isfinite(max_e) else max_e,
                 "inference": inference, "draws": draws, "seed": seed, "alpha": alpha})
    return StaggeredResult(estimates=frame, provenance=Provenance.current(seed=seed), spec=spec,
                           n_obs=fit.n_obs, inference=decision, notes=tuple(notes), tables=tables)


def _event_vcov(agg: Aggregates, unit_cluster: np.ndarray, n_clusters: int, factor: float
                ) -> pd.DataFrame:
    """Covariance of the event-study estimates (long: event_time_i, event_time_j, cov) from
    their influence functions summed within clusters, with the SEs' small-sample factor; what
    sensitivity analyses (HonestDiD, pre-trend power) read."""
    lab = agg.labels
    rows = [i for i, a in enumerate(lab["aggregation"]) if a == "event"]
    if not rows:
        return pd.DataFrame({"event_time_i": [], "event_time_j": [], "cov": []})
    K, U = agg.fit.psi.shape
    psi = np.empty((len(rows), U))
    for out, i in zip(psi, rows, strict=True):  # event aggregates are sums of cells ("cells")
        agg._row(i - K, out)
    Q = cluster_sums(psi, unit_cluster, n_clusters)
    S = (Q @ Q.T) * factor
    e = np.array([lab["event_time"][i] for i in rows], dtype=float)
    return pd.DataFrame({"event_time_i": np.repeat(e, len(e)), "event_time_j": np.tile(e, len(e)),
                         "cov": S.ravel()})

