"""Who benefits, and on which outcomes: subgroup effects with interaction tests, and many
outcomes at once with Benjamini–Hochberg and Romano–Wolf adjustment plus a summary index.

* :func:`subgroup_effects` fits one fully interacted 2×2 DiD (group-specific intercepts,
  treatment, period and DiD terms; common covariate slopes) and reports the DiD effect of
  every subgroup. The interaction test asks whether the effects are equal: with two
  subgroups it is the coefficient on the difference, reported through the few-clusters
  policy like any estimate; with more it is a cluster-robust Wald F test (CR2 covariance,
  G − 1 denominator degrees of freedom) and the result notes that it is approximate when
  clusters are few.
* :func:`multiple_outcomes` runs :func:`evalkit.estimators.did.did` on each outcome and adds
  Benjamini–Hochberg adjusted p-values (statsmodels ``multipletests``, false discovery
  rate) and Romano–Wolf step-down adjusted p-values (family-wise error rate, Romano & Wolf
  2005, 2016), plus a summary index (Kling, Liebman & Katz 2007: every outcome standardised
  by the comparison group's baseline mean and SD, then averaged).

Why Romano–Wolf by hand: it needs bootstrap t statistics of all outcomes from the *same*
cluster-level draws, with weights and the Webb distribution for few clusters; pyfixest's
``rwolf`` brings 150 MB of dependencies and its wild bootstrap needs ``wildboottest``/numba.
The step-down itself is 15 lines.

References
----------
Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57(1).
Romano, J. P., & Wolf, M. (2005). Stepwise multiple testing as formalized data snooping.
    Econometrica 73(4), 1237–1282.
Clarke, D., Romano, J. P., & Wolf, M. (2020). The Romano–Wolf multiple-hypothesis
    correction in Stata. Stata Journal 20(4), 812–843.
Kling, J. R., Liebman, J. B., & Katz, L. F. (2007). Experimental analysis of neighborhood
    effects. Econometrica 75(1), 83–119.
"""

from __future__ import annotations

from typing import Any

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import DataValidationError
from evalkit.estimators.coefficient_inference import coefficient_row, cr1_t
from evalkit.estimators.did import DID_TERM, did
from evalkit.estimators.estimation_sample import as_indicator, check_weights, select_sample
from evalkit._checks import check_choice
from evalkit.estimators.guardrails import InferenceRequest, count_clusters, decide_inference
from evalkit.estimators.linear_model import (design_matrix, fit_wls, vcov_cr1,
                                             vcov_cr2)
from evalkit.estimators.results import (ESTIMATE_COLUMNS, MultipleOutcomesResult, Spec,
                                        SubgroupResult)
from evalkit.results import Provenance

Adjustment = Literal["bh", "romano_wolf"]

__all__ = ["subgroup_effects", "multiple_outcomes", "klk_index", "romano_wolf"]


# ---- subgroups -------------------------------------------------------------------------------
def _subgroup_design(sample: pd.DataFrame, d: np.ndarray, p: np.ndarray, levels: list[str],
                     by_values: np.ndarray, covariates: Sequence[str], diff_form: bool
                     ) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {}
    for lv in levels:
        s = (by_values == lv).astype(float)
        cols[f"[{lv}]"] = s
        cols[f"treat[{lv}]"] = d * s
        cols[f"post[{lv}]"] = p * s
    if diff_form:  # DiD of the first level plus the difference of the second
        s2 = (by_values == levels[1]).astype(float)
        cols[DID_TERM] = d * p
        cols[f"{DID_TERM}×[{levels[1]}]"] = d * p * s2
    else:
        for lv in levels:
            cols[f"{DID_TERM}[{lv}]"] = d * p * (by_values == lv)
    for c in covariates:
        cols[c] = sample[c].to_numpy(dtype=float)
    return design_matrix(sample, cols, intercept=False)


def subgroup_effects(
    data: pd.DataFrame,
    *,
    outcome: str,
    treat: str,
    post: str,
    by: str,
    covariates: Sequence[str] = (),
    weights: str | None = None,
    cluster: str | None = None,
    inference: InferenceRequest = "auto",
    draws: int = 9999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> SubgroupResult:
    """2×2 DiD effect in each subgroup of ``by`` and a test that they are equal.

    Parameters
    ----------
    by : str
        Subgroup column (e.g. ``"hukou"``, ``"age_band"``, ``"gender"``).
    Other parameters
        As in :func:`evalkit.estimators.did.did` (repeated cross-sections).

    Returns
    -------
    SubgroupResult
        ``estimates`` has one row per subgroup (``term`` = ``treat:post[level]``) and, for two
        subgroups, the row ``difference`` (second minus first). ``tables['tests']`` holds the
        equal-effects test.

    Examples
    --------
    >>> # R: lm(y ~ 0 + hukou/(treat*post), data); clubSandwich::Wald_test(..., vcov="CR2")
    >>> # ek.subgroup_effects(survey, outcome="gain", treat="treat", post="post",
    >>> #                     by="hukou", cluster="community_id")  # doctest: +SKIP
    """
    where = "subgroup_effects()"
    sample, drop_note = select_sample(data, [outcome, treat, post, by, *covariates, weights, cluster],
                                      where=where)
    y = pd.to_numeric(sample[outcome]).to_numpy(dtype=float)
    d = as_indicator(sample[treat], where=where)
    p = as_indicator(sample[post], where=where)
    by_values = sample[by].astype(str).to_numpy()
    levels = sorted(pd.unique(by_values))
    if len(levels) < 2:
        msg = f"{where}: column {by!r} has a single value ({levels}); nothing to compare."
        raise DataValidationError(msg)
    for lv in levels:
        m = by_values == lv
        cells = pd.crosstab(d[m], p[m])
        if cells.shape != (2, 2) or (cells.to_numpy() == 0).any():
            msg = (f"{where}: subgroup {by}={lv!r} lacks observations in some treat × post cell "
                   f"(counts {cells.to_dict()}); merge it with another subgroup or drop it.")
            raise DataValidationError(msg)
    w = None if weights is None else check_weights(sample[weights], where=where)
    cl = None if cluster is None else sample[cluster].to_numpy()
    if cl is None:
        from evalkit.estimators.results import InferenceRecord

        decision = InferenceRecord("hc1", inference, None, None, None, reasons=("no_cluster",))
        constant = False
    else:
        n_c, n_t = count_clusters(sample[cluster], d.astype(bool))
        tb = pd.Series(d).groupby(cl).agg(["min", "max"])
        constant = bool((tb["min"] == tb["max"]).all())
        decision = decide_inference(n_c, n_t, inference, draws=draws, seed=seed,
                                    randomization_possible=constant)

    def ri_for(fit_names_j: int, diff_form: bool):  # noqa: ANN202 - local factory
        if decision.method != "randomization" or cl is None:
            return None, None
        tb = pd.Series(d).groupby(cl).max()
        pos = pd.Index(tb.index.to_numpy()).get_indexer(cl)

        def stat(assign: np.ndarray) -> float:
            dd = np.asarray(assign, dtype=float)[pos]
            Xp = _subgroup_design(sample, dd, p, levels, by_values, covariates, diff_form)
            return abs(cr1_t(fit_wls(y, Xp, w), fit_names_j, cl))

        return tb.to_numpy(), stat

    X = _subgroup_design(sample, d, p, levels, by_values, covariates, diff_form=False)
    fit = fit_wls(y, X, w)
    rows = []
    for lv in levels:
        name = f"{DID_TERM}[{lv}]"
        assign, stat = ri_for(fit.index(name), False)
        rows.append(coefficient_row(fit, name, cluster=cl, decision=decision, alpha=alpha,
                                    ri_assignment=assign, ri_statistic=stat))
    tests = []
    if len(levels) == 2:
        X2 = _subgroup_design(sample, d, p, levels, by_values, covariates, diff_form=True)
        fit2 = fit_wls(y, X2, w)
        name = f"{DID_TERM}×[{levels[1]}]"
        assign, stat = ri_for(fit2.index(name), True)
        diff = coefficient_row(fit2, name, cluster=cl, decision=decision, alpha=alpha,
                               ri_assignment=assign, ri_statistic=stat)
        diff["term"] = f"difference [{levels[1]}] − [{levels[0]}]"
        rows.append(diff)
        tests.append({"test": "equal effects", "statistic": diff["statistic"],
                      "df1": 1.0, "df2": diff["df"], "p_value": diff["p_value"],
                      "inference": diff["inference"]})
    else:
        idx = [fit.index(f"{DID_TERM}[{lv}]") for lv in levels]
        R = np.zeros((len(levels) - 1, len(fit.coef)))
        for r_i in range(1, len(levels)):
            R[r_i - 1, idx[r_i]] = 1.0
            R[r_i - 1, idx[0]] = -1.0
        if cl is None:
            from evalkit.estimators.linear_model import vcov_hc1

            V, dof = vcov_hc1(fit)
            df2, label = dof, "hc1"
        else:
            V, _ = vcov_cr2(fit, cl) if decision.method != "cr1" else vcov_cr1(fit, cl)
            df2 = float(len(np.unique(cl)) - 1)
            label = "cr1" if decision.method == "cr1" else "cr2"
        rb = R @ fit.coef
        q = R.shape[0]
        F = float(rb @ np.linalg.solve(R @ V @ R.T, rb)) / q
        tests.append({"test": "equal effects", "statistic": F, "df1": float(q), "df2": df2,
                      "p_value": float(stats.f.sf(F, q, df2)), "inference": f"wald_{label}"})
    estimates = pd.DataFrame(rows)[list(ESTIMATE_COLUMNS)]
    notes: list[dict[str, Any]] = [drop_note] if drop_note else []
    if len(levels) > 2 and decision.reliable_crve is False:
        notes.append({"code": "equal_effects_wald_approx"})
    spec = Spec("subgroup_effects", columns={"outcome": outcome, "treat": treat, "post": post,
                                             "by": by, "covariates": list(covariates),
                                             "weights": weights, "cluster": cluster},
                options={"inference": inference, "draws": draws, "seed": seed, "alpha": alpha})
    return SubgroupResult(estimates=estimates, provenance=Provenance.current(seed=seed), spec=spec,
                          n_obs=fit.n_obs, inference=decision, notes=tuple(notes),
                          tables={"tests": pd.DataFrame(tests)})


# ---- summary index ---------------------------------------------------------------------------
def klk_index(data: pd.DataFrame, *, outcomes: Sequence[str], treat: str, post: str,
              weights: str | None = None, signs: Sequence[int] | None = None) -> pd.Series:
    """Kling–Liebman–Katz (2007) summary index: the *equal-weight* mean of outcomes
    standardised by the comparison group's baseline (treat = 0, post = 0) weighted mean and SD;
    ``signs`` flips outcomes where lower is better. Rows with some outcomes missing average the
    available ones. (Anderson's 2008 inverse-covariance weighted index is
    :func:`evalkit.scales.anderson_index`.)"""
    base = (pd.to_numeric(data[treat]) == 0) & (pd.to_numeric(data[post]) == 0)
    w = np.ones(len(data)) if weights is None else pd.to_numeric(data[weights]).to_numpy(dtype=float)
    signs = list(signs) if signs is not None else [1] * len(outcomes)
    z = []
    for o, s in zip(outcomes, signs, strict=True):
        v = pd.to_numeric(data[o]).to_numpy(dtype=float)
        m = base.to_numpy() & np.isfinite(v)
        mu = np.average(v[m], weights=w[m])
        sd = np.sqrt(np.average((v[m] - mu) ** 2, weights=w[m]))
        if not sd > 0:
            msg = f"klk_index(): outcome {o!r} has no variation in the comparison group at baseline."
            raise DataValidationError(msg)
        z.append(s * (v - mu) / sd)
    Z = np.column_stack(z)
    with np.errstate(invalid="ignore"):
        idx = np.nanmean(np.where(np.isfinite(Z), Z, np.nan), axis=1) if np.isnan(Z).any() else Z.mean(axis=1)
    return pd.Series(idx, index=data.index, name="klk_index")


# ---- Romano–Wolf -----------------------------------------------------------------------------
def romano_wolf(t_obs: np.ndarray, t_boot: np.ndarray) -> np.ndarray:
    """Romano–Wolf step-down adjusted p-values from observed |t| and bootstrap |t*| (B × K,
    centred at the estimates). Monotone by construction."""
    t_abs = np.abs(np.asarray(t_obs, dtype=float))
    tb = np.abs(np.asarray(t_boot, dtype=float))
    order = np.argsort(-t_abs)
    B = tb.shape[0]
    p_adj = np.empty(len(t_abs))
    for rank, k in enumerate(order):
        rest = order[rank:]
        max_star = tb[:, rest].max(axis=1)
        p_adj[k] = (1 + (max_star >= t_abs[k]).sum()) / (B + 1)
    # enforce monotonicity along the step-down order
    running = 0.0
    for k in order:
        running = max(running, p_adj[k])
        p_adj[k] = running
    return p_adj


def _bootstrap_t(frames: list[tuple[np.ndarray, pd.DataFrame, np.ndarray | None]], cl: np.ndarray,
                 *, draws: int, seed: int, weight_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Unrestricted wild cluster bootstrap t* of the DiD term for several outcomes, with the
    same cluster draws for all outcomes (keeps their dependence).

    Built on :func:`evalkit.inference.wild_bootstrap_t` (the one wild bootstrap). The draw of
    the c-th cluster in order of first appearance is column c of the weights, mapped to the
    sorted cluster order the bootstrap uses.
    """
    from evalkit.inference.clusters import cluster_codes
    from evalkit.inference.draws import draw_weights
    from evalkit.inference.wild_bootstrap import wild_bootstrap_t

    appearance = cluster_codes(cl, order="appearance")
    G = int(appearance.max()) + 1
    V, _ = draw_weights(G, draws, weight_type, seed)
    to_appearance = np.empty(G, dtype=np.intp)
    to_appearance[cluster_codes(cl, order="sorted")] = appearance
    V = V[:, to_appearance]
    t_obs, t_star = [], []
    for y, X, w in frames:
        t, ts = wild_bootstrap_t(y, X.to_numpy(dtype=float), cl, coef_index=X.columns.get_loc(DID_TERM),
                                 weights=w, boot_weights=V, impose_null=False)
        t_obs.append(t)
        t_star.append(ts)
    return np.array(t_obs), np.column_stack(t_star)


def multiple_outcomes(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    treat: str,
    post: str,
    covariates: Sequence[str] = (),
    weights: str | None = None,
    cluster: str | None = None,
    inference: InferenceRequest = "auto",
    adjust: Sequence[Adjustment] = ("bh", "romano_wolf"),
    index: bool = True,
    signs: Sequence[int] | None = None,
    draws: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> MultipleOutcomesResult:
    """DiD on several outcomes with multiple-testing adjustment and a summary index.

    Returns
    -------
    MultipleOutcomesResult
        One row per outcome (and ``klk_index``, the Kling–Liebman–Katz index); columns ``p_bh`` (Benjamini–Hochberg,
        FDR) and ``p_romano_wolf`` (step-down FWER; needs ``cluster``) next to the per-outcome
        inference chosen by the few-clusters policy. The index row is not part of the
        adjusted family.
    """
    from statsmodels.stats.multitest import multipletests

    where = "multiple_outcomes()"
    for a in adjust:
        check_choice("adjust", a, Adjustment)
    if len(outcomes) < 2:
        msg = f"{where}: give at least two outcomes (got {list(outcomes)})."
        raise DataValidationError(msg)
    sample, drop_note = select_sample(data, [*outcomes, treat, post, *covariates, weights, cluster],
                                      where=where)
    results = [did(sample, outcome=o, treat=treat, post=post, covariates=covariates,
                   weights=weights, cluster=cluster, inference=inference, draws=draws, seed=seed,
                   alpha=alpha) for o in outcomes]
    frame = pd.concat([r.estimates.assign(term=o) for r, o in zip(results, outcomes, strict=True)],
                      ignore_index=True)
    if "bh" in adjust:
        frame["p_bh"] = multipletests(frame["p_value"].to_numpy(), method="fdr_bh")[1]
    if "romano_wolf" in adjust:
        if cluster is None:
            frame["p_romano_wolf"] = np.nan
        else:
            d = as_indicator(sample[treat], where=where)
            p = as_indicator(sample[post], where=where)
            w = None if weights is None else check_weights(sample[weights], where=where)
            X = design_matrix(sample, {"treat": d, "post": p, DID_TERM: d * p,
                                       **{c: sample[c].to_numpy(dtype=float) for c in covariates}})
            frames = [(pd.to_numeric(sample[o]).to_numpy(dtype=float), X, w) for o in outcomes]
            wt = results[0].inference.weight_type or (
                "webb" if results[0].inference.n_clusters and results[0].inference.n_clusters <= 11
                else "rademacher")
            t_obs, t_star = _bootstrap_t(frames, sample[cluster].to_numpy(), draws=draws,
                                         seed=seed if seed is not None else 0, weight_type=wt)
            frame["p_romano_wolf"] = romano_wolf(t_obs, t_star)
    if index:
        idx = klk_index(sample, outcomes=outcomes, treat=treat, post=post, weights=weights,
                        signs=signs)
        r_idx = did(sample.assign(klk_index=idx), outcome="klk_index", treat=treat,
                    post=post, covariates=covariates, weights=weights, cluster=cluster,
                    inference=inference, draws=draws, seed=seed, alpha=alpha)
        frame = pd.concat([frame, r_idx.estimates.assign(term="klk_index")], ignore_index=True)
    notes: list[dict[str, Any]] = [{"code": "multiple_testing_methods"}]
    if drop_note:
        notes.append(drop_note)
    spec = Spec("multiple_outcomes", columns={"outcomes": list(outcomes), "treat": treat,
                                              "post": post, "covariates": list(covariates),
                                              "weights": weights, "cluster": cluster},
                options={"inference": inference, "adjust": list(adjust), "index": index,
                         "draws": draws, "seed": seed, "alpha": alpha})
    return MultipleOutcomesResult(estimates=frame, provenance=Provenance.current(seed=seed),
                                  spec=spec, n_obs=results[0].n_obs, inference=results[0].inference,
                                  notes=tuple(notes))
