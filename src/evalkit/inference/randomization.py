"""Randomisation (permutation) inference over the pilot assignment.

Owns :func:`randomization_inference`, :class:`RIResult`, and :func:`permute_cohorts`
(the permutation scheme for pilots: shuffle which communities get which cohort,
keeping every cohort's size, optionally within strata such as districts).

Why hand-written: the idea is a loop around the caller's estimator; pyfixest's
``ritest`` is tied to its own regression objects and is a heavy dependency
(../shared/DEPENDENCIES.md), and neither it nor ``ritest`` (Stata) enumerates
staggered cohort assignments exactly.

Test (Fisher 1935; as used for few treated clusters by MacKinnon & Webb 2020): under the
sharp null of no effect for any community, every assignment the design could have
produced is equally likely, so the observed statistic is compared with the statistic
recomputed under other assignments.

* Exact: when ``permute`` can enumerate its assignments and there are no more of them
  than ``draws``, every distinct assignment is evaluated (the observed one included) and
  p = #{a : T(a) ⪰ T_obs} / #assignments, so p >= 1/#assignments.
* Sampled: otherwise ``draws`` assignments are sampled with a seeded
  ``numpy.random.Generator`` and p = (1 + #{b : T_b ⪰ T_obs}) / (draws + 1), the "+1"
  correction that keeps the test exact under sampling (Phipson & Smyth 2010).

"⪰" is |T_b| >= |T_obs| for ``alternative="two-sided"`` (statistics centred at 0 under
the null, such as an effect estimate), T_b >= T_obs for "greater", T_b <= T_obs for
"less"; values within a relative 1e-10 of T_obs count as ties, i.e. as extreme.

References
----------
Fisher, R. A. (1935). The Design of Experiments. Oliver & Boyd.
MacKinnon, J. G., & Webb, M. D. (2020). Randomization inference for
    difference-in-differences with few treated clusters. Journal of Econometrics, 218(2),
    435–450.
Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be zero.
    Statistical Applications in Genetics and Molecular Biology, 9(1), Article 39.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
import pandas as pd
from attrs import field, frozen

from evalkit.errors import DataValidationError, EstimationError, NotIdentifiedError
from evalkit._checks import check_choice
from evalkit.results import Provenance, Result

__all__ = [
    "CohortPermutation",
    "EnumerablePermutation",
    "RIResult",
    "permute_cohorts",
    "randomization_inference",
]

Alternative = Literal["two-sided", "greater", "less"]
_TIE_RTOL = 1e-10


@runtime_checkable
class EnumerablePermutation(Protocol):
    """A permutation scheme that can also list all its assignments (for exact tests)."""

    n_assignments: int

    def __call__(self, rng: np.random.Generator) -> np.ndarray: ...

    def enumerate(self) -> Iterator[np.ndarray]: ...


@frozen(eq=False, kw_only=True)
class RIResult(Result):
    """Randomisation-inference test of one statistic.

    ``null_draws`` holds the statistic under every enumerated assignment (``exact``) or
    under each sampled assignment. ``estimates`` has one row with the observed statistic
    as ``estimate`` and ``statistic`` and the RI ``p_value`` (no standard error or interval).
    """

    kind: ClassVar[str] = "randomization_inference"

    observed: float
    p_value: float
    null_draws: np.ndarray = field(repr=False)
    draws: int
    exact: bool
    n_assignments: int | None
    alternative: str
    seed: int

    def title(self, lang: str = "zh") -> str:
        how_en = "exact, all assignments" if self.exact else f"{self.draws} random assignments"
        how_zh = "精确：枚举全部分配" if self.exact else f"随机抽取 {self.draws} 种分配"
        if lang == "en":
            return f"Randomisation inference ({how_en})"
        return f"随机化推断（{how_zh}）"

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.inference_figures import randomization_plot

        return randomization_plot(self, ax=ax, lang=lang)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "observed": self.observed,
            "p_value": self.p_value,
            "null_draws": self.null_draws.tolist(),
            "draws": self.draws,
            "exact": self.exact,
            "n_assignments": self.n_assignments,
            "alternative": self.alternative,
            "seed": self.seed,
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        out = {k: d[k] for k in ("observed", "p_value", "draws", "exact", "n_assignments", "alternative", "seed")}
        out["null_draws"] = np.asarray(d["null_draws"], dtype=np.float64)
        return out


def randomization_inference(
    statistic: Callable[[np.ndarray], float],
    assignment: ArrayLike,
    *,
    permute: Callable[[np.random.Generator], np.ndarray],
    draws: int = 999,
    seed: int,
    alternative: Alternative = "two-sided",
    term: str = "statistic",
) -> RIResult:
    """Randomisation-inference p-value of ``statistic`` over re-drawn pilot assignments.

    Parameters
    ----------
    statistic : callable
        ``statistic(assignment) -> float``: re-estimates the effect (or its t statistic)
        as if ``assignment`` were the pilot assignment.
    assignment : array-like
        The observed assignment (e.g. each community's cohort, 0 = never treated).
    permute : callable
        ``permute(rng) -> assignment``: draws an assignment the design could have
        produced. Use :func:`permute_cohorts` for pilots; objects that also offer
        ``n_assignments`` and ``enumerate()`` (see :class:`EnumerablePermutation`) allow
        the exact test.
    draws : int, default 999
        Number of sampled assignments; enumeration is used instead when the scheme has
        at most ``draws`` distinct assignments.
    seed : int
        Seed of the ``numpy.random.Generator`` passed to ``permute``.
    alternative : {"two-sided", "greater", "less"}
        "two-sided" compares absolute values.
    term : str
        Label of the row in ``estimates``.

    Returns
    -------
    RIResult
        ``.p_value .observed .null_draws .exact .n_assignments .draws``.

    Raises
    ------
    NotIdentifiedError
        The scheme admits only one assignment (nothing to compare with).
    EstimationError
        ``statistic`` returned a missing or infinite value.

    Examples
    --------
    >>> import numpy as np
    >>> from evalkit.inference import permute_cohorts, randomization_inference
    >>> y = np.array([3.1, 2.9, 3.4, 1.2, 0.8, 1.1, 0.9, 1.3])   # one value per community
    >>> treated = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    >>> def diff(a):
    ...     return y[a == 1].mean() - y[a == 0].mean()
    >>> res = randomization_inference(diff, treated, permute=permute_cohorts(treated), seed=1)
    >>> res.exact, res.n_assignments, round(res.p_value, 4)   # 1 of C(8,3) = 56 assignments
    (True, 56, 0.0179)
    """
    where = "randomization_inference"
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        msg = f"{where}: draws={draws!r}; expected a positive integer, e.g. 999."
        raise ValueError(msg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"{where}: seed={seed!r}; expected a non-negative integer (the study seed)."
        raise ValueError(msg)
    check_choice("alternative", alternative, Alternative, where=where)
    if not callable(permute):
        msg = f"{where}: permute={permute!r} is not callable; pass e.g. permute_cohorts(assignment)."
        raise TypeError(msg)
    observed = _checked(statistic(np.asarray(assignment)), where=where, label="the observed assignment")

    n_assign = getattr(permute, "n_assignments", None)
    n_assign = int(n_assign) if n_assign is not None else None
    if n_assign is not None and n_assign < 2:
        msg = (
            f"{where}: the permutation scheme admits only {n_assign} assignment, so there is nothing to "
            f"compare the observed statistic with. Check the cohorts and strata (each stratum needs at "
            f"least two different cohorts)."
        )
        raise NotIdentifiedError(msg)
    exact = isinstance(permute, EnumerablePermutation) and n_assign is not None and n_assign <= draws
    if exact:
        null = np.array(
            [
                _checked(statistic(a), where=where, label=f"enumerated assignment {i + 1}")
                for i, a in enumerate(permute.enumerate())
            ]
        )
        p = float(np.count_nonzero(_as_extreme(null, observed, alternative))) / null.size
    else:
        rng = np.random.default_rng(int(seed))
        null = np.array(
            [_checked(statistic(permute(rng)), where=where, label=f"random assignment {b + 1}") for b in range(draws)]
        )
        p = (1.0 + np.count_nonzero(_as_extreme(null, observed, alternative))) / (draws + 1.0)

    estimates = pd.DataFrame(
        {
            "term": [term],
            "estimate": [observed],
            "std_error": [math.nan],
            "statistic": [observed],
            "p_value": [p],
            "ci_lower": [math.nan],
            "ci_upper": [math.nan],
        }
    )
    return RIResult(
        estimates=estimates,
        provenance=Provenance.current(seed=int(seed)),
        observed=observed,
        p_value=p,
        null_draws=null,
        draws=int(null.size),
        exact=bool(exact),
        n_assignments=n_assign,
        alternative=alternative,
        seed=int(seed),
    )


def _checked(value: Any, *, where: str, label: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        msg = f"{where}: statistic returned {value!r} for {label}; expected a number."
        raise EstimationError(msg) from exc
    if not math.isfinite(v):
        msg = (
            f"{where}: statistic returned {v} for {label}; expected a finite number. The estimator "
            f"may not be identified under that assignment (e.g. a cohort with no comparison units)."
        )
        raise EstimationError(msg)
    return v


def _as_extreme(null: np.ndarray, observed: float, alternative: str) -> np.ndarray:
    tol = _TIE_RTOL * max(abs(observed), 1e-300)
    if alternative == "two-sided":
        return np.abs(null) >= abs(observed) - tol
    if alternative == "greater":
        return null >= observed - tol
    return null <= observed + tol


# ---- the pilot permutation scheme ----------------------------------------------------------


@frozen(eq=False)
class CohortPermutation:
    """Shuffle cohort labels across units, keeping each cohort's size (within strata).

    Calling it with a ``numpy.random.Generator`` returns one random assignment;
    ``n_assignments`` is the number of distinct assignments (a multinomial coefficient per
    stratum, multiplied over strata) and ``enumerate()`` yields each of them once, in a
    fixed order.
    """

    labels: np.ndarray  # distinct labels (values of the assignment)
    codes: np.ndarray  # code of each unit's label
    strata: list[np.ndarray]  # unit positions of each stratum
    n_assignments: int

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        out = self.codes.copy()
        for pos in self.strata:
            out[pos] = rng.permutation(self.codes[pos])
        return self.labels[out]

    def enumerate(self) -> Iterator[np.ndarray]:
        per_stratum = [list(_multiset_arrangements(self.codes[pos])) for pos in self.strata]
        for combo in itertools.product(*per_stratum):
            out = np.empty_like(self.codes)
            for pos, arr in zip(self.strata, combo, strict=True):
                out[pos] = arr
            yield self.labels[out]


def permute_cohorts(assignment: ArrayLike, *, strata: ArrayLike | None = None) -> CohortPermutation:
    """The permutation scheme for pilot roll-outs: which communities join which cohort.

    Parameters
    ----------
    assignment : array-like, shape (n_units,)
        Each unit's cohort label: 0/1 for a single pilot wave, or the adoption period for
        staggered roll-outs with any code (0, NaN or "never") for never-treated units.
        Missing values form their own cohort.
    strata : array-like, shape (n_units,), optional
        Permute only within these groups (e.g. district), if the pilots were chosen within
        each.

    Returns
    -------
    CohortPermutation
        ``perm(rng)`` draws an assignment with the same cohort sizes (per stratum);
        ``perm.n_assignments`` counts them and ``perm.enumerate()`` lists them.

    Examples
    --------
    >>> import numpy as np
    >>> from evalkit.inference import permute_cohorts
    >>> perm = permute_cohorts(np.array([2019, 2019, 2021, 0, 0, 0]))
    >>> perm.n_assignments      # 6! / (2! 1! 3!)
    60
    >>> sorted(perm(np.random.default_rng(0)).tolist())
    [0, 0, 0, 2019, 2019, 2021]
    """
    where = "permute_cohorts"
    a = np.asarray(assignment)
    if a.ndim != 1 or a.size < 2:
        msg = f"{where}: assignment has shape {a.shape}; expected one cohort label per unit (at least 2 units)."
        raise DataValidationError(msg)
    codes, labels = pd.factorize(a, use_na_sentinel=False)
    labels = np.asarray(labels)
    if strata is None:
        groups = [np.arange(a.size)]
    else:
        s = np.asarray(strata)
        if s.shape != a.shape:
            msg = f"{where}: strata has shape {s.shape}; expected {a.shape}, one stratum per unit."
            raise DataValidationError(msg)
        s_codes, _ = pd.factorize(s, use_na_sentinel=False)
        groups = [np.flatnonzero(s_codes == c) for c in range(s_codes.max() + 1)]
    n = 1
    for pos in groups:
        n *= _multinomial(np.bincount(codes[pos]))
    return CohortPermutation(labels=labels, codes=codes.astype(np.int64), strata=groups, n_assignments=n)


def _multinomial(counts: np.ndarray) -> int:
    total, out = 0, 1
    for c in counts.tolist():
        total += c
        out *= math.comb(total, c)
    return out


def _multiset_arrangements(codes: np.ndarray) -> Iterator[np.ndarray]:
    """Every distinct arrangement of the multiset ``codes`` (positions chosen label by label)."""
    values, counts = np.unique(codes, return_counts=True)
    n = codes.size

    def place(i: int, free: tuple[int, ...], out: np.ndarray) -> Iterator[np.ndarray]:
        if i == len(values) - 1:
            out[list(free)] = values[i]
            yield out.copy()
            return
        for chosen in itertools.combinations(free, int(counts[i])):
            out[list(chosen)] = values[i]
            rest = tuple(p for p in free if p not in set(chosen))
            yield from place(i + 1, rest, out)

    yield from place(0, tuple(range(n)), np.empty(n, dtype=codes.dtype))
