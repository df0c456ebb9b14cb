"""Select the estimation sample: check the columns an estimator needs and drop incomplete rows.

Messages name the column, the rows (numbered as in the frame the user passed, 1-based) and
the fix. Dropped rows are reported with a :class:`~evalkit.errors.DataQualityWarning` and
recorded in the result's notes, never silently.
"""

from __future__ import annotations

from typing import Any

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from evalkit.errors import DataQualityWarning, DataValidationError, MissingColumnError

__all__ = ["select_sample", "as_indicator", "check_weights"]


def select_sample(data: pd.DataFrame, columns: Iterable[str | None], *, where: str,
                  optional: Iterable[str] = (), only_columns: bool = False,
                  ) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Rows of ``data`` complete in ``columns`` (None entries ignored).

    ``optional`` columns must exist but may be missing (the caller gives missing values a
    meaning). With ``only_columns`` the sample holds only ``columns``, and is ``data``'s
    columns themselves (no copy) when no row is dropped and the index is already 0..n−1.

    Returns the sample (index reset) and, if rows were dropped, a ``rows_dropped`` note (code and facts).
    """
    cols = list(dict.fromkeys(c for c in columns if c is not None))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        msg = (f"{where}: column(s) {', '.join(map(repr, missing))} not found; the data have "
               f"{', '.join(map(repr, map(str, data.columns[:30])))}"
               f"{' …' if data.shape[1] > 30 else ''}. Check the spelling or rename the column.")
        raise MissingColumnError(msg)
    skip = set(optional)
    sub = data[cols]
    # one column at a time: numeric columns are checked in numpy (integer and boolean
    # columns cannot hold missing values), which spares pandas' row-wise reduction
    na_by_col = {c: _isna(sub[c]) for c in cols if c not in skip}
    incomplete = np.zeros(len(sub), dtype=bool)
    for na in na_by_col.values():
        if na is not None:
            incomplete |= na
    note = None
    if incomplete.any():
        n_drop = int(incomplete.sum())
        by_col = {c: int(na.sum()) for c, na in na_by_col.items() if na is not None and na.any()}
        detail = ", ".join(f"{c}: {n}" for c, n in by_col.items())
        en = (f"{where}: {n_drop} of {len(sub)} rows have missing values ({detail}) and were "
              "left out of the estimation.")
        warnings.warn(en, DataQualityWarning, stacklevel=3)
        note = {"code": "rows_dropped", "n_dropped": n_drop, "n_rows": len(sub), "by_column": by_col}
    if (~incomplete).sum() == 0:
        msg = f"{where}: no complete rows in columns {', '.join(map(repr, cols))}."
        raise DataValidationError(msg)
    if not only_columns:
        return data.loc[~incomplete].reset_index(drop=True), note
    if note is None and isinstance(sub.index, pd.RangeIndex) and sub.index.start == 0 \
            and sub.index.step == 1:
        return sub, note  # a new frame (copy-on-write): changing it leaves ``data`` alone
    return sub.loc[~incomplete].reset_index(drop=True), note


def _isna(column: pd.Series) -> np.ndarray | None:
    """Missing-value mask of a column; None when its dtype cannot hold missing values."""
    if isinstance(column, pd.DataFrame):  # a duplicated column name
        return column.isna().any(axis=1).to_numpy()
    kind = column.dtype.kind
    if kind in "iub" and isinstance(column.dtype, np.dtype):
        return None
    if kind == "f" and isinstance(column.dtype, np.dtype):
        return np.isnan(column.to_numpy())
    return column.isna().to_numpy()


def as_indicator(series: pd.Series, *, where: str) -> np.ndarray:
    """A 0/1 float array from a 0/1, True/False column; anything else is an error."""
    values = pd.Series(series)
    if values.dtype == bool:
        return values.to_numpy(dtype=float)
    num = pd.to_numeric(values, errors="coerce")
    bad = ~num.isin([0, 1])
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad.to_numpy())[:5]]
        found = sorted(map(str, pd.unique(values[bad])[:5]))
        msg = (f"{where}: column {series.name!r} must be 0/1 (or True/False); rows {rows} have "
               f"{', '.join(found)}. Recode it, e.g. treated = 1, comparison = 0.")
        raise DataValidationError(msg)
    return num.to_numpy(dtype=float)


def check_weights(series: pd.Series, *, where: str) -> np.ndarray:
    """Positive finite weights as a float array."""
    w = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad)[:5]]
        msg = (f"{where}: weight column {series.name!r} has negative or non-numeric values in rows "
               f"{rows}. Weights must be non-negative numbers.")
        raise DataValidationError(msg)
    if not (w > 0).any():
        msg = f"{where}: every weight in {series.name!r} is zero."
        raise DataValidationError(msg)
    return w
