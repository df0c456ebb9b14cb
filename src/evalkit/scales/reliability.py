"""Reliability of each construct: Cronbach's α (with CI), standardised α, McDonald's ω, item analysis.

Owns: the numbers of a reliability table, overall and by wave or group, and
the :class:`ReliabilityResult` that carries them.

Conventions (stated in every report through ``ReliabilityResult.spec``)
---------------------------------------------------------------------
* **Items** are scored first (reverse-coded, missing codes → NA) by
  :func:`evalkit.scales.scoring.item_frame`.
* **Deletion** — ``"listwise"`` (default): only respondents who answered every
  item of the construct; one sample, a positive semi-definite covariance
  matrix, and one ``n`` for the CI. ``"pairwise"``: each covariance from the
  pairs that answered both items and ``n`` = respondents who answered at least
  one item — ``psych::alpha``'s default (it uses all rows for ``n``).
* **α** = k/(k-1) · (1 - tr C / 1'C1) from the item covariance matrix C;
  **standardised α** the same on the correlation matrix; **average r** the
  mean inter-item correlation (``psych::alpha``'s ``raw_alpha``,
  ``std.alpha``, ``average_r``).
* **CI for α** — ``"feldt"`` (default): Feldt (1965),
  1 - (1 - α)·F(1 - γ/2; n - 1, (n - 1)(k - 1)) and the mirror bound, exact
  under the parallel-items model; ``"duhachek"``: α ± z·ASE with the
  asymptotic standard error of van Zyl, Neudecker & Nel (2000) / Duhachek &
  Iacobucci (2004) for any covariance structure. Both are what ``psych::alpha``
  prints ("Feldt", "Duhachek"); ``alpha_se`` is always the ASE.
* **Item analysis** — ``r_item_total``: correlation of the item with the
  respondent's mean over answered items (psych ``raw.r``); ``r_corrected``:
  with the sum of the *other* items, from C (psych ``r.drop``);
  ``alpha_if_deleted``: α of C without the item (psych ``alpha.drop``).
* **ω total** (McDonald 1999) = (Σλ)² / ((Σλ)² + Σθ) from a one-factor ML
  model fitted to C (raw-score scale, model-implied total variance; as
  computed from ``lavaan::cfa(std.lv = TRUE)``). Needs ≥ 3 items.
* **Flags** — an item is flagged ``negative_r`` (r_corrected < 0: usually a
  missing reverse code), ``low_r`` (r_corrected < ``flag_min_r``, default 0.2)
  or ``raises_alpha`` (α rises by more than ``flag_alpha_gain``, default
  0.01, when the item is dropped; a weaker but valid item of a congeneric
  scale often raises α by a few thousandths, which is no reason to drop it). Flags in the overall analysis raise one
  :class:`~evalkit.errors.DataQualityWarning`; flags within groups are only
  recorded in the item table.
* Groups with fewer than ``min_obs`` respondents (default 10) get NA.

α is a few lines of linear algebra (pingouin is GPL, factor_analyzer broken
under pandas 3), hence evalkit's own code, validated against ``psych::alpha``
and ``lavaan`` on ``psych::bfi``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from attrs import field, frozen
from scipy import stats

from evalkit.codebook import Codebook
from evalkit.errors import DataQualityWarning
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records
from evalkit._checks import as_list, check_choice, require_columns
from evalkit.scales.factor_ml import fit_ml_factors
from evalkit.scales.scoring import item_frame

__all__ = [
    "Deletion",
    "AlphaCI",
    "ReliabilitySpec",
    "ReliabilityResult",
    "reliability",
    "item_reliability",
    "cronbach_alpha",
    "omega_total",
    "feldt_ci",
]

Deletion = Literal["listwise", "pairwise"]
AlphaCI = Literal["feldt", "duhachek"]

ESTIMATE_COLUMNS = [
    "construct", "group_var", "group", "n_obs", "n_items", "alpha", "alpha_se",
    "alpha_ci_lower", "alpha_ci_upper", "alpha_std", "average_r", "omega_total",
    "scale_mean", "scale_sd",
]
ITEM_COLUMNS = [
    "construct", "group_var", "group", "item", "label", "n_obs", "mean", "sd",
    "r_item_total", "r_corrected", "alpha_if_deleted", "flag",
]

OVERALL = "all"


@frozen
class ReliabilitySpec:
    """The call behind a :class:`ReliabilityResult`."""

    deletion: str = "listwise"
    ci_method: str = "feldt"
    ci_level: float = 0.95
    min_obs: int = 10
    flag_min_r: float = 0.2
    flag_alpha_gain: float = 0.01
    by: tuple[str, ...] = field(default=(), converter=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deletion": self.deletion, "ci_method": self.ci_method, "ci_level": self.ci_level,
            "min_obs": self.min_obs, "flag_min_r": self.flag_min_r,
            "flag_alpha_gain": self.flag_alpha_gain, "by": list(self.by),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReliabilitySpec:
        return cls(**d)


# ---------------------------------------------------------------- formulas ----
def cronbach_alpha(cov: np.ndarray) -> float:
    """Cronbach's α from an item covariance matrix."""
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    if k < 2:
        return float("nan")
    total = cov.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / total))


def _alpha_ase(cov: np.ndarray, n: int) -> float:
    """Asymptotic SE of α (van Zyl et al. 2000; Duhachek & Iacobucci 2004), as psych::alpha."""
    k = cov.shape[0]
    j = cov.sum()
    q = (2 * k**2 / ((k - 1) ** 2 * j**3)) * (
        j * (np.trace(cov @ cov) + np.trace(cov) ** 2) - 2 * np.trace(cov) * (cov @ cov).sum()
    )
    return float(np.sqrt(q / n)) if q >= 0 and n > 0 else float("nan")


def feldt_ci(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) interval for α from n respondents and k items (``psych::alpha.ci``)."""
    g = 1.0 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - g / 2, df1, df2)
    upper = 1.0 - (1.0 - alpha) * stats.f.ppf(g / 2, df1, df2)
    return float(lower), float(upper)


def omega_total(cov: np.ndarray) -> tuple[float, str]:
    """McDonald's ω total from a one-factor ML model on the covariance matrix.

    Returns ``(omega, note)``; ``note`` is empty or explains an NA / Heywood case.
    """
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    if k < 3:
        return float("nan"), f"ω needs at least 3 items (found {k})"
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    if np.linalg.eigvalsh(corr).min() <= 1e-10:
        return float("nan"), "ω not computed: the item correlation matrix is not positive definite"
    fit = fit_ml_factors(corr, 1)
    lam = fit.loadings[:, 0] * sd
    theta = fit.uniqueness * sd**2
    omega = float(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()))
    note = ""
    if not fit.converged:
        note = f"one-factor model for ω did not converge ({fit.message}); ω is unreliable"
    elif fit.heywood:
        note = "one-factor model for ω hit a Heywood case (an item's loading ≈ 1)"
    return omega, note


# ---------------------------------------------------------------- one block ----
def _block(
    items: pd.DataFrame, *, spec: ReliabilitySpec, construct: str, group_var: str, group: str,
    labels: Mapping[str, str],
) -> tuple[dict[str, Any], pd.DataFrame, list[str]]:
    notes: list[str] = []
    where = f"construct '{construct}'" + ("" if group_var == OVERALL else f", {group_var} = {group}")
    x = items.dropna() if spec.deletion == "listwise" else items[items.notna().any(axis=1)]
    n, k = x.shape
    row: dict[str, Any] = dict.fromkeys(ESTIMATE_COLUMNS, np.nan)
    row.update(construct=construct, group_var=group_var, group=group, n_obs=n, n_items=k)
    empty_items = pd.DataFrame(
        {
            "construct": construct, "group_var": group_var, "group": group,
            "item": list(items.columns), "label": [labels.get(c, c) for c in items.columns],
            "n_obs": x.notna().sum().to_numpy(), "mean": x.mean().to_numpy(),
            "sd": x.std(ddof=1).to_numpy(), "r_item_total": np.nan, "r_corrected": np.nan,
            "alpha_if_deleted": np.nan, "flag": "",
        },
        columns=ITEM_COLUMNS,
    )
    if n < max(spec.min_obs, 2):
        notes.append(f"{where}: {n} respondent(s), fewer than min_obs={spec.min_obs}; α not computed")
        return row, empty_items, notes
    cov_frame = x.cov(ddof=1)
    cov = cov_frame.to_numpy()
    var = np.diag(cov)
    if k < 2 or not np.all(np.isfinite(cov)) or np.any(var <= 0):
        bad = [c for c, v in zip(items.columns, var, strict=True) if not v > 0]
        reason = f"item(s) without variance: {', '.join(bad)}" if bad else "some item pairs never answered together"
        notes.append(f"{where}: α not computed ({reason})")
        return row, empty_items, notes
    sd = np.sqrt(var)
    corr = cov / np.outer(sd, sd)
    alpha = cronbach_alpha(cov)
    ase = _alpha_ase(cov, n)
    if spec.ci_method == "feldt":
        lo, hi = feldt_ci(alpha, n, k, spec.ci_level)
    else:
        z = stats.norm.ppf(0.5 + spec.ci_level / 2)
        lo, hi = alpha - z * ase, alpha + z * ase
    omega, note = omega_total(cov)
    if note:
        notes.append(f"{where}: {note}")
    total = x.mean(axis=1)
    row.update(
        alpha=alpha, alpha_se=ase, alpha_ci_lower=lo, alpha_ci_upper=hi,
        alpha_std=float(k / (k - 1) * (1 - k / corr.sum())),
        average_r=float((corr.sum() - k) / (k * (k - 1))),
        omega_total=omega, scale_mean=float(total.mean()), scale_sd=float(total.std(ddof=1)),
    )
    r_total, r_drop, a_drop = [], [], []
    for i, col in enumerate(items.columns):
        r_total.append(float(x[col].corr(total)))
        keep = [j for j in range(k) if j != i]
        rest = cov[np.ix_(keep, keep)]
        r_drop.append(float((cov[:, i].sum() - cov[i, i]) / np.sqrt(cov[i, i] * rest.sum())))
        a_drop.append(cronbach_alpha(rest) if k > 2 else np.nan)
    item_rows = empty_items.assign(r_item_total=r_total, r_corrected=r_drop, alpha_if_deleted=a_drop)
    flags = []
    for rc, ad in zip(r_drop, a_drop, strict=True):
        if rc < 0:
            flags.append("negative_r")
        elif rc < spec.flag_min_r:
            flags.append("low_r")
        elif np.isfinite(ad) and ad > alpha + spec.flag_alpha_gain:
            flags.append("raises_alpha")
        else:
            flags.append("")
    item_rows["flag"] = flags
    return row, item_rows, notes


def _flag_message(items: pd.DataFrame) -> str:
    parts = []
    for r in items.itertuples(index=False):
        why = {
            "negative_r": "correlates negatively with the rest of the scale (reverse coding missing in the codebook?)",
            "low_r": "correlates weakly with the rest of the scale",
            "raises_alpha": "α would rise if it were dropped",
        }[r.flag]
        parts.append(
            f"construct '{r.construct}', item '{r.item}': {why} "
            f"(corrected item-total r = {r.r_corrected:.2f}, α if deleted = {r.alpha_if_deleted:.3f})"
        )
    return (
        f"{len(parts)} item(s) hurt reliability: " + "; ".join(parts)
        + ". Check the item wording and the codebook's reverse flag before reporting the construct."
    )


def _run(
    blocks: Sequence[tuple[str, pd.DataFrame]], data_groups: pd.DataFrame | None, *,
    spec: ReliabilitySpec, labels: Mapping[str, str], construct_labels: Mapping[str, Mapping[str, str]],
    warn: bool, stacklevel: int,
) -> ReliabilityResult:
    rows: list[dict[str, Any]] = []
    item_frames: list[pd.DataFrame] = []
    notes: list[str] = []
    overall_notes: list[str] = []
    for construct, items in blocks:
        row, it, nt = _block(items, spec=spec, construct=construct, group_var=OVERALL, group=OVERALL, labels=labels)
        rows.append(row)
        item_frames.append(it)
        notes += nt
        overall_notes += nt
        for var in spec.by:
            key = data_groups[var] if data_groups is not None else pd.Series(index=items.index)
            for level in sorted(key.dropna().unique(), key=_sort_key):
                sub = items[key == level]
                row, it, nt = _block(sub, spec=spec, construct=construct, group_var=var,
                                     group=str(level), labels=labels)
                rows.append(row)
                item_frames.append(it)
                notes += nt
    estimates = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    for col in ("n_obs", "n_items"):
        estimates[col] = estimates[col].astype("int64")
    items_all = pd.concat(item_frames, ignore_index=True)[ITEM_COLUMNS]
    items_all["n_obs"] = items_all["n_obs"].astype("int64")
    result = ReliabilityResult(
        estimates=estimates, items=items_all, spec=spec, notes=tuple(notes),
        construct_labels={k: dict(v) for k, v in construct_labels.items()},
        provenance=Provenance.current(),
    )
    if warn:
        flagged = items_all[(items_all.group_var == OVERALL) & (items_all.flag != "")]
        if len(flagged):
            warnings.warn(_flag_message(flagged), DataQualityWarning, stacklevel=stacklevel)
        if overall_notes:
            warnings.warn("; ".join(overall_notes), DataQualityWarning, stacklevel=stacklevel)
    return result


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float | np.integer | np.floating) else (1, str(v))


def _make_spec(deletion: str, ci_method: str, ci_level: float, min_obs: int, flag_min_r: float,
               flag_alpha_gain: float, by: Sequence[str]) -> ReliabilitySpec:
    check_choice("deletion", deletion, Deletion)
    check_choice("ci_method", ci_method, AlphaCI)
    if not 0 < ci_level < 1:
        msg = f"ci_level={ci_level!r} must lie between 0 and 1, e.g. 0.95"
        raise ValueError(msg)
    return ReliabilitySpec(deletion=deletion, ci_method=ci_method, ci_level=ci_level, min_obs=min_obs,
                           flag_min_r=flag_min_r, flag_alpha_gain=flag_alpha_gain, by=tuple(by))


# ------------------------------------------------------------------ public ----
def reliability(
    data: pd.DataFrame,
    codebook: Codebook,
    *,
    constructs: Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    deletion: Deletion = "listwise",
    ci_method: AlphaCI = "feldt",
    ci_level: float = 0.95,
    min_obs: int = 10,
    flag_min_r: float = 0.2,
    flag_alpha_gain: float = 0.01,
    warn: bool = True,
) -> ReliabilityResult:
    """Reliability of every construct, overall and within each level of ``by``.

    Parameters
    ----------
    data
        Survey frame after intake (items not yet reverse-coded).
    codebook
        Study codebook.
    constructs
        Constructs to analyse; default all with items.
    by
        Column(s) whose levels are analysed separately, e.g. ``["wave", "gender"]``.
    deletion, ci_method, ci_level
        See the module conventions.
    min_obs
        Smallest group analysed.
    flag_min_r, flag_alpha_gain
        Item flag thresholds.
    warn
        Emit a :class:`DataQualityWarning` for items that hurt reliability.

    Returns
    -------
    ReliabilityResult

    Examples
    --------
    >>> rel = reliability(survey, codebook, by="wave")  # doctest: +SKIP
    >>> # R: psych::alpha(items); lavaan::cfa("f =~ i1 + i2 + i3", std.lv = TRUE)
    """
    by_cols = as_list(by)
    spec = _make_spec(deletion, ci_method, ci_level, min_obs, flag_min_r, flag_alpha_gain, by_cols)
    require_columns(data, by_cols, what="reliability(by=...)")
    names = list(constructs) if constructs is not None else list(codebook.constructs_used())
    blocks = [(c, item_frame(data, codebook, c)) for c in names]
    labels = {v.name: v.label_zh or v.name for c in names for v in codebook.items(c)}
    construct_labels = {
        c: {"zh": codebook.construct_label(c, "zh"), "en": codebook.construct_label(c, "en")} for c in names
    }
    return _run(blocks, data[by_cols] if by_cols else None, spec=spec, labels=labels,
                construct_labels=construct_labels, warn=warn, stacklevel=3)


def item_reliability(
    items: pd.DataFrame,
    *,
    construct: str = "scale",
    by: pd.DataFrame | None = None,
    deletion: Deletion = "listwise",
    ci_method: AlphaCI = "feldt",
    ci_level: float = 0.95,
    min_obs: int = 10,
    flag_min_r: float = 0.2,
    flag_alpha_gain: float = 0.01,
    warn: bool = True,
) -> ReliabilityResult:
    """Reliability of one scale given as an item frame (already reverse-coded).

    The low-level twin of :func:`reliability` for items that are not in a
    codebook. ``by`` is an optional frame of grouping columns aligned with
    ``items``.

    Examples
    --------
    >>> item_reliability(bfi[["A1", "A2", "A3", "A4", "A5"]])  # doctest: +SKIP
    >>> # R: psych::alpha(bfi[, c("A1", "A2", "A3", "A4", "A5")])
    """
    by_cols = list(by.columns) if by is not None else []
    spec = _make_spec(deletion, ci_method, ci_level, min_obs, flag_min_r, flag_alpha_gain, by_cols)
    x = items.apply(pd.to_numeric, errors="coerce").astype("float64")
    return _run([(construct, x)], by, spec=spec, labels={c: str(c) for c in x.columns},
                construct_labels={construct: {"zh": construct, "en": construct}}, warn=warn, stacklevel=3)


# ------------------------------------------------------------------ result ----
@frozen(eq=False, kw_only=True)
class ReliabilityResult(Result):
    """α, ω and item analysis per construct (and per group).

    ``estimates`` has one row per construct × group (columns
    ``ESTIMATE_COLUMNS``), ``items`` one row per item × construct × group.
    """

    kind: ClassVar[str] = "reliability"

    items: pd.DataFrame
    spec: ReliabilitySpec = field(factory=ReliabilitySpec)
    notes: tuple[str, ...] = field(default=(), converter=tuple)
    construct_labels: Mapping[str, Mapping[str, str]] = field(factory=dict)

    def title(self, lang: str = "zh") -> str:
        return "量表信度分析" if lang.startswith("zh") else "Scale reliability"

    def overall(self) -> pd.DataFrame:
        """The rows for all respondents (one per construct)."""
        return self.estimates[self.estimates.group_var == OVERALL].reset_index(drop=True)

    def items_overall(self) -> pd.DataFrame:
        """Item analysis for all respondents (one row per item)."""
        return self.items[self.items.group_var == OVERALL].reset_index(drop=True)

    def flagged_items(self) -> pd.DataFrame:
        return self.items[self.items.flag != ""].reset_index(drop=True)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        est = self.estimates.copy()
        est["construct"] = [self.construct_labels.get(c, {}).get("zh" if zh else "en", c) for c in est.construct]
        pct = f"{self.spec.ci_level:.0%}"
        ci_name = {"feldt": "Feldt", "duhachek": "Duhachek"}[self.spec.ci_method]
        cols = {
            "construct": "构念" if zh else "construct",
            "group_var": "分组" if zh else "group by",
            "group": "组别" if zh else "group",
            "n_obs": "样本量" if zh else "n",
            "n_items": "题项数" if zh else "items",
            "alpha": "α",
            "alpha_ci_lower": f"α {pct}CI 下限" if zh else f"α {pct} CI low",
            "alpha_ci_upper": f"α {pct}CI 上限" if zh else f"α {pct} CI high",
            "alpha_std": "标准化α" if zh else "std. α",
            "omega_total": "ω",
        }
        table = est[list(cols)].rename(columns=cols).round(decimals)
        if zh:
            table = table.replace({OVERALL: "全体"})
        deletion = {"listwise": ("列删除", "listwise deletion"), "pairwise": ("成对删除", "pairwise deletion")}
        d = deletion[self.spec.deletion][0 if zh else 1]
        head = (
            f"{self.title(lang)}（{d}；α 置信区间：{ci_name}；ω：单因子ML模型）"
            if zh else f"{self.title(lang)} ({d}; α CI: {ci_name}; ω: one-factor ML model)"
        )
        lines = [head, table.to_string(index=False)]
        flagged = self.flagged_items()
        flagged = flagged[flagged.group_var == OVERALL]
        if len(flagged):
            lines.append("需检查的题项：" if zh else "Items to check:")
            for r in flagged.itertuples(index=False):
                lines.append(
                    f"  {r.construct}/{r.item} ({r.label}): r = {r.r_corrected:.{decimals}f}, "
                    f"α−item = {r.alpha_if_deleted:.{decimals}f} [{r.flag}]"
                )
        if self.notes:
            lines.append("说明：" if zh else "Notes:")
            lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "items": frame_to_records(self.items),
            "spec": self.spec.to_dict(),
            "notes": list(self.notes),
            "construct_labels": {k: dict(v) for k, v in self.construct_labels.items()},
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        items = frame_from_records(d["items"])
        items["flag"] = items["flag"].fillna("")
        return {
            "items": items,
            "spec": ReliabilitySpec.from_dict(d["spec"]),
            "notes": tuple(d.get("notes", ())),
            "construct_labels": d.get("construct_labels", {}),
        }

    def plot(self, ax: Any = None, *, by: str | None = None, lang: str = "zh") -> Any:
        """α (with CI) per construct; by the levels of ``by`` (default: the first ``by`` column)."""
        from evalkit.reporting.measurement_figures import plot_alpha

        return plot_alpha(self, ax=ax, by=by if by is not None else (self.spec.by[0] if self.spec.by else None),
                          lang=lang)
