"""The result of a weighting step: the weights, their diagnostics and the margins achieved.

Owns: :class:`WeightingResult`, shared by :func:`~evalkit.weighting.rake.rake`
and :func:`~evalkit.weighting.poststratify.poststratify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.results import Result, frame_from_records, frame_to_records, json_safe

__all__ = ["WeightingSpec", "WeightingResult"]


@frozen
class WeightingSpec:
    """The call: method, calibration variables, groups, bounds, convergence settings."""

    method: str
    variables: tuple[str, ...] = field(converter=tuple)
    by: tuple[str, ...] = field(default=(), converter=tuple)
    base_weights: str | None = None
    bounds: tuple[float, float] | None = field(
        default=None, converter=lambda b: None if b is None else (float(b[0]), float(b[1]))
    )
    max_iter: int = 0
    tol: float = 0.0
    on_missing: str = "error"
    empty_cells: str = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "variables": list(self.variables), "by": list(self.by),
            "base_weights": self.base_weights, "bounds": None if self.bounds is None else list(self.bounds),
            "max_iter": self.max_iter, "tol": self.tol, "on_missing": self.on_missing,
            "empty_cells": self.empty_cells,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WeightingSpec:
        return cls(**d)


@frozen(eq=False, kw_only=True)
class WeightingResult(Result):
    """Calibrated weights.

    ``estimates``: one row per weighting group (``spec.by``) with n_obs,
    sum_weights, min/max weight, weight_ratio, cv, deff_kish, ess,
    iterations, converged, max_rel_error (largest |achieved - target| / target
    over the group's margins) and n_capped (weights at a bound).
    ``weights``: one weight per input row (index of the input frame; NA for
    excluded respondents). ``margins``: target vs achieved per margin level.
    """

    kind: ClassVar[str] = "weighting"

    weights: pd.Series
    margins: pd.DataFrame
    spec: WeightingSpec
    notes: tuple[str, ...] = field(default=(), converter=tuple)

    def title(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        name = {"rake": ("迭代比例拟合（raking）", "Raking (IPF)"),
                "poststratify": ("事后分层", "Post-stratification")}.get(self.spec.method, (self.spec.method,) * 2)
        return f"{name[0]}加权" if zh else f"{name[1]} weights"

    def apply(self, data: pd.DataFrame, *, column: str = "weight") -> pd.DataFrame:
        """A copy of ``data`` with the weights in ``column`` (aligned by index)."""
        if not self.weights.index.isin(data.index).all() or len(data) != len(self.weights):
            msg = ("WeightingResult.apply: the data's index differs from the frame the weights were computed on; "
                   "apply the weights to the same frame")
            raise ValueError(msg)
        return data.assign(**{column: self.weights.reindex(data.index).to_numpy()})

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        est = self.estimates
        w = self.weights.dropna()
        from evalkit.weighting.diagnostics import effective_sample_size, kish_deff

        head = self.title(lang)
        detail = (
            f"变量：{'、'.join(self.spec.variables)}；分组：{'、'.join(self.spec.by) or '无'}；"
            f"{len(est)} 组，全部收敛：{'是' if bool(est.converged.all()) else '否'}；"
            f"总体 Kish 设计效应 {kish_deff(w):.{decimals}f}，有效样本量 {effective_sample_size(w):.1f}（n = {len(w)}）"
            if zh else
            f"variables: {', '.join(self.spec.variables)}; groups: {', '.join(self.spec.by) or 'none'}; "
            f"{len(est)} group(s), all converged: {bool(est.converged.all())}; overall Kish deff "
            f"{kish_deff(w):.{decimals}f}, effective n {effective_sample_size(w):.1f} (n = {len(w)})"
        )
        if self.spec.bounds is not None:
            lo, hi = self.spec.bounds
            detail += (f"；权重限制在组均值的 {lo:g}–{hi:g} 倍" if zh else
                       f"; weights bounded to {lo:g}–{hi:g} × group mean")
        cols = [*self.spec.by, "n_obs", "deff_kish", "ess", "weight_ratio", "iterations", "max_rel_error"]
        lines = [head, detail, est[[c for c in cols if c in est.columns]].round(decimals).to_string(index=False)]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "weights": {"index": json_safe(list(self.weights.index)), "values": json_safe(list(self.weights))},
            "margins": frame_to_records(self.margins),
            "spec": self.spec.to_dict(),
            "notes": list(self.notes),
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        w = d["weights"]
        values = np.array([np.nan if v is None else v for v in w["values"]], dtype=float)
        return {
            "weights": pd.Series(values, index=pd.Index(w["index"]), name="weight"),
            "margins": frame_from_records(d["margins"]),
            "spec": WeightingSpec.from_dict(d["spec"]),
            "notes": tuple(d.get("notes", ())),
        }

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Histogram of the weights relative to the mean weight."""
        from evalkit.reporting.measurement_figures import plot_weights

        return plot_weights(self, ax=ax, lang=lang)


def build_weighting_result(
    data: pd.DataFrame,
    *,
    included: np.ndarray,
    weights: np.ndarray,
    group: np.ndarray,
    group_keys: pd.DataFrame,
    targets: pd.DataFrame,
    spec: WeightingSpec,
    iterations: np.ndarray,
    converged: np.ndarray,
    max_rel_error: np.ndarray,
    n_capped: np.ndarray,
    population_col: str,
    notes: tuple[str, ...] = (),
) -> WeightingResult:
    """Assemble diagnostics and margin checks into a :class:`WeightingResult`."""
    from evalkit.results import Provenance
    from evalkit.weighting.diagnostics import weight_diagnostics

    full = np.full(len(data), np.nan)
    full[included] = weights
    series = pd.Series(full, index=data.index, name="weight")
    by = list(spec.by)
    if by:
        gframe = pd.DataFrame({"_g": group}, index=data.index[included])
        diag = weight_diagnostics(series[included], data=gframe, by="_g").rename(columns={"_g": "_group"})
        keys = group_keys.reset_index(drop=True).assign(_group=np.arange(len(group_keys)))
        diag = keys.merge(diag, on="_group", how="left")
    else:
        diag = weight_diagnostics(series[included]).assign(_group=0)
    g = diag["_group"].to_numpy()
    diag["iterations"] = iterations[g].astype("int64")
    diag["converged"] = converged[g].astype(bool)
    diag["max_rel_error"] = max_rel_error[g]
    diag["n_capped"] = n_capped[g].astype("int64")
    diag = diag.drop(columns="_group")
    keys_in_targets = [c for c in by if c in targets.columns]
    if spec.method == "poststratify":
        from evalkit.weighting.margins import _cell_label

        mdata = data[by].assign(cell=_cell_label(data, list(spec.variables)))
    else:
        mdata = data[by + list(spec.variables)]
    margins = _margins_by_group(mdata, series, targets, by=by, keys=keys_in_targets, population_col=population_col)
    return WeightingResult(estimates=diag, weights=series, margins=margins, spec=spec, notes=notes,
                           provenance=Provenance.current())


def _margins_by_group(
    mdata: pd.DataFrame, weights: pd.Series, targets: pd.DataFrame, *, by: list[str], keys: list[str],
    population_col: str,
) -> pd.DataFrame:
    """Target vs achieved for every weighting group (targets repeat across e.g. waves)."""
    from evalkit.weighting.diagnostics import margin_table

    m, t = mdata.copy(), targets.copy()
    for k in keys:  # ids are matched as text, as in prepare_groups
        m[k] = m[k].astype(str)
        t[k] = t[k].astype(str)
    if by and set(keys) != set(by):
        t = m[by].dropna().drop_duplicates().merge(t, on=keys, how="inner")
    return margin_table(m, weights, t, by=by, population_col=population_col)
