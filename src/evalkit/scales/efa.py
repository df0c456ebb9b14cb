"""Exploratory factor analysis as a check of the codebook's item → construct map.

Owns: fitting an ML factor model to all items of the chosen constructs,
rotating it, matching factors to constructs and flagging items whose
strongest loading is not on their construct's factor.

Conventions
-----------
* Items are reverse-coded first; listwise deletion over all analysed items.
* ML extraction on the correlation matrix (:mod:`evalkit.scales.factor_ml`,
  R ``factanal``'s concentrated likelihood), ``n_factors`` defaulting to the
  number of constructs.
* Rotation ``"oblimin"`` (default; quartimin, oblique, as ``psych::fa``'s
  default via ``GPArotation::oblimin``), ``"varimax"`` or ``"none"``.
* Factor ↔ construct matching maximises the summed absolute loadings of each
  construct's items on its factor (Hungarian assignment); factors are named
  after their construct (``f_<construct>``), extra factors ``f_extra_<i>``.
* An item fits when its largest absolute loading is on its construct's
  factor and is at least ``min_loading`` (default 0.4); otherwise it gets a
  flag and one :class:`~evalkit.errors.DataQualityWarning` lists them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from attrs import frozen
from scipy.optimize import linear_sum_assignment

from evalkit.codebook import Codebook
from evalkit.errors import DataQualityWarning, SmallSampleWarning
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records
from evalkit._checks import check_choice
from evalkit.scales.factor_ml import fit_ml_factors, rotate_loadings
from evalkit.scales.scoring import item_frame

__all__ = ["Rotation", "EFAResult", "efa"]

Rotation = Literal["oblimin", "varimax", "none"]


@frozen(eq=False, kw_only=True)
class EFAResult(Result):
    """Rotated loadings (``estimates``: one row per item) and factor correlations."""

    kind: ClassVar[str] = "efa"

    factor_correlation: pd.DataFrame
    n_obs: int
    rotation: str = "oblimin"
    min_loading: float = 0.4
    converged: bool = True

    def title(self, lang: str = "zh") -> str:
        return "探索性因子分析（题项归属检验）" if lang.startswith("zh") else "Exploratory factor analysis (item map check)"

    @property
    def factors(self) -> list[str]:
        return [c for c in self.estimates.columns if c.startswith("f_")]

    def misfits(self) -> pd.DataFrame:
        return self.estimates[~self.estimates["fits"]].reset_index(drop=True)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        cols = ["item", "construct", *self.factors, "communality", "fits"]
        table = self.estimates[cols].round(decimals).to_string(index=False)
        head = (
            f"{self.title(lang)}：ML提取，{self.rotation}旋转，n = {self.n_obs}，载荷阈值 {self.min_loading}"
            if zh else
            f"{self.title(lang)}: ML extraction, {self.rotation} rotation, n = {self.n_obs}, "
            f"loading threshold {self.min_loading}"
        )
        lines = [head, table]
        bad = self.misfits()
        if len(bad):
            lines.append(("不符合预设构念的题项：" if zh else "Items not fitting their construct: ")
                         + ", ".join(bad.item))
        if not self.converged:
            lines.append("警告：因子模型未收敛" if zh else "Warning: the factor model did not converge")
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "factor_correlation": frame_to_records(self.factor_correlation.reset_index(names="factor")),
            "n_obs": self.n_obs, "rotation": self.rotation, "min_loading": self.min_loading,
            "converged": self.converged,
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        fc = frame_from_records(d["factor_correlation"]).set_index("factor")
        fc.index.name = None
        return {
            "factor_correlation": fc, "n_obs": int(d["n_obs"]), "rotation": d["rotation"],
            "min_loading": float(d["min_loading"]), "converged": bool(d["converged"]),
        }

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.measurement_figures import plot_loadings

        return plot_loadings(self, ax=ax, lang=lang)


def _match_factors(loadings: np.ndarray, constructs: Sequence[str], item_construct: Sequence[str]) -> list[str]:
    m = loadings.shape[1]
    score = np.zeros((len(constructs), m))
    for ci, c in enumerate(constructs):
        rows = [i for i, ic in enumerate(item_construct) if ic == c]
        score[ci] = np.abs(loadings[rows]).sum(axis=0)
    rows, cols = linear_sum_assignment(-score)
    names = [""] * m
    for r, c in zip(rows, cols, strict=True):
        names[c] = f"f_{constructs[r]}"
    extra = 1
    for j in range(m):
        if not names[j]:
            names[j] = f"f_extra_{extra}"
            extra += 1
    return names


def efa(
    data: pd.DataFrame,
    codebook: Codebook,
    *,
    constructs: Sequence[str] | None = None,
    n_factors: int | None = None,
    rotation: Rotation = "oblimin",
    min_loading: float = 0.4,
    warn: bool = True,
) -> EFAResult:
    """Check the item → construct map with an exploratory factor analysis.

    Parameters
    ----------
    data
        Survey frame after intake.
    codebook
        Study codebook.
    constructs
        Constructs whose items enter the analysis (default all; needs ≥ 2).
    n_factors
        Factors to extract; default the number of constructs.
    rotation
        ``"oblimin"`` (default), ``"varimax"`` or ``"none"``.
    min_loading
        Smallest primary loading for an item to count as fitting.
    warn
        Warn (:class:`DataQualityWarning`) about items that do not fit.

    Returns
    -------
    EFAResult

    Examples
    --------
    >>> efa(survey, codebook)  # doctest: +SKIP
    >>> # R: psych::fa(items, nfactors = 6, fm = "ml", rotate = "oblimin")
    """
    check_choice("rotation", rotation, Rotation)
    names = list(constructs) if constructs is not None else list(codebook.constructs_used())
    frames, item_construct, labels = [], [], {}
    for c in names:
        f = item_frame(data, codebook, c)
        frames.append(f)
        item_construct += [c] * f.shape[1]
        labels.update({v.name: v.label_zh or v.name for v in codebook.items(c)})
    x = pd.concat(frames, axis=1).dropna()
    return _efa_items(x, item_construct, names, labels, n_factors=n_factors, rotation=rotation,
                      min_loading=min_loading, warn=warn)


def _efa_items(
    x: pd.DataFrame, item_construct: Sequence[str], constructs: Sequence[str], labels: Mapping[str, str], *,
    n_factors: int | None, rotation: str, min_loading: float, warn: bool,
) -> EFAResult:
    m = int(n_factors) if n_factors is not None else len(constructs)
    p = x.shape[1]
    if x.shape[0] < 3 * p:
        warnings.warn(
            f"EFA on {x.shape[0]} complete respondents for {p} items (fewer than 3 per item); "
            "loadings are unstable, read the item map check with care",
            SmallSampleWarning, stacklevel=3,
        )
    sd = x.std(ddof=1)
    if (sd <= 0).any():
        msg = f"EFA: item(s) {', '.join(sd.index[sd <= 0])} have no variance among complete respondents; drop them"
        raise ValueError(msg)
    fit = fit_ml_factors(x.corr().to_numpy(), m)
    loadings, phi = rotate_loadings(fit.loadings, rotation)
    fnames = _match_factors(loadings, list(constructs), item_construct)
    rank = {f"f_{c}": i for i, c in enumerate(constructs)}
    order = sorted(range(m), key=lambda j: (rank.get(fnames[j], len(rank)), fnames[j]))
    # orient each construct factor so its own items load positively
    for j in range(m):
        own = [i for i, c in enumerate(item_construct) if f"f_{c}" == fnames[j]]
        if own and loadings[own, j].sum() < 0:
            loadings[:, j] *= -1
            phi[:, j] *= -1
            phi[j, :] *= -1
    loadings = loadings[:, order]
    phi = phi[np.ix_(order, order)]
    fnames = [fnames[j] for j in order]
    est = pd.DataFrame(loadings, columns=fnames)
    est.insert(0, "item", list(x.columns))
    est.insert(1, "label", [labels.get(c, c) for c in x.columns])
    est.insert(2, "construct", list(item_construct))
    est["communality"] = 1.0 - fit.uniqueness
    primary = np.abs(loadings).argmax(axis=1)
    est["primary_factor"] = [fnames[j] for j in primary]
    est["primary_loading"] = loadings[np.arange(p), primary]
    est["fits"] = [
        (pf == f"f_{c}") and abs(pl) >= min_loading
        for pf, pl, c in zip(est.primary_factor, est.primary_loading, item_construct, strict=True)
    ]
    result = EFAResult(
        estimates=est, factor_correlation=pd.DataFrame(phi, index=fnames, columns=fnames),
        n_obs=int(x.shape[0]), rotation=rotation, min_loading=float(min_loading),
        converged=fit.converged, provenance=Provenance.current(),
    )
    if warn:
        bad = result.misfits()
        if len(bad):
            parts = [
                f"'{r.item}' ({r.construct}) loads most on {r.primary_factor} ({r.primary_loading:.2f})"
                for r in bad.itertuples(index=False)
            ]
            warnings.warn(
                f"EFA item map check: {len(bad)} item(s) do not load ≥ {min_loading} on their construct's "
                f"factor: {'; '.join(parts)}. Review these items' construct in the codebook.",
                DataQualityWarning, stacklevel=3,
            )
        if not fit.converged:
            warnings.warn(f"EFA: the factor model did not converge ({fit.message})", DataQualityWarning,
                          stacklevel=3)
    return result
