"""Pre-post comparison within pilot communities only — the weakest design.

For programmes with no comparison data: the change in the outcome from the pre-period to the
post-period among pilot communities, ``y = α + δ·post (+ community effects + X'γ) + e``. It
cannot separate the programme from anything else that changed over the same time (secular
trends, other policies, regression to the mean), so every result carries the reason code
``pre_post_no_comparison`` and ``spec.options['design_strength'] == "weakest"``; reporting
words it. Standard errors are cluster-robust by community (CR2 with Satterthwaite df by
default, through :mod:`evalkit.inference.covariance`), HC1 when no cluster column is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evalkit.designs.regression import coefficient_table
from evalkit.designs.results import DesignCaveat, PrePostResult
from evalkit.errors import DataValidationError
from evalkit.estimators.estimation_sample import as_indicator, check_weights, select_sample
from evalkit.estimators.linear_model import design_matrix, fit_wls
from evalkit.estimators.results import InferenceRecord, Spec
from evalkit.inference.covariance import CovarianceName, covariance
from evalkit.results import Provenance

__all__ = ["pre_post"]


def pre_post(
    data: pd.DataFrame,
    *,
    outcome: str,
    post: str,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    weights: str | None = None,
    community_effects: bool = True,
    vcov: CovarianceName | None = None,
    alpha: float = 0.05,
) -> PrePostResult:
    """Change from pre to post within pilots (no comparison group).

    Parameters
    ----------
    data : DataFrame
        Rows of pilot communities only (residents or community-periods).
    outcome : str
    post : str
        0/1 column: 1 in the post-period.
    cluster : str, optional
        Community column: clusters the SEs and, with ``community_effects``, adds community
        fixed effects (a within-community change).
    covariates : sequence of str
        Numeric covariates (resident composition).
    weights : str, optional
        Sampling weights.
    vcov : str, optional
        Covariance name; default "cr2" with a cluster column, "hc1" without. With ``"cr1"`` the
        community dummies are columns of the design and count in K, as in Stata's
        ``regress y post i.community, vce(cluster community)`` and statsmodels; fixest and
        reghdfe absorb them and leave these nested effects out of K, so their SEs are smaller
        by √((N−K₀)/(N−K₀−G+1)) (K₀ the other columns; 0.5 % on 3,000 residents in 15 pilots).
    alpha : float
        1 − confidence level.

    Returns
    -------
    PrePostResult
        Row named after ``post``, caveat ``pre_post_no_comparison``.

    Examples
    --------
    >>> # R: clubSandwich::coef_test(lm(y ~ post + factor(community)), "CR2", cluster = community)
    >>> # ek.designs.pre_post(pilots, outcome="belonging", post="post", cluster="community_id")
    """
    where = "pre_post()"
    sample, note = select_sample(data, [outcome, post, cluster, *covariates, weights], where=where)
    d = as_indicator(sample[post], where=where)
    if d.min() == d.max():
        msg = (f"{where}: column {post!r} is {int(d[0])} in every row; a pre-post comparison "
               "needs rows from both periods (0 = before, 1 = after).")
        raise DataValidationError(msg)
    terms = {post: d, **{c: pd.to_numeric(sample[c]).to_numpy(float) for c in covariates}}
    fe = [cluster] if (cluster is not None and community_effects) else []
    X = design_matrix(sample, terms, intercept=True, categorical=fe)
    w = None if weights is None else check_weights(sample[weights], where=where)
    fit = fit_wls(pd.to_numeric(sample[outcome]).to_numpy(float), X, w)
    name = vcov if vcov is not None else ("cr2" if cluster is not None else "hc1")
    cov = covariance(name, fit.X, fit.resid, weights=w, bread=fit.bread,
                     cluster=None if cluster is None else sample[cluster].to_numpy())
    n_c = cov.cluster_counts[0] if cov.cluster_counts else None
    table = coefficient_table(fit.names, fit.coef, cov, alpha=alpha, n_clusters=n_c)
    keep = table["term"].isin([post, *covariates])
    estimates = table[keep].reset_index(drop=True)
    caveats = [DesignCaveat.PRE_POST_NO_COMPARISON.value]
    if n_c is not None and n_c < 30:
        caveats.append(DesignCaveat.FEW_CLUSTERS.value)
    notes = (note,) if note else ()
    spec = Spec("pre_post", columns={"outcome": outcome, "post": post, "cluster": cluster,
                                     "covariates": list(covariates), "weights": weights},
                options={"vcov": name, "community_effects": community_effects, "alpha": alpha,
                         "design_strength": "weakest"})
    return PrePostResult(
        estimates=estimates, provenance=Provenance.current(), spec=spec, n_obs=fit.n_obs,
        inference=InferenceRecord(name, name, n_c, n_c, None), notes=notes, caveats=tuple(caveats))
