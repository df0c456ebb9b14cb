"""evalkit: evaluate community-governance programmes (三社联动 / 五社联动).

The public API is re-exported here by name. Names are imported on first use
(PEP 562 ``__getattr__``), so ``import evalkit`` stays fast for the command
line and ``evalkit.mark_complete`` costs nothing in a notebook's last
cell; no logic lives here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evalkit._version import __version__

# public name -> module that defines it
_EXPORTS = {
    "Codebook": "evalkit.codebook",
    "StudyConfig": "evalkit.config",
    "load_config": "evalkit.config",
    "Study": "evalkit.intake.load",
    "load_study": "evalkit.run.study",
    "validate_report": "evalkit.intake.report",
    "init_study": "evalkit.intake.init",
    "demo_config": "evalkit.run.paths",
    "DataQualityProfile": "evalkit.profiling",
    "profile_study": "evalkit.run.study",
    "mark_complete": "evalkit.run.completion",
    "session_info": "evalkit.run.session",
    "run_study": "evalkit.run.pipeline",
    "run_batch": "evalkit.run.batch",
    "reproduce": "evalkit.run.reproduce",
    "estimate_impact": "evalkit.run.study",
    "ImpactReport": "evalkit.impact",
    "evaluate_designs": "evalkit.run.study",
    "DesignsReport": "evalkit.design_analysis",
    "measure": "evalkit.run.study",
    "community_effects": "evalkit.run.study",
    "CommunityEffects": "evalkit.community",
    "MeasurementReport": "evalkit.measurement",
    "analyse_programme": "evalkit.run.study",
    "ProgrammeReport": "evalkit.programme.report",
    "target_attainment": "evalkit.programme.report",
    "analyse_showcase": "evalkit.showcase",
    "ShowcaseReport": "evalkit.showcase",
}
_SUBMODULES = {"reporting", "datasets", "intake", "testing", "estimators", "inference", "scales",
               "weighting", "survey", "measurement", "impact", "run", "community", "designs", "power",
               "disclosure", "audit", "programme", "showcase"}

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
    from evalkit import (audit, datasets, designs, disclosure, estimators, inference, intake, power, reporting, run,
                         scales, survey,
                         testing, weighting)
    from evalkit.codebook import Codebook
    from evalkit.community import CommunityEffects, community_effects
    from evalkit.config import StudyConfig, load_config
    from evalkit.design_analysis import DesignsReport, evaluate_designs
    from evalkit.impact import ImpactReport, estimate_impact
    from evalkit.intake.init import init_study
    from evalkit.intake.load import Study, load_study
    from evalkit.intake.report import validate_report
    from evalkit.measurement import MeasurementReport, measure
    from evalkit.programme.report import ProgrammeReport, analyse_programme, target_attainment
    from evalkit.run.batch import run_batch
    from evalkit.run.paths import demo_config
    from evalkit.run.pipeline import run_study
    from evalkit.run.reproduce import reproduce
    from evalkit.profiling import DataQualityProfile, profile_study
    from evalkit.run.completion import mark_complete
    from evalkit.run.session import session_info
