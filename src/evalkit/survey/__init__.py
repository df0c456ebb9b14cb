"""Design-based survey inference: weighted means and proportions with Taylor-linearised SEs, and ICCs.

Conventions (clustering, strata, FPC, degrees of freedom, domains) are stated
in :mod:`evalkit.survey.design` and :mod:`evalkit.survey.estimates`; the ICC
estimators in :mod:`evalkit.survey.icc`.
"""

from __future__ import annotations

from evalkit.survey.design import SurveyDesign
from evalkit.survey.estimates import SurveyEstimates, survey_means, survey_proportions
from evalkit.survey.icc import ICCResult, icc

__all__ = ["ICCResult", "SurveyDesign", "SurveyEstimates", "icc", "survey_means", "survey_proportions"]
