"""绩效评估: a multi-level indicator system scored from data, rolled up to a score and a grade.

Chinese third-party evaluators (《社会工作服务项目绩效评估指南》 style) score a project on
dimensions (一级指标) made of indicators (二级指标), each with a weight, and grade the total
(优秀 / 良好 / 合格 / 不合格, cut-offs set by the commissioning bureau). Here:

* **Indicator score** (0–100): linear between a ``floor`` (score 0) and a ``target`` (score
  100), clipped; a floor above the target means "lower is better".
* **Weights**: given in the framework; or derived by **AHP** from a pairwise comparison matrix —
  the principal right eigenvector normalised to sum 1, λmax its eigenvalue,
  CI = (λmax − n)/(n − 1), CR = CI / RI with Saaty's random indices (Saaty 1980; n ≤ 15),
  CR ≤ 0.1 conventionally acceptable (reason ``ahp_inconsistent`` otherwise); or by the
  **entropy method** from the data: p_ij = x_ij / Σ_i x_ij, e_j = −Σ_i p_ij ln p_ij / ln m,
  w_j = (1 − e_j) / Σ_k (1 − e_k) (indicators scored from the same min-max transformed data).
  numpy's eigen-solver does the linear algebra; the formulas are short and textbook, so they
  are written here (no maintained AHP package fits: ahpy is stale and pulls its own API).
* **Roll-up**: dimension score = weighted mean of its indicator scores (weights renormalised
  over indicators with data); total = weighted mean of dimension scores; a community without
  data for a dimension gets reason ``dimension_without_data``.
* **Sensitivity**: each dimension weight × (1 ± ``step``) in turn (renormalised), and
  Dirichlet draws centred on the weights (concentration ``kappa``); reported as the score
  range and the share of draws giving the baseline grade.

References
----------
Saaty, T. L. (1980). The Analytic Hierarchy Process. McGraw-Hill.
Saaty, T. L. (2008). Decision making with the analytic hierarchy process. Int. J. Services
    Sciences, 1(1), 83–98.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.errors import ConfigError
from evalkit.yamlio import load_yaml

__all__ = ["SAATY_RI", "GRADES", "ahp_weights", "entropy_weights", "ScoringIndicator", "ScoringDimension",
           "ScoringFramework", "load_scoring_framework", "score_indicators", "grade_of", "grade_sensitivity"]

#: Saaty's random consistency indices for n = 1 … 15
SAATY_RI: tuple[float, ...] = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56,
                               1.57, 1.59)
#: grade codes from best to worst and the default lower cut-offs (优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60)
GRADES: tuple[str, ...] = ("excellent", "good", "pass", "fail")
_DEFAULT_CUTOFFS = {"excellent": 90.0, "good": 80.0, "pass": 60.0}


def ahp_weights(matrix: Any) -> dict[str, Any]:
    """AHP priorities of a positive reciprocal comparison matrix.

    Returns weights (sum 1), lambda_max, ci, ri, cr (NaN for n ≤ 2, where every reciprocal
    matrix is consistent) and reason (``ahp_inconsistent`` when CR > 0.1).
    """
    a = np.asarray(matrix, dtype=float)
    n = a.shape[0]
    if a.ndim != 2 or a.shape[1] != n or n < 1:
        msg = f"ahp_weights(): the comparison matrix must be square, found shape {a.shape}"
        raise ValueError(msg)
    if np.any(a <= 0) or not np.allclose(a * a.T, 1.0, rtol=1e-6):
        msg = ("ahp_weights(): the comparison matrix must be positive and reciprocal (a_ji = 1 / a_ij, "
               "a_ii = 1); check the entries below the diagonal")
        raise ValueError(msg)
    if n > len(SAATY_RI):
        msg = f"ahp_weights(): Saaty's random index is tabulated for n ≤ {len(SAATY_RI)}, found n = {n}"
        raise ValueError(msg)
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    lam = float(vals[k].real)
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    ri = SAATY_RI[n - 1]
    cr = ci / ri if ri > 0 else np.nan
    return {"weights": w, "lambda_max": lam, "ci": ci, "ri": ri, "cr": cr,
            "reason": "ahp_inconsistent" if (ri > 0 and cr > 0.1) else ""}


def entropy_weights(data: Any) -> np.ndarray:
    """Entropy-method weights of the columns of ``data`` (rows = units, values ≥ 0, larger =
    better after the caller's transformation). A column with no spread gets weight 0; if no
    column has spread, the weights are equal."""
    x = np.asarray(data, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    m = x.shape[0]
    if m < 2:
        return np.full(x.shape[1], 1 / x.shape[1])
    col = x.sum(axis=0)
    p = np.divide(x, col, out=np.full_like(x, 1 / m), where=col > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / np.log(m)
    d = np.clip(1 - e, 0, None)
    return d / d.sum() if d.sum() > 0 else np.full(x.shape[1], 1 / x.shape[1])


@frozen
class ScoringIndicator:
    id: str
    label_zh: str
    label_en: str
    metric: str
    floor: float
    target: float
    weight: float = 1.0


@frozen
class ScoringDimension:
    id: str
    label_zh: str
    label_en: str
    indicators: tuple[ScoringIndicator, ...]
    weight: float = 1.0


@frozen
class ScoringFramework:
    id: str
    label_zh: str
    label_en: str
    dimensions: tuple[ScoringDimension, ...]
    weighting: str = "given"  # given | ahp | entropy
    ahp_matrix: tuple[tuple[float, ...], ...] | None = None
    cutoffs: Mapping[str, float] = field(factory=lambda: dict(_DEFAULT_CUTOFFS))


def load_scoring_framework(name_or_path: str | Path = "performance_default") -> ScoringFramework:
    """The shipped ``performance_default`` framework or a YAML file of the same shape."""
    if str(name_or_path) == "performance_default":
        ref = resources.files("evalkit.programme") / "frameworks" / "performance_default.yaml"
        with resources.as_file(ref) as path:
            root = load_yaml(path)
    else:
        if not Path(name_or_path).is_file():
            msg = f"scoring framework '{name_or_path}' is not 'performance_default' nor an existing YAML file"
            raise ConfigError(msg)
        root = load_yaml(Path(name_or_path))
    root.check_keys({"id", "label_zh", "label_en", "weighting", "ahp_matrix", "cutoffs", "dimensions"})
    dims = []
    for dn in root.require("dimensions").as_list():
        dn.check_keys({"id", "label_zh", "label_en", "weight", "indicators"})
        inds = []
        for n in dn.require("indicators").as_list():
            n.check_keys({"id", "label_zh", "label_en", "metric", "floor", "target", "weight"})
            inds.append(ScoringIndicator(
                id=n.require("id").as_str(), label_zh=n.require("label_zh").as_str(),
                label_en=n.require("label_en").as_str(), metric=n.require("metric").as_str(),
                floor=n.require("floor").as_float(), target=n.require("target").as_float(),
                weight=n.get("weight").as_float() if n.get("weight") else 1.0))
        dims.append(ScoringDimension(id=dn.require("id").as_str(), label_zh=dn.require("label_zh").as_str(),
                                     label_en=dn.require("label_en").as_str(), indicators=tuple(inds),
                                     weight=dn.get("weight").as_float() if dn.get("weight") else 1.0))
    weighting = root.get("weighting").as_str() if root.get("weighting") else "given"
    if weighting not in {"given", "ahp", "entropy"}:
        raise root.require("weighting").error(f"weighting must be given, ahp or entropy, found '{weighting}'")
    matrix = None
    if (mn := root.get("ahp_matrix")) is not None:
        matrix = tuple(tuple(_fraction(v.as_str()) for v in row.as_list()) for row in mn.as_list())
    cutoffs = dict(_DEFAULT_CUTOFFS)
    if (cn := root.get("cutoffs")) is not None:
        cutoffs.update({k: v.as_float() for k, v in cn.items()})
    return ScoringFramework(id=root.require("id").as_str(), label_zh=root.require("label_zh").as_str(),
                            label_en=root.require("label_en").as_str(), dimensions=tuple(dims),
                            weighting=weighting, ahp_matrix=matrix, cutoffs=cutoffs)


def _fraction(text: str) -> float:
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    return float(text)


def grade_of(score: float | np.ndarray, cutoffs: Mapping[str, float] = _DEFAULT_CUTOFFS) -> np.ndarray:
    """Grade codes (:data:`GRADES`) of scores; NaN → ``""``."""
    s = np.atleast_1d(np.asarray(score, dtype=float))
    out = np.where(s >= cutoffs["excellent"], "excellent",
                   np.where(s >= cutoffs["good"], "good", np.where(s >= cutoffs["pass"], "pass", "fail")))
    return np.where(np.isnan(s), "", out).astype(object)


def _indicator_scores(panel: pd.DataFrame, fw: ScoringFramework) -> pd.DataFrame:
    rows = {}
    for dim in fw.dimensions:
        for ind in dim.indicators:
            x = pd.to_numeric(panel[ind.metric], errors="coerce").astype(float) if ind.metric in panel \
                else pd.Series(np.nan, index=panel.index)
            span = ind.target - ind.floor
            rows[(dim.id, ind.id)] = (100 * ((x - ind.floor) / span).clip(0, 1)) if span != 0 else x * np.nan
    return pd.DataFrame(rows, index=panel.index)


def dimension_weights(fw: ScoringFramework, scores: pd.DataFrame) -> tuple[np.ndarray, dict[str, Any]]:
    """The dimension weights the framework asks for, and the AHP / entropy diagnostics."""
    info: dict[str, Any] = {"weighting": fw.weighting, "lambda_max": np.nan, "ci": np.nan, "cr": np.nan,
                            "reason": ""}
    if fw.weighting == "ahp":
        if fw.ahp_matrix is None:
            msg = f"scoring framework '{fw.id}': weighting: ahp needs an ahp_matrix over the dimensions"
            raise ConfigError(msg)
        res = ahp_weights(fw.ahp_matrix)
        info.update({k: res[k] for k in ("lambda_max", "ci", "cr", "reason")})
        return res["weights"], info
    if fw.weighting == "entropy":
        dims = np.column_stack([scores[d.id].mean(axis=1).to_numpy() for d in fw.dimensions])
        return entropy_weights(dims), info
    w = np.array([d.weight for d in fw.dimensions], dtype=float)
    return w / w.sum(), info


def _rollup(scores: pd.DataFrame, fw: ScoringFramework, dim_w: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    dim_scores = {}
    for dim in fw.dimensions:
        s = scores[dim.id].to_numpy(float)
        w = np.array([i.weight for i in dim.indicators], float)
        ok = ~np.isnan(s)
        den = (ok * w).sum(axis=1)
        dim_scores[dim.id] = np.where(den > 0, np.nansum(s * w, axis=1) / np.where(den > 0, den, 1), np.nan)
    frame = pd.DataFrame(dim_scores, index=scores.index)
    d = frame.to_numpy(float)
    ok = ~np.isnan(d)
    den = (ok * dim_w).sum(axis=1)
    total = np.where(den > 0, np.nansum(d * dim_w, axis=1) / np.where(den > 0, den, 1), np.nan)
    return frame, total


def score_indicators(panel: pd.DataFrame, fw: ScoringFramework, *, keys: Sequence[str] = ("community_id",)
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Score every row of ``panel`` (e.g. one row per community for the latest year).

    Returns ``(indicators, totals, weights_info)``: indicators long (keys…, dimension,
    indicator, metric, value, score), totals (keys…, one column per dimension, score, grade,
    reason) and the weights (dimension → weight plus AHP/entropy diagnostics).
    """
    scores = _indicator_scores(panel, fw)
    dim_w, info = dimension_weights(fw, scores)
    dims, total = _rollup(scores, fw, dim_w)
    long = []
    for dim in fw.dimensions:
        for ind in dim.indicators:
            part = panel[list(keys)].copy()
            part["dimension"], part["indicator"], part["metric"] = dim.id, ind.id, ind.metric
            part["value"] = pd.to_numeric(panel[ind.metric], errors="coerce") if ind.metric in panel else np.nan
            part["score"] = scores[(dim.id, ind.id)]
            long.append(part)
    totals = pd.concat([panel[list(keys)].reset_index(drop=True), dims.reset_index(drop=True)], axis=1)
    totals["score"] = total
    totals["grade"] = grade_of(total, fw.cutoffs)
    totals["reason"] = np.where(dims.isna().any(axis=1).to_numpy(), "dimension_without_data", "")
    info["weights"] = {d.id: float(w) for d, w in zip(fw.dimensions, dim_w, strict=True)}
    return pd.concat(long, ignore_index=True), totals, info


def grade_sensitivity(panel: pd.DataFrame, fw: ScoringFramework, *, keys: Sequence[str] = ("community_id",),
                      step: float = 0.2, draws: int = 500, kappa: float = 50.0, seed: int | None = None
                      ) -> pd.DataFrame:
    """How the score and grade move when the dimension weights change (see module docstring).

    Columns: keys…, score, grade, score_min, score_max (over one-at-a-time ± ``step`` changes
    and the Dirichlet draws), grades_seen (``;``-joined), share_same_grade (Dirichlet draws).
    """
    scores = _indicator_scores(panel, fw)
    w0, _ = dimension_weights(fw, scores)
    dims, base = _rollup(scores, fw, w0)
    d = dims.to_numpy(float)
    variants = []
    for j in range(len(w0)):
        for f in (1 - step, 1 + step):
            w = w0.copy()
            w[j] *= f
            variants.append(w / w.sum())
    rng = np.random.default_rng(seed)
    dirichlet = rng.dirichlet(np.maximum(kappa * w0, 1e-3), size=draws)
    all_w = np.vstack([np.array(variants), dirichlet])
    ok = ~np.isnan(d)
    num = np.nan_to_num(d) @ all_w.T
    den = ok.astype(float) @ all_w.T
    totals = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    base_grade = grade_of(base, fw.cutoffs)
    grades = np.vstack([grade_of(totals[:, k], fw.cutoffs) for k in range(totals.shape[1])]).T
    out = panel[list(keys)].reset_index(drop=True).copy()
    out["score"], out["grade"] = base, base_grade
    with np.errstate(all="ignore"):
        out["score_min"] = np.nanmin(np.column_stack([base, totals]), axis=1) if totals.size else base
        out["score_max"] = np.nanmax(np.column_stack([base, totals]), axis=1) if totals.size else base
    out["grades_seen"] = [";".join(g for g in GRADES if g in set(row)) for row in grades]
    out["share_same_grade"] = (grades[:, len(variants):] == base_grade[:, None]).mean(axis=1)
    return out
