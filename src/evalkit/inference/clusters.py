"""Cluster bookkeeping shared by the inference routines, and the few-clusters diagnosis.

This module owns three things:

* :func:`cluster_codes` – the one way evalkit turns cluster (or unit) labels into integer
  codes 0..G−1, in one of three documented orders.

* :func:`diagnose_clusters` – decides, from the number of clusters and of treated
  clusters, whether plain cluster-robust (CRVE) inference can be reported and which
  inference evalkit should use instead, with report-ready Chinese and English text.
  No library offers this rule, so it is written here; the thresholds and their sources
  are stated in :data:`CRVE_MIN_CLUSTERS`, :data:`CRVE_MIN_TREATED`,
  :data:`WILD_MIN_TREATED` and :data:`WEBB_MAX_CLUSTERS`.
* ``ClusterIndex`` (private) – rows grouped by cluster once (labels factorised, rows
  ordered by cluster), so the wild bootstrap and CR2 can reduce an N-row problem to
  per-cluster k×k sums with one pass over the data.

Thresholds (rules of thumb, deliberately conservative; each is a reading of simulation
evidence, not a theorem):

* CRVE with t(G-1) critical values is treated as reliable only with at least
  ``CRVE_MIN_CLUSTERS = 50`` clusters **and** at least ``CRVE_MIN_TREATED = 10`` treated
  and 10 untreated clusters. MacKinnon & Webb (2017) show that the "rule of 42" fails for
  unbalanced clusters and that CRVE t-tests over-reject severely when few clusters are
  treated, even with G = 50; MacKinnon & Webb (2018) and MacKinnon, Nielsen & Webb (2023)
  repeat the point for difference-in-differences.
* The restricted wild cluster bootstrap (WCR, Cameron, Gelbach & Miller 2008) is
  recommended when CRVE is unreliable but there are at least ``WILD_MIN_TREATED = 3``
  treated and 3 untreated clusters. With 1–2 treated (or untreated) clusters WCR
  under-rejects dramatically (MacKinnon & Webb 2017, 2018), and randomisation inference
  over the assignment is recommended instead (MacKinnon & Webb 2020; Conley & Taber 2011
  for the same problem).
* Webb's six-point weights are recommended when ``G <= WEBB_MAX_CLUSTERS = 11``: with
  Rademacher weights there are only 2^G sign patterns (2^(G-1) distinct |t*|), which makes
  p-values coarse (Webb 2023; Roodman, MacKinnon, Nielsen & Webb 2019).

References
----------
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
    inference with clustered errors. Review of Economics and Statistics, 90(3), 414–427.
Conley, T. G., & Taber, C. R. (2011). Inference with "difference in differences" with a
    small number of policy changes. Review of Economics and Statistics, 93(1), 113–125.
MacKinnon, J. G., & Webb, M. D. (2017). Wild bootstrap inference for wildly different
    cluster sizes. Journal of Applied Econometrics, 32(2), 233–254.
MacKinnon, J. G., & Webb, M. D. (2018). The wild bootstrap for few (treated) clusters.
    Econometrics Journal, 21(2), 114–135.
MacKinnon, J. G., & Webb, M. D. (2020). Randomization inference for
    difference-in-differences with few treated clusters. Journal of Econometrics,
    218(2), 435–450.
MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2023). Cluster-robust inference: A guide
    to empirical practice. Journal of Econometrics, 232(2), 272–299.
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild:
    Bootstrap inference in Stata using boottest. Stata Journal, 19(1), 4–60.
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
    Canadian Journal of Economics, 56(3), 839–858.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit._checks import check_choice
from evalkit.errors import DataValidationError

__all__ = [
    "ClusterOrder",
    "cluster_codes",
    "CRVE_MIN_CLUSTERS",
    "CRVE_MIN_TREATED",
    "WILD_MIN_TREATED",
    "WEBB_MAX_CLUSTERS",
    "ClusterDiagnosis",
    "diagnose_clusters",
]

CRVE_MIN_CLUSTERS = 50
"""Fewest clusters for which plain CRVE inference is reported (MacKinnon & Webb 2017)."""
CRVE_MIN_TREATED = 10
"""Fewest treated (and untreated) clusters for plain CRVE inference (MacKinnon & Webb 2017, 2018)."""
WILD_MIN_TREATED = 3
"""Fewest treated (and untreated) clusters for the wild cluster bootstrap (MacKinnon & Webb 2018)."""
WEBB_MAX_CLUSTERS = 11
"""Up to this many clusters, Webb six-point weights are recommended over Rademacher (Webb 2023)."""

Recommendation = Literal["crve", "wild_bootstrap", "randomization"]


@frozen
class ClusterDiagnosis:
    """Whether cluster-robust inference can be trusted, and what to use instead.

    Attributes
    ----------
    n_clusters, n_treated_clusters, n_control_clusters : int
        G, G1 and G0 = G - G1.
    reliable_crve : bool
        True only when plain CRVE t-tests are expected to be close to their nominal size.
    recommended : {"crve", "wild_bootstrap", "randomization"}
        The inference evalkit uses by default for this design.
    recommended_weights : {"rademacher", "webb"}
        Wild-bootstrap weight distribution to use if the wild bootstrap is used.
    message_zh, message_en : str
        One paragraph for the report (number of clusters, the verdict, the method used).
    """

    n_clusters: int
    n_treated_clusters: int
    n_control_clusters: int
    reliable_crve: bool
    recommended: Recommendation
    recommended_weights: Literal["rademacher", "webb"]
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        """The report paragraph in ``lang`` ("zh" or "en")."""
        return self.message_en if lang == "en" else self.message_zh

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        return self.message(lang)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "cluster_diagnosis",
            "n_clusters": self.n_clusters,
            "n_treated_clusters": self.n_treated_clusters,
            "n_control_clusters": self.n_control_clusters,
            "reliable_crve": self.reliable_crve,
            "recommended": self.recommended,
            "recommended_weights": self.recommended_weights,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClusterDiagnosis:
        return cls(**{k: v for k, v in d.items() if k != "kind"})


def diagnose_clusters(n_clusters: int, n_treated_clusters: int) -> ClusterDiagnosis:
    """Judge whether cluster-robust inference is reliable for G clusters, G1 of them treated.

    Parameters
    ----------
    n_clusters : int
        Number of clusters G (e.g. communities) in the estimation sample.
    n_treated_clusters : int
        Number of clusters that are ever treated (G1); 0 <= G1 <= G.

    Returns
    -------
    ClusterDiagnosis
        ``reliable_crve`` is True only if G >= 50 and both G1 and G0 = G - G1 are >= 10.
        Otherwise ``recommended`` is "wild_bootstrap" when G1 and G0 are both >= 3, and
        "randomization" when either is 1 or 2. ``recommended_weights`` is "webb" when
        G <= 11. Thresholds and sources: see the module docstring.

    Raises
    ------
    ValueError
        If the counts are not integers with 0 < G1 < G (a design without treated or
        without untreated clusters identifies no effect).

    Examples
    --------
    >>> from evalkit.inference import diagnose_clusters
    >>> d = diagnose_clusters(12, 3)
    >>> d.reliable_crve, d.recommended, d.recommended_weights
    (False, 'wild_bootstrap', 'rademacher')
    """
    g = _as_count(n_clusters, "n_clusters")
    g1 = _as_count(n_treated_clusters, "n_treated_clusters")
    if not 0 < g1 < g:
        msg = (
            f"diagnose_clusters: n_treated_clusters={g1} with n_clusters={g}; expected "
            f"0 < n_treated_clusters < n_clusters. A design needs at least one treated and one "
            f"untreated cluster; check the pilot roll-out table and the comparison group."
        )
        raise ValueError(msg)
    g0 = g - g1
    few = min(g1, g0)
    reliable = g >= CRVE_MIN_CLUSTERS and few >= CRVE_MIN_TREATED
    if reliable:
        rec: Recommendation = "crve"
    elif few >= WILD_MIN_TREATED:
        rec = "wild_bootstrap"
    else:
        rec = "randomization"
    weights: Literal["rademacher", "webb"] = "webb" if g <= WEBB_MAX_CLUSTERS else "rademacher"
    zh, en = _messages(g, g1, g0, reliable, rec, weights)
    return ClusterDiagnosis(
        n_clusters=g,
        n_treated_clusters=g1,
        n_control_clusters=g0,
        reliable_crve=reliable,
        recommended=rec,
        recommended_weights=weights,
        message_zh=zh,
        message_en=en,
    )


def _as_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"diagnose_clusters: {name} must be an integer count; found {value!r} ({type(value).__name__})."
        raise ValueError(msg)
    return int(value)


def _messages(
    g: int, g1: int, g0: int, reliable: bool, rec: Recommendation, weights: str
) -> tuple[str, str]:
    weights_zh = "Webb 六点权重" if weights == "webb" else "Rademacher 权重"
    weights_en = "Webb six-point weights" if weights == "webb" else "Rademacher weights"
    head_zh = f"本估计共有 {g} 个聚类（社区），其中处理组 {g1} 个、对照组 {g0} 个。"
    head_en = f"This estimate has {g} clusters (communities): {g1} treated and {g0} untreated."
    if reliable:
        return (
            head_zh + "聚类数量和处理组聚类数量均足够，采用常规聚类稳健标准误（CRVE）进行推断。",
            head_en + " Both numbers are large enough for conventional cluster-robust (CRVE) inference,"
            " which is used.",
        )
    why_zh = (
        f"聚类数少于 {CRVE_MIN_CLUSTERS} 个" if g < CRVE_MIN_CLUSTERS else f"处理组或对照组聚类少于 {CRVE_MIN_TREATED} 个"
    )
    why_en = (
        f"fewer than {CRVE_MIN_CLUSTERS} clusters"
        if g < CRVE_MIN_CLUSTERS
        else f"fewer than {CRVE_MIN_TREATED} treated or untreated clusters"
    )
    if rec == "wild_bootstrap":
        return (
            head_zh + f"由于{why_zh}，常规聚类稳健标准误的 p 值偏小、不可靠（MacKinnon & Webb 2017），"
            f"报告不采用；改用施加原假设的野聚类自助法（WCR，{weights_zh}）计算 p 值和置信区间。",
            head_en + f" With {why_en}, conventional cluster-robust p-values are too small to be trusted"
            f" (MacKinnon & Webb 2017) and are not reported; p-values and confidence intervals come from"
            f" the restricted wild cluster bootstrap (WCR, {weights_en}).",
        )
    return (
        head_zh + f"处理组或对照组仅有 {min(g1, g0)} 个聚类，常规聚类稳健标准误和野聚类自助法均不可靠"
        "（MacKinnon & Webb 2018），报告改用基于试点分配的随机化推断（置换检验）；"
        "其有效性依赖于处理组与对照组社区可比。",
        head_en + f" Only {min(g1, g0)} treated or untreated clusters: neither cluster-robust standard errors"
        " nor the wild cluster bootstrap are reliable (MacKinnon & Webb 2018), so inference uses"
        " randomisation inference over the pilot assignment, which assumes treated and comparison"
        " communities are comparable.",
    )


# ---- cluster codes ------------------------------------------------------------------------------

ClusterOrder = Literal["appearance", "sorted", "string_sorted"]


def cluster_codes(values: Any, *, order: ClusterOrder = "appearance",
                  where: str = "cluster_codes") -> np.ndarray:
    """Integer codes 0..G−1 of cluster labels, one per row.

    ``order`` fixes which cluster gets which code (and so which bootstrap weight or
    permuted label, when those are assigned by code):

    * ``"appearance"`` – labels compared as strings (evalkit's convention: community ids are
      strings, so ``1`` and ``"1"`` are one community), numbered in order of first
      appearance. Numeric labels are factorised as they are (distinct numbers are distinct
      strings) and a sorted integer column is numbered by its runs without hashing; other
      labels are factorised first and only the distinct ones converted to strings.
    * ``"sorted"`` – labels numbered in sorted order of their values (``pd.factorize(...,
      sort=True)``); the order of the wild bootstrap and CR2.
    * ``"string_sorted"`` – labels numbered in sorted order of their string forms; the order
      of the staggered estimator's bootstrap and permutations.

    Raises
    ------
    DataValidationError
        A label is missing.
    """
    check_choice("order", order, ClusterOrder, where=where)
    ser = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    arr = ser.to_numpy()
    if order == "sorted":
        codes = pd.factorize(arr, sort=True)[0]
    elif order == "appearance" and arr.dtype.kind in "iuf":
        if len(arr) > 1 and arr.dtype.kind in "iu" and ser.is_monotonic_increasing:
            codes = np.empty(len(arr), dtype=np.intp)
            codes[0] = 0
            np.cumsum(arr[1:] != arr[:-1], out=codes[1:])
            return codes
        codes = pd.factorize(arr)[0]
    else:
        codes, uniques = pd.factorize(ser)
        if order == "appearance":
            recode = pd.factorize(pd.Index(uniques).astype(str))[0]  # equal as strings: one code
        elif uniques.dtype.kind in "iu":  # numpy formats integers as str() does, and sorts faster
            recode = np.unique(np.asarray(uniques).astype(str), return_inverse=True)[1]
        else:
            recode = pd.factorize(pd.Index(uniques).astype(str), sort=True)[0]
        codes = np.where(codes >= 0, recode[codes], -1)
    if len(codes) and codes.min() < 0:
        bad = np.flatnonzero(codes < 0)
        msg = (f"{where}: cluster has {bad.size} missing labels (rows {_rows(bad)}, counted from "
               f"1); expected a label on every row. Drop those rows or fill in their community id.")
        raise DataValidationError(msg)
    return codes.astype(np.intp, copy=False)


# ---- grouping rows by cluster (private, shared by wild_bootstrap and cr2) ---------------------


@frozen(eq=False)
class ClusterIndex:
    """Rows grouped by cluster: ``order`` sorts rows by cluster, ``bounds[g]:bounds[g+1]``.

    Cluster g is the g-th distinct label in sorted order (:func:`cluster_codes` with
    ``order="sorted"``), so results do not depend on row order.
    """

    n_clusters: int
    codes: np.ndarray
    order: np.ndarray | None  # None when rows are already sorted by cluster
    bounds: np.ndarray

    def take(self, a: np.ndarray) -> np.ndarray:
        """``a`` (rows first) reordered so that each cluster's rows are contiguous."""
        return a if self.order is None else np.take(a, self.order, axis=0)  # faster than a[order]

    def slices(self) -> list[slice]:
        b = self.bounds
        return [slice(int(b[g]), int(b[g + 1])) for g in range(len(b) - 1)]


def index_clusters(cluster: Any, n_rows: int, *, where: str) -> ClusterIndex:
    """Factorise ``cluster`` (any labels) and group rows; raises on missing labels or length."""
    arr = np.asarray(cluster)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        msg = (
            f"{where}: cluster has shape {arr.shape}; expected one label per row ({n_rows},). "
            f"Pass the community id column of the estimation sample."
        )
        raise DataValidationError(msg)
    codes = cluster_codes(arr, order="sorted", where=where)
    g = int(codes.max()) + 1 if n_rows else 0
    small = codes.astype(np.int16 if g < 2**15 else np.int32, copy=False)
    if n_rows < 2 or bool(np.all(small[1:] >= small[:-1])):
        order = None
        sorted_codes = small
    else:
        order = np.argsort(small, kind="stable")  # radix sort for 16-bit codes
        sorted_codes = small[order]
    bounds = np.searchsorted(sorted_codes, np.arange(g + 1), side="left")
    return ClusterIndex(n_clusters=g, codes=codes, order=order, bounds=bounds)


def _rows(idx: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i) + 1) for i in idx[:limit])
    return shown + (", ..." if idx.size > limit else "")
