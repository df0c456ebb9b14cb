"""One inference toolbox: covariance estimators by name (``vcov``), cluster coding
(``cluster_codes``), bootstrap weights (``draw_weights``), the wild cluster bootstrap (and its
joint t statistics for Romano–Wolf), CR2, randomisation inference, the few-clusters diagnosis.

Re-exports the public API by name; no logic lives here.
"""

from __future__ import annotations

from evalkit.inference.clusters import ClusterDiagnosis, cluster_codes, diagnose_clusters
from evalkit.inference.covariance import Covariance, register_covariance, vcov, vcov_kinds
from evalkit.inference.cr2 import cr2_vcov
from evalkit.inference.draws import draw_weights
from evalkit.inference.randomization import CohortPermutation, RIResult, permute_cohorts, randomization_inference
from evalkit.inference.wild_bootstrap import WildBootstrapResult, wild_bootstrap_t, wild_cluster_bootstrap

__all__ = [
    "ClusterDiagnosis",
    "Covariance",
    "cluster_codes",
    "vcov",
    "vcov_kinds",
    "draw_weights",
    "register_covariance",
    "wild_bootstrap_t",
    "CohortPermutation",
    "RIResult",
    "WildBootstrapResult",
    "cr2_vcov",
    "diagnose_clusters",
    "permute_cohorts",
    "randomization_inference",
    "wild_cluster_bootstrap",
]
