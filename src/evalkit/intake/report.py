"""``evalkit validate``: every error, warning and notice of a study in one pass.

:func:`validate_report` loads the study the way a run would (:func:`collect_study`) but
never raises on a data problem: it returns a :class:`ValidationReport` holding every
problem of every file, grouped by file, plus what intake derived and which analyses leave
out a column the study lacks. A mistake in the config or the codebook stops checking
(nothing can be checked past it) and is itself the report's one error.

``exit_code``: 0 = clean (notices only), 1 = warnings only, 2 = errors. ``render(lang)``
gives the text the command prints (words live in :mod:`evalkit.reporting.validation_text`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from attrs import field, frozen

from evalkit.errors import CodebookError, ConfigError, IntakeError
from evalkit.intake.derive import Derivation
from evalkit.intake.load import collect_study
from evalkit.intake.problems import Problem, ProblemLog

__all__ = ["ValidationReport", "validate_report"]

_ORDER = {"error": 0, "warning": 1, "notice": 2}


@frozen(eq=False)
class ValidationReport:
    """Everything ``evalkit validate`` found, as facts (problems carry their own messages)."""

    config: str
    problems: tuple[Problem, ...] = ()
    tables: Mapping[str, int] = field(factory=dict)  # rows per table, when the study loaded
    derivations: tuple[Derivation, ...] = ()
    unavailable: Mapping[str, tuple[str, ...]] = field(factory=dict)
    stopped: bool = False  # a config/codebook error stopped checking early

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def notices(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "notice")

    @property
    def exit_code(self) -> int:
        """0 clean, 1 warnings only, 2 errors."""
        if self.errors:
            return 2
        return 1 if self.warnings else 0

    def by_file(self) -> dict[str, list[Problem]]:
        """Problems per file (paths relative to the config's folder), errors first within a file."""
        folder = Path(self.config).parent
        out: dict[str, list[Problem]] = {}
        for p in sorted(self.problems, key=lambda p: _ORDER.get(p.severity, 3)):
            out.setdefault(_relative(p.file, folder), []).append(p)
        return out

    def counts(self) -> dict[str, int]:
        return {"error": len(self.errors), "warning": len(self.warnings), "notice": len(self.notices)}

    def to_frame(self) -> pd.DataFrame:
        return ProblemLog(list(self.problems)).to_frame()

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "exit_code": self.exit_code, "counts": self.counts(),
                "tables": dict(self.tables), "stopped": self.stopped,
                "derivations": [d.to_dict() for d in self.derivations],
                "unavailable": {k: list(v) for k, v in self.unavailable.items()},
                "problems": self.to_frame().to_dict("records")}

    def render(self, lang: str = "en") -> str:
        """The text ``evalkit validate`` prints (``lang``: ``en`` or ``zh``)."""
        from evalkit.reporting.validation_text import render_validation

        return render_validation(self, lang)

    def __str__(self) -> str:
        return self.render("en")


def _relative(file: str, folder: Path) -> str:
    names = [f.strip() for f in str(file).split(",")]
    out = []
    for name in names:
        try:
            rel = os.path.relpath(name, folder) if os.path.isabs(name) else name
        except ValueError:  # another drive on Windows
            rel = name
        out.append(name if rel.startswith("..") else rel)
    return ", ".join(out)


def validate_report(config: str | os.PathLike[str]) -> ValidationReport:
    """Check a study's config, codebook and every data file; collect every problem.

    Examples
    --------
    >>> report = validate_report("study.yaml")  # doctest: +SKIP
    >>> print(report.render("zh")); raise SystemExit(report.exit_code)  # doctest: +SKIP
    """
    path = str(Path(config).resolve()) if Path(config).exists() else str(config)
    try:
        if Path(config).is_dir():
            msg = (f"{config}: is a folder; give the study config file (e.g. {Path(config) / 'study.yaml'})")
            raise ConfigError(msg)
        study, log = collect_study(config)
    except (ConfigError, CodebookError, IntakeError) as exc:
        head = str(exc).split(": ", 1)[0] if ": " in str(exc) else path
        where = re.sub(r", (?:line|row|key) .*$", "", head)
        return ValidationReport(config=path, problems=(Problem(file=where, check=type(exc).__name__,
                                                               message=str(exc)),), stopped=True)
    if study is None:
        return ValidationReport(config=path, problems=tuple(log.problems))
    return ValidationReport(
        config=path,
        problems=tuple(log.problems),
        tables={k: len(v) for k, v in study.tables.items()},
        derivations=study.derivations,
        unavailable=dict(study.unavailable),
    )
