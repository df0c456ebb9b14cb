"""Anderson's (2008) inverse-covariance weighted summary index across several outcomes.

Named after its method (``anderson_index``) because evalkit offers a second index,
:func:`evalkit.estimators.klk_index` (Kling, Liebman & Katz 2007: equal weights); a
report must never label one with the other's paper.

Owns: the index's weights, its standardisation, and :class:`AndersonIndexResult`
whose :meth:`~AndersonIndexResult.transform` computes the index for any frame
(so an impact estimator can use it as one outcome and test one hypothesis
instead of six).

Conventions (Anderson 2008, JASA 103(484), section 3.1)
------------------------------------------------------
* Each outcome j is standardised against the **reference group** (the
  comparison communities or the baseline wave): z_ij = s_j (y_ij - μ_j)/σ_j,
  with the reference mean μ_j and SD σ_j (ddof = 1, unweighted) and sign
  s_j = -1 for outcomes listed in ``negative`` (higher = worse).
* Σ is the covariance matrix of the z's over all respondents with every
  outcome observed (listwise); the weights are w = Σ⁻¹·1, so outcomes that
  carry new information count more and highly correlated ones less.
* A respondent's index is Σ_j w_j z_ij / Σ_j w_j over the outcomes they have
  (Anderson's rule for missing outcomes); it is NA when none is observed.
* ``restandardise=True`` (default) rescales the index to mean 0, SD 1 in the
  reference group, so effects read in reference-group SD units.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.errors import DataQualityWarning, DataValidationError
from evalkit.results import Provenance, Result
from evalkit._checks import require_columns
from evalkit.scales.scoring import Reference, reference_mask

__all__ = ["AndersonIndexResult", "anderson_index"]


@frozen(eq=False, kw_only=True)
class AndersonIndexResult(Result):
    """Weights and standardisation of a summary index.

    ``estimates`` columns: outcome, sign, ref_mean, ref_sd, weight (row sum of
    Σ⁻¹), weight_share (weight / total weight).
    """

    kind: ClassVar[str] = "anderson_index"

    name: str = "anderson_index"
    restandardise: bool = True
    index_ref_mean: float = 0.0
    index_ref_sd: float = 1.0
    n_reference: int = 0
    n_covariance: int = 0
    reference_label: str = "all respondents"
    notes: tuple[str, ...] = field(default=(), converter=tuple)

    def title(self, lang: str = "zh") -> str:
        return ("综合指数（Anderson 2008 逆协方差加权）" if lang.startswith("zh")
                else "Summary index (Anderson 2008 inverse-covariance weighted)")

    def transform(self, data: pd.DataFrame) -> pd.Series:
        """The index for every row of ``data`` (needs the outcome columns)."""
        est = self.estimates
        require_columns(data, list(est.outcome), what=f"summary index '{self.name}'")
        y = data[list(est.outcome)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        z = (y - est.ref_mean.to_numpy()) / est.ref_sd.to_numpy() * est.sign.to_numpy()
        w = est.weight.to_numpy()
        avail = np.isfinite(z)
        num = np.where(avail, z * w, 0.0).sum(axis=1)
        den = np.where(avail, w, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            idx = np.where(avail.any(axis=1), num / den, np.nan)
        if self.restandardise:
            idx = (idx - self.index_ref_mean) / self.index_ref_sd
        return pd.Series(idx, index=data.index, name=self.name)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        head = (f"{self.title(lang)}：参照组 {self.reference_label}（n = {self.n_reference}），"
                f"协方差样本 n = {self.n_covariance}" if zh else
                f"{self.title(lang)}: reference {self.reference_label} (n = {self.n_reference}), "
                f"covariance from n = {self.n_covariance}")
        lines = [head, self.estimates.round(decimals).to_string(index=False)]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "restandardise": self.restandardise,
            "index_ref_mean": self.index_ref_mean, "index_ref_sd": self.index_ref_sd,
            "n_reference": self.n_reference, "n_covariance": self.n_covariance,
            "reference_label": self.reference_label, "notes": list(self.notes),
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        keys = ("name", "restandardise", "index_ref_mean", "index_ref_sd", "n_reference",
                "n_covariance", "reference_label", "notes")
        return {k: d[k] for k in keys}

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Share of each outcome in the index."""
        from evalkit.reporting.measurement_figures import plot_index_weights

        return plot_index_weights(self, ax=ax, lang=lang)


def anderson_index(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    reference: Reference = None,
    negative: Sequence[str] = (),
    restandardise: bool = True,
    name: str = "anderson_index",
) -> AndersonIndexResult:
    """Fit Anderson's (2008) summary index of ``outcomes``.

    Parameters
    ----------
    data
        One row per respondent with the outcome columns (e.g. construct scores).
    outcomes
        Outcome columns (at least 2).
    reference
        Reference rows for standardisation: ``{"wave": 1}``, ``{"treated": 0}``,
        a boolean Series, or ``None`` (all rows).
    negative
        Outcomes where a higher value is worse; their sign is flipped.
    restandardise
        Rescale the index to mean 0, SD 1 in the reference group.
    name
        Name of the series :meth:`AndersonIndexResult.transform` returns.

    Returns
    -------
    AndersonIndexResult
        Call ``.transform(data)`` for the index values.

    Examples
    --------
    >>> fit = anderson_index(scored, outcomes=["gain", "belonging"], reference={"wave": 1})  # doctest: +SKIP
    >>> scored["index"] = fit.transform(scored)  # doctest: +SKIP
    """
    outcomes = list(outcomes)
    if len(outcomes) < 2:
        msg = f"anderson_index needs at least 2 outcomes, found {outcomes}"
        raise ValueError(msg)
    unknown = [o for o in negative if o not in outcomes]
    if unknown:
        msg = f"negative={list(negative)} names {unknown}, which are not among outcomes={outcomes}"
        raise ValueError(msg)
    require_columns(data, outcomes, what="anderson_index(outcomes=...)")
    ref = reference_mask(data, reference)
    y = data[outcomes].apply(pd.to_numeric, errors="coerce").astype("float64")
    ref_mean, ref_sd = y[ref].mean(), y[ref].std(ddof=1)
    bad = [o for o in outcomes if not (np.isfinite(ref_sd[o]) and ref_sd[o] > 0)]
    if bad:
        msg = (f"anderson_index: outcome(s) {', '.join(bad)} have no variance (or < 2 values) in the "
               "reference group; drop them or choose a larger reference group")
        raise DataValidationError(msg)
    sign = pd.Series([-1.0 if o in negative else 1.0 for o in outcomes], index=outcomes)
    z = (y - ref_mean) / ref_sd * sign
    complete = z.dropna()
    if len(complete) <= len(outcomes):
        msg = (f"anderson_index: only {len(complete)} respondents have all {len(outcomes)} outcomes; "
               "the covariance matrix cannot be estimated")
        raise DataValidationError(msg)
    cov = np.cov(complete.to_numpy(), rowvar=False, ddof=1)
    try:
        w = np.linalg.solve(cov, np.ones(len(outcomes)))
    except np.linalg.LinAlgError:
        msg = f"anderson_index: outcomes {outcomes} are perfectly collinear; drop one of them"
        raise DataValidationError(msg) from None
    notes: list[str] = []
    if np.any(w <= 0):
        neg = [o for o, wi in zip(outcomes, w, strict=True) if wi <= 0]
        notes.append(f"non-positive weight for {', '.join(neg)}: strongly correlated with the other outcomes")
        warnings.warn(
            f"anderson_index '{name}': outcome(s) {', '.join(neg)} get a non-positive weight because they are "
            "strongly correlated with the others; consider dropping them or averaging them first",
            DataQualityWarning, stacklevel=2,
        )
    est = pd.DataFrame({
        "outcome": outcomes, "sign": sign.to_numpy(), "ref_mean": ref_mean.to_numpy(),
        "ref_sd": ref_sd.to_numpy(), "weight": w, "weight_share": w / w.sum(),
    })
    label = "all respondents" if reference is None else (
        ", ".join(f"{k} = {v}" for k, v in reference.items()) if isinstance(reference, dict) else "given rows"
    )
    raw = AndersonIndexResult(estimates=est, name=name, restandardise=False, n_reference=int(ref.sum()),
                             n_covariance=int(len(complete)), reference_label=label)
    raw_idx = raw.transform(data)[ref]
    return AndersonIndexResult(
        estimates=est, name=name, restandardise=restandardise,
        index_ref_mean=float(raw_idx.mean()) if restandardise else 0.0,
        index_ref_sd=float(raw_idx.std(ddof=1)) if restandardise else 1.0,
        n_reference=int(ref.sum()), n_covariance=int(len(complete)), reference_label=label,
        notes=tuple(notes), provenance=Provenance.current(),
    )
