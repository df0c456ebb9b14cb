"""The few-clusters policy every impact estimate goes through.

Pilots often have 3–10 treated communities out of 10–60. Plain cluster-robust (CRVE)
p-values over-reject badly then (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017),
so every estimator in :mod:`evalkit.estimators`:

1. counts the clusters and the treated clusters of the estimate;
2. asks :func:`evalkit.inference.diagnose_clusters` whether CRVE is reliable and which
   inference it recommends (``crve``, ``wild_bootstrap`` or ``randomization``);
3. uses the recommended inference when the user asks for ``"auto"`` (the default), and
   *refuses* an explicitly requested CRVE when it is unreliable: the CRVE standard error is
   still reported (as a descriptive number) but the p-value and the interval come from the
   recommended method, and the result says so in Chinese and English.

When CRVE is reliable evalkit uses CR2 with Bell–McCaffrey degrees of freedom (Bell &
McCaffrey 2002; Pustejovsky & Tipton 2018) rather than CR1, because it is never worse.

This module owns the decision and its wording only; the inference itself lives in
:mod:`evalkit.inference`.
"""

from __future__ import annotations

import warnings
from typing import Literal, get_args

import numpy as np
import pandas as pd

from evalkit._checks import check_choice
from evalkit.errors import DataValidationError, SmallSampleWarning
from evalkit.estimators.results import InferenceRecord

__all__ = ["InferenceRequest", "INFERENCE_REQUESTS", "count_clusters", "decide_inference"]

InferenceRequest = Literal["auto", "cr2", "cr1", "wild_bootstrap", "randomization"]
INFERENCE_REQUESTS: tuple[str, ...] = get_args(InferenceRequest)

_CRVE = ("cr2", "cr1")


def count_clusters(cluster: pd.Series, treated: pd.Series) -> tuple[int, int]:
    """Number of clusters and of clusters with at least one treated observation.

    ``treated`` is the ever-treated indicator of each row (truthy = treated). A cluster that
    mixes treated and untreated rows counts as treated.
    """
    if cluster.isna().any():
        rows = [int(i) + 1 for i in np.flatnonzero(cluster.isna().to_numpy())[:5]]
        msg = (f"cluster column {cluster.name!r} has {int(cluster.isna().sum())} missing values "
               f"(data rows {rows} …); every row needs its community. Drop or fill those rows.")
        raise DataValidationError(msg)
    by = pd.DataFrame({"c": cluster.to_numpy(), "t": np.asarray(treated, dtype=bool)})
    per = by.groupby("c", sort=False)["t"].any()
    return int(per.size), int(per.sum())


def _reasons(diag: object, method: str, requested: str) -> tuple[str, ...]:
    """Reason codes of the decision (sentences: evalkit.reporting.notes.inference_message)."""
    from evalkit.inference.clusters import CRVE_MIN_CLUSTERS

    out: list[str] = []
    if diag.reliable_crve:  # type: ignore[attr-defined]
        out.append("crve_reliable")
    else:
        out.append("few_clusters" if diag.n_clusters < CRVE_MIN_CLUSTERS  # type: ignore[attr-defined]
                   else "few_treated_or_untreated")
        if diag.recommended == "randomization":  # type: ignore[attr-defined]
            out.append("too_few_for_wild")
    if requested in _CRVE and method not in _CRVE:
        out.append("crve_request_refused")
    elif requested not in (method, "auto"):
        out.append("as_requested")
    return tuple(out)


def decide_inference(n_clusters: int, n_treated_clusters: int, requested: str = "auto", *,
                     draws: int | None = None, seed: int | None = None,
                     randomization_possible: bool = True) -> InferenceRecord:
    """Decide the inference for one estimate under the few-clusters policy.

    Parameters
    ----------
    n_clusters, n_treated_clusters
        Clusters (communities) in the estimation sample and how many of them are treated.
    requested
        ``"auto"`` (follow :func:`evalkit.inference.diagnose_clusters`), ``"cr2"``, ``"cr1"``,
        ``"wild_bootstrap"`` or ``"randomization"``. A requested CRVE that the diagnosis
        calls unreliable is replaced by the recommended method.
    randomization_possible
        False when the design offers no assignment to permute (then the wild bootstrap is
        used instead of randomisation inference).

    Returns
    -------
    InferenceRecord
        The method used, the counts, and a message in Chinese and English.
    """
    check_choice("inference", requested, InferenceRequest)
    if n_clusters < 2:
        msg = (f"only {n_clusters} cluster(s): no cluster-robust inference is possible. "
               "Check the cluster column (it should be the community id).")
        raise DataValidationError(msg)
    from evalkit.inference import diagnose_clusters

    diag = diagnose_clusters(int(n_clusters), int(n_treated_clusters))
    recommended = {"crve": "cr2"}.get(diag.recommended, diag.recommended)
    if recommended == "randomization" and not randomization_possible:
        recommended = "wild_bootstrap"
    if requested == "auto":
        method = recommended
    elif requested in _CRVE:
        method = requested if diag.reliable_crve else recommended
    else:
        method = requested
        if method == "randomization" and not randomization_possible:
            msg = ("randomisation inference needs a treatment assignment to permute "
                   "(a treated indicator that is constant within each cluster); use "
                   "inference='wild_bootstrap' or 'auto'.")
            raise ValueError(msg)
    if method == "wild_bootstrap" and not diag.reliable_crve and recommended != "wild_bootstrap":
        warnings.warn(f"{diag.n_clusters} clusters, {diag.n_treated_clusters} treated: the wild cluster "
                      "bootstrap is itself unreliable with 1-2 treated or untreated clusters "
                      "(MacKinnon & Webb 2018).", SmallSampleWarning, stacklevel=3)
    resampling = method in ("wild_bootstrap", "randomization")
    return InferenceRecord(
        method=method, requested=requested, n_clusters=int(n_clusters),
        n_treated_clusters=int(n_treated_clusters), reliable_crve=bool(diag.reliable_crve),
        reasons=_reasons(diag, method, requested),
        draws=draws if resampling else None, seed=seed if resampling else None,
        weight_type=diag.recommended_weights if method == "wild_bootstrap" else None,
    )
