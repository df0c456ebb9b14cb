"""What a set of survey weights costs: Kish design effect, effective sample size, margin checks.

Owns: the weight diagnostics every weighting method reports.

* Kish's (1965) design effect due to unequal weights,
  deff = n Σw² / (Σw)² = 1 + CV² (CV with the population variance, ddof = 0);
  it is what unequal weighting alone costs, before clustering.
* Effective sample size n_eff = (Σw)² / Σw² = n / deff.
* :func:`margin_table` compares weighted totals with the population targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit._checks import as_list, require_columns

__all__ = ["kish_deff", "effective_sample_size", "weight_diagnostics", "margin_table"]


def _clean(weights: pd.Series | np.ndarray | Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    w = w[np.isfinite(w)]
    if np.any(w < 0):
        msg = f"weights must be non-negative; found {int((w < 0).sum())} negative value(s)"
        raise ValueError(msg)
    return w


def kish_deff(weights: pd.Series | np.ndarray | Sequence[float]) -> float:
    """Kish's design effect of unequal weights, n Σw² / (Σw)² (NaN weights ignored)."""
    w = _clean(weights)
    if w.size == 0 or w.sum() == 0:
        return float("nan")
    return float(w.size * np.sum(w**2) / np.sum(w) ** 2)


def effective_sample_size(weights: pd.Series | np.ndarray | Sequence[float]) -> float:
    """Kish's effective sample size (Σw)² / Σw² (NaN weights ignored)."""
    w = _clean(weights)
    if w.size == 0 or np.sum(w**2) == 0:
        return float("nan")
    return float(np.sum(w) ** 2 / np.sum(w**2))


def weight_diagnostics(
    weights: pd.Series, *, data: pd.DataFrame | None = None, by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per group (or one row overall): n, sum, min, max, max/min, CV, deff, n_eff.

    ``by`` names columns of ``data`` (aligned with ``weights``).
    """
    by_cols = as_list(by)
    if by_cols:
        if data is None:
            msg = "weight_diagnostics(by=...) needs data= with the grouping columns"
            raise ValueError(msg)
        require_columns(data, by_cols, what="weight_diagnostics(by=...)")
        groups = data.loc[weights.index, by_cols]
        frame = groups.assign(_w=weights.to_numpy())
        parts = [(key if isinstance(key, tuple) else (key,), g["_w"]) for key, g in frame.groupby(by_cols, sort=True)]
    else:
        parts = [((), weights)]
    rows = []
    for key, w in parts:
        arr = _clean(w)
        n = arr.size
        mean = arr.mean() if n else np.nan
        rows.append({
            **dict(zip(by_cols, key, strict=True)),
            "n_obs": n,
            "sum_weights": float(arr.sum()),
            "min_weight": float(arr.min()) if n else np.nan,
            "max_weight": float(arr.max()) if n else np.nan,
            "weight_ratio": float(arr.max() / arr.min()) if n and arr.min() > 0 else np.nan,
            "cv": float(arr.std(ddof=0) / mean) if n and mean > 0 else np.nan,
            "deff_kish": kish_deff(arr),
            "ess": effective_sample_size(arr),
        })
    out = pd.DataFrame(rows)
    out["n_obs"] = out["n_obs"].astype("int64")
    return out


def margin_table(
    data: pd.DataFrame,
    weights: pd.Series,
    targets: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    population_col: str = "population",
) -> pd.DataFrame:
    """Weighted totals next to the targets.

    ``targets`` is long: columns ``[*by, "variable", "level", population_col]``.
    Returns ``[*by, variable, level, target, achieved, rel_error]`` where
    ``rel_error = (achieved - target) / target``.
    """
    by = list(by)
    rows = []
    w = weights.reindex(data.index)
    for var, tv in targets.groupby("variable", sort=False):
        frame = data[by + [var]].assign(_w=w.to_numpy())
        got = frame.groupby(by + [var], dropna=True)["_w"].sum().rename("achieved").reset_index()
        got = got.rename(columns={var: "level"})
        got["level"] = got["level"].astype(str)
        t = tv.rename(columns={population_col: "target"})[by + ["variable", "level", "target"]].copy()
        t["level"] = t["level"].astype(str)
        merged = t.merge(got, on=by + ["level"], how="left")
        merged["achieved"] = merged["achieved"].fillna(0.0)
        rows.append(merged)
    out = pd.concat(rows, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rel_error"] = (out["achieved"] - out["target"]) / out["target"]
    return out[by + ["variable", "level", "target", "achieved", "rel_error"]]
