"""Population targets for weighting, and the matching of respondents to them.

Owns: age bands, turning the population table (joint counts per community ×
age band × gender × hukou, or separate marginal tables) into long targets,
and the checks every weighting method needs before it starts: every
respondent's cell exists in the population, every populated cell or margin
level has respondents, and the margins of a group add up to the same total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.errors import DataValidationError
from evalkit._checks import require_columns

__all__ = ["AGE_BANDS", "age_band", "targets_from_population", "OnMissing", "EmptyCells", "PreparedGroups",
           "prepare_groups"]

#: age bands of the population margins (datamodel POPULATION_MARGINS.age_band)
AGE_BANDS: tuple[str, ...] = ("18-34", "35-59", "60+")

OnMissing = Literal["error", "exclude"]
EmptyCells = Literal["error", "drop"]

Population = pd.DataFrame | Mapping[str, pd.DataFrame]


def age_band(age: pd.Series) -> pd.Series:
    """Ages → ``"18-34"``, ``"35-59"``, ``"60+"`` (string); under 18 or missing → NA."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series(pd.NA, index=age.index, dtype="object")
    out[(a >= 18) & (a < 35)] = "18-34"
    out[(a >= 35) & (a < 60)] = "35-59"
    out[a >= 60] = "60+"
    return out.rename("age_band")


def targets_from_population(
    population: Population,
    *,
    variables: Sequence[str],
    keys: Sequence[str],
    population_col: str = "population",
    joint: bool = False,
) -> pd.DataFrame:
    """Long targets ``[*keys, variable, level, population]``.

    ``population`` is one joint table (columns ``keys``, ``variables`` and
    ``population_col``; margins are its sums) or a mapping variable → marginal
    table (columns ``keys``, the variable and ``population_col``). With
    ``joint=True`` (post-stratification) one pseudo-variable ``"cell"`` holds
    the joint cells, labelled ``"18-34|female|local"``.
    """
    keys = list(keys)
    frames = []
    if isinstance(population, pd.DataFrame):
        cols = keys + list(variables) + [population_col]
        require_columns(population, cols, what="population margins",
                        fix="The population table needs one row per community × age band × gender × hukou.")
        pop = population[cols].copy()
        pop[population_col] = pd.to_numeric(pop[population_col], errors="coerce")
        if pop[population_col].isna().any() or (pop[population_col] < 0).any():
            bad = pop[pop[population_col].isna() | (pop[population_col] < 0)]
            msg = (f"population margins: {len(bad)} row(s) with a missing or negative '{population_col}' "
                   f"(first: {bad.head(3).to_dict('records')}); population counts must be numbers ≥ 0")
            raise DataValidationError(msg)
        if joint:
            pop = pop.assign(level=_cell_label(pop, variables), variable="cell")
            g = pop.groupby(keys + ["variable", "level"], sort=True)[population_col].sum().reset_index()
            frames.append(g)
        else:
            for var in variables:
                g = pop.groupby(keys + [var], sort=True)[population_col].sum().reset_index()
                frames.append(g.rename(columns={var: "level"}).assign(variable=var))
    else:
        if joint:
            msg = "post-stratification needs one joint population table, not separate margins; use rake()"
            raise ValueError(msg)
        missing = [v for v in variables if v not in population]
        if missing:
            msg = f"population margins: no table for variable(s) {missing}; give one per variable"
            raise ValueError(msg)
        for var in variables:
            tab = population[var]
            require_columns(tab, keys + [var, population_col], what=f"population margin for '{var}'")
            g = tab.groupby(keys + [var], sort=True)[population_col].sum().reset_index()
            frames.append(g.rename(columns={var: "level"}).assign(variable=var))
    out = pd.concat(frames, ignore_index=True)
    out["level"] = out["level"].astype(str)
    out[population_col] = out[population_col].astype("float64")
    return out[keys + ["variable", "level", population_col]]


def _cell_label(frame: pd.DataFrame, variables: Sequence[str]) -> pd.Series:
    parts = [frame[v].astype("string") for v in variables]
    label = parts[0]
    for p in parts[1:]:
        label = label + "|" + p
    return label.astype(object).where(label.notna(), None)


@frozen(eq=False)
class PreparedGroups:
    """Respondents matched to target groups; arrays cover the included rows only."""

    included: np.ndarray  # bool, len(data)
    group: np.ndarray  # int code per included row
    group_keys: pd.DataFrame  # one row per group: the by columns
    base: np.ndarray  # base weights of included rows
    codes: dict[str, np.ndarray]  # variable → group * n_levels + level code
    levels: dict[str, list[str]]
    target: dict[str, np.ndarray]  # variable → target per code (length groups × levels)
    n_excluded: int
    #: variable → groups where the variable is not used (a populated level has no respondents)
    dropped: dict[str, np.ndarray]
    #: population total per group
    group_total: np.ndarray


def prepare_groups(
    data: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    variables: Sequence[str],
    by: Sequence[str],
    weights: str | None,
    population_col: str = "population",
    on_missing: OnMissing = "error",
    joint: bool = False,
    empty: EmptyCells = "error",
) -> PreparedGroups:
    """Match respondents to targets and run every pre-flight check (all problems at once).

    ``empty="drop"`` does not count a populated level without respondents as
    a problem: that variable is then left out of the group's calibration
    (``PreparedGroups.dropped``).
    """
    by = list(by)
    keys = [c for c in by if c in targets.columns]
    require_columns(data, by + list(variables) + ([weights] if weights else []), what="weighting")
    frame = data[by + list(variables)].copy()
    if joint:
        frame["cell"] = _cell_label(frame, variables)
        vars_used = ["cell"]
    else:
        vars_used = list(variables)
    base_all = (pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float) if weights
                else np.ones(len(data)))
    miss = frame[by + list(variables)].isna().any(axis=1).to_numpy() | ~np.isfinite(base_all)
    if miss.any() and on_missing == "error":
        counts = {c: int(frame[c].isna().sum()) for c in by + list(variables) if frame[c].isna().any()}
        if weights and (~np.isfinite(base_all)).any():
            counts[weights] = int((~np.isfinite(base_all)).sum())
        msg = (f"weighting: {int(miss.sum())} respondent(s) lack a value needed to place them in a cell "
               f"(missing per column: {counts}). Fill them in, or pass on_missing='exclude' to give those "
               "respondents no weight (they then drop out of weighted estimates).")
        raise DataValidationError(msg)
    if (base_all[np.isfinite(base_all)] <= 0).any():
        msg = f"weighting: base weights in column '{weights}' must be positive; found values ≤ 0"
        raise DataValidationError(msg)
    inc = ~miss
    sub = frame[inc]
    group_codes, group_uniques = pd.factorize(pd.MultiIndex.from_frame(sub[by].astype(object)) if by
                                              else pd.Index(np.zeros(len(sub), dtype=int)), sort=True)
    n_groups = len(group_uniques)
    group_keys = (pd.DataFrame(list(group_uniques), columns=by) if by else pd.DataFrame(index=range(1)))
    problems: list[str] = []
    absent_groups: set[int] = set()
    # which target rows belong to each data group
    if keys:
        gk = group_keys[keys].astype(str).apply(tuple, axis=1)
        tk = targets[keys].astype(str).apply(tuple, axis=1)
        absent = sorted(set(gk) - set(tk))
        absent_groups = {gi for gi, k in enumerate(gk) if k in set(absent)}
        if absent:
            shown = ", ".join("/".join(a) for a in absent[:5])
            problems.append(f"{len(absent)} group(s) have no population margins: {shown}"
                            + (" …" if len(absent) > 5 else "")
                            + f" (matched on {', '.join(keys)}); add them to the population table")
    codes: dict[str, np.ndarray] = {}
    levels: dict[str, list[str]] = {}
    target: dict[str, np.ndarray] = {}
    dropped: dict[str, np.ndarray] = {}
    gi_frame = group_keys[keys].astype(str).assign(_gi=np.arange(n_groups)) if keys else None
    for var in vars_used:
        tv = targets[targets.variable == var]
        lv = sorted(set(tv.level.astype(str)) | set(sub[var].astype(str)))
        levels[var] = lv
        lcode = pd.Categorical(sub[var].astype(str), categories=lv).codes.astype(np.int64)
        codes[var] = group_codes.astype(np.int64) * len(lv) + lcode
        tarr = np.zeros(n_groups * len(lv))
        tl = pd.Categorical(tv.level.astype(str), categories=lv).codes.astype(np.int64)
        tvals = tv[population_col].to_numpy(float)
        if gi_frame is not None:
            m = tv[keys].astype(str).assign(_lv=tl, _val=tvals).merge(gi_frame, on=keys, how="inner")
            np.add.at(tarr, m["_gi"].to_numpy() * len(lv) + m["_lv"].to_numpy(), m["_val"].to_numpy())
        else:
            per_level = np.bincount(tl, weights=tvals, minlength=len(lv))
            tarr[:] = np.tile(per_level, n_groups)
        target[var] = tarr
        have = np.bincount(codes[var], minlength=n_groups * len(lv))
        known = ~np.isin(np.arange(tarr.size) // len(lv), list(absent_groups))
        no_sample = np.flatnonzero((tarr > 0) & (have == 0) & known)
        no_pop = np.flatnonzero((tarr <= 0) & (have > 0) & known)
        dropped[var] = np.zeros(n_groups, dtype=bool)
        checks = [("with respondents but population 0 or absent", no_pop,
                   "check the population table and the respondents' coding")]
        if empty == "drop" and not joint:
            dropped[var][np.unique(no_sample // len(lv))] = True
        else:
            checks.insert(0, ("populated but without respondents", no_sample,
                              "collapse categories (e.g. merge age bands) or use rake() instead of poststratify()"
                              if joint else "collapse this variable's categories for these groups, or rake with "
                              "empty_cells='drop' to leave the variable out where it has no respondents"))
        for label, idx, fix in checks:
            if len(idx):
                shown = "; ".join(_describe(group_keys, by, i // len(lv)) + f" {var}={lv[i % len(lv)]}"
                                  for i in idx[:5])
                problems.append(f"{len(idx)} {var} cell(s) {label}: {shown}" + (" …" if len(idx) > 5 else "")
                                + f"; {fix}")
    if not joint and len(vars_used) > 1 and not problems:
        totals = np.array([[target[v].reshape(n_groups, -1).sum(axis=1)] for v in vars_used])[:, 0, :]
        spread = np.abs(totals - totals[0]).max(axis=0) / np.maximum(totals[0], 1e-12)
        bad = np.flatnonzero(spread > 1e-6)
        if len(bad):
            shown = "; ".join(f"{_describe(group_keys, by, g)}: " + ", ".join(
                f"{v}={totals[i, g]:g}" for i, v in enumerate(vars_used)) for g in bad[:3])
            problems.append(f"margins of {len(bad)} group(s) add up to different totals ({shown}); "
                            "raking needs consistent margins — take all margins from the same population table")
    if problems:
        msg = f"weighting: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
        raise DataValidationError(msg)
    first = vars_used[0]
    group_total = target[first].reshape(n_groups, -1).sum(axis=1)
    return PreparedGroups(
        included=inc, group=group_codes.astype(np.int64), group_keys=group_keys.reset_index(drop=True),
        base=base_all[inc], codes=codes, levels=levels, target=target, n_excluded=int(miss.sum()),
        dropped=dropped, group_total=group_total,
    )


def _describe(group_keys: pd.DataFrame, by: Sequence[str], g: int) -> str:
    if not by:
        return "all"
    return ", ".join(f"{c}={group_keys.iloc[g][c]}" for c in by)
