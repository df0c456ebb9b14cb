"""Problems found while reading and validating input files.

Readers and validators never raise on the first bad cell: they append a
:class:`Problem` to a :class:`ProblemLog`, and the caller raises one
:class:`~evalkit.errors.DataValidationError` listing every error at the end
(pandera's lazy validation). Warnings travel on into the report.

Row numbers are the ones the user sees in the source: the spreadsheet row or
the CSV line (header = row 1), so the first data row is row 2. Values that may
be personal are masked before they enter a message (``evalkit.privacy.mask``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import pandas as pd
from attrs import define, field, frozen

from evalkit.errors import DataValidationError

#: error: the run stops; warning: the run goes on and the report says so; notice: what intake
#: did on the user's behalf (encoding detected, headers normalised, columns derived)
Severity = Literal["error", "warning", "notice"]

__all__ = ["Problem", "ProblemLog", "Severity", "format_rows", "format_values"]

#: how many row numbers / values a message lists before "…"
_MAX_LISTED = 5


@frozen
class Problem:
    """One problem in one place of one file."""

    file: str
    check: str  # short machine-readable name, e.g. "out_of_range", "duplicate_id"
    message: str  # the full human sentence, including where, found vs expected, fix
    severity: Severity = "error"
    column: str | None = None
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    sheet: str | None = None

    def __str__(self) -> str:
        return f"[{self.severity}] {self.message}"


def format_rows(rows: Sequence[int]) -> str:
    """``rows 17, 204, 388`` or ``rows 2, 3, 4, 5, 6 … (40 rows)``."""
    rows = list(rows)
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" … ({len(rows)} rows)" if len(rows) > _MAX_LISTED else ""
    return f"rows {shown}{more}"


def format_values(values: Iterable[object]) -> str:
    """Values as the user typed them: a whole number read as float (1880.0) is shown as 1880."""
    vals = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values]
    shown = ", ".join(vals[:_MAX_LISTED])
    return shown + (" …" if len(vals) > _MAX_LISTED else "")


@define
class ProblemLog:
    """Collects problems across files; raises once at the end."""

    problems: list[Problem] = field(factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def notices(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "notice"]

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: file, sheet, row(s), column, check, value(s), severity, message."""
        cols = ["severity", "file", "sheet", "column", "check", "rows", "values", "message"]
        return pd.DataFrame(
            [
                {
                    "severity": p.severity,
                    "file": p.file,
                    "sheet": p.sheet,
                    "column": p.column,
                    "check": p.check,
                    "rows": ", ".join(map(str, p.rows)),
                    "values": ", ".join(p.values),
                    "message": p.message,
                }
                for p in self.problems
            ],
            columns=cols,
        )

    def raise_if_errors(self) -> None:
        """Raise one DataValidationError listing every error (warnings are not raised)."""
        errors = self.errors
        if not errors:
            return
        lines = [f"{len(errors)} problem(s) in the input data; fix all of them and run again:"]
        lines += [f"  {i}. {p.message}" for i, p in enumerate(errors, 1)]
        frame = self.to_frame()
        raise DataValidationError("\n".join(lines), failure_cases=frame[frame.severity == "error"])
