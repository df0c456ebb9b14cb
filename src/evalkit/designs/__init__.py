"""Designs for the cases a plain DiD cannot serve.

* :func:`synthetic_control`, :func:`synthetic_did` – one showcase pilot (or a few pilots
  starting together) against a weighted combination of comparison communities, with
  placebo-in-space inference; :func:`community_panel` builds their community × wave input
  from resident survey data.

Re-exports only; no logic lives here.
"""

from __future__ import annotations

from evalkit.designs.synthetic import (SyntheticControlResult, SyntheticDiDResult, community_panel,
                                       synthetic_control, synthetic_did)

__all__ = [
    "SyntheticControlResult",
    "SyntheticDiDResult",
    "community_panel",
    "synthetic_control",
    "synthetic_did",
]
