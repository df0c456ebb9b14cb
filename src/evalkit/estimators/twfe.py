"""Two-way fixed effects (community and wave effects), reported for reference only, with the
Goodman-Bacon (2021) decomposition that shows why it misleads under staggered starts.

The TWFE coefficient on the treatment indicator D_it is a weighted average of every 2×2
comparison in the data, including "forbidden" ones where already-treated communities serve
as controls for later-treated ones; with effects that change over time those comparisons
can even flip its sign. evalkit therefore reports TWFE next to the Callaway–Sant'Anna
estimates (:func:`evalkit.estimators.staggered.did_staggered`), never instead of them, and
adds the decomposition (``tables['bacon']`` per comparison, ``tables['bacon_summary']`` per
comparison type) with a note giving the weight on forbidden comparisons.

Treatments that switch off (a pilot that ends) are accepted with a
:class:`~evalkit.errors.TreatmentReversalWarning`: the coefficient then averages switch-on and
switch-off contrasts (it assumes the effect appears and disappears at once, with no carry-over)
and is not a single treatment effect; ``spec.options['treatment_switches_off']`` records the
finding (reason code ``treatment_switches_off``), the notes say it, and neither the Bacon decomposition nor randomisation inference
(both need adoption cohorts) is offered. Messages name the user's columns.

Estimation: WLS with unit effects absorbed (within transformation) and period dummies;
inference through the few-clusters policy like :func:`evalkit.estimators.did.did`
(clusters default to the unit). The decomposition is ``diff_diff.BaconDecomposition``
(exact weights; balanced panels without covariates or weights, where it is an identity —
evalkit checks that the weighted sum of the 2×2 estimates reproduces its own TWFE
coefficient).

References
----------
Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
    Journal of Econometrics, 225(2), 254–277.
"""

from __future__ import annotations

from typing import Any

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError, NotIdentifiedError, TreatmentReversalWarning
from evalkit.estimators.coefficient_inference import coefficient_row, cr1_t
from evalkit.estimators.estimation_sample import as_indicator, check_weights, select_sample
from evalkit.estimators.guardrails import InferenceRequest, count_clusters, decide_inference
from evalkit.estimators.linear_model import demean_within, design_matrix, fit_wls
from evalkit.estimators.results import ESTIMATE_COLUMNS, Spec, TWFEResult
from evalkit.results import Provenance

__all__ = ["twfe", "first_treated_period"]

TWFE_TERM = "treat"
def first_treated_period(data: pd.DataFrame, *, unit: str, time: str, treat: str) -> pd.Series:
    """First period with ``treat == 1`` per unit (0 for never treated); error if D switches off."""
    d = data[[unit, time, treat]].sort_values([unit, time])
    switched_off = d.groupby(unit)[treat].apply(lambda s: bool((s.diff().fillna(0) < 0).any()))
    if switched_off.any():
        units = list(switched_off[switched_off].index[:5])
        msg = (f"treatment {treat!r} switches off for unit(s) {units}; staggered-adoption tools "
               "need a treatment that stays on once started.")
        raise DataValidationError(msg)
    first = d[d[treat] > 0].groupby(unit)[time].min()
    return data[unit].map(first).fillna(0)


def units_switching_off(data: pd.DataFrame, *, unit: str, time: str, treat: np.ndarray) -> list:
    """Units whose 0/1 treatment goes from 1 back to 0 over time (in time order)."""
    d = pd.DataFrame({"u": data[unit].to_numpy(), "t": data[time].to_numpy(), "d": treat})
    d = d.sort_values(["u", "t"], kind="stable")
    drop = d.groupby("u", sort=False)["d"].diff().fillna(0).to_numpy() < 0
    return list(pd.unique(d["u"].to_numpy()[drop]))


def _design(sample: pd.DataFrame, D: np.ndarray, time: str, unit: str, covariates: Sequence[str],
            w: np.ndarray | None, treat: str = TWFE_TERM) -> tuple[pd.DataFrame, np.ndarray]:
    terms = {treat: D, **{c: sample[c].to_numpy(dtype=float) for c in covariates}}
    X = design_matrix(sample, terms, intercept=False, categorical=[time])
    Xd = demean_within(X, sample[unit].to_numpy(), w)
    yd = demean_within(sample[["__y__"]], sample[unit].to_numpy(), w)["__y__"].to_numpy()
    return Xd, yd


def twfe(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treat: str,
    covariates: Sequence[str] = (),
    weights: str | None = None,
    cluster: str | None = None,
    inference: InferenceRequest = "auto",
    bacon: bool = True,
    draws: int = 9999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> TWFEResult:
    """Two-way fixed-effects DiD ``y_it = α_i + λ_t + β D_it + X'γ`` with the Bacon diagnostic.

    Parameters
    ----------
    data : DataFrame
        Unit-period panel (e.g. community × year).
    outcome, unit, time : str
        Outcome, unit id and period columns.
    treat : str
        0/1 column D_it: 1 in periods when the unit is under the pilot.
    covariates, weights, cluster, inference, draws, seed, alpha
        As in :func:`evalkit.estimators.did.did`; ``cluster`` defaults to ``unit``.
    bacon : bool
        Add the Goodman-Bacon decomposition (balanced panel, no covariates, no weights).

    Returns
    -------
    TWFEResult
        ``estimates`` row ``treat``; ``tables['bacon']`` and ``tables['bacon_summary']``.

    Notes
    -----
    Small-sample corrections as in :func:`~evalkit.estimators.did.did` (CR2/BM by default;
    CR1 counts the period dummies but not the unit effects nested in the clusters).

    Examples
    --------
    >>> # R: fixest::feols(y ~ treat | unit + time, data, cluster = ~unit); bacondecomp::bacon(...)
    >>> # ek.twfe(panel, outcome="y", unit="community_id", time="year", treat="treat")  # doctest: +SKIP
    """
    where = "twfe()"
    cluster_col = cluster if cluster is not None else unit
    sample, drop_note = select_sample(data, [outcome, unit, time, treat, *covariates, weights,
                                             cluster_col], where=where)
    sample = sample.assign(__y__=pd.to_numeric(sample[outcome]).astype(float))
    D = as_indicator(sample[treat], where=where)
    w = None if weights is None else check_weights(sample[weights], where=where)
    X, y = _design(sample, D, time, unit, covariates, w, treat)
    n_units = int(sample[unit].nunique())
    try:
        fit = fit_wls(y, X, w, n_absorbed=n_units)
    except NotIdentifiedError as exc:
        msg = (f"{where}: {exc} (outcome {outcome!r}, unit effects by {unit!r}, period effects by "
               f"{time!r}; period dummies are named {time}_<period>.)")
        raise NotIdentifiedError(msg) from exc

    cl = sample[cluster_col].to_numpy()
    ever = pd.Series(D).groupby(sample[unit].to_numpy()).transform("max").to_numpy() > 0
    n_c, n_t = count_clusters(sample[cluster_col], ever)
    reversed_units = units_switching_off(sample, unit=unit, time=time, treat=D)
    if reversed_units:
        warnings.warn(
            f"{where}: treatment {treat!r} switches off (1 → 0) for {len(reversed_units)} of "
            f"{n_units} units of {unit!r}. The TWFE coefficient then averages switch-on and "
            "switch-off contrasts and assumes the effect starts and stops at once with no "
            "carry-over; read it as a descriptive average, not a treatment effect. No Bacon "
            "decomposition or randomisation inference is offered.",
            TreatmentReversalWarning, stacklevel=2)
        first = None
        ri_possible = False
    else:
        first = first_treated_period(sample.assign(**{treat: D}), unit=unit, time=time, treat=treat)
        by_cluster = pd.Series(first.to_numpy()).groupby(cl).nunique()
        ri_possible = bool((by_cluster == 1).all())
    decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                randomization_possible=ri_possible)
    ri_assign = ri_stat = None
    if decision.method == "randomization":
        per_cluster = pd.Series(first.to_numpy()).groupby(cl).first()
        ri_assign = per_cluster.to_numpy()
        pos = pd.Index(per_cluster.index.to_numpy()).get_indexer(cl)
        t_vals = pd.to_numeric(sample[time]).to_numpy(dtype=float)
        j = fit.index(treat)

        def ri_stat(assign: np.ndarray) -> float:
            g = np.asarray(assign, dtype=float)[pos]
            Dp = ((g > 0) & (t_vals >= g)).astype(float)
            Xp, yp = _design(sample, Dp, time, unit, covariates, w, treat)
            return abs(cr1_t(fit_wls(yp, Xp, w, n_absorbed=n_units), j, cl))

    row = coefficient_row(fit, treat, cluster=cl, decision=decision, alpha=alpha,
                          ri_assignment=ri_assign, ri_statistic=ri_stat)
    row["term"] = TWFE_TERM
    estimates = pd.DataFrame([row])[list(ESTIMATE_COLUMNS)]

    notes: list[dict[str, Any]] = [{"code": "twfe_reference_only"}]
    if drop_note:
        notes.append(drop_note)
    tables: dict[str, pd.DataFrame] = {}
    if reversed_units:
        notes.append({"code": "treatment_switches_off"})
    elif bacon:
        balanced = sample.groupby(unit)[time].nunique().nunique() == 1 and \
            sample.groupby(unit)[time].size().max() == sample[time].nunique()
        if covariates or weights is not None or not balanced:
            notes.append({"code": "bacon_not_applicable"})
        else:
            tables.update(_bacon(sample, unit, time, first, float(fit.coef[fit.index(treat)])))
            forbidden = tables["bacon_summary"].set_index("comparison_type")["weight"].get(
                "later_vs_earlier", 0.0)
            notes.append({"code": "bacon_forbidden_share", "share": float(forbidden)})
    spec = Spec("twfe", columns={"outcome": outcome, "unit": unit, "time": time, "treat": treat,
                                 "covariates": list(covariates), "weights": weights,
                                 "cluster": cluster_col},
                options={"inference": inference, "draws": draws, "seed": seed, "alpha": alpha,
                         "bacon": bacon, "treatment_switches_off": bool(reversed_units)})
    return TWFEResult(estimates=estimates, provenance=Provenance.current(seed=seed), spec=spec,
                      n_obs=fit.n_obs, inference=decision, notes=tuple(notes),
                      tables=tables)


def _bacon(sample: pd.DataFrame, unit: str, time: str, first: pd.Series, beta: float
           ) -> dict[str, pd.DataFrame]:
    from diff_diff import BaconDecomposition

    df = pd.DataFrame({"y": sample["__y__"].to_numpy(), "unit": sample[unit].astype(str).to_numpy(),
                       "time": pd.to_numeric(sample[time]).to_numpy(),
                       "first_treat": first.to_numpy()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = BaconDecomposition(weights="exact").fit(df, outcome="y", unit="unit", time="time",
                                                      first_treat="first_treat")
    comp = res.to_dataframe()[["treated_group", "control_group", "comparison_type", "estimate",
                               "weight"]].copy()
    comp["treated_group"] = comp["treated_group"].astype(str)
    comp["control_group"] = comp["control_group"].astype(str)
    total = float((comp["estimate"] * comp["weight"]).sum())
    if abs(total - beta) > 1e-6 * max(1.0, abs(beta)):
        msg = (f"Goodman-Bacon decomposition does not add up: weighted sum {total:.6g} vs TWFE "
               f"{beta:.6g}; the panel may not be balanced.")
        raise DataValidationError(msg)
    summ = comp.groupby("comparison_type", sort=True).apply(
        lambda g: pd.Series({"weight": g["weight"].sum(),
                             "estimate": float(np.average(g["estimate"], weights=g["weight"]))
                             if g["weight"].sum() > 0 else np.nan}), include_groups=False
    ).reset_index()
    return {"bacon": comp.reset_index(drop=True), "bacon_summary": summ}
