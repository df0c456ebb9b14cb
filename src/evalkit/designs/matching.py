"""Nearest-neighbour matching on the propensity score (1:1, greedy), with or without
replacement and with a caliper; the effect on the treated (ATT) and its standard error.

Why by hand: no maintained Python package offers MatchIt's matching (pymatchit-causal pins an
old patsy, see DEPENDENCIES.md), and the algorithm is a short loop. It follows MatchIt's
documented ``method = "nearest"``: treated units in descending propensity score
(``m.order = "largest"``, ties by descending row), each takes the nearest control still
available (ties: the control listed last), within ``caliper × sd(distance)`` (sd over all
units, ``std.caliper = TRUE``); without a control in reach the treated unit stays unmatched.
Tests compare pairs, sample sizes, the balance table and the ATT with MatchIt 4.5.1 on the
LaLonde data (``tests/reference/designs/``).

Standard errors follow MatchIt's vignette "Estimating effects after matching": the ATT is the
coefficient of ``y ~ treat`` on the matched data, with a cluster-robust covariance by matched
pair (CR1) when controls are used once, and two-way clustered by pair and control unit when
they are reused (``sandwich::vcovCL(cluster = ~subclass + id)``). Like MatchIt's, these SEs
treat the propensity score as known (reason code ``ps_treated_as_known``).

``se="abadie_imbens"`` (matching with replacement) gives instead the Abadie–Imbens (2006)
standard error of the population ATT as R ``Matching::Match(estimand = "ATT", M = 1,
ties = TRUE, Var.calc = J, distance.tolerance = 0)`` computes it: a treated unit is matched to
*every* control at the minimal distance (exact ties share the weight, so the point estimate can
differ from MatchIt's, which keeps one), K_j = Σ 1/|J(i)| counts the use of control j, and

    V = Σ_treated (τ̂ᵢ − τ̂)² / N₁² + Σ_controls σ̂²_j (K_j² − K'_j) / N₁²,

with K'_j = Σ 1/|J(i)|² and σ̂²_j the variance of y over j and its J nearest controls
(``variance_matches``). This too treats the score as known (Abadie & Imbens 2016 adjust
for its estimation; not implemented).

References
----------
Ho, D., Imai, K., King, G., & Stuart, E. A. (2011). MatchIt: Nonparametric preprocessing for
    parametric causal inference. Journal of Statistical Software, 42(8).
Abadie, A., & Imbens, G. W. (2006). Large sample properties of matching estimators for average
    treatment effects. Econometrica, 74(1), 235–267.
Austin, P. C., & Small, D. S. (2014). The use of bootstrapping when using propensity-score
    matching without replacement. Statistics in Medicine, 33(24), 4306–4319.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit._checks import check_choice
from evalkit.designs._data import prepare
from evalkit.designs.balance import balance_table, max_abs_smd
from evalkit.designs.propensity import fit_propensity
from evalkit.designs.results import DesignCaveat, MatchingResult
from evalkit.errors import NotIdentifiedError
from evalkit.estimators.results import ESTIMATE_COLUMNS, InferenceRecord, Spec
from evalkit.inference.covariance import covariance
from evalkit.results import Provenance

__all__ = ["match_nearest", "greedy_pairs"]


def greedy_pairs(distance: np.ndarray, treat: np.ndarray, *, caliper: float | None = None,
                 replace: bool = False) -> np.ndarray:
    """Matched pairs ``(treated_row, control_row)`` (0-based) by MatchIt's greedy rule.

    ``caliper`` is in standard deviations of ``distance`` over all units.
    """
    dist = np.asarray(distance, float)
    d = np.asarray(treat, float) == 1
    t_rows = np.flatnonzero(d)
    c_rows = np.flatnonzero(~d)
    order = np.lexsort((-t_rows, -dist[t_rows]))  # descending distance, then descending row
    width = np.inf if caliper is None else caliper * float(np.std(dist, ddof=1))
    if replace:  # every treated unit takes its own nearest control: no scan, order only sets the output order
        return _nearest_with_replacement(dist, t_rows[order], c_rows, width)
    c_dist = dist[c_rows][::-1]  # reversed so argmin's first hit is the control listed last
    c_rev = c_rows[::-1]
    available = np.ones(len(c_rev), dtype=bool)
    pairs = []
    for i in t_rows[order]:
        if not available.any():
            break
        gap = np.abs(c_dist - dist[i])
        gap[~available] = np.inf
        j = int(np.argmin(gap))
        if gap[j] <= width:
            pairs.append((i, c_rev[j]))
            if not replace:
                available[j] = False
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def _nearest_with_replacement(dist: np.ndarray, treated: np.ndarray, c_rows: np.ndarray,
                              width: float) -> np.ndarray:
    """Nearest control of each treated unit by binary search over the sorted control distances
    (O(n log n) instead of a scan per treated unit). Same rule as the scan: the smallest |gap|,
    ties to the control listed last (largest row), no pair beyond ``width``."""
    if len(c_rows) == 0 or len(treated) == 0:
        return np.empty((0, 2), dtype=np.int64)
    values, inverse = np.unique(dist[c_rows], return_inverse=True)
    last_row = np.full(len(values), -1, dtype=np.int64)
    np.maximum.at(last_row, inverse, c_rows)  # the control listed last at each distance value
    x = dist[treated]
    pos = np.searchsorted(values, x)
    left = np.clip(pos - 1, 0, len(values) - 1)
    right = np.clip(pos, 0, len(values) - 1)
    gap_l, gap_r = np.abs(values[left] - x), np.abs(values[right] - x)
    best = np.minimum(gap_l, gap_r)
    match = np.maximum(np.where(gap_l == best, last_row[left], -1), np.where(gap_r == best, last_row[right], -1))
    keep = best <= width
    return np.column_stack([treated[keep], match[keep]]).astype(np.int64).reshape(-1, 2)


def match_nearest(
    data: pd.DataFrame,
    *,
    outcome: str,
    treat: str,
    covariates: Sequence[str],
    replace: bool = False,
    caliper: float | None = None,
    distance: Literal["propensity", "logit"] = "propensity",
    se: Literal["cluster", "abadie_imbens"] = "cluster",
    variance_matches: int = 1,
    alpha: float = 0.05,
) -> MatchingResult:
    """1:1 nearest-neighbour propensity-score matching and the ATT.

    Parameters
    ----------
    data : DataFrame
        One row per unit (resident or community) with baseline covariates.
    outcome, treat : str
        Outcome and 0/1 treatment columns.
    covariates : sequence of str
        Baseline covariates of the propensity model (text columns become dummies).
    replace : bool
        Let a control serve several treated units.
    caliper : float, optional
        Largest allowed distance, in standard deviations of the distance.
    distance : {"propensity", "logit"}
        Match on the score (MatchIt's default) or on its logit.
    se : {"cluster", "abadie_imbens"}
        Cluster-robust by pair (MatchIt's vignette) or Abadie–Imbens (needs ``replace=True``;
        exact ties are all kept, as R ``Matching``).
    variance_matches : int
        J of the Abadie–Imbens conditional variance (``Var.calc``).
    alpha : float
        1 − confidence level.

    Returns
    -------
    MatchingResult
        Row ``ATT``; ``tables['balance']``, ``tables['pairs']``, ``tables['sample_sizes']``,
        ``tables['propensity']``.

    Examples
    --------
    >>> # R: m <- MatchIt::matchit(treat ~ age + educ, data = d, method = "nearest", caliper = .1)
    >>> #    lm(y ~ treat, match.data(m)); sandwich::vcovCL(fit, cluster = ~subclass)
    >>> # ek.designs.match_nearest(d, outcome="y", treat="treat", covariates=["age", "educ"])
    """
    where = "match_nearest()"
    check_choice("distance", distance, ("propensity", "logit"))
    check_choice("se", se, ("cluster", "abadie_imbens"))
    if se == "abadie_imbens" and (not replace or caliper is not None):
        msg = (f"{where}: se='abadie_imbens' is implemented (and checked against R Matching) for "
               "matching with replacement and no caliper; pass replace=True and caliper=None, or "
               "use se='cluster'.")
        raise ValueError(msg)
    if caliper is not None and not caliper > 0:
        msg = f"{where}: caliper={caliper!r}; expected a positive number of standard deviations."
        raise ValueError(msg)
    dd = prepare(data, treat=treat, covariates=covariates, outcome=outcome, weights=None, where=where)
    ps = fit_propensity(dd.treat, dd.X, where=where)
    if se == "abadie_imbens":
        return _abadie_imbens(dd, ps.distance(distance), caliper=caliper, J=variance_matches,
                              alpha=alpha, spec_columns={"outcome": outcome, "treat": treat,
                                                         "covariates": list(covariates)},
                              options={"replace": replace, "caliper": caliper, "distance": distance,
                                       "se": se, "variance_matches": variance_matches,
                                       "alpha": alpha, "estimand": "ATT"},
                              propensity=ps)
    pairs = greedy_pairs(ps.distance(distance), dd.treat, caliper=caliper, replace=replace)
    if len(pairs) < 2:
        msg = (f"{where}: only {len(pairs)} treated unit(s) found a comparison unit within the "
               f"caliper {caliper}; widen the caliper or check overlap of the propensity scores.")
        raise NotIdentifiedError(msg)
    n = len(dd.treat)
    # MatchIt's match.data weights: treated 1; controls by use, scaled to the matched count
    wt = np.zeros(n)
    wt[pairs[:, 0]] = 1.0
    use = np.bincount(pairs[:, 1], minlength=n).astype(float)
    n_ctrl_units = int((use > 0).sum())
    wt[use > 0] = use[use > 0] * n_ctrl_units / use.sum()
    bal = balance_table(dd.X, dd.treat, weights_after=wt, estimand="ATT")

    # effect: y ~ treat on the stacked pairs (MatchIt's get_matches layout)
    n_pairs = len(pairs)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    Xp = np.column_stack([np.ones(2 * n_pairs), np.repeat([1.0, 0.0], n_pairs)])
    yp = dd.y[rows]
    coef, *_ = np.linalg.lstsq(Xp, yp, rcond=None)
    resid = yp - Xp @ coef
    pair_id = np.tile(np.arange(n_pairs), 2)
    if replace:
        cov = covariance("twoway", Xp, resid, cluster=pair_id, cluster2=rows)
    else:
        cov = covariance("cr1", Xp, resid, cluster=pair_id)
    est, se, dof = float(coef[1]), float(cov.std_errors()[1]), float(cov.df[1])
    q = stats.t.ppf(1 - alpha / 2, dof)
    row = {"term": "ATT", "estimate": est, "std_error": se, "statistic": est / se,
           "p_value": float(2 * stats.t.sf(abs(est / se), dof)), "ci_lower": est - q * se,
           "ci_upper": est + q * se, "df": dof, "inference": cov.name,
           "n_clusters": n_pairs, "n_treated_clusters": n_pairs}
    estimates = pd.DataFrame([row])[list(ESTIMATE_COLUMNS)]

    ctrl_w = wt[(dd.treat == 0) & (wt > 0)]
    sizes = pd.DataFrame({
        "group": ["treated", "control"],
        "all": [int(dd.treat.sum()), int((dd.treat == 0).sum())],
        "matched": [n_pairs, n_ctrl_units],
        "effective": [float(n_pairs), float(ctrl_w.sum() ** 2 / np.sum(ctrl_w**2))],
    })
    caveats = [DesignCaveat.PS_TREATED_AS_KNOWN.value]
    if n_pairs < int(dd.treat.sum()):
        caveats.append(DesignCaveat.CALIPER_DROPPED_TREATED.value)
    if max_abs_smd(bal) > 0.1:
        caveats.append(DesignCaveat.IMBALANCE_REMAINS.value)
    notes = (dd.note,) if dd.note else ()
    spec = Spec("match_nearest", columns={"outcome": outcome, "treat": treat,
                                          "covariates": list(covariates)},
                options={"replace": replace, "caliper": caliper, "distance": distance,
                         "se": se, "variance_matches": variance_matches, "alpha": alpha,
                         "estimand": "ATT"})
    return MatchingResult(
        estimates=estimates, provenance=Provenance.current(), spec=spec, n_obs=n,
        inference=InferenceRecord(cov.name, cov.name, n_pairs, n_pairs, None),
        notes=notes, caveats=tuple(caveats),
        tables={"balance": bal,
                "pairs": pd.DataFrame({"treated_row": pairs[:, 0], "control_row": pairs[:, 1],
                                       "distance": np.abs(ps.distance(distance)[pairs[:, 0]]
                                                          - ps.distance(distance)[pairs[:, 1]])}),
                "sample_sizes": sizes,
                "propensity": pd.DataFrame({"term": ps.coef.index, "estimate": ps.coef.to_numpy()})})


def _abadie_imbens(dd, dist: np.ndarray, *, caliper: float | None, J: int, alpha: float,  # noqa: ANN001
                   spec_columns: dict, options: dict, propensity) -> MatchingResult:  # noqa: ANN001
    """ATT with all exact ties kept and the Abadie–Imbens (2006) variance (see module docstring)."""
    where = "match_nearest()"
    if J < 1:
        msg = f"{where}: variance_matches={J!r}; expected a positive integer."
        raise ValueError(msg)
    d = dd.treat == 1
    y = dd.y
    t_rows, c_rows = np.flatnonzero(d), np.flatnonzero(~d)
    width = np.inf if caliper is None else caliper * float(np.std(dist, ddof=1))
    K = np.zeros(len(d))
    KK = np.zeros(len(d))
    tau_i, kept, pair_t, pair_c, pair_w = [], [], [], [], []
    for i in t_rows:
        gap = np.abs(dist[c_rows] - dist[i])
        best = gap.min()
        if best > width:
            continue
        m = c_rows[gap == best]
        K[m] += 1.0 / len(m)
        KK[m] += 1.0 / len(m) ** 2
        tau_i.append(y[i] - y[m].mean())
        kept.append(i)
        pair_t += [i] * len(m)
        pair_c += list(m)
        pair_w += [1.0 / len(m)] * len(m)
    n1 = len(kept)
    if n1 < 2:
        msg = (f"{where}: only {n1} treated unit(s) found a comparison unit within the caliper "
               f"{caliper}; widen the caliper or check overlap of the propensity scores.")
        raise NotIdentifiedError(msg)
    tau_i = np.asarray(tau_i)
    est = float(tau_i.mean())
    used = np.flatnonzero(K > 0)
    sig2 = np.empty(len(used))
    for k, j in enumerate(used):  # y over j and its J nearest other controls (ties included)
        others = c_rows[c_rows != j]
        gap = np.abs(dist[others] - dist[j])
        cut = np.sort(gap)[min(J, len(gap)) - 1]
        sig2[k] = np.var(np.r_[y[j], y[others[gap <= cut]]], ddof=1)
    var = (np.sum((tau_i - est) ** 2) + np.sum(sig2 * (K[used] ** 2 - KK[used]))) / n1**2
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    row = {"term": "ATT", "estimate": est, "std_error": se, "statistic": est / se,
           "p_value": float(2 * stats.norm.sf(abs(est / se))), "ci_lower": est - z * se,
           "ci_upper": est + z * se, "df": np.nan, "inference": "abadie_imbens",
           "n_clusters": None, "n_treated_clusters": None}
    wt = np.zeros(len(d))
    wt[kept] = 1.0
    wt[used] = K[used] * len(used) / K[used].sum()
    bal = balance_table(dd.X, dd.treat, weights_after=wt, estimand="ATT")
    ctrl_w = wt[used]
    sizes = pd.DataFrame({"group": ["treated", "control"], "all": [int(d.sum()), int((~d).sum())],
                          "matched": [n1, len(used)],
                          "effective": [float(n1), float(ctrl_w.sum() ** 2 / np.sum(ctrl_w**2))]})
    caveats = [DesignCaveat.PS_TREATED_AS_KNOWN.value]
    if n1 < int(d.sum()):
        caveats.append(DesignCaveat.CALIPER_DROPPED_TREATED.value)
    if max_abs_smd(bal) > 0.1:
        caveats.append(DesignCaveat.IMBALANCE_REMAINS.value)
    notes = (dd.note,) if dd.note else ()
    pt, pc = np.asarray(pair_t), np.asarray(pair_c)
    return MatchingResult(
        estimates=pd.DataFrame([row])[list(ESTIMATE_COLUMNS)], provenance=Provenance.current(),
        spec=Spec("match_nearest", columns=spec_columns, options=options), n_obs=len(d),
        inference=InferenceRecord("abadie_imbens", "abadie_imbens", None, None, None),
        notes=notes, caveats=tuple(caveats),
        tables={"balance": bal,
                "pairs": pd.DataFrame({"treated_row": pt, "control_row": pc,
                                       "distance": np.abs(dist[pt] - dist[pc]),
                                       "weight": np.asarray(pair_w)}),
                "sample_sizes": sizes,
                "propensity": pd.DataFrame({"term": propensity.coef.index,
                                            "estimate": propensity.coef.to_numpy()})})
