"""Input checks shared by the inference routines (arrays, weights, options).

Messages follow the house style: what, where (argument, rows counted from 1), found
versus expected, and the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.errors import DataValidationError, NotIdentifiedError

__all__ = ["as_matrix", "as_vector", "as_weights", "solve_gram"]


def _rows(idx: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i) + 1) for i in idx[:limit])
    return shown + (", ..." if idx.size > limit else "")


def as_matrix(x: Any, name: str, *, where: str) -> np.ndarray:
    """A finite float64 (N, k) array; a 1-d input becomes one column."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] == 0:
        msg = f"{where}: {name} has shape {arr.shape}; expected a 2-d design matrix (rows, columns)."
        raise DataValidationError(msg)
    if not np.isfinite(arr).all():  # the per-row check below is slow; only run it on failure
        bad = ~np.isfinite(arr).all(axis=1)
        idx = np.flatnonzero(bad)
        msg = (
            f"{where}: {name} has {idx.size} rows with missing or infinite values (rows {_rows(idx)}, "
            f"counted from 1); expected finite numbers. Drop incomplete rows before estimation."
        )
        raise DataValidationError(msg)
    return arr


def as_vector(x: Any, name: str, n_rows: int, *, where: str) -> np.ndarray:
    """A finite float64 (N,) array of length ``n_rows``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (n_rows,):
        msg = f"{where}: {name} has shape {arr.shape}; expected ({n_rows},), one value per row of X."
        raise DataValidationError(msg)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.flatnonzero(bad)
        msg = (
            f"{where}: {name} has {idx.size} missing or infinite values (rows {_rows(idx)}, counted "
            f"from 1); expected finite numbers. Drop incomplete rows before estimation."
        )
        raise DataValidationError(msg)
    return arr


def as_weights(w: Any, n_rows: int, *, where: str) -> np.ndarray | None:
    """Validated regression weights (finite, >= 0, not all 0), or None."""
    if w is None:
        return None
    arr = as_vector(w, "weights", n_rows, where=where)
    neg = arr < 0
    if neg.any():
        idx = np.flatnonzero(neg)
        msg = (
            f"{where}: weights has {idx.size} negative values (rows {_rows(idx)}, counted from 1; "
            f"first value {arr[idx[0]]!r}); expected weights >= 0. Check the weight column."
        )
        raise DataValidationError(msg)
    if not (arr > 0).any():
        msg = f"{where}: all weights are 0; expected at least one positive weight."
        raise DataValidationError(msg)
    return arr


def solve_gram(xtx: np.ndarray, *, where: str) -> np.ndarray:
    """(X'WX)^-1 via Cholesky; raises NotIdentifiedError naming the collinear columns."""
    try:
        chol = np.linalg.cholesky(xtx)
    except np.linalg.LinAlgError:
        chol = None
    if chol is not None:
        d = np.diag(chol) ** 2
        if d.min() > 1e-12 * max(d.max(), 1e-300):
            inv_l = np.linalg.solve(chol, np.eye(len(xtx)))
            return inv_l.T @ inv_l
    # rank deficient: name the columns that are (near) linear combinations of earlier ones
    bad = []
    scale = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
    corr = xtx / np.outer(scale, scale)
    for j in range(len(xtx)):
        sub = corr[: j + 1, : j + 1]
        if np.linalg.matrix_rank(sub, tol=1e-10) < j + 1 - len(bad):
            bad.append(j)
    msg = (
        f"{where}: the design matrix X is rank deficient (columns {bad}, counted from 0, are linear "
        f"combinations of earlier columns or all zero after weighting); the coefficients are not "
        f"identified. Drop the redundant columns (e.g. a fixed effect that is already absorbed)."
    )
    raise NotIdentifiedError(msg)
