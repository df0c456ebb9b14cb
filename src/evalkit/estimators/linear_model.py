"""Weighted least squares with unit fixed effects absorbed; the variance estimators the impact
regressions use (HC1, CR1, CR2) are those of the registry :mod:`evalkit.inference.covariance`,
reached through the thin ``vcov_*`` wrappers below.

Why by hand: statsmodels' WLS does not absorb fixed effects, and linearmodels / pyfixest
do not offer CR2 with Bell–McCaffrey degrees of freedom together with weights and the
wild-bootstrap hook the few-clusters policy needs. The algebra is a few lines of numpy and
is checked against statsmodels, linearmodels and R (``lm`` + ``sandwich`` / ``clubSandwich``)
in ``tests/estimators``.

Weights are analytic / sampling weights: the estimator minimises ``Σ wᵢ eᵢ²``; multiplying
every weight by a constant changes nothing. The small-sample conventions of HC1/CR1/CR2 are
stated in :mod:`evalkit.inference.covariance`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.errors import NotIdentifiedError
from evalkit.inference.clusters import cluster_codes
from evalkit.inference.covariance import vcov

__all__ = ["LinearFit", "fit_wls", "design_matrix", "demean_within", "vcov_hc1", "vcov_cr1",
           "vcov_cr2", "cluster_codes"]


@frozen(eq=False)
class LinearFit:
    """A fitted (weighted) linear model on an already built design."""

    names: tuple[str, ...]
    coef: np.ndarray
    X: np.ndarray
    y: np.ndarray
    resid: np.ndarray
    weights: np.ndarray | None
    bread: np.ndarray  # (X'WX)^{-1}
    n_absorbed: int  # number of absorbed fixed-effect levels (0 if none)

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            msg = f"no coefficient {name!r}; coefficients are {', '.join(self.names)}"
            raise KeyError(msg) from None


def demean_within(frame: pd.DataFrame, group: np.ndarray, weights: np.ndarray | None) -> pd.DataFrame:
    """Subtract (weighted) group means from every column: the one-way within transformation."""
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    codes = cluster_codes(group)
    values = frame.to_numpy(dtype=float)
    sw = np.bincount(codes, weights=w)
    means = np.vstack([np.bincount(codes, weights=w * values[:, j]) / sw
                       for j in range(values.shape[1])]).T
    return pd.DataFrame(values - means[codes], columns=frame.columns, index=frame.index)


def design_matrix(data: pd.DataFrame, terms: dict[str, np.ndarray], *, intercept: bool = True,
                  categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Build a design matrix from named columns plus dummies for ``categorical`` columns."""
    cols: dict[str, np.ndarray] = {}
    if intercept:
        cols["(Intercept)"] = np.ones(len(data))
    for name, values in terms.items():
        cols[name] = np.asarray(values, dtype=float)
    frame = pd.DataFrame(cols, index=data.index)
    for c in categorical:
        dummies = pd.get_dummies(data[c].astype("string"), prefix=c, drop_first=True, dtype=float)
        frame = pd.concat([frame, dummies], axis=1)
    return frame


def fit_wls(y: np.ndarray, X: pd.DataFrame, weights: np.ndarray | None = None, *,
            n_absorbed: int = 0) -> LinearFit:
    """Solve weighted least squares; raise NotIdentifiedError naming collinear columns."""
    Xv = X.to_numpy(dtype=float)
    yv = np.asarray(y, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    sw = np.ones(len(yv)) if w is None else w
    Xw = Xv * sw[:, None]
    xtx = Xv.T @ Xw
    rank = np.linalg.matrix_rank(xtx)
    if rank < Xv.shape[1]:
        # find the columns that are (nearly) linear combinations of earlier ones
        bad, kept = [], []
        for j in range(Xv.shape[1]):
            trial = [*kept, j]
            if np.linalg.matrix_rank(xtx[np.ix_(trial, trial)]) < len(trial):
                bad.append(X.columns[j])
            else:
                kept.append(j)
        msg = (f"the regression is not identified: column(s) {', '.join(map(str, bad))} are "
               "collinear with the others (for example a covariate constant within communities "
               "together with community fixed effects, or a subgroup with no treated or no "
               "comparison observations). Remove them or check the design.")
        raise NotIdentifiedError(msg)
    bread = np.linalg.inv(xtx)
    coef = bread @ (Xw.T @ yv)
    resid = yv - Xv @ coef
    return LinearFit(tuple(map(str, X.columns)), coef, Xv, yv, resid, w, bread, n_absorbed)


def vcov_hc1(fit: LinearFit) -> tuple[np.ndarray, float]:
    """HC1 covariance and its residual degrees of freedom (``inference.covariance("hc1")``)."""
    cov = vcov("hc1", fit)
    return cov.vcov, float(cov.df[0])


def vcov_cr1(fit: LinearFit, cluster: np.ndarray, *, fe_nested: bool = True) -> tuple[np.ndarray, float]:
    """CR1 (Liang–Zeger with the Stata/fixest small-sample factor) and ``G-1`` dof
    (``inference.covariance("cr1")``)."""
    cov = vcov("cr1", fit, cluster=cluster, fe_nested=fe_nested)
    return cov.vcov, float(cov.df[0])


def vcov_cr2(fit: LinearFit, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance and Bell–McCaffrey degrees of freedom per coefficient
    (``inference.covariance("cr2")``, i.e. :func:`evalkit.inference.cr2_vcov` with this fit's
    bread, weights and residuals: the absorbed design when unit fixed effects were swept out,
    as in Pustejovsky & Tipton 2018 for fixed effects nested in clusters)."""
    cov = vcov("cr2", fit, cluster=cluster)
    return cov.vcov, cov.df
