"""Maximum-likelihood common-factor model on a correlation matrix.

Owns: the ML fit that McDonald's ω (one factor) and the EFA check (several
factors) share. Rotation is statsmodels' GPA code
(``statsmodels.multivariate.factor_rotation.rotate_factors``).

Why hand-written: statsmodels' ``Factor(method="ml")`` draws random EM
starting values unless given some and its BFGS step often reports "did not
converge" at a solution that is correct to 1e-7, which under evalkit's
warnings-as-errors policy is noise. The concentrated likelihood used by R's
``factanal`` (Jöreskog 1967; Lawley & Maxwell 1971) is deterministic and
short: for fixed uniquenesses Ψ the ML loadings are the leading eigenvectors
of Ψ^{-1/2} R Ψ^{-1/2}, so only Ψ is optimised (bounded 0.005 ≤ ψ ≤ 1 and
started at ψ = (1 - m / 2p) / diag(R⁻¹), R's defaults; scipy's truncated
Newton "TNC", which unlike L-BFGS-B makes no BLAS calls per step, so it
stays fast when a loaded machine starves OpenBLAS threads). Results
agree with ``psych::fa(fm = "ml")`` and ``lavaan::cfa`` (see
tests/reference/measurement).
"""

from __future__ import annotations

import numpy as np
from attrs import frozen
from scipy import optimize

__all__ = ["FactorFit", "fit_ml_factors", "rotate_loadings"]

_LOWER = 0.005


@frozen(eq=False)
class FactorFit:
    """Unrotated ML solution on the correlation scale."""

    loadings: np.ndarray  # p × m, unrotated, each column's sum made positive
    uniqueness: np.ndarray  # p
    converged: bool
    heywood: bool  # some uniqueness at the lower bound (loading ≈ 1)
    objective: float  # ML discrepancy F at the optimum
    message: str


def _loadings_for(psi: np.ndarray, corr: np.ndarray, m: int) -> np.ndarray:
    sc = 1.0 / np.sqrt(psi)
    sstar = corr * np.outer(sc, sc)
    values, vectors = np.linalg.eigh(sstar)
    order = np.argsort(values)[::-1][:m]
    values, vectors = values[order], vectors[:, order]
    load = vectors * np.sqrt(np.maximum(values - 1.0, 0.0))
    return load * np.sqrt(psi)[:, None]


def _objective(psi: np.ndarray, corr: np.ndarray, m: int) -> float:
    sc = 1.0 / np.sqrt(psi)
    values = np.linalg.eigvalsh(corr * np.outer(sc, sc))[::-1]
    e = values[m:]
    return float(-(np.sum(np.log(e) - e) - m + corr.shape[0]))


def _gradient(psi: np.ndarray, corr: np.ndarray, m: int) -> np.ndarray:
    load = _loadings_for(psi, corr, m)
    g = load @ load.T + np.diag(psi) - corr
    return np.diag(g) / psi**2


def fit_ml_factors(corr: np.ndarray, n_factors: int) -> FactorFit:
    """Fit an ``n_factors`` ML factor model to a correlation matrix.

    Parameters
    ----------
    corr
        p × p correlation matrix (positive definite).
    n_factors
        Number of common factors m; needs (p - m)² ≥ p + m for identification.

    Returns
    -------
    FactorFit
        Unrotated loadings (columns ordered by explained variance, signs so
        that each column sums positive), uniquenesses and convergence flags.
    """
    corr = np.asarray(corr, dtype=float)
    p = corr.shape[0]
    m = int(n_factors)
    if m < 1 or (p - m) ** 2 < p + m:
        msg = f"a {m}-factor model is not identified with {p} items; use fewer factors or more items"
        raise ValueError(msg)
    try:
        inv_diag = np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        msg = "the item correlation matrix is singular (an item duplicates others); drop it"
        raise ValueError(msg) from None
    start = np.clip((1.0 - 0.5 * m / p) / inv_diag, _LOWER, 1.0)
    res = optimize.minimize(
        _objective, start, args=(corr, m), jac=_gradient, method="TNC",
        bounds=[(_LOWER, 1.0)] * p,
        options={"ftol": 1e-14, "gtol": 1e-10, "xtol": 1e-12, "maxfun": 5000},
    )
    psi = res.x
    # TNC reports "linear search failed" when it cannot improve an optimum further;
    # judge convergence by the projected gradient instead of its flag
    grad = _gradient(psi, corr, m)
    grad[(psi <= _LOWER * (1 + 1e-9)) & (grad > 0)] = 0.0
    grad[(psi >= 1.0 - 1e-9) & (grad < 0)] = 0.0
    converged = bool(res.success) or float(np.abs(grad).max()) < 1e-6
    load = _loadings_for(psi, corr, m)
    signs = np.sign(load.sum(axis=0))
    signs[signs == 0] = 1.0
    load = load * signs
    return FactorFit(
        loadings=load,
        uniqueness=psi,
        converged=converged,
        heywood=bool(np.any(psi <= _LOWER * 1.001)),
        objective=float(res.fun),
        message=str(res.message),
    )


def rotate_loadings(loadings: np.ndarray, rotation: str) -> tuple[np.ndarray, np.ndarray]:
    """Rotate loadings; returns (rotated loadings, factor correlation matrix).

    ``rotation``: ``"none"``, ``"varimax"`` (orthogonal) or ``"oblimin"``
    (oblique quartimin, γ = 0, unnormalised, as ``GPArotation::oblimin``).
    """
    from statsmodels.multivariate.factor_rotation import rotate_factors

    m = loadings.shape[1]
    if rotation == "none" or m == 1:
        return loadings.copy(), np.eye(m)
    if rotation == "varimax":
        rotated, _ = rotate_factors(loadings, "varimax")
        phi = np.eye(m)
    elif rotation == "oblimin":
        rotated, t = rotate_factors(loadings, "quartimin", tol=1e-7, max_tries=5000)
        phi = t.T @ t
    else:
        msg = f"argument rotation={rotation!r} is not allowed; use one of 'oblimin', 'varimax', 'none'"
        raise ValueError(msg)
    signs = np.sign(rotated.sum(axis=0))
    signs[signs == 0] = 1.0
    rotated = rotated * signs
    phi = phi * np.outer(signs, signs)
    return rotated, phi
