"""Classic 2×2 difference-in-differences on repeated cross-sections or panels.

The estimate is the coefficient on ``treat × post`` in a (weighted) least-squares regression

* repeated cross-sections (``unit=None``): ``y ~ 1 + treat + post + treat·post + X``;
* panels (``unit`` given): ``y ~ post + treat·post + X`` with unit fixed effects absorbed
  (the within transformation; equivalent to first differences with two periods).

Weights are sampling/analytic weights (WLS); the estimand with weights is the
weighted-population ATT and rescaling all weights changes nothing. Covariates enter
linearly and are assumed to have the same slope in both groups and periods (a
regression-adjusted DiD; for a doubly-robust 2×2 use :func:`evalkit.estimators.staggered.did_staggered`
with one cohort).

Inference goes through the few-clusters policy (:mod:`evalkit.estimators.guardrails`):
with ``cluster`` given it reports CR2 / Bell–McCaffrey t-tests only when there are enough
clusters and treated clusters, otherwise the wild cluster bootstrap (null imposed) or
randomisation inference over the treated clusters; without ``cluster`` it reports HC1 and
says that residents of one community are not independent.

Why by hand: the regression is ten lines of numpy (:mod:`evalkit.estimators.linear_model`);
no library combines weights, absorbed unit effects, CR2 and the routing above.

References
----------
Card, D., & Krueger, A. B. (1994). Minimum wages and employment. AER 84(4), 772–793.
Wooldridge, J. M. (2020). Introductory Econometrics, 7th ed., section 13.2.
"""

from __future__ import annotations

from typing import Any

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError
from evalkit.estimators.coefficient_inference import coefficient_row, cr1_t
from evalkit.estimators.estimation_sample import as_indicator, check_weights, select_sample
from evalkit.estimators.guardrails import InferenceRequest, count_clusters, decide_inference
from evalkit.estimators.linear_model import demean_within, design_matrix, fit_wls, vcov_cr1, vcov_hc1
from evalkit.estimators.results import ESTIMATE_COLUMNS, DiDResult, InferenceRecord, Spec
from evalkit.results import Provenance

__all__ = ["did", "DID_TERM"]

DID_TERM = "treat:post"


def _covariate_frame(sample: pd.DataFrame, covariates: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    numeric: dict[str, np.ndarray] = {}
    categorical: list[str] = []
    for c in covariates:
        col = sample[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            numeric[c] = col.to_numpy(dtype=float)
        else:
            categorical.append(c)
    return numeric, categorical


def _build(sample: pd.DataFrame, treat: np.ndarray, post: np.ndarray, covariates: Sequence[str],
           unit: str | None, w: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray, int]:
    numeric, categorical = _covariate_frame(sample, covariates)
    y = sample["__y__"].to_numpy(dtype=float)
    if unit is None:
        X = design_matrix(sample, {"treat": treat, "post": post, DID_TERM: treat * post, **numeric},
                          categorical=categorical)
        return X, y, 0
    X = design_matrix(sample, {"post": post, DID_TERM: treat * post, **numeric}, intercept=False,
                      categorical=categorical)
    Xd = demean_within(X, sample[unit].to_numpy(), w)
    yd = demean_within(pd.DataFrame({"y": y}), sample[unit].to_numpy(), w)["y"].to_numpy()
    return Xd, yd, int(sample[unit].nunique())


def did(
    data: pd.DataFrame,
    *,
    outcome: str,
    treat: str,
    post: str,
    covariates: Sequence[str] = (),
    unit: str | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    inference: InferenceRequest = "auto",
    draws: int = 9999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> DiDResult:
    """2×2 difference-in-differences with cluster-robust inference that holds for few clusters.

    Parameters
    ----------
    data : DataFrame
        One row per respondent-wave (repeated cross-sections) or unit-period (panel).
    outcome : str
        Outcome column (e.g. a construct score).
    treat : str
        0/1 column: 1 for the pilot (treated) group, in every period.
    post : str
        0/1 column: 1 for waves after the pilot started.
    covariates : sequence of str
        Control variables (numeric, or categorical → dummies).
    unit : str, optional
        Panel unit id; when given, unit fixed effects are absorbed.
    weights : str, optional
        Sampling weight column (WLS).
    cluster : str, optional
        Cluster column, normally ``"community_id"``. Strongly recommended.
    inference : {"auto", "cr2", "cr1", "wild_bootstrap", "randomization"}
        "auto" follows :func:`evalkit.inference.diagnose_clusters`; a requested CRVE that is
        unreliable is replaced (see :mod:`evalkit.estimators.guardrails`).
    draws, seed : int
        Bootstrap / permutation draws and their seed (recorded in the result).
    alpha : float
        1 − confidence level.

    Returns
    -------
    DiDResult
        ``estimates`` has the row ``treat:post``; ``tables['coefficients']`` all coefficients
        with the descriptive (CR2, CR1 or HC1) standard errors; ``tables['cells']`` the four
        (weighted) group × period means.

    Notes
    -----
    Small-sample corrections: CR2 with Bell–McCaffrey dof (default when CRVE is reliable);
    CR1 with G/(G−1)·(N−1)/(N−K) and G−1 dof; HC1 with N/(N−K).

    Examples
    --------
    >>> # R: lm(y ~ treat*post, data); clubSandwich::coef_test(fit, vcov = "CR2", cluster = data$community_id)
    >>> # ek.did(data, outcome="y", treat="treat", post="post", cluster="community_id")  # doctest: +SKIP
    """
    where = "did()"
    sample, drop_note = select_sample(
        data, [outcome, treat, post, *covariates, unit, weights, cluster], where=where)
    sample = sample.assign(__y__=sample[outcome])
    d = as_indicator(sample[treat], where=where)
    p = as_indicator(sample[post], where=where)
    cells = pd.crosstab(d, p)
    if cells.shape != (2, 2) or (cells.to_numpy() == 0).any():
        msg = (f"{where}: the 2×2 design needs observations in all four cells of {treat!r} × "
               f"{post!r}; found counts {cells.to_dict()}. Check that both groups are observed "
               "before and after the start.")
        raise DataValidationError(msg)
    w = None if weights is None else check_weights(sample[weights], where=where)
    X, y, n_fe = _build(sample, d, p, covariates, unit, w)
    fit = fit_wls(y, X, w, n_absorbed=n_fe)

    notes: list[dict[str, Any]] = [drop_note] if drop_note else []
    if cluster is None:
        decision = InferenceRecord(
            method="hc1", requested=inference, n_clusters=None, n_treated_clusters=None,
            reliable_crve=None, reasons=("no_cluster",))
        cl = None
        ri_assign = ri_stat = None
    else:
        cl = sample[cluster].to_numpy()
        n_c, n_t = count_clusters(sample[cluster], d.astype(bool))
        treat_by_cluster = pd.Series(d).groupby(cl, sort=False).agg(["min", "max"])
        constant = bool((treat_by_cluster["min"] == treat_by_cluster["max"]).all())
        decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                    randomization_possible=constant)
        ri_assign = ri_stat = None
        if decision.method == "randomization":
            labels = treat_by_cluster.index.to_numpy()
            ri_assign = treat_by_cluster["max"].to_numpy()
            row_pos = pd.Index(labels).get_indexer(cl)
            j = fit.index(DID_TERM)

            def ri_stat(assign: np.ndarray) -> float:
                dd = np.asarray(assign, dtype=float)[row_pos]
                Xp, yp, _ = _build(sample, dd, p, covariates, unit, w)
                return abs(cr1_t(fit_wls(yp, Xp, w, n_absorbed=n_fe), j, cl))

    row = coefficient_row(fit, DID_TERM, cluster=cl, decision=decision, alpha=alpha,
                          ri_assignment=ri_assign, ri_statistic=ri_stat)
    estimates = pd.DataFrame([row])[list(ESTIMATE_COLUMNS)]

    # descriptive coefficient table and cell means
    if cl is None:
        v, _ = vcov_hc1(fit)
    elif decision.method == "cr1":
        v, _ = vcov_cr1(fit, cl)
    else:
        from evalkit.estimators.linear_model import vcov_cr2

        v, _ = vcov_cr2(fit, cl)
    coefs = pd.DataFrame({"term": fit.names, "estimate": fit.coef,
                          "std_error": np.sqrt(np.diag(v))})
    ww = np.ones(len(sample)) if w is None else w
    yy = sample[outcome].to_numpy(dtype=float)
    cell_rows = []
    for gi in (0, 1):
        for ti in (0, 1):
            m = (d == gi) & (p == ti)
            cell_rows.append({"treat": gi, "post": ti, "n": int(m.sum()),
                              "mean": float(np.average(yy[m], weights=ww[m]))})
    tables = {"coefficients": coefs, "cells": pd.DataFrame(cell_rows)}
    spec = Spec("did", columns={"outcome": outcome, "treat": treat, "post": post,
                                "covariates": list(covariates), "unit": unit,
                                "weights": weights, "cluster": cluster},
                options={"inference": inference, "draws": draws, "seed": seed, "alpha": alpha})
    return DiDResult(estimates=estimates, provenance=Provenance.current(seed=seed), spec=spec,
                     n_obs=fit.n_obs, inference=decision, notes=tuple(notes),
                     tables=tables)
