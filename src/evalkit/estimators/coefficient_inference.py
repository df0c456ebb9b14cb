"""Inference for one regression coefficient under the decision of the few-clusters policy.

Given a weighted least-squares fit, the cluster of each row and the
:class:`~evalkit.estimators.results.InferenceRecord` chosen by
:func:`evalkit.estimators.guardrails.decide_inference`, return one tidy row
(estimate, SE, statistic, p-value, interval, dof, method). The heavy lifting is in
:mod:`evalkit.inference` (CR2, wild cluster bootstrap, randomisation inference); this
module only wires a fit to it, so every regression estimator (2×2 DiD, TWFE, subgroup
effects) reports inference the same way.

What each column of a row means
--------------------------------
With an analytic method (``hc1``, ``cr1``, ``cr2``) the row is the usual one: ``statistic`` =
``estimate / std_error``, and ``p_value`` and the interval use the t (or normal) reference
distribution with ``df``. With a resampling method the columns come from two sources, and
the row is kept internally consistent as follows:

* ``std_error`` is the CR2 standard error, shown for description (the guardrail message says
  so: "the standard error shown is descriptive only"), and ``statistic`` is
  ``estimate / std_error`` — the CR2 t statistic — so the two always agree. ``df`` is NaN:
  no t reference distribution is used.
* ``p_value`` (and, for the wild bootstrap, ``ci_lower``/``ci_upper``) are the resampling
  method's own. The restricted wild cluster bootstrap studentises with CRV1 (its test
  statistic is the CRV1 t, :attr:`~evalkit.inference.WildBootstrapResult.t_stat`, not shown
  in the row); its interval comes from test inversion, so it is not
  ``estimate ± q · std_error`` and need not be symmetric. Randomisation inference's test
  statistic (below) is not shown either, and it gives no interval.

The CRV1 standard error is not shown in place of CR2 because the guardrail presents CR2 as
the descriptive SE wherever resampling inference is used (CR2 is the better small-sample
estimate of the sampling variability; CRV1 only studentises the bootstrap).

Randomisation inference permutes the cluster-level assignment and uses the absolute
cluster-robust t statistic (the studentised "RI-t" of MacKinnon & Webb 2020, which is more
reliable than permuting the raw coefficient when treated clusters differ in size). It gives a
p-value; its interval is left empty rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from evalkit.estimators.linear_model import LinearFit, vcov_cr1, vcov_cr2, vcov_hc1
from evalkit.estimators.results import InferenceRecord

__all__ = ["coefficient_row", "cr1_t"]


def cr1_t(fit: LinearFit, j: int, cluster: np.ndarray) -> float:
    """CR1 t statistic of coefficient ``j`` (cheap; used inside randomisation inference)."""
    v, _ = vcov_cr1(fit, cluster)
    return float(fit.coef[j] / np.sqrt(v[j, j]))


def _ratio(est: float, se: float) -> float:
    return est / se if se > 0 else np.nan


def _t_row(est: float, se: float, dof: float, alpha: float) -> dict[str, float]:
    stat = _ratio(est, se)
    if np.isfinite(dof):
        p = 2 * stats.t.sf(abs(stat), dof)
        q = stats.t.ppf(1 - alpha / 2, dof)
    else:
        p = 2 * stats.norm.sf(abs(stat))
        q = stats.norm.ppf(1 - alpha / 2)
    return {"estimate": est, "std_error": se, "statistic": stat, "p_value": float(p),
            "ci_lower": est - q * se, "ci_upper": est + q * se, "df": float(dof)}


def coefficient_row(
    fit: LinearFit,
    name: str,
    *,
    cluster: np.ndarray | None,
    decision: InferenceRecord,
    alpha: float = 0.05,
    y_for_bootstrap: np.ndarray | None = None,
    ri_assignment: np.ndarray | None = None,
    ri_statistic: Callable[[np.ndarray], float] | None = None,
) -> dict[str, Any]:
    """One tidy row for coefficient ``name``.

    Parameters
    ----------
    fit
        The fitted model (its design may be the within-transformed one).
    cluster
        Cluster label of every row, or None for HC1 inference.
    decision
        The guardrail's decision; ``decision.method`` selects the inference.
    y_for_bootstrap
        Outcome on the scale of ``fit.X`` (defaults to ``fit.y``).
    ri_assignment, ri_statistic
        Cluster-level assignment vector and a function returning the statistic for a permuted
        assignment; required for randomisation inference.
    """
    j = fit.index(name)
    est = float(fit.coef[j])
    method = decision.method
    base: dict[str, Any] = {"term": name, "inference": method,
                            "n_clusters": decision.n_clusters,
                            "n_treated_clusters": decision.n_treated_clusters}
    if cluster is None:
        v, dof = vcov_hc1(fit)
        return {**base, **_t_row(est, float(np.sqrt(v[j, j])), dof, alpha)}
    if method == "cr1":
        v, dof = vcov_cr1(fit, cluster)
        return {**base, **_t_row(est, float(np.sqrt(v[j, j])), dof, alpha)}
    # CR2 is the descriptive SE in every other case
    v2, dof2 = vcov_cr2(fit, cluster)
    se2 = float(np.sqrt(v2[j, j]))
    if method == "cr2":
        return {**base, **_t_row(est, se2, float(np.asarray(dof2)[j]), alpha)}
    if method == "wild_bootstrap":
        from evalkit.inference import wild_cluster_bootstrap

        y = fit.y if y_for_bootstrap is None else y_for_bootstrap
        wb = wild_cluster_bootstrap(
            y, fit.X, cluster, coef_index=j, weights=fit.weights, draws=decision.draws or 9999,
            weight_type=decision.weight_type or "rademacher", impose_null=True,
            seed=decision.seed if decision.seed is not None else 0, alpha=alpha, ci=True)
        # descriptive CR2 SE and its t (est / se); p-value and interval from the bootstrap,
        # which studentises with CRV1 (wb.t_stat) — see the module docstring
        return {**base, "estimate": est, "std_error": se2, "statistic": _ratio(est, se2),
                "p_value": float(wb.p_value), "ci_lower": float(wb.ci_lower),
                "ci_upper": float(wb.ci_upper), "df": np.nan}
    if method == "randomization":
        if ri_assignment is None or ri_statistic is None:
            msg = "randomisation inference needs the cluster-level assignment and a statistic"
            raise ValueError(msg)
        from evalkit.inference import permute_cohorts, randomization_inference

        assignment = np.asarray(ri_assignment)
        ri = randomization_inference(ri_statistic, assignment, permute=permute_cohorts(assignment),
                                     draws=decision.draws or 999,
                                     seed=decision.seed if decision.seed is not None else 0)
        # as for the bootstrap: descriptive CR2 SE and its t; the permutation statistic
        # (ri.observed, |CR1 t| in evalkit's estimators) is not shown
        return {**base, "estimate": est, "std_error": se2, "statistic": _ratio(est, se2),
                "p_value": float(ri.p_value), "ci_lower": np.nan, "ci_upper": np.nan,
                "df": np.nan}
    msg = f"unknown inference method {method!r}"
    raise ValueError(msg)
