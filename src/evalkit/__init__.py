"""evalkit: evaluate community-governance programmes (三社联动 / 五社联动).

The public API is re-exported here by name. Names are imported on first use
(PEP 562 ``__getattr__``), so ``import evalkit`` stays fast for the command
line and ``evalkit.runner.mark_complete`` costs nothing in a notebook's last
cell; no logic lives here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Codebook": "evalkit.codebook",
    "StudyConfig": "evalkit.config",
    "load_config": "evalkit.config",
    "Study": "evalkit.intake.load",
    "load_study": "evalkit.intake.load",
    "demo_config": "evalkit.paths",
    "DataQualityProfile": "evalkit.profiling",
    "profile_study": "evalkit.profiling",
    "mark_complete": "evalkit.completion",
    "session_info": "evalkit.session",
    "run_study": "evalkit.pipeline",
    "estimate_impact": "evalkit.impact",
    "ImpactReport": "evalkit.impact",
    "measure": "evalkit.measurement",
    "MeasurementReport": "evalkit.measurement",
    "target_attainment": "evalkit.targets",
}
_SUBMODULES = {"reporting", "datasets", "intake", "testing", "estimators", "inference", "scales",
               "weighting", "survey", "measurement", "impact"}

__all__ = ["__version__", *sorted(_EXPORTS), *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"evalkit.{name}")
    msg = f"module 'evalkit' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs
    from evalkit import datasets, estimators, inference, intake, reporting, scales, survey, testing, weighting
    from evalkit.codebook import Codebook
    from evalkit.config import StudyConfig, load_config
    from evalkit.impact import ImpactReport, estimate_impact
    from evalkit.intake.load import Study, load_study
    from evalkit.measurement import MeasurementReport, measure
    from evalkit.paths import demo_config
    from evalkit.pipeline import run_study
    from evalkit.profiling import DataQualityProfile, profile_study
    from evalkit.completion import mark_complete
    from evalkit.session import session_info
    from evalkit.targets import target_attainment
