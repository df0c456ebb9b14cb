"""CR2 cluster-robust covariance (Bell–McCaffrey) with Satterthwaite degrees of freedom.

Owns :func:`cr2_vcov`.

Why hand-written: statsmodels and linearmodels offer CR0/CR1 only; pyfixest has CR2
but not the Satterthwaite (Bell–McCaffrey / Pustejovsky–Tipton) degrees of freedom
and is a heavy dependency (../shared/DEPENDENCIES.md). The reference implementation is
R clubSandwich; tests/reference/inference/ holds its output for public datasets and the
tests compare with it.

What is computed (OLS or WLS, working model Φ = I as clubSandwich uses for ``lm``)
---------------------------------------------------------------------------------
With W = diag(weights), B = (X'WX)^-1, hat matrix H = X B X'W and residuals e:

    V_CR2 = B [Σ_g X_g'W_g A_g e_g e_g' A_g W_g X_g] B,
    A_g   = G_g^(-1/2),   G_g = [(I − H)(I − H)']_gg
          = I − H_gg − H_gg' + X_g B (X'W²X) B X_g'

(G_g = I − X_g B X_g' without weights). The inverse square root is the symmetric one,
with eigenvalues below 1e-12 mapped to 0 (the Moore–Penrose version clubSandwich uses,
needed when fixed effects are nested in clusters). Bell & McCaffrey (2002), Pustejovsky &
Tipton (2018, eq. 8 and the "CR2" default of clubSandwich).

G_g − I has rank at most 2k and lives in span[X_g, W_g X_g], so G_g^(-1/2) is applied
through an orthonormal basis of that span (QR of n_g × 2k) and never formed: the cost is
O(N k²) for the data pass plus O(G k³ + G² k²) for the degrees of freedom, not O(Σ n_g³).

Degrees of freedom (clubSandwich ``coef_test(..., test = "Satterthwaite")``): for
coefficient j, V_j = Σ_g (s_g'ε)² with s_g = (I − H)_{g·}' A_g W_g X_g B e_j; under the
working model ε ~ (0, I), ν_j = 2 E[V_j]² / Var[V_j] = (Σ_g s_g's_g)² / Σ_{g,h} (s_g's_h)²,
evaluated from k-vectors per cluster (s_g's_h = δ_gh q_g'q_g − y_g'B z_h − z_g'B y_h
+ z_g'B X'W²X B z_h with q_g = A_g W_g X_g B e_j, z_g = X_g'q_g, y_g = X_g'W_g q_g).

Fixed effects: when the fixed effects are nested within the clusters (community effects,
community clusters) and there are no weights, passing X demeaned within the groups gives
the same CR2 matrix and degrees of freedom as including the dummies (Pustejovsky & Tipton
2018, Theorem 2; clubSandwich drops such dummies for ``plm`` within models). With
weights the two differ (clubSandwich then augments the design with the dummies), so keep
the dummies in X for weighted CR2, or accept the difference. Fixed effects not nested in
clusters must stay in X. Rows with weight 0 are dropped first (as clubSandwich does).

References
----------
Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
    regression with multi-stage samples. Survey Methodology, 28(2), 169–181.
Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
    estimation and hypothesis testing in fixed effects models. Journal of Business &
    Economic Statistics, 36(4), 672–683.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from evalkit.errors import DataValidationError, EstimationError
from evalkit.inference._validate import as_matrix, as_vector, as_weights, solve_gram
from evalkit.inference.clusters import index_clusters

__all__ = ["cr2_vcov"]

_EIG_TOL = 1e-12  # clubSandwich matrix_power(): eigenvalues <= 10^-12 are set to 0


def cr2_vcov(
    X: ArrayLike,
    resid: ArrayLike,
    cluster: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    bread: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CR2 cluster-robust covariance and Satterthwaite degrees of freedom per coefficient.

    Parameters
    ----------
    X : array-like, shape (N, k)
        Design matrix of the fitted OLS/WLS model (fixed effects nested in clusters may be
        partialled out when there are no weights; see the module docstring).
    resid : array-like, shape (N,)
        Residuals y − Xβ̂ of that fit (not multiplied by √weights).
    cluster : array-like, shape (N,)
        Cluster label of each row; any hashable labels, no missing values.
    weights : array-like, shape (N,), optional
        The regression weights of the WLS fit (>= 0). Working model Φ = I, as clubSandwich
        uses for weighted ``lm`` fits.
    bread : array-like, shape (k, k), optional
        (X'WX)^-1 if the caller already has it; it is checked against X'WX.

    Returns
    -------
    vcov : ndarray, shape (k, k)
        The CR2 covariance matrix (clubSandwich ``vcovCR(fit, cluster, type = "CR2")``).
    dof : ndarray, shape (k,)
        Satterthwaite degrees of freedom of each coefficient's t test
        (clubSandwich ``coef_test(fit, vcov, test = "Satterthwaite")$df_Satt``). Use
        p = 2·t_dof.sf(|β̂_j| / √vcov[j, j]).

    Raises
    ------
    DataValidationError
        Shapes disagree, values are missing, weights negative, bread has the wrong shape
        or is not (X'WX)^-1.
    NotIdentifiedError
        X is rank deficient.
    EstimationError
        Fewer than two clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from evalkit.inference import cr2_vcov
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(10), 20)
    >>> X = np.column_stack([np.ones(200), (g < 3).astype(float)])
    >>> y = rng.normal(size=10)[g] + rng.normal(size=200)
    >>> beta = np.linalg.lstsq(X, y, rcond=None)[0]
    >>> vcov, dof = cr2_vcov(X, y - X @ beta, g)
    >>> vcov.shape, dof.shape
    ((2, 2), (2,))
    >>> # R: clubSandwich::coef_test(lm(y ~ d), vcov = "CR2", cluster = g, test = "Satterthwaite")
    """
    where = "cr2_vcov"
    Xm = as_matrix(X, "X", where=where)
    n, k = Xm.shape
    r = as_vector(resid, "resid", n, where=where)
    w = as_weights(weights, n, where=where)
    cl = np.asarray(cluster)
    if w is not None and not (w > 0).all():
        keep = w > 0
        if cl.shape == (n,):
            cl = cl[keep]
        Xm, r, w = Xm[keep], r[keep], w[keep]
        n = Xm.shape[0]
    idx = index_clusters(cl, n, where=where)
    G = idx.n_clusters
    if G < 2:
        msg = f"{where}: the sample has {G} cluster; cluster-robust variances need at least 2."
        raise EstimationError(msg)
    Xs, rs = idx.take(Xm), idx.take(r)
    ws = idx.take(w) if w is not None else None
    slices = idx.slices()

    # X'WX and X'W²X from one pass
    xtwx = np.zeros((k, k))
    xtw2x = np.zeros((k, k)) if ws is not None else None
    for sl in slices:
        Xg = Xs[sl]
        if ws is None:
            xtwx += Xg.T @ Xg
        else:
            WXg = ws[sl, None] * Xg
            xtwx += Xg.T @ WXg
            xtw2x += WXg.T @ WXg
    B = _check_bread(bread, xtwx, where=where) if bread is not None else solve_gram(xtwx, where=where)
    K = B if xtw2x is None else B @ xtw2x @ B

    meat = np.zeros((k, k))
    qq = np.empty((G, k))  # q_g'q_g for each coefficient j (column)
    Z = np.empty((G, k, k))  # X_g' Q_g        (Q_g = A_g W_g X_g B, column j is q_g for e_j)
    Y = np.empty((G, k, k)) if ws is not None else Z  # X_g' W_g Q_g
    for g, sl in enumerate(slices):
        Xg = Xs[sl]
        WXg = Xg if ws is None else ws[sl, None] * Xg
        AWX = _apply_adjustment(Xg, WXg, B, K)
        u = AWX.T @ rs[sl]
        meat += np.outer(u, u)
        Qg = AWX @ B
        qq[g] = np.einsum("ij,ij->j", Qg, Qg)
        Z[g] = Xg.T @ Qg
        if ws is not None:
            Y[g] = WXg.T @ Qg
    vcov = B @ meat @ B
    vcov = 0.5 * (vcov + vcov.T)

    dof = np.empty(k)
    for j in range(k):
        Zj, Yj = Z[:, :, j], Y[:, :, j]
        ZB = Zj @ B
        P = -(Yj @ ZB.T)
        P = P + P.T + Zj @ K @ Zj.T
        P[np.diag_indices(G)] += qq[:, j]
        dof[j] = np.trace(P) ** 2 / np.sum(P * P)
    return vcov, dof


def _apply_adjustment(Xg: np.ndarray, WXg: np.ndarray, B: np.ndarray, K: np.ndarray) -> np.ndarray:
    """A_g W_g X_g with A_g = G_g^(-1/2) applied through a basis of span[X_g, W_g X_g]."""
    weighted = WXg is not Xg
    basis = np.hstack([Xg, WXg]) if weighted else Xg
    Q, _ = np.linalg.qr(basis)  # orthonormal, spans at least the column space of G_g − I
    T1 = Q.T @ Xg
    if weighted:
        T2 = Q.T @ WXg
        C = -(T1 @ B @ T2.T)
        C = C + C.T + T1 @ K @ T1.T
    else:
        C = -(T1 @ B @ T1.T)
    evals, evecs = np.linalg.eigh(np.eye(len(C)) + 0.5 * (C + C.T))
    f = np.zeros_like(evals)
    pos = evals > _EIG_TOL
    f[pos] = evals[pos] ** -0.5
    F_minus_I = (evecs * (f - 1.0)) @ evecs.T
    return WXg + Q @ (F_minus_I @ (Q.T @ WXg))


def _check_bread(bread: Any, xtwx: np.ndarray, *, where: str) -> np.ndarray:
    k = len(xtwx)
    B = np.asarray(bread, dtype=np.float64)
    if B.shape != (k, k) or not np.isfinite(B).all():
        msg = f"{where}: bread has shape {B.shape}; expected a finite ({k}, {k}) matrix (X'WX)^-1."
        raise DataValidationError(msg)
    err = np.max(np.abs(B @ xtwx - np.eye(k)))
    tol = max(1e-6, 1e-8 * float(np.linalg.cond(xtwx)))  # rounding grows with the condition number
    if not err <= tol:
        msg = (
            f"{where}: bread is not the inverse of X'WX for the X and weights given (max |bread·X'WX − I| "
            f"= {err:.3g}, expected <= {tol:.3g}). Pass the bread of this fit, or omit it."
        )
        raise DataValidationError(msg)
    return 0.5 * (B + B.T)
