"""Disclosure control for everything a report publishes.

Every count, share, mean, scale score or model cell over a group passes
:func:`protect_table`; figures draw only from :func:`drawable`; small
communities are reported at street level by :func:`roll_up_small_areas`.
The :class:`DisclosurePolicy` is recorded in the run manifest
(``policy.to_manifest()``), and the :class:`SuppressionRegister` keeps hidden
cells hidden across tables and waves.

Re-exports the public API by name; no logic lives here.
"""

from __future__ import annotations

from evalkit.disclosure.individuals import RollUp, cell_contributions, protected_quantiles, roll_up_small_areas
from evalkit.disclosure.policy import (
    ABSOLUTE_FLOOR,
    SENSITIVE_ATTRIBUTES,
    DisclosurePolicy,
    SuppressionReason,
    SuppressionRegister,
    cell_key,
)
from evalkit.disclosure.secondary import (
    TOTAL,
    additive_structure,
    attacker_intervals,
    linearly_determined,
)
from evalkit.disclosure.tables import ProtectedTable, TableSpec, drawable, protect_table, protect_tables

__all__ = [
    "ABSOLUTE_FLOOR",
    "SENSITIVE_ATTRIBUTES",
    "TOTAL",
    "DisclosurePolicy",
    "ProtectedTable",
    "RollUp",
    "SuppressionReason",
    "SuppressionRegister",
    "TableSpec",
    "additive_structure",
    "attacker_intervals",
    "cell_contributions",
    "cell_key",
    "drawable",
    "linearly_determined",
    "protect_table",
    "protect_tables",
    "protected_quantiles",
    "roll_up_small_areas",
]
