"""Covariate balance: standardised mean differences and variance ratios before and after
matching or weighting (the numbers of R ``MatchIt::summary(standardize = TRUE)``).

Conventions (MatchIt 4 / cobalt):

* means and variances are weighted; the weighted variance is
  ``Σw(x − x̄)² · Σw / ((Σw)² − Σw²)`` (unbiased with frequency-type weights), and for a
  binary covariate ``p(1 − p)``;
* the SMD denominator is fixed before adjustment and shared by both columns: the treated
  group's standard deviation for the ATT, ``√((s²₁ + s²₀)/2)`` for the ATE;
* the variance ratio is treated over comparison, not reported (NaN) for binary covariates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit._checks import check_choice

__all__ = ["balance_table", "love_plot", "max_abs_smd", "weighted_mean_var"]


def weighted_mean_var(x: np.ndarray, w: np.ndarray, *, binary: bool) -> tuple[float, float]:
    """Weighted mean and variance with MatchIt's conventions (see the module docstring)."""
    sw = float(w.sum())
    m = float(np.sum(w * x) / sw)
    if binary:
        return m, m * (1 - m)
    denom = sw**2 - float(np.sum(w**2))
    v = float(np.sum(w * (x - m) ** 2)) * sw / denom if denom > 0 else np.nan
    return m, v


def balance_table(X: pd.DataFrame, treat: np.ndarray, *, weights_after: np.ndarray,
                  weights_before: np.ndarray | None = None,
                  estimand: Literal["ATT", "ATE"] = "ATT") -> pd.DataFrame:
    """One row per covariate: means, SMD and variance ratio before and after adjustment.

    Parameters
    ----------
    X : DataFrame
        Covariates (numeric; dummies for categories), one row per unit.
    treat : array
        0/1 treatment.
    weights_after : array
        Matching or balancing weights (0 for unmatched units).
    weights_before : array, optional
        Sampling weights before adjustment (default: all 1).
    estimand : {"ATT", "ATE"}
        Chooses the SMD denominator.

    Returns
    -------
    DataFrame
        ``covariate, binary, mean_treated_before, mean_control_before, smd_before,
        var_ratio_before, mean_treated_after, mean_control_after, smd_after, var_ratio_after``.

    Examples
    --------
    >>> # R: summary(MatchIt::matchit(treat ~ ..., data = lalonde))$sum.matched
    """
    check_choice("estimand", estimand, ("ATT", "ATE"))
    d = np.asarray(treat, dtype=float) == 1
    wb = np.ones(len(d)) if weights_before is None else np.asarray(weights_before, float)
    wa = np.asarray(weights_after, float)
    rows = []
    for c in X.columns:
        x = X[c].to_numpy(dtype=float)
        binary = bool(np.isin(np.unique(x), [0.0, 1.0]).all())
        m1, v1 = weighted_mean_var(x[d], wb[d], binary=binary)
        m0, v0 = weighted_mean_var(x[~d], wb[~d], binary=binary)
        sd = np.sqrt(v1) if estimand == "ATT" else np.sqrt((v1 + v0) / 2)
        a1, u1 = weighted_mean_var(x[d & (wa > 0)], wa[d & (wa > 0)], binary=binary)
        a0, u0 = weighted_mean_var(x[~d & (wa > 0)], wa[~d & (wa > 0)], binary=binary)
        rows.append({
            "covariate": str(c), "binary": binary,
            "mean_treated_before": m1, "mean_control_before": m0,
            "smd_before": (m1 - m0) / sd if sd > 0 else np.nan,
            "var_ratio_before": np.nan if binary else v1 / v0,
            "mean_treated_after": a1, "mean_control_after": a0,
            "smd_after": (a1 - a0) / sd if sd > 0 else np.nan,
            "var_ratio_after": np.nan if binary else u1 / u0,
        })
    return pd.DataFrame(rows)


def max_abs_smd(table: pd.DataFrame) -> float:
    """Largest |SMD| after adjustment (NaN-safe)."""
    return float(np.nanmax(np.abs(table["smd_after"].to_numpy(dtype=float))))




def love_plot(balance: pd.DataFrame, ax: Any = None, *, lang: str = "zh",
              threshold: float = 0.1) -> Any:
    """Love plot of a :func:`balance_table` (|SMD| before and after); returns the Axes.

    Drawn by :func:`evalkit.reporting.design_figures.love_plot` (imported on first use, so
    importing the designs does not load matplotlib).
    """
    from evalkit.reporting.design_figures import love_plot as draw

    return draw(balance, ax=ax, lang=lang, threshold=threshold)
