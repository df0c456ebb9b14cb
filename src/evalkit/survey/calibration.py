"""Variance after calibration: the linearised values residualised on the calibration cells.

Owns :func:`calibration_cells` and :func:`residualise`, which
:mod:`evalkit.survey.estimates` applies to the linearised values z of every estimate
before the ultimate-cluster variance when the weights come from
:func:`evalkit.weighting.poststratify` or :func:`evalkit.weighting.rake`
(``variance="calibrated"``, the default when the :class:`~evalkit.weighting.WeightingResult`
is passed). Calibrated weights are not fixed: they were chosen to reproduce known
population counts, so the part of an outcome the calibration variables explain carries no
sampling error (Deville & Särndal 1992; Lumley 2010, ch. 7). Treating them as fixed
("fixed_weights", the old behaviour) overstates the SE of outcomes related to the
calibration variables.

The adjustment is that of R ``survey`` (``svyrecvar``, version 4.1), reproduced exactly
so that the SEs agree with ``svymean``/``svyby`` on ``postStratify``/``rake`` designs
(tests/reference/survey, rtol 1e-6):

* **post-stratification** (cells c = joint cells within each weighting group):
  z_i ← z_i − w_i · Σ_{j∈c} z_j / Σ_{j∈c} w_j;
* **raking** (margins m = each calibration variable within each weighting group):
  ten sweeps of z_i ← z_i − w_i · mean_{j∈m(i)}(z_j / w_j), margin after margin — R's
  backfitting approximation of the projection on the margins (the mean is unweighted, as
  R's ``ave``).

w are the final (calibrated) weights; respondents without a weight are left out of the
cells. Margins a sparse group dropped (``rake(..., empty_cells="drop")``) are still
adjusted for here, which slightly understates that group's SE; the weighting notes list
such groups.

References
----------
Deville, J.-C., & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
    Journal of the American Statistical Association, 87(418), 376–382.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from evalkit._checks import require_columns

if TYPE_CHECKING:
    from evalkit.weighting.result import WeightingResult

__all__ = ["VarianceKind", "CalibrationCells", "calibration_cells", "residualise"]

VarianceKind = Literal["calibrated", "fixed_weights"]
_RAKE_SWEEPS = 10  # R survey's svyrecvar


class CalibrationCells:
    """Cell codes (one array per margin, -1 = not in any cell), the weighting group of every
    row (cells never cross groups) and the calibration method."""

    def __init__(self, method: str, codes: list[np.ndarray], group: np.ndarray) -> None:
        self.method = method
        self.codes = codes
        self.group = group

    def rows_sharing_groups(self, mask: np.ndarray) -> np.ndarray:
        """Rows in the weighting groups of the rows in ``mask``: the only rows whose adjusted
        values can be non-zero when z is zero outside ``mask``."""
        return np.isin(self.group, np.unique(self.group[mask]))


def calibration_cells(data: pd.DataFrame, calibration: WeightingResult) -> CalibrationCells:
    """The calibration cells of every row of ``data`` from the weighting call's spec."""
    spec = calibration.spec
    by = list(spec.by)
    variables = list(spec.variables)
    require_columns(data, by + variables, what="survey estimate with calibration",
                    fix="Pass the data the weights were computed on (with the calibration columns).")
    margins = [variables] if spec.method == "poststratify" else [[v] for v in variables]
    group = (data[by].astype(object).astype(str).groupby(by, sort=True).ngroup().to_numpy()
             if by else np.zeros(len(data), dtype=np.intp))
    codes = []
    for cols in margins:
        keys = data[by + cols].astype(object).astype(str).where(data[by + cols].notna())
        codes.append(keys.groupby(by + cols, sort=True, dropna=True).ngroup().to_numpy())
    return CalibrationCells(spec.method, codes, group)


def residualise(z: np.ndarray, w: np.ndarray, cells: CalibrationCells,
                rows: np.ndarray | None = None) -> np.ndarray:
    """Linearised values ``z`` (n × k) adjusted for the calibration (module docstring);
    ``rows`` (a mask) limits the work to those rows when z is zero in every weighting group
    outside them (see :meth:`CalibrationCells.rows_sharing_groups`)."""
    z = np.array(z, dtype=float, copy=True)
    ok = np.isfinite(w) & (w > 0)
    if rows is not None:
        ok &= rows
    for c in cells.codes:
        ok &= c >= 0
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return z
    wi = w[idx]
    zi = z[idx]
    mats = []
    for c in cells.codes:
        ci = c[idx]
        _, dense = np.unique(ci, return_inverse=True)
        mats.append(sparse.csr_matrix((np.ones(idx.size), (dense, np.arange(idx.size)))))
    if cells.method == "poststratify":
        M = mats[0]
        zi = zi - wi[:, None] * ((M @ zi) / (M @ wi)[:, None])[_cell_of(M)]
    else:
        counts = [np.asarray(M.sum(axis=1)).ravel() for M in mats]
        cell_of = [_cell_of(M) for M in mats]
        for _ in range(_RAKE_SWEEPS):
            for M, n_c, cell in zip(mats, counts, cell_of, strict=True):
                means = (M @ (zi / wi[:, None])) / n_c[:, None]
                zi = zi - wi[:, None] * means[cell]
    z[idx] = zi
    return z


def _cell_of(M: sparse.csr_matrix) -> np.ndarray:
    """The cell (row of the indicator M) of every column (respondent)."""
    out = np.empty(M.shape[1], dtype=np.intp)
    coo = M.tocoo()
    out[coo.col] = coo.row
    return out
