"""Matching with replacement by binary search gives exactly the pairs of a scan per treated unit.

The scan below is MatchIt's rule written out (smallest |gap|, ties to the control listed last,
no pair beyond the caliper); the package's fast path must agree pair for pair, including on
data full of exact ties.
"""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.designs.matching import greedy_pairs


def scan(distance: np.ndarray, treat: np.ndarray, caliper: float | None) -> np.ndarray:
    dist = np.asarray(distance, float)
    d = np.asarray(treat) == 1
    t_rows, c_rows = np.flatnonzero(d), np.flatnonzero(~d)
    order = np.lexsort((-t_rows, -dist[t_rows]))
    width = np.inf if caliper is None else caliper * float(np.std(dist, ddof=1))
    pairs = []
    for i in t_rows[order]:
        gap = np.abs(dist[c_rows] - dist[i])
        hits = np.flatnonzero(gap == gap.min())
        if gap[hits[0]] <= width:
            pairs.append((i, c_rows[hits[-1]]))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("caliper", [None, 0.05, 0.3])
def test_fast_path_equals_the_scan_on_tied_data(caliper):
    rng = np.random.default_rng(20240901)
    for _ in range(150):
        n = int(rng.integers(2, 80))
        dist = np.round(rng.random(n), int(rng.integers(1, 4)))  # 1–3 decimals: many exact ties
        treat = rng.integers(0, 2, n)
        np.testing.assert_array_equal(greedy_pairs(dist, treat, caliper=caliper, replace=True),
                                      scan(dist, treat, caliper))


def test_no_controls_or_no_treated_gives_no_pairs():
    assert greedy_pairs(np.array([0.1, 0.2]), np.array([1, 1]), replace=True).shape == (0, 2)
    assert greedy_pairs(np.array([0.1, 0.2]), np.array([0, 0]), replace=True).shape == (0, 2)
