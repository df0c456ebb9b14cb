"""The sampling design and the Taylor-linearised variance of a total.

Owns: :class:`SurveyDesign` (which columns hold weights, clusters, strata,
FPC) and :func:`linearised_variance`, the one variance formula every
design-based estimate in :mod:`evalkit.survey.estimates` uses.

Conventions (those of R ``survey`` with ``nest = TRUE``)
--------------------------------------------------------
* Ultimate-cluster variance (Hansen, Hurwitz & Madow 1953): with linearised
  values z_i and PSU totals z_hc,
  V = Σ_h (1 - f_h) · n_h/(n_h - 1) · Σ_c (z_hc - z̄_h)²,
  n_h = PSUs in stratum h. Only the first stage enters (with-replacement
  approximation for later stages), as ``svydesign(id = ~community_id)``.
* PSU labels are nested in strata (the same label in two strata is two PSUs).
* **FPC**: none by default (with-replacement first stage: conservative).
  With ``fpc`` a column constant within strata: values ≤ 1 are sampling
  fractions f_h; values > 1 are the number of population PSUs N_h, and
  f_h = n_h / N_h (``survey``'s convention).
* A stratum with a single PSU contributes no variance ("certainty" PSU) and is
  reported in the result's notes.
* Design degrees of freedom = PSUs − strata (``survey::degf``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.errors import DataValidationError

__all__ = ["SurveyDesign", "DesignArrays", "design_arrays", "linearised_variance"]


@frozen
class SurveyDesign:
    """Columns of the sampling design; ``None`` means absent (equal weights, no clusters …)."""

    weights: str | None = None
    cluster: str | None = None
    strata: str | None = None
    fpc: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "cluster": self.cluster, "strata": self.strata, "fpc": self.fpc}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SurveyDesign:
        return cls(**d)

    def describe(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        parts = []
        parts.append((f"权重 {self.weights}" if zh else f"weights {self.weights}") if self.weights
                     else ("等权" if zh else "equal weights"))
        if self.cluster:
            parts.append(f"按 {self.cluster} 聚类" if zh else f"clustered by {self.cluster}")
        if self.strata:
            parts.append(f"按 {self.strata} 分层" if zh else f"stratified by {self.strata}")
        parts.append((f"有限总体校正 {self.fpc}" if zh else f"FPC {self.fpc}") if self.fpc
                     else ("无有限总体校正" if zh else "no FPC"))
        return "，".join(parts) if zh else ", ".join(parts)


@frozen(eq=False)
class DesignArrays:
    """Integer codes of the design for the rows in use."""

    weights: np.ndarray
    stratum: np.ndarray  # 0..H-1
    psu: np.ndarray  # 0..C-1, unique across strata
    psu_stratum: np.ndarray  # stratum of each PSU
    n_psu_in_stratum: np.ndarray  # per stratum
    fpc_fraction: np.ndarray  # per stratum, 0 when no FPC


def design_arrays(
    data: pd.DataFrame, design: SurveyDesign, *, psu_override: np.ndarray | None = None,
    extra_strata: np.ndarray | None = None, use_fpc: bool = True,
) -> DesignArrays:
    """Codes for strata and PSUs (nested), weights and FPC fractions.

    ``psu_override`` / ``extra_strata`` let an estimate within clusters treat
    each respondent as a PSU and each cluster as a stratum.
    """
    n = len(data)
    if design.weights is not None:
        w = pd.to_numeric(data[design.weights], errors="coerce").to_numpy(dtype=float)
        if np.any(w[np.isfinite(w)] < 0):
            msg = f"weights column '{design.weights}' has negative values; weights must be ≥ 0"
            raise DataValidationError(msg)
    else:
        w = np.ones(n)
    keys = pd.DataFrame(index=range(n))
    keys["s0"] = data[design.strata].astype(str).to_numpy() if design.strata is not None else ""
    keys["s1"] = extra_strata.astype(str) if extra_strata is not None else ""
    stratum = keys.groupby(["s0", "s1"], sort=True).ngroup().to_numpy()
    n_strata = int(stratum.max()) + 1 if n else 0
    if psu_override is not None:
        keys["p"] = psu_override
    elif design.cluster is not None:
        keys["p"] = data[design.cluster].astype(str).to_numpy()
    else:
        keys["p"] = np.arange(n)
    keys["s"] = stratum
    psu = keys.groupby(["s", "p"], sort=False).ngroup().to_numpy()
    n_psus = int(psu.max()) + 1 if n else 0
    psu_stratum = np.zeros(n_psus, dtype=np.int64)
    psu_stratum[psu] = stratum
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    s_uniques = range(n_strata)
    frac = np.zeros(len(s_uniques))
    if design.fpc is not None and use_fpc:
        fpc = pd.to_numeric(data[design.fpc], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(fpc)) or np.any(fpc <= 0):
            msg = f"fpc column '{design.fpc}' has missing or non-positive values"
            raise DataValidationError(msg)
        per = pd.Series(fpc).groupby(stratum).agg(["min", "max"])
        if (per["max"] - per["min"]).abs().max() > 1e-9 * per["max"].abs().max():
            msg = f"fpc column '{design.fpc}' varies within a stratum; it must be constant per stratum"
            raise DataValidationError(msg)
        val = per["min"].reindex(range(len(s_uniques))).to_numpy()
        frac = np.where(val <= 1, val, n_h / val)
        if np.any(frac > 1 + 1e-9):
            msg = (f"fpc column '{design.fpc}': a stratum has more sampled PSUs than population PSUs; "
                   "give the population number of PSUs (or the sampling fraction)")
            raise DataValidationError(msg)
    return DesignArrays(weights=w, stratum=stratum.astype(np.int64), psu=psu.astype(np.int64),
                        psu_stratum=psu_stratum, n_psu_in_stratum=n_h, fpc_fraction=frac)


def linearised_variance(z: np.ndarray, arrays: DesignArrays) -> np.ndarray:
    """Variance of the total of each column of ``z`` (n × m) under the design.

    Rows outside a domain must carry z = 0; the strata's PSU counts come from
    the whole design, which gives correct domain (subpopulation) variances.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n_psu = len(arrays.psu_stratum)
    n_h = arrays.n_psu_in_stratum.astype(float)
    # one bincount per column (np.add.at on 2-d arrays is slow; the sums are the same)
    totals = np.column_stack([np.bincount(arrays.psu, weights=z[:, j], minlength=n_psu)
                              for j in range(z.shape[1])])
    sums = np.column_stack([np.bincount(arrays.psu_stratum, weights=totals[:, j], minlength=len(n_h))
                            for j in range(z.shape[1])])
    means = sums / np.maximum(n_h, 1)[:, None]
    dev = totals - means[arrays.psu_stratum]
    ss = np.column_stack([np.bincount(arrays.psu_stratum, weights=dev[:, j] ** 2, minlength=len(n_h))
                          for j in range(z.shape[1])])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_h > 1, (1 - arrays.fpc_fraction) * n_h / (n_h - 1), 0.0)
    return (factor[:, None] * ss).sum(axis=0)
