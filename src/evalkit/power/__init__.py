"""Power and minimum detectable effects for planning the next survey round.

* :func:`power_two_means`, :func:`power_two_proportions` – residents sampled independently
  (statsmodels' power classes; checked against R ``pwr``).
* :func:`design_effect`, :func:`effective_sample_size`, :func:`power_cluster` – residents
  sampled within communities, pilots assigned by community (Bloom 2005; Dong & Maynard 2013;
  Hooper et al. 2016 for repeated cross-sections; checked against PowerUpR).
* :func:`simulate_power_staggered` – power of the staggered DiD estimator by re-assigning
  placebo pilots in the study's own data.

Re-exports only; no logic lives here.
"""

from __future__ import annotations

from evalkit.power.cluster import design_effect, effective_sample_size, mde_multiplier, power_cluster
from evalkit.power.individual import cohens_h, power_two_means, power_two_proportions
from evalkit.power.results import PowerResult, PowerSimulationResult
from evalkit.power.simulation import simulate_power_staggered

__all__ = [
    "PowerResult",
    "PowerSimulationResult",
    "cohens_h",
    "design_effect",
    "effective_sample_size",
    "mde_multiplier",
    "power_cluster",
    "power_two_means",
    "power_two_proportions",
    "simulate_power_staggered",
]
