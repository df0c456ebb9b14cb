"""Designs for the cases a difference-in-differences cannot serve: matching and weighting on
baseline covariates, multilevel models, a general ordered logit, pre-post within pilots, and
linear regression with the usual covariance choices by name.

Re-exports only; no logic lives here.
"""

from __future__ import annotations

from evalkit.designs.balance import balance_table, love_plot
from evalkit.designs.matching import greedy_pairs, match_nearest
from evalkit.designs.multilevel import multilevel_model
from evalkit.designs.ordered_logit import ordered_logit
from evalkit.designs.prepost import pre_post
from evalkit.designs.propensity import PropensityFit, fit_propensity
from evalkit.designs.regression import linear_regression
from evalkit.designs.results import (DesignCaveat, DesignResult, MatchingResult, MultilevelResult,
                                     OrderedLogitResult, PrePostResult, RegressionResult,
                                     WeightingResult)
from evalkit.designs.weighting import aipw, entropy_balance, ipw

__all__ = [
    "aipw",
    "balance_table",
    "entropy_balance",
    "ipw",
    "fit_propensity",
    "greedy_pairs",
    "linear_regression",
    "love_plot",
    "match_nearest",
    "multilevel_model",
    "ordered_logit",
    "pre_post",
    "PropensityFit",
    "DesignCaveat",
    "DesignResult",
    "MatchingResult",
    "MultilevelResult",
    "OrderedLogitResult",
    "PrePostResult",
    "RegressionResult",
    "WeightingResult",
]
