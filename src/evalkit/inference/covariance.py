"""Covariance estimators of linear models, reached by option name through one registry.

Owns the registry (as linearmodels' ``CovarianceManager``: option name → estimator) and
the estimators evalkit ships: ``"hc1"``, ``"cr1"`` and ``"cr2"``. A caller asks for
``vcov("cr2", fit, cluster=...)`` and gets a :class:`Covariance` (matrix, degrees
of freedom per coefficient, the option used); new options (HC0–HC3, CR0, two-way
clustering …) are added with :func:`register_covariance` in one place, and every
estimator that takes a ``vcov=`` option sees them.

An estimator is a function ``(fit, *, cluster, fe_nested) -> Covariance`` where ``fit``
is anything with the attributes of :class:`FittedLinearModel` (evalkit's
``estimators.linear_model.LinearFit`` has them); ``cluster`` is None for
heteroskedasticity-robust options.

Conventions (the algebra is a few lines of numpy; checked against R ``sandwich`` /
``clubSandwich``, statsmodels and linearmodels in ``tests/estimators`` and
``tests/inference``)
-----------------------------------------------------------------------------------
* Weights are analytic / sampling weights: the fit minimises Σ wᵢ eᵢ², scores are
  xᵢ wᵢ eᵢ, the bread is (X'WX)⁻¹.
* ``hc1``: N/(N−K) with K counting absorbed fixed effects; N−K degrees of freedom.
* ``cr1``: the Stata / fixest factor G/(G−1) · (N−1)/(N−K), K counting absorbed fixed
  effects only when they are *not* nested in the clusters; G−1 degrees of freedom.
* ``cr2``: Bell–McCaffrey with Satterthwaite degrees of freedom per coefficient
  (:func:`evalkit.inference.cr2.cr2_vcov`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

import numpy as np
from attrs import frozen

from evalkit._checks import check_choice
from evalkit.errors import DataValidationError
from evalkit.inference.clusters import cluster_codes

__all__ = ["Covariance", "CovarianceEstimator", "VcovKind", "FittedLinearModel",
           "vcov", "vcov_kinds", "register_covariance", "cluster_score_sums"]

VcovKind = Literal["hc1", "cr1", "cr2"]
"""The options evalkit ships; :func:`vcov_kinds` lists those registered now."""


class FittedLinearModel(Protocol):
    """What a covariance estimator reads from a fitted (weighted) linear model."""

    X: np.ndarray  # (N, K) design actually used (fixed effects absorbed or not)
    resid: np.ndarray  # (N,) y − Xβ̂
    weights: np.ndarray | None  # (N,) analytic weights, or None
    bread: np.ndarray  # (K, K) (X'WX)⁻¹
    n_absorbed: int  # absorbed fixed-effect levels (0 if none)


@frozen(eq=False)
class Covariance:
    """A covariance matrix, the degrees of freedom of each coefficient's t test, the option."""

    vcov: np.ndarray
    df: np.ndarray
    kind: str
    n_clusters: int | None = None


CovarianceEstimator = Callable[..., Covariance]

_REGISTRY: dict[str, tuple[CovarianceEstimator, bool]] = {}


def register_covariance(name: str, estimator: CovarianceEstimator, *, clustered: bool) -> None:
    """Add (or replace) the estimator behind option ``name``; ``clustered`` options need ``cluster``."""
    _REGISTRY[name] = (estimator, clustered)


def vcov_kinds() -> tuple[str, ...]:
    """The registered option names."""
    return tuple(_REGISTRY)


def vcov(kind: str, fit: FittedLinearModel, *, cluster: Any = None,
         fe_nested: bool = True) -> Covariance:
    """The covariance of ``fit``'s coefficients under option ``kind``.

    Parameters
    ----------
    kind : str
        A registered option (:func:`vcov_kinds`): ``"hc1"``, ``"cr1"``, ``"cr2"``, …
    fit : FittedLinearModel
        The fitted model (design, residuals, weights, bread, absorbed levels).
    cluster : array-like, optional
        One cluster label per row; required by clustered options.
    fe_nested : bool, default True
        Whether absorbed fixed effects are nested in the clusters (CR1's K).

    Raises
    ------
    ValueError
        ``kind`` is not registered.
    DataValidationError
        A clustered option without ``cluster``.
    """
    check_choice("vcov", kind, vcov_kinds(), where="vcov()")
    estimator, clustered = _REGISTRY[kind]
    if clustered and cluster is None:
        msg = (f"vcov(): vcov={kind!r} is cluster-robust but no cluster was given; pass the "
               f"community id column as cluster, or use vcov='hc1'.")
        raise DataValidationError(msg)
    return estimator(fit, cluster=cluster, fe_nested=fe_nested)


def cluster_score_sums(scores: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Σ of the rows of ``scores`` (N, K) within clusters (codes 0..G−1): (G, K), one
    ``np.bincount`` per column (summed in row order, as ``np.add.at`` would, but fast)."""
    return np.column_stack([np.bincount(codes, weights=scores[:, j], minlength=n_clusters)
                            for j in range(scores.shape[1])])


def _scores(fit: FittedLinearModel) -> np.ndarray:
    w = 1.0 if fit.weights is None else fit.weights
    return fit.X * (w * fit.resid)[:, None]


def _hc1(fit: FittedLinearModel, *, cluster: Any = None, fe_nested: bool = True) -> Covariance:
    s = _scores(fit)
    n, k = fit.X.shape
    k_total = k + fit.n_absorbed
    V = fit.bread @ (s.T @ s) @ fit.bread * n / (n - k_total)
    return Covariance(vcov=V, df=np.full(k, float(n - k_total)), kind="hc1")


def _cr1(fit: FittedLinearModel, *, cluster: Any, fe_nested: bool = True) -> Covariance:
    codes = cluster_codes(cluster, order="appearance")
    g = int(codes.max()) + 1
    sums = cluster_score_sums(_scores(fit), codes, g)
    n, k = fit.X.shape
    k_total = k + (0 if fe_nested else fit.n_absorbed)
    factor = g / (g - 1) * (n - 1) / (n - k_total)
    V = fit.bread @ (sums.T @ sums) @ fit.bread * factor
    return Covariance(vcov=V, df=np.full(k, float(g - 1)), kind="cr1", n_clusters=g)


def _cr2(fit: FittedLinearModel, *, cluster: Any, fe_nested: bool = True) -> Covariance:
    from evalkit.inference.cr2 import cr2_vcov

    V, dof = cr2_vcov(fit.X, fit.resid, np.asarray(cluster), weights=fit.weights, bread=fit.bread)
    return Covariance(vcov=V, df=np.asarray(dof, dtype=float), kind="cr2",
                      n_clusters=int(cluster_codes(cluster).max()) + 1)


register_covariance("hc1", _hc1, clustered=False)
register_covariance("cr1", _cr1, clustered=True)
register_covariance("cr2", _cr2, clustered=True)
