"""Covariance estimators of linear models, reached by option name through one registry.

Owns the registry (as linearmodels' ``CovarianceManager``: option name → estimator) and
the estimators evalkit ships: ``"classical"``, ``"hc0"``–``"hc3"``, ``"cr0"``, ``"cr1"``,
``"cr2"`` and ``"twoway"`` (Cameron–Gelbach–Miller; ``cluster`` is then a pair of label arrays). A caller asks for
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
* ``classical``: σ̂² (X'WX)⁻¹; ``hc0``: White; ``hc2``/``hc3``: eᵢ²/(1 − hᵢᵢ) and
  eᵢ²/(1 − hᵢᵢ)² with hᵢᵢ the weighted leverage; ``cr0``: Liang–Zeger without factor.
* ``twoway``: ``sandwich::vcovCL(cluster = ~a + b, type = "HC1")`` — V₁ + V₂ − V₁₂, each
  piece with its own G/(G − 1) and the sum with (N − 1)/(N − K); min(G₁, G₂) − 1 df.

:func:`covariance` is the array-level convenience (design, residuals, weights, clusters)
that the designs package calls; it builds the fit view and asks the same registry.

References: MacKinnon & White (1985); Cameron, Gelbach & Miller (2011); R ``sandwich`` and
``clubSandwich`` output stored in ``tests/reference/designs/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

import numpy as np
from attrs import frozen

from numpy.typing import ArrayLike

from evalkit._checks import check_choice
from evalkit.errors import DataValidationError, EstimationError
from evalkit.inference._validate import as_matrix, as_vector, as_weights, solve_gram
from evalkit.inference.clusters import cluster_codes

__all__ = ["Covariance", "CovarianceEstimate", "CovarianceEstimator", "CovarianceName", "VcovKind",
           "FittedLinearModel", "CLUSTERED", "covariance", "vcov", "vcov_kinds", "register_covariance",
           "cluster_score_sums"]

VcovKind = Literal["classical", "hc0", "hc1", "hc2", "hc3", "cr0", "cr1", "cr2", "twoway"]
CovarianceName = VcovKind
#: options that need cluster labels (``twoway`` needs two)
CLUSTERED: frozenset[str] = frozenset({"cr0", "cr1", "cr2", "twoway"})
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
    cluster_counts: tuple[int, ...] = ()  # clusters per dimension (two for ``twoway``)

    @property
    def name(self) -> str:
        return self.kind

    def std_errors(self) -> np.ndarray:
        d = np.diag(self.vcov)
        return np.where(d >= 0, np.sqrt(np.clip(d, 0, None)), np.nan)


#: the designs package's name for the same record
CovarianceEstimate = Covariance

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
    return Covariance(vcov=V, df=np.full(k, float(g - 1)), kind="cr1", n_clusters=g, cluster_counts=(g,))


def _cr2(fit: FittedLinearModel, *, cluster: Any, fe_nested: bool = True) -> Covariance:
    from evalkit.inference.cr2 import cr2_vcov

    V, dof = cr2_vcov(fit.X, fit.resid, np.asarray(cluster), weights=fit.weights, bread=fit.bread)
    g = int(cluster_codes(cluster).max()) + 1
    return Covariance(vcov=V, df=np.asarray(dof, dtype=float), kind="cr2", n_clusters=g, cluster_counts=(g,))


register_covariance("hc1", _hc1, clustered=False)
register_covariance("cr1", _cr1, clustered=True)
register_covariance("cr2", _cr2, clustered=True)


# ---- further options: classical, HC0/HC2/HC3, CR0, two-way ------------------------------------


def _k_total(fit: FittedLinearModel) -> tuple[int, int]:
    n, k = fit.X.shape
    return n, k + fit.n_absorbed


def _sandwich(fit: FittedLinearModel, meat: np.ndarray) -> np.ndarray:
    v = fit.bread @ meat @ fit.bread
    return 0.5 * (v + v.T)


def _classical(fit: FittedLinearModel, *, cluster: Any = None, fe_nested: bool = True) -> Covariance:
    n, k_total = _k_total(fit)
    w = 1.0 if fit.weights is None else fit.weights
    sigma2 = float(np.sum(w * fit.resid**2)) / (n - k_total)
    return Covariance(vcov=sigma2 * fit.bread, df=np.full(fit.X.shape[1], float(n - k_total)), kind="classical")


def _hc(kind: str) -> CovarianceEstimator:
    def estimator(fit: FittedLinearModel, *, cluster: Any = None, fe_nested: bool = True) -> Covariance:
        n, k_total = _k_total(fit)
        w = np.ones(n) if fit.weights is None else np.asarray(fit.weights, dtype=float)
        u2 = (w * fit.resid) ** 2
        if kind in ("hc2", "hc3"):
            h = w * np.einsum("ij,jk,ik->i", fit.X, fit.bread, fit.X)
            if np.any(h >= 1 - 1e-10):
                msg = (f"vcov={kind!r}: {int(np.sum(h >= 1 - 1e-10))} observation(s) have leverage 1 "
                       f"(a coefficient rests on a single observation); use vcov='hc1'.")
                raise EstimationError(msg)
            u2 = u2 / (1 - h) ** (1 if kind == "hc2" else 2)
        v = _sandwich(fit, (fit.X * u2[:, None]).T @ fit.X)
        return Covariance(vcov=v, df=np.full(fit.X.shape[1], float(n - k_total)), kind=kind)

    return estimator


def _cr0(fit: FittedLinearModel, *, cluster: Any, fe_nested: bool = True) -> Covariance:
    codes = cluster_codes(cluster, order="appearance")
    g = int(codes.max()) + 1
    if g < 2:
        msg = f"vcov='cr0': the sample has {g} cluster; at least 2 are needed."
        raise EstimationError(msg)
    sums = cluster_score_sums(_scores(fit), codes, g)
    return Covariance(vcov=_sandwich(fit, sums.T @ sums), df=np.full(fit.X.shape[1], float(g - 1)),
                      kind="cr0", n_clusters=g, cluster_counts=(g,))


def _twoway(fit: FittedLinearModel, *, cluster: Any, fe_nested: bool = True) -> Covariance:
    first, second = cluster
    a = cluster_codes(first, order="appearance")
    b = cluster_codes(second, order="appearance")
    ab = cluster_codes(a.astype(np.int64) * (int(b.max()) + 1) + b, order="appearance")
    s = _scores(fit)
    total = np.zeros((s.shape[1], s.shape[1]))
    counts = []
    for codes, sign in ((a, 1.0), (b, 1.0), (ab, -1.0)):
        g = int(codes.max()) + 1
        if g < 2:
            msg = f"vcov='twoway': a clustering dimension has {g} cluster; at least 2 are needed."
            raise EstimationError(msg)
        sums = cluster_score_sums(s, codes, g)
        total += sign * g / (g - 1) * (sums.T @ sums)
        counts.append(g)
    n, k_total = _k_total(fit)
    v = _sandwich(fit, total) * (n - 1) / (n - k_total)
    return Covariance(vcov=v, df=np.full(fit.X.shape[1], float(min(counts[:2]) - 1)), kind="twoway",
                      n_clusters=min(counts[:2]), cluster_counts=(counts[0], counts[1]))


register_covariance("classical", _classical, clustered=False)
for _name in ("hc0", "hc2", "hc3"):
    register_covariance(_name, _hc(_name), clustered=False)
register_covariance("cr0", _cr0, clustered=True)
register_covariance("twoway", _twoway, clustered=True)


@frozen(eq=False)
class _ArrayFit:
    X: np.ndarray
    resid: np.ndarray
    weights: np.ndarray | None
    bread: np.ndarray
    n_absorbed: int


def covariance(
    name: str,
    X: ArrayLike,
    resid: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    bread: ArrayLike | None = None,
    cluster: ArrayLike | None = None,
    cluster2: ArrayLike | None = None,
    n_absorbed: int = 0,
) -> Covariance:
    """The covariance option ``name`` for a fitted OLS/WLS model given as arrays.

    ``X`` (N, K) and ``resid`` (``y − Xβ̂``, not multiplied by √w); ``weights`` the regression
    weights; ``bread`` ``(X'WX)⁻¹`` if already computed; ``cluster`` (and ``cluster2`` for
    ``twoway``) the cluster labels; ``n_absorbed`` fixed-effect levels swept out before the fit
    (counted in K). Asks the same registry as :func:`vcov`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0., 1, 2, 3, 4, 5]])
    >>> e = np.array([0.1, -0.2, 0.05, 0.3, -0.1, -0.15])
    >>> covariance("hc1", X, e).df.tolist()   # R: sandwich::vcovHC(lm(y ~ x), type = "HC1")
    [4.0, 4.0]
    """
    where = "covariance()"
    check_choice("vcov", name, vcov_kinds(), where=where)
    Xm = as_matrix(X, "X", where=where)
    n = Xm.shape[0]
    r = as_vector(resid, "resid", n, where=where)
    w = as_weights(weights, n, where=where)
    wv = np.ones(n) if w is None else w
    B = solve_gram(Xm.T @ (Xm * wv[:, None]), where=where) if bread is None else np.asarray(bread, float)
    labels: Any = None
    if name in CLUSTERED:
        needed = [cluster, cluster2] if name == "twoway" else [cluster]
        if any(c is None for c in needed):
            what = "two cluster columns" if name == "twoway" else "a cluster column"
            msg = f"{where}: vcov={name!r} needs {what}; pass cluster= (and cluster2= for 'twoway')."
            raise ValueError(msg)
        arrays = [np.asarray(c) for c in needed]
        for arr in arrays:
            if arr.shape != (n,):
                msg = f"{where}: cluster labels have shape {arr.shape}; expected ({n},)."
                raise ValueError(msg)
        labels = tuple(arrays) if name == "twoway" else arrays[0]
    return vcov(name, _ArrayFit(Xm, r, w, B, int(n_absorbed)), cluster=labels, fe_nested=False)
