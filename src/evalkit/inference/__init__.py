"""Inference that holds with few clusters: wild cluster bootstrap, CR2, randomisation inference.

Re-exports the public API by name; no logic lives here.
"""

from __future__ import annotations

from evalkit.inference.clusters import ClusterDiagnosis, diagnose_clusters
from evalkit.inference.cr2 import cr2_vcov
from evalkit.inference.randomization import CohortPermutation, RIResult, permute_cohorts, randomization_inference
from evalkit.inference.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap

__all__ = [
    "ClusterDiagnosis",
    "CohortPermutation",
    "RIResult",
    "WildBootstrapResult",
    "cr2_vcov",
    "diagnose_clusters",
    "permute_cohorts",
    "randomization_inference",
    "wild_cluster_bootstrap",
]
