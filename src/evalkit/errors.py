"""The one exception and warning hierarchy of evalkit.

Every class also subclasses the builtin it resembles, so callers that catch
``ValueError`` or ``KeyError`` keep working. Messages say what, where (file,
sheet, row as the user sees it, column), what was found versus expected, and
the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is heavy; only needed for type hints here
    import pandas as pd

__all__ = [
    "EvalkitError",
    "ConfigError",
    "CodebookError",
    "DataValidationError",
    "MissingColumnError",
    "IntakeError",
    "ParameterError",
    "NotebookTemplateError",
    "RunError",
    "EstimationError",
    "NotIdentifiedError",
    "ConvergenceError",
    "ReportError",
    "FontError",
    "DisclosureError",
    "EvalkitWarning",
    "DataQualityWarning",
    "WeightTrimmingWarning",
    "SmallSampleWarning",
    "TreatmentReversalWarning",
]


class EvalkitError(Exception):
    """Base class of every error evalkit raises on purpose."""


class ConfigError(EvalkitError, ValueError):
    """The study config is wrong: names the key, the line and the fix."""


class CodebookError(EvalkitError, ValueError):
    """The codebook is wrong or does not fit the data."""


class IntakeError(EvalkitError, OSError):
    """A raw file cannot be read at all (missing, empty, undecodable)."""


class DataValidationError(EvalkitError, ValueError):
    """One or more data problems; ``failure_cases`` lists every one.

    Validation is lazy: all problems in all files are collected first and
    raised together, so a user fixes everything in one round.
    """

    def __init__(self, message: str, failure_cases: "pd.DataFrame | None" = None):
        super().__init__(message)
        self.failure_cases = failure_cases


class MissingColumnError(EvalkitError, KeyError):
    """A required column is absent."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ParameterError(EvalkitError, ValueError):
    """Notebook parameters fail their typed schema; refused before any kernel starts."""


class NotebookTemplateError(EvalkitError, ValueError):
    """A notebook template cannot be run safely (e.g. no ``parameters`` cell)."""


class RunError(EvalkitError, RuntimeError):
    """A notebook run did not complete (kernel died, timeout, no completion marker).

    ``kind`` classifies the failure for batch records and retries: ``execution``
    (a cell raised or the marker is missing), ``kernel_died``, ``timeout``,
    ``kernel_start`` (the kernel never came up), ``io`` (an output could not be
    written); errors raised before a run are ``validation`` and ``template``.
    """

    def __init__(self, message: str, kind: str = "execution"):
        super().__init__(message)
        self.kind = kind


class EstimationError(EvalkitError, RuntimeError):
    """An estimator cannot produce a trustworthy result."""


class NotIdentifiedError(EstimationError):
    """The design does not identify the requested effect."""


class ConvergenceError(EstimationError):
    """An iterative procedure did not converge."""


class ReportError(EvalkitError, RuntimeError):
    """A report artefact cannot be produced."""


class FontError(ReportError):
    """No font able to draw the report's Chinese text is available."""


class DisclosureError(EvalkitError, ValueError):
    """A table or figure would publish something disclosure control forbids, or the policy is unsafe."""


class EvalkitWarning(UserWarning):
    """Base class of evalkit's warnings."""


class DataQualityWarning(EvalkitWarning):
    """A data problem that does not stop the run; it goes into the report."""


class WeightTrimmingWarning(EvalkitWarning):
    """Survey weights were trimmed."""


class SmallSampleWarning(EvalkitWarning):
    """Too few observations or clusters for the requested inference."""


class TreatmentReversalWarning(EvalkitWarning):
    """A 0/1 treatment switches off for some units; the estimate mixes on and off contrasts."""
