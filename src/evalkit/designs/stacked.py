"""Sandwich variance of stacked estimating equations (M-estimation), the tool behind every
weighting estimator's standard error.

With per-unit estimating functions ψᵢ(θ) (q of them, exactly identified) solved by θ̂,
``V = A⁻¹ B A⁻ᵀ / n`` with ``A = ∂ mean ψ / ∂θ'`` and ``B = mean ψψ'`` (HC0; Stefanski & Boos
2002). Stacking the propensity-score (or balancing) equations with the effect's equations is
what makes the variance account for the estimated weights. Sampling weights multiply each ψᵢ;
with clusters, ψ is summed within cluster before the outer product (and B gets G/(G−1)).

``A`` is taken by central differences of the mean estimating function; callers pass
parameters on a standardised scale (covariates centred and scaled), where a step of 1e-6 is
accurate to about 1e-9 relative.

References
----------
Stefanski, L. A., & Boos, D. D. (2002). The calculus of M-estimation. The American
    Statistician, 56(1), 29–38.
Lunceford, J. K., & Davidian, M. (2004). Stratification and weighting via the propensity score
    in estimation of causal treatment effects. Statistics in Medicine, 23(19), 2937–2960.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["stacked_vcov"]


def stacked_vcov(psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, *,
                 cluster: np.ndarray | None = None, step: float = 1e-6) -> np.ndarray:
    """Sandwich covariance of ``theta`` for estimating functions ``psi(theta) -> (n, q)``."""
    theta = np.asarray(theta, float)
    S = psi(theta)
    n, q = S.shape
    A = np.empty((q, q))
    for j in range(q):
        h = step * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        A[:, j] = (psi(up).mean(axis=0) - psi(down).mean(axis=0)) / (2 * h)
    if cluster is None:
        B = S.T @ S / n
    else:
        import pandas as pd

        codes = pd.factorize(pd.Series(cluster), sort=False)[0]
        g = int(codes.max()) + 1
        sums = np.zeros((g, q))
        np.add.at(sums, codes, S)
        B = sums.T @ sums / n * g / (g - 1)
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T / n
    return 0.5 * (V + V.T)
