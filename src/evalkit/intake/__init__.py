"""Intake: raw files → validated, typed tables free of personal data.

Entry points (imported on first use): :func:`load_study` (also ``evalkit.load_study``),
:func:`validate_report` (what ``evalkit validate`` prints), :func:`init_study` (what
``evalkit init`` writes), and the facts a loaded :class:`Study` carries
(:class:`Derivation`).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Study": "evalkit.intake.load",
    "load_study": "evalkit.intake.load",
    "collect_study": "evalkit.intake.load",
    "Derivation": "evalkit.intake.derive",
    "ValidationReport": "evalkit.intake.report",
    "validate_report": "evalkit.intake.report",
    "init_study": "evalkit.intake.init",
    "SYNONYMS": "evalkit.intake.mapping",
    "normalise_header": "evalkit.intake.mapping",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    msg = f"module 'evalkit.intake' has no attribute {name!r}"
    raise AttributeError(msg)
