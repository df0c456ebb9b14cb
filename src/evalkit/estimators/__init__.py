"""Impact estimators: 2×2 DiD, TWFE with the Goodman-Bacon diagnostic, Callaway–Sant'Anna
staggered DiD, subgroup and many-outcome analyses, ordered-logit check.

Every estimator returns a frozen result (see :mod:`evalkit.estimators.results`) that carries
the number of clusters and treated clusters and the inference chosen by the few-clusters
policy (:mod:`evalkit.estimators.guardrails`). Re-exports only; no logic lives here.
"""

from __future__ import annotations

from evalkit.estimators.did import did
from evalkit.estimators.guardrails import decide_inference
from evalkit.estimators.heterogeneity import klk_index, multiple_outcomes, romano_wolf, subgroup_effects
from evalkit.estimators.sensitivity import TrendSensitivityResult, parallel_trends_sensitivity
from evalkit.estimators.ordinal import ordered_logit_did
from evalkit.estimators.results import (DiDResult, ImpactResult, InferenceRecord,
                                        MultipleOutcomesResult, OrdinalResult, Spec,
                                        StaggeredResult, SubgroupResult, TWFEResult)
from evalkit.estimators.staggered import did_staggered
from evalkit.estimators.twfe import first_treated_period, twfe

__all__ = [
    "did",
    "did_staggered",
    "twfe",
    "first_treated_period",
    "subgroup_effects",
    "multiple_outcomes",
    "klk_index",
    "parallel_trends_sensitivity",
    "TrendSensitivityResult",
    "romano_wolf",
    "ordered_logit_did",
    "decide_inference",
    "ImpactResult",
    "DiDResult",
    "TWFEResult",
    "StaggeredResult",
    "SubgroupResult",
    "MultipleOutcomesResult",
    "OrdinalResult",
    "InferenceRecord",
    "Spec",
]
