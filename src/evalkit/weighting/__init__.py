"""Survey weights: post-stratification, raking (IPF), trimming and their diagnostics.

One module per method (poststratify, rake, trim) plus diagnostics (Kish
design effect, effective sample size, margin checks); conventions in each
module's docstring.
"""

from __future__ import annotations

from evalkit.weighting.diagnostics import effective_sample_size, kish_deff, margin_table, weight_diagnostics
from evalkit.weighting.margins import AGE_BANDS, age_band
from evalkit.weighting.poststratify import poststratify
from evalkit.weighting.rake import rake
from evalkit.weighting.result import WeightingResult, WeightingSpec
from evalkit.weighting.study_weights import raked_survey
from evalkit.weighting.trim import trim_weights

__all__ = [
    "AGE_BANDS",
    "WeightingResult",
    "WeightingSpec",
    "age_band",
    "effective_sample_size",
    "kish_deff",
    "margin_table",
    "poststratify",
    "rake",
    "raked_survey",
    "trim_weights",
    "weight_diagnostics",
]
