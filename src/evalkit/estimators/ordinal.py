"""Ordered-logit check of a DiD on one Likert item (statsmodels ``OrderedModel``).

Construct scores are averages of Likert items and the main analysis treats them as
continuous. This check refits the 2×2 DiD on a single ordinal item with a proportional-odds
model ``logit P(y ≤ k) = τ_k − (β₁ treat + β₂ post + β₃ treat·post + X'γ)`` and reports β₃
(log odds ratio; ``odds_ratio`` column). Its sign should agree with the linear DiD.

The likelihood is maximised by the general weighted ordered logit of
:mod:`evalkit.designs.ordered_logit` (Newton, analytic derivatives; checked against
``ordinal::clm`` and ``MASS::polr``), so sampling weights are supported: with ``weights`` the
standard errors are the sandwich (linearisation) ones.

Inference: cluster-robust sandwich covariance (CR1-type: scores summed by cluster, Stata's
G/(G − 1) for ML models) when clusters are plentiful. The wild bootstrap has no standard form for this non-linear model, so when the
few-clusters policy rejects CRVE the p-value comes from randomisation inference (permuting
the treated clusters; studentised statistic) — or, if treatment varies within clusters, the
result says that only a descriptive SE is available.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import ConvergenceError, DataValidationError
from evalkit.estimators.estimation_sample import as_indicator, check_weights, select_sample
from evalkit.estimators.guardrails import InferenceRequest, count_clusters, decide_inference
from evalkit.inference.clusters import cluster_codes
from evalkit.estimators.results import ESTIMATE_COLUMNS, InferenceRecord, OrdinalResult, Spec
from evalkit.results import Provenance

__all__ = ["ordered_logit_did"]

TERM = "treat:post"


@attrs.frozen(eq=False)
class _OrderedFit:
    params: pd.Series  # slopes (exog column names) then cut-points "k|k+1"
    bse: pd.Series


def _fit(y: pd.Series, exog: pd.DataFrame, groups: np.ndarray | None,
         weights: np.ndarray | None = None) -> _OrderedFit:
    """Ordered logit by :func:`evalkit.designs.ordered_logit.fit_ordered_logit`.

    SEs: model-based (inverse information) without weights or clusters; otherwise the sandwich,
    with scores summed by cluster and G/(G − 1).
    """
    from evalkit.designs.ordered_logit import fit_ordered_logit

    levels = list(y.cat.categories)
    codes = y.cat.codes.to_numpy().astype(np.int64)
    J = len(levels)
    X = exog.to_numpy(float)
    w = np.ones(len(codes)) if weights is None else weights
    try:
        params, _, S, H = fit_ordered_logit(codes, X, w, J, where="ordered_logit_did()")
    except ConvergenceError as exc:
        msg = "ordered_logit_did(): the ordered logit did not converge; check sparse categories."
        raise ConvergenceError(msg) from exc
    Hinv = np.linalg.inv(-H)
    if groups is None and weights is None:
        V = Hinv
    else:
        U = S * w[:, None]
        if groups is not None:
            g = int(groups.max()) + 1
            sums = np.zeros((g, U.shape[1]))
            np.add.at(sums, groups, U)
            meat = sums.T @ sums * g / (g - 1)
        else:
            meat = U.T @ U
        V = Hinv @ meat @ Hinv
    k = X.shape[1]
    order = [*range(J - 1, J - 1 + k), *range(J - 1)]
    names = [*map(str, exog.columns), *(f"{levels[j]}|{levels[j + 1]}" for j in range(J - 1))]
    return _OrderedFit(pd.Series(params[order], index=names),
                       pd.Series(np.sqrt(np.diag(V))[order], index=names))


def ordered_logit_did(
    data: pd.DataFrame,
    *,
    item: str,
    treat: str,
    post: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    inference: InferenceRequest = "auto",
    draws: int = 199,
    seed: int | None = None,
    alpha: float = 0.05,
) -> OrdinalResult:
    """Proportional-odds DiD on one Likert item.

    Parameters
    ----------
    item : str
        Ordinal item (integer codes, missing codes already NA).
    treat, post, covariates, cluster, inference, draws, seed, alpha
        As in :func:`evalkit.estimators.did.did`.
    weights : str, optional
        Sampling weights (sandwich standard errors).

    Returns
    -------
    OrdinalResult
        Row ``treat:post`` (log odds ratio) with ``odds_ratio``.

    Examples
    --------
    >>> # R: ordinal::clm(factor(item) ~ treat*post, data = d)
    >>> # ek.ordered_logit_did(survey, item="gain_1", treat="treat", post="post")  # doctest: +SKIP
    """
    where = "ordered_logit_did()"
    sample, drop_note = select_sample(data, [item, treat, post, *covariates, cluster, weights],
                                      where=where)
    w = None if weights is None else check_weights(sample[weights], where=where)
    codes = pd.to_numeric(sample[item])
    if codes.nunique() < 3:
        msg = f"{where}: item {item!r} has {codes.nunique()} categories; an ordered model needs ≥ 3."
        raise DataValidationError(msg)
    y = pd.Series(pd.Categorical(codes, ordered=True), name=item)
    d = as_indicator(sample[treat], where=where)
    p = as_indicator(sample[post], where=where)

    def exog_for(dd: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"treat": dd, "post": p, TERM: dd * p,
                             **{c: pd.to_numeric(sample[c]).to_numpy(dtype=float) for c in covariates}})

    groups = None if cluster is None else cluster_codes(sample[cluster])
    res = _fit(y, exog_for(d), groups, w)
    j = list(res.params.index).index(TERM)
    est = float(res.params.iloc[j])
    se = float(res.bse.iloc[j])
    if cluster is None:
        decision = InferenceRecord("model", inference, None, None, None, reasons=("no_cluster",))
    else:
        n_c, n_t = count_clusters(sample[cluster], d.astype(bool))
        tb = pd.Series(d).groupby(groups).agg(["min", "max"])
        constant = bool((tb["min"] == tb["max"]).all())
        decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                    randomization_possible=constant)
        if decision.method in ("cr2", "cr1"):
            decision = attrs.evolve(decision, method="cr1")
        elif constant:
            decision = attrs.evolve(decision, method="randomization", draws=draws, seed=seed)
        else:
            decision = attrs.evolve(decision, method="model", reasons=(*decision.reasons, "ordinal_no_wild"))
    z = stats.norm.ppf(1 - alpha / 2)
    row = {"term": TERM, "estimate": est, "std_error": se, "statistic": est / se,
           "p_value": float(2 * stats.norm.sf(abs(est / se))), "ci_lower": est - z * se,
           "ci_upper": est + z * se, "df": np.nan, "inference": decision.method,
           "n_clusters": decision.n_clusters, "n_treated_clusters": decision.n_treated_clusters}
    if decision.method == "randomization":
        from evalkit.inference import permute_cohorts, randomization_inference

        tb = pd.Series(d).groupby(groups).max()
        pos = pd.Index(tb.index.to_numpy()).get_indexer(groups)
        assignment = tb.to_numpy()

        def stat(assign: np.ndarray) -> float:
            dd = np.asarray(assign, dtype=float)[pos]
            if np.array_equal(assign, assignment):
                return abs(est / se)
            try:
                r = _fit(y, exog_for(dd), groups, w)
            except ConvergenceError:
                return 0.0
            return abs(float(r.params.iloc[j] / r.bse.iloc[j]))

        ri = randomization_inference(stat, assignment, permute=permute_cohorts(assignment),
                                     draws=draws, seed=seed if seed is not None else 0)
        row.update({"p_value": float(ri.p_value), "ci_lower": np.nan, "ci_upper": np.nan})
    elif decision.method == "model" and cluster is not None:
        row.update({"p_value": np.nan, "ci_lower": np.nan, "ci_upper": np.nan})
    n_slopes = exog_for(d).shape[1]
    estimates = pd.DataFrame([row])[list(ESTIMATE_COLUMNS)]
    estimates["odds_ratio"] = np.exp(estimates["estimate"])
    notes: list[dict[str, Any]] = [{"code": "ordinal_robustness_only"}]
    if drop_note:
        notes.append(drop_note)
    spec = Spec("ordered_logit_did", columns={"item": item, "treat": treat, "post": post,
                                              "covariates": list(covariates), "cluster": cluster,
                                              "weights": weights},
                options={"inference": inference, "draws": draws, "seed": seed, "alpha": alpha})
    return OrdinalResult(estimates=estimates, provenance=Provenance.current(seed=seed), spec=spec,
                         n_obs=len(sample), inference=decision, notes=tuple(notes),
                         tables={"thresholds": pd.DataFrame({"term": res.params.index[n_slopes:],
                                                             "estimate": res.params.to_numpy()[n_slopes:]})})
