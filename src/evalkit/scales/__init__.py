"""Measurement: construct scores, reliability (α, ω, item analysis), EFA check, summary index.

Public API re-exported by name; the conventions are stated in each module's
docstring (scoring: reverse coding and the partial-response rule;
reliability: deletion, CI and ω; efa: extraction and rotation;
anderson_index: Anderson 2008 inverse-covariance weighted; the equal-weight
Kling–Liebman–Katz index is evalkit.estimators.klk_index).
"""

from __future__ import annotations

from evalkit.scales.efa import EFAResult, efa
from evalkit.scales.reliability import (
    ReliabilityResult,
    ReliabilitySpec,
    cronbach_alpha,
    feldt_ci,
    item_reliability,
    omega_total,
    reliability,
)
from evalkit.scales.scoring import item_frame, score
from evalkit.scales.anderson_index import AndersonIndexResult, anderson_index

__all__ = [
    "EFAResult",
    "ReliabilityResult",
    "ReliabilitySpec",
    "AndersonIndexResult",
    "cronbach_alpha",
    "efa",
    "feldt_ci",
    "item_frame",
    "item_reliability",
    "omega_total",
    "reliability",
    "score",
    "anderson_index",
]
