"""Raking (iterative proportional fitting) of survey weights to population margins.

Owns: :func:`rake`. Each weighting group (by default each community; with
``by=["community_id", "wave"]`` each community's wave) is raked to its own
population margins, e.g. age band, gender and hukou from the community
registry.

Algorithm and conventions
-------------------------
* IPF (Deming & Stephan 1940): starting from the base weights (1 if none),
  each sweep multiplies the weights of every margin level by
  target / current weighted total, margin after margin.
* Convergence: after a sweep, the largest relative margin error
  |achieved - target| / target over all margins of a group must be below
  ``tol`` (default 1e-6). Groups that have not converged after ``max_iter``
  sweeps raise :class:`~evalkit.errors.ConvergenceError` (never a silent
  half-raked weight).
* ``bounds=(lo, hi)``: capped raking; after every sweep weights are clipped to
  [lo, hi] × the group's mean weight, so no respondent counts more than
  ``hi`` times the average. Convergence then requires both the margins and the
  bounds; infeasible bounds end in ``ConvergenceError``. Caps still binding at
  the end raise one :class:`~evalkit.errors.WeightTrimmingWarning`.
* Weights are expansion weights: they sum to the group's population. Targets
  from a joint table are its margins; separate marginal tables must agree on
  the total.
* Respondents missing a calibration variable raise, or with
  ``on_missing="exclude"`` get NA weight.
* Sparse groups (``empty_cells="drop"``): a variable is left out of a
  group's raking when a populated level has no respondents there, or when
  the group's sample cannot meet all margins at once; ``notes`` list them.

All groups are raked at once with ``numpy.bincount`` (one vector pass per
margin), so a province's thousands of community-waves take seconds. The
algorithm is short and the maintained Python survey packages are archived,
GPL or polars-only (see DEPENDENCIES.md), hence evalkit's own code, checked
against ``survey::rake`` on the ``api`` data.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.errors import ConvergenceError, WeightTrimmingWarning
from evalkit._checks import as_list, check_choice
from evalkit.weighting.margins import (
    EmptyCells,
    OnMissing,
    Population,
    PreparedGroups,
    prepare_groups,
    targets_from_population,
)
from evalkit.weighting.result import WeightingResult, WeightingSpec, build_weighting_result

__all__ = ["rake", "DEFAULT_VARIABLES"]

#: calibration variables of the population table (datamodel POPULATION_MARGINS)
DEFAULT_VARIABLES: tuple[str, ...] = ("age_band", "gender", "hukou")


def _group_max(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros(n_groups)
    np.maximum.at(out, group, values)
    return out


def _level_support(prep: PreparedGroups, var: str, n_groups: int) -> np.ndarray:
    """Per group: min over populated levels of (respondent share / population share)."""
    n_lv = len(prep.levels[var])
    code, tgt = prep.codes[var], prep.target[var]
    have = np.bincount(code, minlength=tgt.size).astype(float)
    g_of = np.arange(tgt.size) // n_lv
    n_g = np.bincount(g_of, weights=have, minlength=n_groups)
    t_g = np.bincount(g_of, weights=tgt, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tgt > 0, (have / n_g[g_of]) / (tgt / t_g[g_of]), np.inf)
    out = np.full(n_groups, np.inf)
    np.minimum.at(out, g_of, ratio)
    return out


def _ipf(
    prep: PreparedGroups, variables: Sequence[str], dropped: dict[str, np.ndarray], *,
    bounds: tuple[float, float] | None, max_iter: int, tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised IPF over all groups: weights, sweeps to convergence, converged flags, max relative errors."""
    n_groups = len(prep.group_keys)
    group = prep.group
    n_per_group = np.bincount(group, minlength=n_groups).astype(float)
    w = prep.base.astype(float).copy()
    # groups where every variable is left out: scale to the population total only
    none_active = np.all([dropped[v] for v in variables], axis=0)
    if none_active.any():
        tot = np.bincount(group, weights=w, minlength=n_groups)
        w *= np.where(none_active, prep.group_total / np.maximum(tot, 1e-300), 1.0)[group]
    iterations = np.full(n_groups, max_iter, dtype=np.int64)
    converged = np.zeros(n_groups, dtype=bool)
    err = np.full(n_groups, np.inf)
    for it in range(1, max_iter + 1):
        for var in variables:
            code, tgt = prep.codes[var], prep.target[var]
            tot = np.bincount(code, weights=w, minlength=tgt.size)
            factor = np.divide(tgt, tot, out=np.ones_like(tgt), where=tot > 0)
            factor[np.repeat(dropped[var], len(prep.levels[var]))] = 1.0
            w *= factor[code]
        if bounds is not None:
            mean = np.bincount(group, weights=w, minlength=n_groups) / n_per_group
            w = np.clip(w, bounds[0] * mean[group], bounds[1] * mean[group])
        err = np.zeros(n_groups)
        for var in variables:
            code, tgt = prep.codes[var], prep.target[var]
            n_lv = len(prep.levels[var])
            tot = np.bincount(code, weights=w, minlength=tgt.size)
            rel = np.divide(np.abs(tot - tgt), tgt, out=np.zeros_like(tgt), where=tgt > 0)
            rel[np.repeat(dropped[var], n_lv)] = 0.0
            err = np.maximum(err, _group_max(rel, np.arange(tgt.size) // n_lv, n_groups))
        newly = (err < tol) & ~converged
        iterations[newly] = it
        converged |= err < tol
        if converged.all():
            break
    return w, iterations, converged, err


def rake(
    data: pd.DataFrame,
    population: Population,
    *,
    variables: Sequence[str] = DEFAULT_VARIABLES,
    by: str | Sequence[str] | None = "community_id",
    weights: str | None = None,
    population_col: str = "population",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    on_missing: OnMissing = "error",
    empty_cells: EmptyCells = "error",
) -> WeightingResult:
    """Rake weights to population margins, separately within each group.

    Parameters
    ----------
    data
        Respondents with the calibration ``variables`` and ``by`` columns.
    population
        Joint population table (``community_id, age_band, gender, hukou,
        population``) or a mapping variable → marginal table.
    variables
        Calibration variables (margins), default age band, gender, hukou.
    by
        Grouping columns; those present in ``population`` select the targets
        (e.g. ``["community_id", "wave"]`` rakes every wave to its community's
        margins). ``None`` rakes the whole sample to one set of margins.
    weights
        Column of base (design) weights; default equal weights.
    population_col
        Column of population counts.
    bounds
        Optional ``(lo, hi)`` caps relative to the group's mean weight, e.g. ``(0.2, 5)``.
    max_iter, tol
        Sweeps allowed and the relative margin error that counts as converged.
    on_missing
        ``"error"`` (default) or ``"exclude"`` respondents missing a variable.
    empty_cells
        ``"error"`` (default) when a populated level of a variable has no
        respondents in a group, or ``"drop"``: leave that variable out of that
        group's raking (its other margins still hold) and say so in ``notes``.
        ``"drop"`` also handles margins a sparse group cannot meet together
        (IPF does not converge): the variable whose sparsest level the sample
        supports least (respondent share / population share) is left out and
        the group raked again.

    Returns
    -------
    WeightingResult
        ``.weights`` aligned with ``data``; ``.apply(data)`` adds them as a column.

    Raises
    ------
    ConvergenceError
        Some group did not converge within ``max_iter`` sweeps.
    DataValidationError
        A respondent's level is absent from the population, a populated
        level has no respondents, or margins disagree on the total.

    Examples
    --------
    >>> w = rake(survey, population, by=["community_id", "wave"])  # doctest: +SKIP
    >>> # R: survey::rake(design, list(~age_band, ~gender, ~hukou), list(pop_age, pop_gender, pop_hukou))
    """
    check_choice("on_missing", on_missing, OnMissing)
    check_choice("empty_cells", empty_cells, EmptyCells)
    by_cols = as_list(by)
    variables = list(variables)
    if bounds is not None and not (0 <= bounds[0] < 1 < bounds[1]):
        msg = f"bounds={bounds!r}: need lo < 1 < hi relative to the mean weight, e.g. (0.2, 5)"
        raise ValueError(msg)
    if isinstance(population, pd.DataFrame):
        keys = [c for c in by_cols if c in population.columns]
    else:
        first = next(iter(population.values()))
        keys = [c for c in by_cols if c in first.columns]
    targets = targets_from_population(population, variables=variables, keys=keys, population_col=population_col)
    prep = prepare_groups(data, targets, variables=variables, by=by_cols, weights=weights,
                          population_col=population_col, on_missing=on_missing, empty=empty_cells)
    n_groups = len(prep.group_keys)
    group = prep.group
    dropped = {v: prep.dropped[v].copy() for v in variables}
    w, iterations, converged, err = _ipf(prep, variables, dropped, bounds=bounds, max_iter=max_iter, tol=tol)
    infeasible = {v: np.zeros(n_groups, dtype=bool) for v in variables}
    if empty_cells == "drop":
        # margins a group's sample cannot reach together: leave out the variable whose level the
        # sample supports least (respondent share / population share), then rake again
        support = {v: _level_support(prep, v, n_groups) for v in variables}
        for _ in range(len(variables)):
            bad = np.flatnonzero(~converged)
            if bad.size == 0:
                break
            for g in bad:
                active = [v for v in variables if not dropped[v][g]]
                if active:
                    worst = min(active, key=lambda v: support[v][g])
                    dropped[worst][g] = True
                    infeasible[worst][g] = True
            w, iterations, converged, err = _ipf(prep, variables, dropped, bounds=bounds, max_iter=max_iter, tol=tol)
    n_capped = np.zeros(n_groups, dtype=np.int64)
    if bounds is not None:
        mean = np.bincount(group, weights=w, minlength=n_groups) / np.bincount(group, minlength=n_groups)
        at_bound = (w <= bounds[0] * mean[group] * (1 + 1e-9)) | (w >= bounds[1] * mean[group] * (1 - 1e-9))
        n_capped = np.bincount(group, weights=at_bound.astype(float), minlength=n_groups).astype(np.int64)
    spec = WeightingSpec(method="rake", variables=tuple(variables), by=tuple(by_cols), base_weights=weights,
                         bounds=bounds, max_iter=max_iter, tol=tol, on_missing=on_missing,
                         empty_cells=empty_cells)
    if not converged.all():
        bad = np.flatnonzero(~converged)
        shown = "; ".join(
            (", ".join(f"{c}={prep.group_keys.iloc[g][c]}" for c in by_cols) or "all")
            + f" (max relative margin error {err[g]:.2g})" for g in bad[:5]
        )
        fix = ("widen bounds or collapse categories" if bounds is not None
               else "raise max_iter, or collapse sparse categories")
        msg = (f"raking did not converge in {max_iter} sweeps for {len(bad)} of {n_groups} group(s): {shown}"
               + (" …" if len(bad) > 5 else "") + f"; tolerance {tol:g}. Fix: {fix}.")
        raise ConvergenceError(msg)
    notes: list[str] = []
    for var in variables:
        for mask, why in ((prep.dropped[var], "a populated level has no respondents"),
                          (infeasible[var], "the sample cannot meet all margins together (sparsest level)")):
            if mask.any():
                gs = np.flatnonzero(mask)
                shown = "; ".join(", ".join(f"{c}={prep.group_keys.iloc[g][c]}" for c in by_cols) for g in gs[:5])
                notes.append(f"{var} left out of the raking in {len(gs)} group(s) where {why}: {shown}"
                             + (" …" if len(gs) > 5 else ""))
    if prep.n_excluded:
        notes.append(f"{prep.n_excluded} respondent(s) excluded (missing a calibration variable); weight NA")
    if n_capped.sum() > 0:
        notes.append(f"{int(n_capped.sum())} weight(s) held at the bounds {bounds}")
        warnings.warn(
            f"raking with bounds {bounds}: {int(n_capped.sum())} weight(s) in "
            f"{int((n_capped > 0).sum())} group(s) are held at a bound (trimmed); margins are still met",
            WeightTrimmingWarning, stacklevel=2,
        )
    return build_weighting_result(
        data, included=prep.included, weights=w, group=group, group_keys=prep.group_keys, targets=targets,
        spec=spec, iterations=iterations, converged=converged, max_rel_error=err, n_capped=n_capped,
        population_col=population_col, notes=tuple(notes),
    )
