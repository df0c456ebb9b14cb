"""Designs for the cases a difference-in-differences cannot serve.

* matching and weighting on baseline covariates (:func:`match_nearest`, :func:`ipw`,
  :func:`aipw`, :func:`entropy_balance`) with balance diagnostics;
* :func:`multilevel_model` (residents in communities), a general :func:`ordered_logit`,
  :func:`pre_post` within pilots (the weakest design), :func:`linear_regression` with the
  usual covariance choices by name;
* :func:`synthetic_control`, :func:`synthetic_did` – one showcase pilot (or a few pilots
  starting together) against a weighted combination of comparison communities, with
  placebo-in-space inference; :func:`community_panel` builds their community × wave input
  from resident survey data.

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
from evalkit.designs.synthetic import (SyntheticControlResult, SyntheticDiDResult, community_panel,
                                       synthetic_control, synthetic_did)
from evalkit.designs.weighting import aipw, entropy_balance, ipw

__all__ = [
    "aipw",
    "balance_table",
    "community_panel",
    "entropy_balance",
    "fit_propensity",
    "greedy_pairs",
    "ipw",
    "linear_regression",
    "love_plot",
    "match_nearest",
    "multilevel_model",
    "ordered_logit",
    "pre_post",
    "synthetic_control",
    "synthetic_did",
    "DesignCaveat",
    "DesignResult",
    "MatchingResult",
    "MultilevelResult",
    "OrderedLogitResult",
    "PrePostResult",
    "PropensityFit",
    "RegressionResult",
    "SyntheticControlResult",
    "SyntheticDiDResult",
    "WeightingResult",
]
