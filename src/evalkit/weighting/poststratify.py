"""Post-stratification of survey weights to joint population cells.

Owns: :func:`poststratify`. Within each group (community, or community ×
wave), every respondent's weight is multiplied by N_c / Σ_{i∈c} d_i, where N_c
is the population of the respondent's joint cell (age band × gender × hukou)
and d the base weights, so weighted cell totals equal the population exactly
(Holt & Smith 1979; ``survey::postStratify``).

Post-stratification needs respondents in every populated cell; with 12 cells
and a few dozen respondents per community-wave some cells are often empty, and
the function then stops, naming the cells — :func:`~evalkit.weighting.rake.rake`
needs only the margins and is usually the right choice there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit._checks import as_list, check_choice
from evalkit.weighting.margins import OnMissing, prepare_groups, targets_from_population
from evalkit.weighting.rake import DEFAULT_VARIABLES
from evalkit.weighting.result import WeightingResult, WeightingSpec, build_weighting_result

__all__ = ["poststratify"]


def poststratify(
    data: pd.DataFrame,
    population: pd.DataFrame,
    *,
    cells: Sequence[str] = DEFAULT_VARIABLES,
    by: str | Sequence[str] | None = "community_id",
    weights: str | None = None,
    population_col: str = "population",
    on_missing: OnMissing = "error",
) -> WeightingResult:
    """Post-stratify weights to the joint population cells, within each group.

    Parameters
    ----------
    data
        Respondents with the ``cells`` and ``by`` columns.
    population
        Joint population table with ``cells``, the keys among ``by`` and ``population_col``.
    cells
        Variables whose combinations form the post-strata.
    by
        Grouping columns (those in ``population`` select the targets).
    weights
        Base-weight column; default equal weights.
    population_col
        Column of population counts.
    on_missing
        ``"error"`` or ``"exclude"`` respondents missing a cell variable.

    Returns
    -------
    WeightingResult

    Raises
    ------
    DataValidationError
        A populated cell has no respondents, or respondents fall in a cell
        with no population.

    Examples
    --------
    >>> w = poststratify(survey, population, by="community_id")  # doctest: +SKIP
    >>> # R: survey::postStratify(design, ~age_band + gender + hukou, pop_table)
    """
    check_choice("on_missing", on_missing, OnMissing)
    by_cols = as_list(by)
    cells = list(cells)
    keys = [c for c in by_cols if c in population.columns]
    targets = targets_from_population(population, variables=cells, keys=keys, population_col=population_col,
                                      joint=True)
    prep = prepare_groups(data, targets, variables=cells, by=by_cols, weights=weights,
                          population_col=population_col, on_missing=on_missing, joint=True)
    code, tgt = prep.codes["cell"], prep.target["cell"]
    tot = np.bincount(code, weights=prep.base, minlength=tgt.size)
    w = prep.base * (tgt / tot)[code]
    n_groups = len(prep.group_keys)
    spec = WeightingSpec(method="poststratify", variables=tuple(cells), by=tuple(by_cols), base_weights=weights,
                         on_missing=on_missing)
    achieved = np.bincount(code, weights=w, minlength=tgt.size)
    rel = np.divide(np.abs(achieved - tgt), tgt, out=np.zeros_like(tgt), where=tgt > 0)
    err = np.zeros(n_groups)
    np.maximum.at(err, np.arange(tgt.size) // len(prep.levels["cell"]), rel)
    notes = ((f"{prep.n_excluded} respondent(s) excluded (missing a cell variable); weight NA",)
             if prep.n_excluded else ())
    return build_weighting_result(
        data, included=prep.included, weights=w, group=prep.group, group_keys=prep.group_keys, targets=targets,
        spec=spec, iterations=np.ones(n_groups, dtype=np.int64), converged=np.ones(n_groups, dtype=bool),
        max_rel_error=err, n_capped=np.zeros(n_groups, dtype=np.int64), population_col=population_col,
        notes=notes,
    )
