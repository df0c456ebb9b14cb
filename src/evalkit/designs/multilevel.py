"""Multilevel (linear mixed) models: residents nested in communities with random intercepts
and random slopes, covariates and treatment × period effects; variance components and ICCs.

Estimation is statsmodels ``MixedLM`` (REML by default, as lme4's ``lmer``); tests compare
fixed effects, their SEs, the variance components and the REML log-likelihood with
``lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy)``.

ICCs (Nakagawa, Johnson & Schielzeth 2017), with the random-effect variance of a random-slope
model taken as the mean over observations of z'Σz (Johnson 2014), so it is the variance at the
sample's own covariate values:

* ``icc_adjusted`` = σ²_RE / (σ²_RE + σ²_e): the share of the variance not explained by the
  fixed effects that lies between communities;
* ``icc_conditional`` = σ²_RE / (σ²_f + σ²_RE + σ²_e), with σ²_f the variance of the fixed-
  effect predictions.

With a random intercept only, σ²_RE is the intercept variance and ``icc_adjusted`` is the
classical ICC used for design effects.

References
----------
Nakagawa, S., Johnson, P. C. D., & Schielzeth, H. (2017). The coefficient of determination R²
    and intra-class correlation coefficient from generalized linear mixed-effects models
    revisited and expanded. Journal of the Royal Society Interface, 14(134), 20170213.
Johnson, P. C. D. (2014). Extension of Nakagawa & Schielzeth's R²_GLMM to random slopes
    models. Methods in Ecology and Evolution, 5(9), 944–946.
Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. Journal of Statistical Software, 67(1).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.designs.results import DesignCaveat, MultilevelResult
from evalkit.errors import ConvergenceError, DataValidationError
from evalkit.estimators.estimation_sample import as_indicator, select_sample
from evalkit.estimators.results import ESTIMATE_COLUMNS, InferenceRecord, Spec
from evalkit.results import Provenance

__all__ = ["multilevel_model"]


def multilevel_model(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    covariates: Sequence[str] = (),
    treat: str | None = None,
    period: str | None = None,
    random_slopes: Sequence[str] = (),
    reml: bool = True,
    alpha: float = 0.05,
) -> MultilevelResult:
    """Linear mixed model ``y = Xβ + Z b_g + e`` with ``b_g ~ N(0, Σ)`` per group.

    Parameters
    ----------
    data : DataFrame
        One row per resident (or measurement).
    outcome : str
        Continuous outcome.
    group : str
        Grouping column (community).
    covariates : sequence of str
        Numeric fixed-effect covariates.
    treat, period : str, optional
        0/1 columns; with both, the fixed part has ``treat``, ``period`` and ``treat:period``
        (the DiD contrast), with one, that column alone.
    random_slopes : sequence of str
        Columns with a random slope by group (they must also be fixed effects); the random
        intercept is always included, with an unstructured covariance.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    alpha : float
        1 − confidence level (normal intervals, as lme4 gives no df).

    Returns
    -------
    MultilevelResult
        Fixed effects in ``estimates``; ``tables['variance_components']`` (term_1, term_2,
        variance/covariance, sd, correlation), ``tables['icc']`` and ``tables['fit']``.

    Examples
    --------
    >>> # R: lme4::lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy)
    >>> # ek.designs.multilevel_model(d, outcome="Reaction", group="Subject",
    >>> #                             covariates=["Days"], random_slopes=["Days"])
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    where = "multilevel_model()"
    cols = [outcome, group, *covariates, treat, period, *random_slopes]
    sample, note = select_sample(data, cols, where=where)
    fixed: dict[str, np.ndarray] = {"(Intercept)": np.ones(len(sample))}
    for c in covariates:
        fixed[c] = pd.to_numeric(sample[c]).to_numpy(float)
    if treat is not None:
        fixed[treat] = as_indicator(sample[treat], where=where)
    if period is not None:
        fixed[period] = as_indicator(sample[period], where=where)
    if treat is not None and period is not None:
        fixed[f"{treat}:{period}"] = fixed[treat] * fixed[period]
    missing_fixed = [c for c in random_slopes if c not in fixed]
    if missing_fixed:
        msg = (f"{where}: random slope(s) {', '.join(map(repr, missing_fixed))} are not fixed "
               "effects; add them to covariates= (a random slope varies around a fixed one).")
        raise DataValidationError(msg)
    exog = pd.DataFrame(fixed)
    exog_re = exog[["(Intercept)", *random_slopes]]
    groups = sample[group].to_numpy()
    n_groups = int(pd.Series(groups).nunique())
    if n_groups < 3:
        msg = f"{where}: column {group!r} has {n_groups} groups; a random effect needs at least 3."
        raise DataValidationError(msg)
    y = pd.to_numeric(sample[outcome]).to_numpy(float)
    model = MixedLM(y, exog, groups=groups, exog_re=exog_re)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(reml=reml, method=["lbfgs", "bfgs"])
    if not res.converged:
        msg = (f"{where}: the mixed model for {outcome!r} did not converge; simplify the random "
               "part (fewer random slopes) or rescale the covariates.")
        raise ConvergenceError(msg)

    k_fe = exog.shape[1]
    beta = np.asarray(res.fe_params)
    se = np.asarray(res.bse_fe)
    z = stats.norm.ppf(1 - alpha / 2)
    stat = beta / se
    estimates = pd.DataFrame({
        "term": list(exog.columns), "estimate": beta, "std_error": se, "statistic": stat,
        "p_value": 2 * stats.norm.sf(np.abs(stat)), "ci_lower": beta - z * se,
        "ci_upper": beta + z * se, "df": np.nan, "inference": "mixed_model",
        "n_clusters": n_groups, "n_treated_clusters": _treated_groups(sample, treat, groups),
    })[list(ESTIMATE_COLUMNS)]

    Sigma = np.asarray(res.cov_re)
    sigma2 = float(res.scale)
    names = list(exog_re.columns)
    vc_rows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names[: i + 1]):
            v = float(Sigma[i, j])
            corr = v / np.sqrt(Sigma[i, i] * Sigma[j, j]) if i != j else np.nan
            vc_rows.append({"term_1": b, "term_2": a, "variance": v,
                            "sd": np.sqrt(v) if i == j else np.nan, "correlation": corr})
    vc_rows.append({"term_1": "residual", "term_2": "residual", "variance": sigma2,
                    "sd": np.sqrt(sigma2), "correlation": np.nan})
    Zv = exog_re.to_numpy(float)
    s2_re = float(np.mean(np.einsum("ij,jk,ik->i", Zv, Sigma, Zv)))
    s2_f = float(np.var(exog.to_numpy(float) @ beta, ddof=1))
    icc = pd.DataFrame({
        "measure": ["icc_adjusted", "icc_conditional", "var_random", "var_fixed", "var_residual"],
        "value": [s2_re / (s2_re + sigma2), s2_re / (s2_f + s2_re + sigma2), s2_re, s2_f, sigma2],
    })
    fit = pd.DataFrame({"measure": ["loglik", "reml", "n_groups"],
                        "value": [float(res.llf), float(reml), float(n_groups)]})
    caveats = (DesignCaveat.FEW_CLUSTERS.value,) if n_groups < 30 else ()
    notes = (note,) if note else ()
    spec = Spec("multilevel_model", columns={"outcome": outcome, "group": group,
                                             "covariates": list(covariates), "treat": treat,
                                             "period": period, "random_slopes": list(random_slopes)},
                options={"reml": reml, "alpha": alpha})
    return MultilevelResult(
        estimates=estimates, provenance=Provenance.current(), spec=spec, n_obs=len(sample),
        inference=InferenceRecord("mixed_model", "mixed_model", n_groups,
                                  _treated_groups(sample, treat, groups), None),
        notes=notes, caveats=caveats,
        tables={"variance_components": pd.DataFrame(vc_rows), "icc": icc, "fit": fit})


def _treated_groups(sample: pd.DataFrame, treat: str | None, groups: np.ndarray) -> int | None:
    if treat is None:
        return None
    d = pd.to_numeric(sample[treat]).to_numpy(float) > 0
    return int(pd.Series(groups[d]).nunique())
