"""Covariance estimators for linear models, chosen by name (a registry, like linearmodels'
``CovarianceManager``).

Every estimator takes the pieces of a fitted OLS/WLS model — design ``X``, residuals, regression
weights, the bread ``(X'WX)^-1`` — and returns a :class:`CovarianceEstimate` (matrix plus the
degrees of freedom of each coefficient's t reference distribution). Estimators register under
the option names users write (``vcov="cr2"``):

==========  ==========================================================  =====================
name        estimator                                                   degrees of freedom
==========  ==========================================================  =====================
classical   σ̂² (X'WX)^-1, σ̂² = Σ wᵢeᵢ² / (N − K)                        N − K
hc0         White: B (Σ wᵢ²eᵢ² xᵢxᵢ') B                                 N − K
hc1         hc0 · N / (N − K)  (Stata ``robust``)                       N − K
hc2         eᵢ² / (1 − hᵢᵢ)                                             N − K
hc3         eᵢ² / (1 − hᵢᵢ)²                                            N − K
cr0         Liang–Zeger, no small-sample factor                         G − 1
cr1         cr0 · G/(G − 1) · (N − 1)/(N − K)  (Stata, fixest)          G − 1
cr2         Bell–McCaffrey (:func:`evalkit.inference.cr2_vcov`)         Satterthwaite, per coefficient
twoway      Cameron–Gelbach–Miller: V₁ + V₂ − V₁₂, each CR1-type        min(G₁, G₂) − 1
==========  ==========================================================  =====================

``hᵢᵢ = wᵢ xᵢ' B xᵢ`` is the leverage of the weighted fit. ``twoway`` follows
``sandwich::vcovCL(cluster = ~a + b, type = "HC1")``: each of the three cluster-robust pieces
gets its own G/(G − 1) (G the number of clusters of that piece, the intersection for V₁₂) and
the sum gets (N − 1)/(N − K); no eigenvalue fix is applied (as ``sandwich``'s default), so a
diagonal element can in rare designs be negative and is then reported as NaN by callers.

References are R ``sandwich`` (``vcovHC``, ``vcovCL``) and ``clubSandwich`` (CR2); the stored
output for ``sandwich::PetersenCL`` is in ``tests/reference/designs/``.

References
----------
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2011). Robust inference with multiway
    clustering. Journal of Business & Economic Statistics, 29(2), 238–249.
MacKinnon, J. G., & White, H. (1985). Some heteroskedasticity-consistent covariance matrix
    estimators with improved finite sample properties. Journal of Econometrics, 29, 305–325.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
from attrs import frozen
from numpy.typing import ArrayLike

from evalkit.errors import EstimationError
from evalkit.inference._validate import as_matrix, as_vector, as_weights, check_choice, solve_gram

__all__ = ["CovarianceName", "CovarianceEstimate", "COVARIANCE_ESTIMATORS", "covariance",
           "CLUSTERED"]

CovarianceName = Literal["classical", "hc0", "hc1", "hc2", "hc3", "cr0", "cr1", "cr2", "twoway"]
#: names that need a cluster column (``twoway`` needs two)
CLUSTERED: frozenset[str] = frozenset({"cr0", "cr1", "cr2", "twoway"})


@frozen(eq=False)
class CovarianceEstimate:
    """A covariance matrix and the degrees of freedom of each coefficient's t test."""

    name: str
    vcov: np.ndarray
    df: np.ndarray
    n_clusters: tuple[int, ...] = ()

    def std_errors(self) -> np.ndarray:
        d = np.diag(self.vcov)
        return np.where(d >= 0, np.sqrt(np.clip(d, 0, None)), np.nan)


@frozen(eq=False)
class _Fit:
    X: np.ndarray
    resid: np.ndarray
    w: np.ndarray
    bread: np.ndarray
    n_absorbed: int

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def k(self) -> int:
        return self.X.shape[1] + self.n_absorbed

    def scores(self) -> np.ndarray:
        return self.X * (self.w * self.resid)[:, None]

    def leverage(self) -> np.ndarray:
        return self.w * np.einsum("ij,jk,ik->i", self.X, self.bread, self.X)


def _sandwich(fit: _Fit, meat: np.ndarray) -> np.ndarray:
    v = fit.bread @ meat @ fit.bread
    return 0.5 * (v + v.T)


def _const_df(fit: _Fit, value: float) -> np.ndarray:
    return np.full(fit.X.shape[1], float(value))


def _classical(fit: _Fit, clusters: list[np.ndarray]) -> CovarianceEstimate:
    sigma2 = float(np.sum(fit.w * fit.resid**2)) / (fit.n - fit.k)
    return CovarianceEstimate("classical", sigma2 * fit.bread, _const_df(fit, fit.n - fit.k))


def _hc(kind: str) -> Callable[[_Fit, list[np.ndarray]], CovarianceEstimate]:
    def estimator(fit: _Fit, clusters: list[np.ndarray]) -> CovarianceEstimate:
        u2 = (fit.w * fit.resid) ** 2
        if kind in ("hc2", "hc3"):
            h = fit.leverage()
            if np.any(h >= 1 - 1e-10):
                msg = (f"covariance {kind!r}: {int(np.sum(h >= 1 - 1e-10))} observation(s) have "
                       "leverage 1 (a coefficient rests on a single observation); use 'hc1'.")
                raise EstimationError(msg)
            u2 = u2 / (1 - h) ** (1 if kind == "hc2" else 2)
        meat = (fit.X * u2[:, None]).T @ fit.X
        v = _sandwich(fit, meat)
        if kind == "hc1":
            v = v * fit.n / (fit.n - fit.k)
        return CovarianceEstimate(kind, v, _const_df(fit, fit.n - fit.k))

    return estimator


def _cluster_meat(scores: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int]:
    g = int(codes.max()) + 1
    sums = np.zeros((g, scores.shape[1]))
    np.add.at(sums, codes, scores)
    return sums.T @ sums, g


def _codes(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    return pd.factorize(pd.Series(values), sort=False)[0].astype(np.int64)


def _cr(kind: str) -> Callable[[_Fit, list[np.ndarray]], CovarianceEstimate]:
    def estimator(fit: _Fit, clusters: list[np.ndarray]) -> CovarianceEstimate:
        meat, g = _cluster_meat(fit.scores(), _codes(clusters[0]))
        if g < 2:
            msg = f"covariance {kind!r}: the sample has {g} cluster; at least 2 are needed."
            raise EstimationError(msg)
        v = _sandwich(fit, meat)
        if kind == "cr1":
            v = v * g / (g - 1) * (fit.n - 1) / (fit.n - fit.k)
        return CovarianceEstimate(kind, v, _const_df(fit, g - 1), (g,))

    return estimator


def _cr2(fit: _Fit, clusters: list[np.ndarray]) -> CovarianceEstimate:
    from evalkit.inference.cr2 import cr2_vcov

    weights = None if np.all(fit.w == 1.0) else fit.w
    v, dof = cr2_vcov(fit.X, fit.resid, clusters[0], weights=weights, bread=fit.bread)
    return CovarianceEstimate("cr2", v, np.asarray(dof, dtype=float),
                              (int(len(np.unique(_codes(clusters[0])))),))


def _twoway(fit: _Fit, clusters: list[np.ndarray]) -> CovarianceEstimate:
    s = fit.scores()
    a, b = _codes(clusters[0]), _codes(clusters[1])
    ab = _codes(a.astype(np.int64) * (int(b.max()) + 1) + b)
    total = np.zeros((s.shape[1], s.shape[1]))
    counts = []
    for codes, sign in ((a, 1.0), (b, 1.0), (ab, -1.0)):
        meat, g = _cluster_meat(s, codes)
        if g < 2:
            msg = f"covariance 'twoway': a clustering dimension has {g} cluster; at least 2 are needed."
            raise EstimationError(msg)
        total += sign * g / (g - 1) * meat
        counts.append(g)
    v = _sandwich(fit, total) * (fit.n - 1) / (fit.n - fit.k)
    return CovarianceEstimate("twoway", v, _const_df(fit, min(counts[:2]) - 1),
                              (counts[0], counts[1]))


#: option name → estimator(fit, clusters)
COVARIANCE_ESTIMATORS: dict[str, Callable[[_Fit, list[np.ndarray]], CovarianceEstimate]] = {
    "classical": _classical,
    "hc0": _hc("hc0"),
    "hc1": _hc("hc1"),
    "hc2": _hc("hc2"),
    "hc3": _hc("hc3"),
    "cr0": _cr("cr0"),
    "cr1": _cr("cr1"),
    "cr2": _cr2,
    "twoway": _twoway,
}


def covariance(
    name: CovarianceName,
    X: ArrayLike,
    resid: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    bread: ArrayLike | None = None,
    cluster: ArrayLike | None = None,
    cluster2: ArrayLike | None = None,
    n_absorbed: int = 0,
) -> CovarianceEstimate:
    """The covariance estimator registered under ``name`` for a fitted OLS/WLS model.

    Parameters
    ----------
    name : {"classical", "hc0", "hc1", "hc2", "hc3", "cr0", "cr1", "cr2", "twoway"}
        See the module docstring.
    X, resid : array-like
        Design (N, K) and residuals ``y − Xβ̂`` (not multiplied by √w).
    weights : array-like, optional
        Regression weights of the WLS fit.
    bread : array-like, optional
        ``(X'WX)^-1`` if already computed.
    cluster, cluster2 : array-like, optional
        Cluster labels; ``cluster`` for the ``cr*`` names, both for ``twoway``.
    n_absorbed : int
        Fixed-effect levels swept out before the fit (counted in K for the N − K factors).

    Returns
    -------
    CovarianceEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from evalkit.inference.covariance import covariance
    >>> X = np.column_stack([np.ones(6), [0., 1, 2, 3, 4, 5]])
    >>> e = np.array([0.1, -0.2, 0.05, 0.3, -0.1, -0.15])
    >>> covariance("hc1", X, e).df.tolist()
    [4.0, 4.0]
    >>> # R: sandwich::vcovHC(lm(y ~ x), type = "HC1")
    """
    where = "covariance()"
    check_choice(name, "vcov", get_args(CovarianceName), where=where)
    Xm = as_matrix(X, "X", where=where)
    n = Xm.shape[0]
    r = as_vector(resid, "resid", n, where=where)
    w = as_weights(weights, n, where=where)
    wv = np.ones(n) if w is None else w
    B = solve_gram(Xm.T @ (Xm * wv[:, None]), where=where) if bread is None else np.asarray(bread, float)
    clusters: list[np.ndarray] = []
    if name in CLUSTERED:
        needed = [cluster, cluster2] if name == "twoway" else [cluster]
        if any(c is None for c in needed):
            what = "two cluster columns" if name == "twoway" else "a cluster column"
            msg = f"{where}: vcov={name!r} needs {what}; pass cluster= (and cluster2= for 'twoway')."
            raise ValueError(msg)
        for c in needed:
            arr = np.asarray(c)
            if arr.shape != (n,):
                msg = f"{where}: cluster labels have shape {arr.shape}; expected ({n},)."
                raise ValueError(msg)
            clusters.append(arr)
    return COVARIANCE_ESTIMATORS[name](_Fit(Xm, r, wv, B, int(n_absorbed)), clusters)
