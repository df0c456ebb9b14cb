"""Intra-class correlation of outcomes at community level.

Owns: :func:`icc` and :class:`ICCResult`. The ICC is the share of an
outcome's variance that lies between communities; with the average cluster
size m it gives the clustering design effect 1 + (m - 1)·ICC that power
calculations for the next survey round need.

Estimators
----------
* ``"anova"`` (default): one-way random-effects ANOVA estimator for unbalanced
  clusters, ICC = (MSB - MSW) / (MSB + (n₀ - 1)·MSW) with
  n₀ = (N - Σ n_j² / N) / (J - 1) (Donner 1986). Unweighted. CI from the F
  distribution with n₀ in place of the common cluster size (Searle 1971;
  exact when balanced). The estimate can be negative (no detectable
  clustering); it is reported as is.
* ``"reml"``: random-intercept model fitted by REML with statsmodels
  ``MixedLM`` (as ``lme4::lmer(y ~ 1 + (1 | community))``),
  ICC = τ² / (τ² + σ²), bounded at 0; no CI.
* ``deff_cluster`` = 1 + (m̄ - 1)·max(ICC, 0) with m̄ = N / J.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from attrs import field, frozen
from scipy import stats

from evalkit.results import Provenance, Result
from evalkit._checks import as_list, check_choice, require_columns

__all__ = ["ICCResult", "icc"]

ICCMethod = Literal["anova", "reml"]
_COLUMNS = ["outcome", "group_var", "group", "method", "icc", "ci_lower", "ci_upper", "between_var",
            "within_var", "n_obs", "n_clusters", "mean_cluster_size", "deff_cluster"]


@frozen(eq=False, kw_only=True)
class ICCResult(Result):
    """One row per outcome (× group): ICC, CI, variance components, design effect."""

    kind: ClassVar[str] = "icc"

    cluster: str = "community_id"
    method: str = "anova"
    level: float = 0.95
    labels: Mapping[str, Mapping[str, str]] = field(factory=dict)
    notes: tuple[str, ...] = field(default=(), converter=tuple)

    def title(self, lang: str = "zh") -> str:
        return "组内相关系数（社区层面）" if lang.startswith("zh") else "Intra-class correlation (community level)"

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        est = self.estimates.copy()
        est["outcome"] = [self.labels.get(o, {}).get("zh" if zh else "en", o) for o in est.outcome]
        method = {"anova": ("单因素方差分析估计", "one-way ANOVA estimator"),
                  "reml": ("随机截距模型（REML）", "random-intercept model (REML)")}[self.method][0 if zh else 1]
        head = (f"{self.title(lang)}：{method}，聚类变量 {self.cluster}" if zh
                else f"{self.title(lang)}: {method}, clusters = {self.cluster}")
        cols = ["outcome", "group_var", "group", "icc", "ci_lower", "ci_upper", "n_clusters",
                "mean_cluster_size", "deff_cluster"]
        lines = [head, est[cols].round(decimals).to_string(index=False)]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "method": self.method, "level": self.level,
                "labels": {k: dict(v) for k, v in self.labels.items()}, "notes": list(self.notes)}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {"cluster": d["cluster"], "method": d["method"], "level": float(d["level"]),
                "labels": d.get("labels", {}), "notes": tuple(d.get("notes", ()))}

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """ICC with CI per outcome."""
        from evalkit.reporting.measurement_figures import plot_icc

        return plot_icc(self, ax=ax, lang=lang)


def _anova(y: np.ndarray, cl: np.ndarray, level: float) -> dict[str, float]:
    codes, uniq = pd.factorize(cl)
    j = len(uniq)
    n = len(y)
    nj = np.bincount(codes).astype(float)
    means = np.bincount(codes, weights=y) / nj
    grand = y.mean()
    ssb = float(np.sum(nj * (means - grand) ** 2))
    ssw = float(np.sum((y - means[codes]) ** 2))
    msb, msw = ssb / (j - 1), ssw / (n - j)
    n0 = (n - np.sum(nj**2) / n) / (j - 1)
    out = {"n_obs": n, "n_clusters": j, "mean_cluster_size": n / j}
    if msw <= 0:
        return {**out, "icc": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "between_var": np.nan, "within_var": msw}
    icc_val = (msb - msw) / (msb + (n0 - 1) * msw)
    f_obs = msb / msw
    a = 1 - level
    fl = f_obs / stats.f.ppf(1 - a / 2, j - 1, n - j)
    fu = f_obs / stats.f.ppf(a / 2, j - 1, n - j)
    return {**out, "icc": icc_val, "ci_lower": (fl - 1) / (fl + n0 - 1), "ci_upper": (fu - 1) / (fu + n0 - 1),
            "between_var": (msb - msw) / n0, "within_var": msw}


def _reml(y: np.ndarray, cl: np.ndarray) -> tuple[dict[str, float], str]:
    from statsmodels.regression.mixed_linear_model import MixedLM

    codes, uniq = pd.factorize(cl)
    n, j = len(y), len(uniq)
    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = MixedLM(y, np.ones((n, 1)), groups=codes).fit(reml=True, method="bfgs", gtol=1e-10)
    if caught:
        note = "; ".join(sorted({str(c.message).splitlines()[0] for c in caught}))
    if not fit.converged:
        note = (note + "; " if note else "") + "REML fit did not converge"
    tau2 = float(np.asarray(fit.cov_re)[0, 0])
    sig2 = float(fit.scale)
    return ({"n_obs": n, "n_clusters": j, "mean_cluster_size": n / j, "icc": tau2 / (tau2 + sig2),
             "ci_lower": np.nan, "ci_upper": np.nan, "between_var": tau2, "within_var": sig2}, note)


def icc(
    data: pd.DataFrame,
    *,
    outcomes: str | Sequence[str],
    cluster: str = "community_id",
    by: str | Sequence[str] | None = None,
    method: ICCMethod = "anova",
    level: float = 0.95,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> ICCResult:
    """Intra-class correlation of each outcome within ``cluster``, overall and by groups.

    Parameters
    ----------
    data
        One row per respondent.
    outcomes
        Numeric outcome columns (construct scores).
    cluster
        Cluster column (communities).
    by
        Optional columns analysed level by level (e.g. ``"wave"``).
    method
        ``"anova"`` (default, with F-based CI) or ``"reml"`` (statsmodels MixedLM).
    level
        Confidence level for the ANOVA CI.
    labels
        Optional ``{outcome: {"zh": …, "en": …}}``.

    Returns
    -------
    ICCResult

    Examples
    --------
    >>> icc(scored, outcomes=["belonging"], cluster="community_id", by="wave")  # doctest: +SKIP
    >>> # R: lme4::lmer(belonging ~ 1 + (1 | community_id), data = d, REML = TRUE)
    """
    check_choice("method", method, ICCMethod)
    outcomes = as_list(outcomes)
    by_cols = as_list(by)
    require_columns(data, outcomes + [cluster] + by_cols, what="icc")
    rows, notes = [], []
    parts: list[tuple[str, str, pd.DataFrame]] = [("all", "all", data)]
    for var in by_cols:
        for lev, sub in data.groupby(var, sort=True):
            parts.append((var, str(lev), sub))
    for outcome in outcomes:
        for gvar, gval, sub in parts:
            y = pd.to_numeric(sub[outcome], errors="coerce")
            ok = y.notna() & sub[cluster].notna()
            yv, cl = y[ok].to_numpy(float), sub.loc[ok, cluster].astype(str).to_numpy()
            n_cl = len(pd.unique(cl))
            base = {"outcome": outcome, "group_var": gvar, "group": gval, "method": method}
            if n_cl < 2 or len(yv) <= n_cl:
                notes.append(f"{outcome} ({gvar} = {gval}): {n_cl} cluster(s), {len(yv)} answer(s); ICC not computed")
                rows.append({**base, "n_obs": len(yv), "n_clusters": n_cl,
                             "mean_cluster_size": len(yv) / max(n_cl, 1)})
                continue
            if method == "anova":
                vals = _anova(yv, cl, level)
            else:
                vals, note = _reml(yv, cl)
                if note:
                    notes.append(f"{outcome} ({gvar} = {gval}): MixedLM: {note}")
            rows.append({**base, **vals})
    est = pd.DataFrame(rows, columns=_COLUMNS)
    est["deff_cluster"] = 1 + (est["mean_cluster_size"] - 1) * est["icc"].clip(lower=0)
    for c in ("n_obs", "n_clusters"):
        est[c] = est[c].astype("int64")
    if (est.icc < 0).any():
        notes.append("negative ANOVA ICC estimates mean no detectable clustering; design effects use 0")
    return ICCResult(estimates=est, cluster=cluster, method=method, level=level, labels=dict(labels or {}),
                     notes=tuple(notes), provenance=Provenance.current())
