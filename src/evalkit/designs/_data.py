"""Shared input handling of the designs: the estimation sample, the 0/1 treatment and the
covariate matrix, with messages that name the user's columns."""

from __future__ import annotations

from typing import Any

from collections.abc import Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.errors import DataValidationError, NotIdentifiedError
from evalkit.estimators.estimation_sample import as_indicator, check_weights, select_sample

__all__ = ["DesignData", "prepare"]


@frozen(eq=False)
class DesignData:
    """Estimation sample with the pieces every design needs, built once."""

    sample: pd.DataFrame
    treat: np.ndarray
    X: pd.DataFrame
    y: np.ndarray | None
    weights: np.ndarray | None
    note: dict[str, Any] | None  # the rows_dropped note (code and facts), if rows were dropped


def covariate_frame(sample: pd.DataFrame, covariates: Sequence[str], *, where: str) -> pd.DataFrame:
    """Numeric covariates as float columns; text/categorical ones as 0/1 dummies (first level dropped)."""
    parts = []
    for c in covariates:
        col = sample[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            parts.append(pd.DataFrame({c: col.to_numpy(dtype=float)}, index=sample.index))
        else:
            parts.append(pd.get_dummies(col.astype("string"), prefix=c, drop_first=True, dtype=float))
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=sample.index)
    const = [c for c in X.columns if X[c].nunique() <= 1]
    if const:
        msg = (f"{where}: covariate(s) {', '.join(map(repr, const))} take a single value in the "
               "estimation sample and cannot be used; drop them from covariates=.")
        raise NotIdentifiedError(msg)
    return X


def prepare(data: pd.DataFrame, *, treat: str, covariates: Sequence[str], outcome: str | None,
            weights: str | None, where: str, extra: Sequence[str | None] = ()) -> DesignData:
    """Select complete rows, check the treatment is 0/1 with both groups present, build X."""
    if not covariates:
        msg = f"{where}: covariates= is empty; matching and weighting need baseline covariates."
        raise DataValidationError(msg)
    sample, note = select_sample(data, [outcome, treat, *covariates, weights, *extra], where=where)
    d = as_indicator(sample[treat], where=where)
    n1 = int(d.sum())
    if n1 == 0 or n1 == len(d):
        msg = (f"{where}: treatment column {treat!r} has only {'treated' if n1 else 'comparison'} "
               f"rows ({len(d)}); both treated (1) and comparison (0) rows are needed.")
        raise DataValidationError(msg)
    X = covariate_frame(sample, covariates, where=where)
    y = None if outcome is None else pd.to_numeric(sample[outcome]).to_numpy(dtype=float)
    w = None if weights is None else check_weights(sample[weights], where=where)
    return DesignData(sample, d, X, y, w, note)
