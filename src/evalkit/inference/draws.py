"""Cluster-level bootstrap weights: the one place evalkit draws them.

Owns :func:`draw_weights` and the weight distributions: Rademacher (±1 with equal
probability) and Webb's six-point distribution (±√(1/2), ±1, ±√(3/2), each with
probability 1/6; Webb 2023). Every resampling routine (the wild cluster bootstrap, the
multiplier bootstrap of the staggered estimator, the joint bootstrap behind Romano–Wolf)
takes its draws from here, so a seed means the same thing everywhere.

Stream: with a ``numpy.random.Generator`` ``rng``, row b of the (B, G) matrix is drawn
as ``points[rng.integers(0, len(points), size=(B, G))]`` (64-bit integers), which for
Rademacher weights is the same stream as ``rng.choice([-1.0, 1.0], size=(B, G))``.
Rademacher weights may instead be fully enumerated (all 2^G sign patterns,
deterministic) when 2^G <= B.

References
----------
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
    Canadian Journal of Economics, 56(3), 839–858.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from evalkit._checks import check_choice

__all__ = ["WeightType", "WEBB_POINTS", "RADEMACHER_POINTS", "draw_weights"]

WeightType = Literal["rademacher", "webb"]

RADEMACHER_POINTS = np.array([-1.0, 1.0])
WEBB_POINTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
MAX_ENUMERATE_CLUSTERS = 24  # 2^24 draws x G doubles would not fit in memory anyway


def draw_weights(n_clusters: int, draws: int, weight_type: WeightType,
                 rng: np.random.Generator | int, *, enumerate_rademacher: bool = False
                 ) -> tuple[np.ndarray, bool]:
    """(B, G) cluster-level bootstrap weights, and whether they are a full enumeration.

    Parameters
    ----------
    n_clusters : int
        G, the number of clusters (columns).
    draws : int
        B, the number of draws (rows) when sampling.
    weight_type : {"rademacher", "webb"}
        The distribution.
    rng : numpy.random.Generator or int
        The generator, or a seed for ``numpy.random.default_rng``.
    enumerate_rademacher : bool, default False
        With Rademacher weights and 2^G <= ``draws``, return all 2^G sign patterns
        instead (row b holds the bits of b; deterministic, and then B = 2^G).
    """
    check_choice("weight_type", weight_type, WeightType, where="draw_weights")
    G = int(n_clusters)
    if (enumerate_rademacher and weight_type == "rademacher" and G <= MAX_ENUMERATE_CLUSTERS
            and 2**G <= draws):
        patterns = np.arange(2**G, dtype=np.int64)[:, None] >> np.arange(G, dtype=np.int64)
        return ((patterns & 1) * 2 - 1).astype(np.float64), True
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(int(rng))
    points = WEBB_POINTS if weight_type == "webb" else RADEMACHER_POINTS
    return points[gen.integers(0, len(points), size=(int(draws), G))], False
