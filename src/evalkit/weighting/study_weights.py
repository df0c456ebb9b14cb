"""Raked survey weights for a whole study, for estimators that take a weight column.

:func:`raked_survey` scores the study's survey and rakes each community-wave to the
population table's margins (age band × gender × hukou), exactly as
:func:`evalkit.measure` does for the weighted means, so the impact estimates and the
measurement report use the same weights. Respondents a group's raking could not weight
(a margin level with no respondents, see :func:`evalkit.weighting.rake`) get weight 0: they
stay in the data, count in N, and do not move a weighted estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evalkit.errors import ConfigError
from evalkit.scales import score
from evalkit.weighting.margins import age_band
from evalkit.weighting.rake import rake

__all__ = ["WEIGHT_COLUMN", "raked_survey"]

#: The weight column :func:`raked_survey` adds.
WEIGHT_COLUMN = "weight"


def raked_survey(study: object, *, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
    """The scored survey with raked weights in column ``weight`` (0 where raking left a respondent out).

    Raises
    ------
    ConfigError
        When the study has no ``population`` table to rake to.
    """
    population = study.tables.get("population")  # type: ignore[attr-defined]
    if population is None:
        msg = (f"{study.config.path}: weights: raked needs the population table (data.population) "  # type: ignore[attr-defined]
               "with the margins to rake to; add it or set weights: none")
        raise ConfigError(msg)
    outcomes = list(outcomes or study.config.outcomes)  # type: ignore[attr-defined]
    scored = score(study.tables["survey"], study.codebook, constructs=outcomes)  # type: ignore[attr-defined]
    if "age_band" not in scored.columns and "age" in scored.columns:  # as evalkit.measure derives it
        scored["age_band"] = age_band(scored["age"])
    result = rake(scored, population, by=["community_id", "wave"], on_missing="exclude", empty_cells="drop")
    return scored.assign(**{WEIGHT_COLUMN: result.weights.reindex(scored.index).fillna(0.0).to_numpy()})
