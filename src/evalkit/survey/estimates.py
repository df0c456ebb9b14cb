"""Design-based weighted means and proportions, by community, wave and subgroup.

Owns: :func:`survey_means`, :func:`survey_proportions` and the
:class:`SurveyEstimates` result.

Conventions
-----------
* Point estimates are ratio means Σw·y / Σw over respondents with an answer
  (weights from the design; equal weights if none).
* **Standard errors**: Taylor linearisation (Woodruff 1971) of the ratio,
  z_i = w_i (y_i - ȳ) / Σw, with the ultimate-cluster variance of
  :mod:`evalkit.survey.design` (clusters = communities, strata if given).
  Subgroups (waves, gender …) are *domains*: their z is zero outside the
  domain but the whole design's PSUs count, as ``survey::svyby``; a missing
  answer puts the respondent outside the domain (``svymean(na.rm = TRUE)``).
* **Estimates within a cluster** (``by`` contains the cluster column, e.g.
  means per community): each community is then sampled with certainty, so the
  variance comes from the residents within it — respondents are the PSUs and
  communities act as strata (``svydesign(id = ~1, strata = ~community_id)``).
  The FPC of the cluster stage does not apply there and is dropped.
* **FPC**: none unless ``fpc`` is given (see :mod:`evalkit.survey.design`).
* **Degrees of freedom and CIs**: t intervals with the domain's design df =
  PSUs with domain members − strata with domain members (the whole design's
  ``survey::degf`` for an overall estimate). With 10–50 communities this is
  markedly wider than the normal interval ``confint()`` gives by default.
  Proportions use the logit interval (``svyciprop(method = "logit")``) by
  default, which stays inside [0, 1]; ``ci_method="wald"`` gives p ± t·se.
* **Design effect** (``deff``): design variance / variance of the same
  estimate under simple random sampling with replacement of the same size
  (``svymean(deff = "replace")``).
* **Calibrated weights** (``calibration=`` the :class:`~evalkit.weighting.WeightingResult`
  of :func:`~evalkit.weighting.rake` or :func:`~evalkit.weighting.poststratify`): with
  ``variance="calibrated"`` (default) the linearised values are residualised on the
  calibration cells before the variance (:mod:`evalkit.survey.calibration`), as R
  ``survey`` does after ``rake()`` / ``postStratify()``; ``variance="fixed_weights"``
  treats the weights as fixed sampling weights (conservative for outcomes related to
  the calibration variables). Without ``calibration`` the weights are taken as fixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from attrs import field, frozen
from scipy import stats

from evalkit.errors import DataValidationError
from evalkit.results import Provenance, Result
from evalkit._checks import as_list, check_choice, require_columns
from evalkit.survey.calibration import VarianceKind, calibration_cells, residualise
from evalkit.survey.design import SurveyDesign, design_arrays, linearised_variance

if TYPE_CHECKING:
    from evalkit.weighting.result import WeightingResult

__all__ = ["SurveyEstimates", "survey_means", "survey_proportions"]

ProportionCI = Literal["logit", "wald"]

_STAT_COLUMNS = ["estimate", "std_error", "ci_lower", "ci_upper", "df", "n_obs", "n_psu", "sum_weights", "deff"]


@frozen(eq=False, kw_only=True)
class SurveyEstimates(Result):
    """Weighted means or proportions with design-based SEs.

    ``estimates``: ``[*by, outcome, (level), estimate, std_error, ci_lower,
    ci_upper, df, n_obs, n_psu, sum_weights, deff]``.
    """

    kind: ClassVar[str] = "survey_estimates"

    statistic: str = "mean"
    by: tuple[str, ...] = field(default=(), converter=tuple)
    design: SurveyDesign = field(factory=SurveyDesign)
    level: float = 0.95
    ci_method: str = "t"
    within_cluster: bool = False
    variance: str = "fixed_weights"
    labels: Mapping[str, Mapping[str, str]] = field(factory=dict)
    notes: tuple[str, ...] = field(default=(), converter=tuple)

    def title(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        if self.statistic == "mean":
            return "加权均值（基于设计的标准误）" if zh else "Weighted means (design-based SEs)"
        return "加权比例（基于设计的标准误）" if zh else "Weighted proportions (design-based SEs)"

    def label(self, outcome: str, lang: str = "zh") -> str:
        return self.labels.get(outcome, {}).get("zh" if lang.startswith("zh") else "en", outcome)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        est = self.estimates.copy()
        est["outcome"] = [self.label(o, lang) for o in est.outcome]
        keep = [*self.by, "outcome", *(["level"] if "level" in est else []), "estimate", "std_error",
                "ci_lower", "ci_upper", "n_obs", "deff"]
        ci = {"t": "t", "logit": "logit", "wald": "Wald"}[self.ci_method]
        head = (f"{self.title(lang)}：{self.design.describe(lang)}；{self.level:.0%} 置信区间（{ci}，自由度 = PSU 数 − 层数）"
                if zh else
                f"{self.title(lang)}: {self.design.describe(lang)}; {self.level:.0%} CI ({ci}, df = PSUs − strata)")
        if self.variance == "calibrated":
            head += ("；标准误考虑权重校准" if zh else "; SEs account for the weight calibration")
        if self.within_cluster:
            head += ("；社区内估计以受访者为抽样单元" if zh else "; within-community estimates use respondents as PSUs")
        lines = [head, est[keep].round(decimals).to_string(index=False)]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic, "by": list(self.by), "design": self.design.to_dict(),
            "level": self.level, "ci_method": self.ci_method, "within_cluster": self.within_cluster,
            "variance": self.variance, "labels": {k: dict(v) for k, v in self.labels.items()}, "notes": list(self.notes),
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {
            "statistic": d["statistic"], "by": tuple(d["by"]), "design": SurveyDesign.from_dict(d["design"]),
            "level": float(d["level"]), "ci_method": d["ci_method"], "within_cluster": bool(d["within_cluster"]),
            "variance": d.get("variance", "fixed_weights"), "labels": d.get("labels", {}), "notes": tuple(d.get("notes", ())),
        }

    def plot(self, ax: Any = None, *, outcome: str | None = None, lang: str = "zh") -> Any:
        """Estimates with CIs for one outcome across the ``by`` groups."""
        from evalkit.reporting.measurement_figures import plot_means

        return plot_means(self, ax=ax, outcome=outcome, lang=lang)


def _ci(est: np.ndarray, se: np.ndarray, df: np.ndarray, level: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(df >= 1, stats.t.ppf(0.5 + level / 2, np.maximum(df, 1)), np.nan)
        if method == "logit":
            inside = (est > 0) & (est < 1)
            lg = np.log(est / (1 - est))
            half = t * se / (est * (1 - est))
            lo = np.where(inside, 1 / (1 + np.exp(-(lg - half))), np.nan)
            hi = np.where(inside, 1 / (1 + np.exp(-(lg + half))), np.nan)
            return lo, hi
        return est - t * se, est + t * se


def _group_sums(index: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``values`` (rows × m) by ``index`` (0..n_groups−1): one ``np.bincount``
    per column, summed in row order like ``np.add.at`` but far faster."""
    return np.column_stack([np.bincount(index, weights=values[:, j], minlength=n_groups)
                            for j in range(values.shape[1])]).reshape(n_groups, values.shape[1])


def _estimate(
    data: pd.DataFrame, y: pd.DataFrame, meta: pd.DataFrame, *, by: list[str], design: SurveyDesign,
    level: float, ci_method: str, statistic: str, labels: Mapping[str, Mapping[str, str]],
    calibration: WeightingResult | None = None, variance: str = "fixed_weights",
) -> SurveyEstimates:
    n = len(data)
    within = design.cluster is not None and design.cluster in by
    notes: list[str] = []
    if within:
        arrays = design_arrays(data, design, psu_override=np.arange(n),
                               extra_strata=data[design.cluster].astype(str).to_numpy(), use_fpc=False)
        if design.fpc is not None:
            notes.append("FPC dropped for within-community estimates (it describes the community stage)")
    else:
        arrays = design_arrays(data, design)
    w = arrays.weights
    wok = np.isfinite(w)
    if (~wok).any():
        notes.append(f"{int((~wok).sum())} respondent(s) without a weight left out of the estimates")
    w = np.where(wok, w, 0.0)
    if by:
        grp = data[by].reset_index(drop=True).groupby(by, sort=True, dropna=True).ngroup().to_numpy()
        keys = data[by].reset_index(drop=True).assign(_g=grp)
        keys = keys[keys._g >= 0].drop_duplicates("_g").sort_values("_g")
        n_groups = len(keys)
    else:
        grp = np.zeros(n, dtype=np.int64)
        keys = pd.DataFrame({"_g": [0]})
        n_groups = 1
    yv = y.to_numpy(dtype=float)
    m = yv.shape[1]
    dom = np.isfinite(yv) & (grp >= 0)[:, None] & (w > 0)[:, None]
    g = np.where(grp >= 0, grp, 0)
    wd = np.where(dom, w[:, None], 0.0)
    y0 = np.where(dom, yv, 0.0)
    sw = _group_sums(g, wd, n_groups)
    swy = _group_sums(g, wd * y0, n_groups)
    cnt = _group_sums(g, dom.astype(float), n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = swy / sw
        z = np.where(dom, wd * (y0 - est[g]) / sw[g], 0.0)
        ssd = _group_sums(g, wd * (y0 - np.nan_to_num(est[g])) ** 2, n_groups)
        svar = ssd / sw * cnt / (cnt - 1)
    # variance via sparse PSU × group totals: V = Σ_h f_h [Σ_c T² − (Σ_c T)² / n_h]
    h = arrays.n_psu_in_stratum.astype(float)
    fac_h = np.where(h > 1, (1 - arrays.fpc_fraction) * h / np.maximum(h - 1, 1), 0.0)
    tz = pd.DataFrame(z).groupby([arrays.psu, g]).sum()
    present = pd.DataFrame(dom.astype(np.int64)).groupby([arrays.psu, g]).sum() > 0
    psu_idx = tz.index.get_level_values(0).to_numpy()
    g_idx = tz.index.get_level_values(1).to_numpy()
    stratum_of = arrays.psu_stratum[psu_idx]
    tvals = tz.to_numpy()
    a = _group_sums(g_idx, fac_h[stratum_of][:, None] * tvals**2, n_groups)
    s = pd.DataFrame(tvals).groupby([stratum_of, g_idx]).sum()
    s_h = s.index.get_level_values(0).to_numpy()
    s_g = s.index.get_level_values(1).to_numpy()
    b = _group_sums(s_g, (fac_h[s_h] / np.maximum(h[s_h], 1))[:, None] * s.to_numpy() ** 2, n_groups)
    var = np.maximum(a - b, 0.0)
    if variance == "calibrated":
        # residualise each group's linearised values on the calibration cells (svyrecvar)
        cells = calibration_cells(data, calibration)
        for gi in range(n_groups):
            in_g = grp == gi
            zg = np.where(in_g[:, None], np.nan_to_num(z), 0.0)
            var[gi] = linearised_variance(
                residualise(zg, w, cells, rows=cells.rows_sharing_groups(in_g)), arrays)
    pres = present.to_numpy()
    n_psu = _group_sums(g_idx, pres.astype(float), n_groups)
    strata_present = pd.DataFrame(pres.astype(np.int64)).groupby([stratum_of, g_idx]).max()
    n_str = _group_sums(strata_present.index.get_level_values(1).to_numpy(),
                        strata_present.to_numpy().astype(float), n_groups)
    lonely = h == 1
    if lonely.any() and not within:
        notes.append(f"{int(lonely.sum())} stratum/strata with a single PSU contribute no variance (certainty PSU)")
    df = n_psu - n_str
    se = np.sqrt(var)
    se = np.where(cnt >= 2, se, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = var / (svar / cnt)
    rows = []
    for gi in range(n_groups):
        krow = keys.iloc[gi]
        for j in range(m):
            if cnt[gi, j] == 0:
                continue
            rows.append({**{c: krow[c] for c in by}, **meta.iloc[j].to_dict(),
                         "estimate": est[gi, j], "std_error": se[gi, j], "df": df[gi, j],
                         "n_obs": cnt[gi, j], "n_psu": n_psu[gi, j], "sum_weights": sw[gi, j], "deff": deff[gi, j]})
    frame = pd.DataFrame(rows, columns=[*by, *meta.columns, "estimate", "std_error", "df", "n_obs", "n_psu",
                                        "sum_weights", "deff"])
    lo, hi = _ci(frame.estimate.to_numpy(float), frame.std_error.to_numpy(float), frame.df.to_numpy(float),
                 level, ci_method)
    frame["ci_lower"], frame["ci_upper"] = lo, hi
    for c in ("df", "n_obs", "n_psu"):
        frame[c] = frame[c].astype("int64")
    for c in by:
        frame[c] = frame[c].astype(data[c].dtype) if len(frame) else frame[c]
    frame = frame[[*by, *meta.columns, *_STAT_COLUMNS]]
    if (frame.n_obs < 2).any():
        notes.append(f"{int((frame.n_obs < 2).sum())} estimate(s) rest on one respondent: no SE")
    return SurveyEstimates(
        estimates=frame.reset_index(drop=True), statistic=statistic, by=tuple(by), design=design, level=level,
        ci_method=ci_method, within_cluster=within, variance=variance, labels=dict(labels), notes=tuple(notes),
        provenance=Provenance.current(),
    )


def _check(data: pd.DataFrame, cols: list[str], by: list[str], design: SurveyDesign, level: float) -> None:
    extra = [c for c in (design.weights, design.cluster, design.strata, design.fpc) if c is not None]
    require_columns(data, cols + by + extra, what="survey estimate")
    if not 0 < level < 1:
        msg = f"level={level!r} must lie between 0 and 1, e.g. 0.95"
        raise ValueError(msg)


def _variance_kind(data: pd.DataFrame, design: SurveyDesign, calibration: WeightingResult | None,
                   variance: str) -> str:
    """The variance actually computed; checks that ``calibration`` produced the weights used."""
    check_choice("variance", variance, VarianceKind)
    if calibration is None:
        return "fixed_weights"
    if design.weights is None:
        msg = ("survey estimate: calibration= is given but weights= is not; add the calibrated weights "
               "with calibration.apply(data) and pass weights='weight'.")
        raise DataValidationError(msg)
    cw = calibration.weights
    if len(cw) != len(data) or not cw.index.isin(data.index).all():
        msg = ("survey estimate: the data's rows differ from those the calibration weights were computed "
               f"on ({len(data)} rows vs {len(cw)}); pass the same frame (e.g. calibration.apply(data)).")
        raise DataValidationError(msg)
    mine = pd.to_numeric(data[design.weights], errors="coerce").to_numpy(dtype=float)
    theirs = cw.reindex(data.index).to_numpy(dtype=float)
    same = np.isclose(mine, theirs, rtol=1e-9, atol=0.0) | (np.isnan(mine) & np.isnan(theirs))
    if not same.all():
        msg = (f"survey estimate: column '{design.weights}' differs from the calibrated weights in "
               f"{int((~same).sum())} rows; pass the column calibration.apply(data) added, or drop "
               f"calibration= to treat '{design.weights}' as fixed sampling weights.")
        raise DataValidationError(msg)
    return variance


def survey_means(
    data: pd.DataFrame,
    *,
    outcomes: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    level: float = 0.95,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    calibration: WeightingResult | None = None,
    variance: VarianceKind = "calibrated",
) -> SurveyEstimates:
    """Weighted means of ``outcomes`` (overall or by groups) with design-based SEs.

    Parameters
    ----------
    data
        One row per respondent.
    outcomes
        Numeric columns (construct scores, 0/1 items …).
    by
        Domain columns, e.g. ``["community_id", "wave"]`` or ``["wave", "hukou"]``.
    weights, cluster, strata, fpc
        Design columns (see :mod:`evalkit.survey.design`); typically
        ``weights="weight", cluster="community_id"``.
    level
        Confidence level of the t intervals.
    labels
        Optional ``{outcome: {"zh": …, "en": …}}`` for summaries and figures.
    calibration
        The :class:`~evalkit.weighting.WeightingResult` that produced ``weights`` (from
        ``rake`` or ``poststratify``); the data must hold its calibration columns.
    variance
        ``"calibrated"`` (default): SEs account for the calibration when ``calibration`` is
        given (R ``survey`` after ``rake``/``postStratify``); ``"fixed_weights"``: the
        weights are treated as fixed sampling weights.

    Returns
    -------
    SurveyEstimates

    Examples
    --------
    >>> raked = rake(scored, population, by="community_id")  # doctest: +SKIP
    >>> survey_means(raked.apply(scored), outcomes="belonging", weights="weight",
    ...              cluster="community_id", calibration=raked)  # doctest: +SKIP
    >>> # R: svymean(~belonging, rake(svydesign(id = ~community_id, ...), ...))
    >>> survey_means(scored, outcomes=["belonging"], by="wave", weights="weight", cluster="community_id")  # doctest: +SKIP
    >>> # R: svyby(~belonging, ~wave, svydesign(id = ~community_id, weights = ~weight, data = d), svymean)
    """
    outcomes = as_list(outcomes)
    by_cols = as_list(by)
    design = SurveyDesign(weights=weights, cluster=cluster, strata=strata, fpc=fpc)
    _check(data, outcomes, by_cols, design, level)
    y = data[outcomes].apply(pd.to_numeric, errors="coerce")
    bad = [c for c in outcomes if data[c].notna().sum() > y[c].notna().sum()]
    if bad:
        msg = f"survey_means: column(s) {bad} hold non-numeric values; use survey_proportions for categories"
        raise DataValidationError(msg)
    meta = pd.DataFrame({"outcome": outcomes})
    kind = _variance_kind(data, design, calibration, variance)
    return _estimate(data, y, meta, by=by_cols, design=design, level=level, ci_method="t", statistic="mean",
                     labels=labels or {}, calibration=calibration, variance=kind)


def survey_proportions(
    data: pd.DataFrame,
    *,
    variables: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    level: float = 0.95,
    ci_method: ProportionCI = "logit",
    labels: Mapping[str, Mapping[str, str]] | None = None,
    calibration: WeightingResult | None = None,
    variance: VarianceKind = "calibrated",
) -> SurveyEstimates:
    """Weighted shares of every level of categorical ``variables``, with design-based SEs.

    Missing answers are left out (the shares of answered levels sum to 1).
    See :func:`survey_means` for the design, ``calibration`` and ``variance`` arguments.

    Examples
    --------
    >>> survey_proportions(survey, variables="hukou", by="wave", cluster="community_id")  # doctest: +SKIP
    >>> # R: svyby(~hukou, ~wave, design, svymean); svyciprop(~I(hukou == "local"), design, method = "logit")
    """
    check_choice("ci_method", ci_method, ProportionCI)
    variables = as_list(variables)
    by_cols = as_list(by)
    design = SurveyDesign(weights=weights, cluster=cluster, strata=strata, fpc=fpc)
    _check(data, variables, by_cols, design, level)
    cols, meta_rows = {}, []
    for var in variables:
        s = data[var]
        levels = sorted(s.dropna().unique(), key=lambda v: (isinstance(v, str), v))
        for lev in levels:
            cols[f"{var}\x1f{lev}"] = np.where(s.isna(), np.nan, (s == lev).astype(float))
            meta_rows.append({"outcome": var, "level": str(lev)})
    y = pd.DataFrame(cols, index=data.index)
    meta = pd.DataFrame(meta_rows, columns=["outcome", "level"])
    kind = _variance_kind(data, design, calibration, variance)
    return _estimate(data, y, meta, by=by_cols, design=design, level=level, ci_method=ci_method,
                     statistic="proportion", labels=labels or {}, calibration=calibration, variance=kind)
