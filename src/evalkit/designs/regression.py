"""Linear regression (OLS/WLS) with the covariance estimator chosen by name.

The fit is :func:`evalkit.estimators.linear_model.fit_wls`; the covariance comes from the
registry :mod:`evalkit.inference.covariance` (classical, HC0–HC3, CR0, CR1, CR2 with
Satterthwaite df, two-way clustering). Every coefficient gets a row; p-values and intervals use
the t distribution with the estimator's degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.designs.results import DesignCaveat, RegressionResult
from evalkit.estimators.estimation_sample import check_weights, select_sample
from evalkit.estimators.linear_model import design_matrix, fit_wls
from evalkit.estimators.results import ESTIMATE_COLUMNS, InferenceRecord, Spec
from evalkit.inference.covariance import CLUSTERED, CovarianceEstimate, CovarianceName, covariance
from evalkit.results import Provenance

__all__ = ["linear_regression", "coefficient_table"]


def coefficient_table(names: Sequence[str], coef: np.ndarray, cov: CovarianceEstimate, *,
                      alpha: float, n_clusters: int | None) -> pd.DataFrame:
    """Tidy rows (canonical columns) for every coefficient under one covariance estimate."""
    se = cov.std_errors()
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = coef / se
    q = stats.t.ppf(1 - alpha / 2, cov.df)
    return pd.DataFrame({
        "term": list(names), "estimate": coef, "std_error": se, "statistic": stat,
        "p_value": 2 * stats.t.sf(np.abs(stat), cov.df), "ci_lower": coef - q * se,
        "ci_upper": coef + q * se, "df": cov.df, "inference": cov.name,
        "n_clusters": n_clusters, "n_treated_clusters": None,
    })[list(ESTIMATE_COLUMNS)]


def linear_regression(
    data: pd.DataFrame,
    *,
    outcome: str,
    regressors: Sequence[str],
    categorical: Sequence[str] = (),
    weights: str | None = None,
    vcov: CovarianceName = "hc1",
    cluster: str | None = None,
    cluster2: str | None = None,
    alpha: float = 0.05,
) -> RegressionResult:
    """``outcome ~ 1 + regressors + dummies(categorical)`` by (weighted) least squares.

    Parameters
    ----------
    data : DataFrame
    outcome : str
    regressors : sequence of str
        Numeric columns.
    categorical : sequence of str
        Columns entered as dummies (first level dropped), e.g. community fixed effects.
    weights : str, optional
        Analytic/sampling weight column.
    vcov : {"classical", "hc0", "hc1", "hc2", "hc3", "cr0", "cr1", "cr2", "twoway"}
        Covariance estimator (see :mod:`evalkit.inference.covariance`).
    cluster, cluster2 : str, optional
        Cluster column(s); ``twoway`` needs both.
    alpha : float
        1 − confidence level.

    Returns
    -------
    RegressionResult

    Examples
    --------
    >>> # R: lmtest::coeftest(lm(y ~ x, d), sandwich::vcovCL(fit, ~firm + year))
    >>> # ek.designs.linear_regression(d, outcome="y", regressors=["x"], vcov="twoway",
    >>> #                              cluster="firm", cluster2="year")
    """
    where = "linear_regression()"
    sample, note = select_sample(data, [outcome, *regressors, *categorical, weights, cluster,
                                        cluster2], where=where)
    if vcov in CLUSTERED and cluster is None:
        msg = f"{where}: vcov={vcov!r} needs cluster= (the column that defines the clusters)."
        raise ValueError(msg)
    if vcov == "twoway" and cluster2 is None:
        msg = f"{where}: vcov='twoway' needs cluster= and cluster2= (the two clustering columns)."
        raise ValueError(msg)
    terms = {c: pd.to_numeric(sample[c]).to_numpy(float) for c in regressors}
    X = design_matrix(sample, terms, intercept=True, categorical=list(categorical))
    w = None if weights is None else check_weights(sample[weights], where=where)
    y = pd.to_numeric(sample[outcome]).to_numpy(float)
    fit = fit_wls(y, X, w)
    cov = covariance(vcov, fit.X, fit.resid, weights=w, bread=fit.bread,
                     cluster=None if cluster is None else sample[cluster].to_numpy(),
                     cluster2=None if cluster2 is None else sample[cluster2].to_numpy())
    n_c = cov.cluster_counts[0] if cov.cluster_counts else None
    estimates = coefficient_table(fit.names, fit.coef, cov, alpha=alpha, n_clusters=n_c)
    caveats = (DesignCaveat.FEW_CLUSTERS.value,) if n_c is not None and min(cov.cluster_counts) < 30 else ()
    notes = (note,) if note else ()
    spec = Spec("linear_regression", columns={"outcome": outcome, "regressors": list(regressors),
                                              "categorical": list(categorical), "weights": weights,
                                              "cluster": cluster, "cluster2": cluster2},
                options={"vcov": vcov, "alpha": alpha})
    return RegressionResult(
        estimates=estimates, provenance=Provenance.current(), spec=spec, n_obs=fit.n_obs,
        inference=InferenceRecord(vcov, vcov, n_c, None, None), notes=notes, caveats=caveats,
        tables={"vcov": pd.DataFrame(cov.vcov, columns=list(fit.names)).assign(term=list(fit.names))})
