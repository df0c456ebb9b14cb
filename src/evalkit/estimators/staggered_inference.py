"""Inference for the staggered (Callaway–Sant'Anna) estimator under the few-clusters policy.

Owns the resampling routes of :func:`evalkit.estimators.staggered.did_staggered` and its
pre-trend test:

* :func:`multiplier_bootstrap` – a cluster multiplier (wild) bootstrap of the influence
  functions (weights from :func:`evalkit.inference.draws.draw_weights`; symmetric
  percentile-t intervals, bootstrap SE from the interquartile range as in R ``did``).
* :func:`randomization` – randomisation inference that permutes cohort labels across
  clusters (studentised statistics; p-values only), driven by
  :func:`evalkit.inference.randomization_inference`.
* :class:`PreTrendTest` / :func:`pretest_wald` – the joint test that all pre-treatment
  ATT(g,t) are zero, with the *same* inference as the main estimate: the Wald statistic
  W = a'V⁻¹a (a: pre-treatment ATT(g,t), V: their cluster-robust covariance from the
  influence functions) is referred to χ²(k) only when the guardrail trusts analytic
  inference (many clusters, as R ``did``'s pre-test). With few clusters the asymptotic χ²
  over-rejects badly (V is a sum over a handful of clusters, and each cohort's treated side
  of it rests on its few pilots), so W is instead compared with its **randomisation
  distribution** over cohort permutations across clusters (each permuted fit gives its own
  a and V; p = (1 + #{W_perm ≥ W})/(1 + #permutations), exact when all permutations are
  enumerated). This holds whether the main estimate is bootstrapped or itself uses
  randomisation inference (then the same permutations serve both). Only when cohorts vary
  within clusters (no assignment to permute) is W compared with its **wild (multiplier)
  bootstrap** distribution, re-studentised in every draw: a*_b = Σ_g v_bg S_g (S_g: cluster
  sums of the influence functions), V*_b = Σ_g (v_bg S_g − a*_b/G)(v_bg S_g − a*_b/G)',
  W*_b = a*_b'V*_b⁻¹a*_b, p = (1 + #{W*_b ≥ W})/(B + 1). In the size simulation below that
  bootstrap was far from nominal with 2 pilots per cohort (it rejected in 15 of 20 null
  panels at 5 % with 12 communities and 4 pilots), which is why randomisation is preferred.

  The simulation ``benchmarks/pretest_size.py`` (and the slow test
  ``tests/estimators/test_pretest_size.py``) measures the rejection rates under parallel
  trends at 5 % (1,000 null panels each, 2026-12-06): 8 communities with 2 pilots 0.032 by
  randomisation (exact test over 56 assignments; the χ² test rejected 0.794); 12 communities
  with 4 pilots 0.048 (χ² 0.921).

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. Journal of Econometrics, 225(2), 200–230.
MacKinnon, J. G., & Webb, M. D. (2020). Randomization inference for
    difference-in-differences with few treated clusters. Journal of Econometrics, 218(2),
    435–450.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pandas as pd
from attrs import frozen
from scipy import stats

from evalkit.errors import EstimationError, NotIdentifiedError
from evalkit.estimators.results import InferenceRecord
from evalkit.estimators.staggered_aggregation import Aggregates, GroupTimeFit, aggregate
from evalkit.inference.draws import draw_weights

if TYPE_CHECKING:
    from evalkit.estimators.staggered import StaggeredData

__all__ = ["PreTrendTest", "cluster_sums", "multiplier_bootstrap", "one_value_per_cluster",
           "pretest_bootstrap", "pretest_chi2", "pretest_randomization", "pretest_wald",
           "randomization", "relabel"]


@frozen
class PreTrendTest:
    """The joint pre-trend test: Wald statistic, number of pre-treatment cells, p-value, method
    (``"chi2"``, ``"multiplier_bootstrap"`` or ``"randomization"``)."""

    statistic: float
    df: int
    p_value: float
    method: str


def one_value_per_cluster(values: np.ndarray, cluster: np.ndarray, n_clusters: int) -> bool:
    """Whether ``values`` (one per unit) are constant within each cluster (codes 0..G−1)."""
    first = np.empty(n_clusters)
    first[cluster] = values  # the value of some unit of each cluster
    return bool((first[cluster] == values).all())


def cluster_sums(psi: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sums of the rows of ``psi`` (estimates × units) within clusters (codes 0..G−1, one per
    unit): estimates × clusters. One ``bincount`` per estimate; the rows themselves when every
    unit is its own cluster."""
    if n_clusters == psi.shape[1] and np.array_equal(cluster, np.arange(n_clusters)):
        return psi
    return np.vstack([np.bincount(cluster, weights=row, minlength=n_clusters) for row in psi])


def _gram(Q: np.ndarray) -> np.ndarray:
    """Q Q' for a thin (k × m) Q, row by row with einsum's single-threaded loop: on a machine
    whose cores are busy, threaded BLAS on this product stalled for up to a second per call
    (measured on 30,000 units); the loop costs a few milliseconds."""
    k = Q.shape[0]
    V = np.empty((k, k))
    for i in range(k):  # upper triangle (half the work of the full product)
        V[i, i:] = np.einsum("li,i->l", Q[i:], Q[i])
        V[i:, i] = V[i, i:]
    return V


def _wald(a: np.ndarray, V: np.ndarray) -> float:
    try:
        return float(a @ np.linalg.solve(V, a))
    except np.linalg.LinAlgError:
        return float(a @ np.linalg.pinv(V) @ a)


def pre_cells(fit: GroupTimeFit) -> np.ndarray:
    """Indices of the pre-treatment ATT(g,t) cells."""
    return np.flatnonzero(fit.time < fit.group)


def pretest_wald(fit: GroupTimeFit, cluster: np.ndarray, n_clusters: int) -> tuple[float, np.ndarray]:
    """The Wald statistic of the pre-treatment cells and their cluster sums (k × G)."""
    pre = pre_cells(fit)
    if pre.size == 0:
        return np.nan, np.empty((0, n_clusters))
    Q = cluster_sums(fit.psi[pre], cluster, n_clusters)
    return _wald(fit.att[pre], _gram(Q)), Q


def pretest_chi2(W: float, k: int) -> PreTrendTest:
    p = float(stats.chi2.sf(W, k)) if k else np.nan
    return PreTrendTest(statistic=W, df=k, p_value=p, method="chi2")


def pretest_bootstrap(W: float, Q: np.ndarray, *, draws: int, seed: int, weight_type: str
                      ) -> PreTrendTest:
    """W against its re-studentised multiplier-bootstrap distribution (module docstring)."""
    k, G = Q.shape
    if k == 0:
        return PreTrendTest(statistic=np.nan, df=0, p_value=np.nan, method="multiplier_bootstrap")
    V, _ = draw_weights(G, draws, weight_type, seed)
    A = V @ Q.T  # draws × k perturbations a*_b
    # V*_b = Σ_g v_bg² S_g S_g' − a*_b a*_b'/G, for all draws at once (k is small)
    cov = np.einsum("bg,ig,jg->bij", V * V, Q, Q) - np.einsum("bi,bj->bij", A, A) / G
    W_star = np.array([_wald(A[b], cov[b]) for b in range(A.shape[0])])
    p = (1 + np.count_nonzero(W_star >= W * (1 - 1e-12))) / (A.shape[0] + 1)
    return PreTrendTest(statistic=W, df=k, p_value=float(p), method="multiplier_bootstrap")


def pretest_randomization(prep: StaggeredData, fit: GroupTimeFit, cluster_rows: np.ndarray, *,
                          pretest: tuple[float, np.ndarray, np.ndarray, int], draws: int,
                          seed: int) -> PreTrendTest:
    """W against its randomisation distribution over cohort permutations across clusters (the
    scheme of :func:`randomization`), for designs whose main estimate is bootstrapped."""
    from evalkit.inference import permute_cohorts, randomization_inference

    W_obs, Q_obs, unit_cluster, n_clusters = pretest
    k = int(Q_obs.shape[0])
    if k == 0 or not np.isfinite(W_obs):
        return PreTrendTest(statistic=W_obs, df=k, p_value=np.nan, method="randomization")
    clusters = pd.Series(fit.unit_group).groupby(cluster_rows[prep.unit_rows]).first()
    assignment = clusters.to_numpy()
    row_pos = pd.Index(clusters.index.to_numpy()).get_indexer(cluster_rows)

    def statistic(assign: np.ndarray) -> float:
        assign = np.asarray(assign, dtype=float)
        if np.array_equal(assign, assignment):
            return W_obs
        try:
            w = pretest_wald(prep.fit(assign[row_pos], check=False), unit_cluster, n_clusters)[0]
        except (NotIdentifiedError, EstimationError):
            return 0.0
        return w if np.isfinite(w) else 0.0

    ri = randomization_inference(statistic, assignment, permute=permute_cohorts(assignment),
                                 draws=draws, seed=seed, alternative="greater")
    return PreTrendTest(statistic=W_obs, df=k, p_value=float(ri.p_value), method="randomization")


def multiplier_bootstrap(att: np.ndarray, psi: np.ndarray, cluster: np.ndarray, n_clusters: int,
                         se_a: np.ndarray, *, draws: int, seed: int, weight_type: str,
                         alpha: float) -> dict[str, np.ndarray]:
    """Cluster multiplier bootstrap of the influence functions ``psi`` (estimates × units;
    ``cluster``: each unit's cluster in string order, 0..G−1)."""
    S = cluster_sums(psi, cluster, n_clusters).T  # clusters × estimates
    G = S.shape[0]
    V, _ = draw_weights(G, draws, weight_type, seed)
    boot = V @ S * np.sqrt(G / (G - 1))  # draws × K perturbations of the estimates
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
    se_b = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = att / se_a
        t_star = np.abs(boot / se_a)
    p = (1 + (t_star >= np.abs(t_obs)[None, :]).sum(axis=0)) / (draws + 1)
    crit = np.quantile(t_star, 1 - alpha, axis=0)
    return {"std_error": se_b, "statistic": t_obs, "p_value": p,
            "ci_lower": att - crit * se_a, "ci_upper": att + crit * se_a}


def relabel(decision: InferenceRecord, method: str) -> InferenceRecord:
    """Name the inference the staggered estimator really uses (a reason code says why)."""
    if method != "multiplier_bootstrap":
        return attrs.evolve(decision, method=method)
    return attrs.evolve(decision, method=method, weight_type="rademacher",
                        reasons=(*decision.reasons, "multiplier_bootstrap"))


def randomization(prep: StaggeredData, fit: GroupTimeFit, agg: Aggregates, att: np.ndarray,
                  se_a: np.ndarray, cluster_rows: np.ndarray, *, head: int,
                  balance_e: int | None, min_e: float, max_e: float, draws: int, seed: int,
                  pretest: tuple[float, np.ndarray, np.ndarray, int]
                  ) -> tuple[dict[str, np.ndarray], PreTrendTest]:
    """Permute cohorts across clusters; studentised statistic for every row; p-values only.

    ``cluster_rows``: each row's cluster, numbered in string order (which fixes the order of the
    permuted assignment). :func:`evalkit.inference.randomization_inference` drives the
    permutations on the headline row; the other rows, and the pre-trend Wald statistic
    (``pretest``: observed W, its cells' cluster sums, each unit's cluster code and G), reuse
    the same permutations (collected as the statistic is evaluated). Each permutation is
    estimated like the data (hand-written ATT(g,t) where it applies, diff-diff otherwise).
    """
    from evalkit.inference import permute_cohorts, randomization_inference

    W_obs, Q_obs, unit_cluster, n_clusters = pretest
    clusters = pd.Series(fit.unit_group).groupby(cluster_rows[prep.unit_rows]).first()
    assignment = clusters.to_numpy()
    row_pos = pd.Index(clusters.index.to_numpy()).get_indexer(cluster_rows)
    terms = agg.terms
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = att / se_a
    null: list[np.ndarray] = []
    null_w: list[float] = []

    def statistic(assign: np.ndarray) -> float:
        assign = np.asarray(assign, dtype=float)
        if np.array_equal(assign, assignment):
            return float(abs(t_obs[head]))
        try:
            f = prep.fit(assign[row_pos], check=False)
            est = aggregate(f, balance_e=balance_e, min_e=min_e, max_e=max_e, with_psi=False)
            got = dict(zip(est.terms, est.att, strict=True))
            t = np.array([got.get(term, np.nan) for term in terms], dtype=float) / se_a
            w = pretest_wald(f, unit_cluster, n_clusters)[0] if Q_obs.shape[0] else np.nan
        except (NotIdentifiedError, EstimationError):
            t, w = np.full(att.size, np.nan), np.nan
        null.append(t)
        null_w.append(w)
        return float(abs(t[head])) if np.isfinite(t[head]) else 0.0

    ri = randomization_inference(statistic, assignment,
                                 permute=permute_cohorts(assignment),
                                 draws=draws, seed=seed)
    N = np.vstack(null) if null else np.empty((0, att.size))
    finite = np.isfinite(N)
    exceed = (np.abs(np.where(finite, N, 0.0)) >= np.abs(t_obs)[None, :] - 1e-12) & finite
    p = (1 + exceed.sum(axis=0)) / (1 + finite.sum(axis=0))
    p[head] = float(ri.p_value)
    nan = np.full(att.size, np.nan)
    Wn = np.asarray(null_w, dtype=float)
    ok = np.isfinite(Wn)
    p_pre = ((1 + np.count_nonzero(Wn[ok] >= W_obs * (1 - 1e-12))) / (1 + ok.sum())
             if np.isfinite(W_obs) else np.nan)
    pre = PreTrendTest(statistic=W_obs, df=int(Q_obs.shape[0]), p_value=float(p_pre),
                       method="randomization")
    return {"std_error": se_a, "statistic": t_obs, "p_value": p, "ci_lower": nan, "ci_upper": nan}, pre


