"""The entry point :func:`read_raw`: checks the path and the format, then calls the format's reader.

This module owns resolving the format (from ``format=`` or the file extension,
with a clear message for ``.xls`` and unknown endings) and the checks that a
file can be read at all (missing, a folder, empty), which raise
:class:`~evalkit.errors.IntakeError`. Every other problem is found by the
format readers (:mod:`.csv`, :mod:`.xlsx`, :mod:`.stat`) and returned in
:attr:`RawTable.problems`.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from difflib import get_close_matches
from os import PathLike
from pathlib import Path

from attrs import evolve

from evalkit.errors import IntakeError
from evalkit.intake.problems import Problem
from evalkit.intake.readers._common import FORMATS, RawTable
from evalkit.intake.readers.csv import _read_csv
from evalkit.intake.readers.stat import _read_parquet, _read_stat
from evalkit.intake.readers.xlsx import _read_xlsx
from evalkit.intake.safety import DEFAULT_LIMITS, SafetyLimits, check_before_parsing

__all__ = ["read_raw"]


def read_raw(
    path: str | PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the documented argument name
    sheet: str | None = None,
    encoding: str | None = None,
    expected_columns: Sequence[str] = (),
    id_columns: Sequence[str] = (),
    limits: SafetyLimits = DEFAULT_LIMITS,
) -> RawTable:
    """Read one raw file into a :class:`RawTable`; never modifies the file.

    Parameters
    ----------
    path
        The file; messages name it exactly as given.
    format
        ``"csv"``, ``"xlsx"``, ``"sav"``, ``"dta"`` or ``"parquet"``; default: from
        the extension.
    sheet
        Excel sheet; default: the sheet whose header matches most of
        ``expected_columns``.
    encoding
        Text encoding of a CSV (or sav/dta); default: detected.
    expected_columns
        Header names the caller expects; used to pick the sheet and to find the
        header row below title rows.
    id_columns
        Columns whose value ``合计``/``总计``/``小计``/``Total`` marks a totals row
        (dropped, with a warning), and which should hold text ids.

    Raises
    ------
    IntakeError
        The file is missing, empty, of an unknown format or not what its
        extension says, or refused as unsafe (see :mod:`evalkit.intake.safety`).
        Every other problem is returned in ``problems``.
    """
    p = Path(path)
    file = str(path)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            msg = (f"{file}: unknown text encoding {encoding!r} in study.yaml; use utf-8, gbk or "
                   "gb18030, or remove `encoding:` to have it detected.")
            raise IntakeError(msg) from None
    _check_readable(p, file)
    asked = _resolve_format(p, file, format)
    fmt = check_before_parsing(p, file, asked, limits=limits)
    expected = tuple(expected_columns)
    ids = tuple(id_columns)
    if fmt == "csv":
        table = _read_csv(p, file, encoding, expected, ids)
    elif fmt == "xlsx":
        table = _read_xlsx(p, file, sheet, expected, ids)
    elif fmt in ("sav", "dta"):
        table = _read_stat(p, file, fmt, encoding, ids)
    else:
        table = _read_parquet(p, file, ids)
    if asked == "xls":
        note = Problem(file, "renamed_workbook", (
            f"{file}: named .xls but it is an .xlsx workbook; it was read as .xlsx. Rename it to .xlsx "
            "to silence this."), "warning")
        table = evolve(table, problems=(note, *table.problems))
    return table


# --------------------------------------------------------------------------- file checks


def _resolve_format(p: Path, file: str, format: str | None) -> str:  # noqa: A002
    allowed = sorted(set(FORMATS.values()))
    if format is not None:
        if format not in allowed:
            msg = f"{file}: unknown format {format!r}; use one of {', '.join(allowed)}."
            raise IntakeError(msg)
        return format
    ext = p.suffix.lower()
    if ext == ".xls":
        return "xls"  # what it really is (old .xls, HTML, renamed .xlsx) is decided by safety
    if ext not in FORMATS:
        msg = (
            f"{file}: unknown file type {ext or '(no extension)'!r}; evalkit reads "
            f"{', '.join(FORMATS)}. Rename the file or give `format:` in study.yaml."
        )
        raise IntakeError(msg)
    return FORMATS[ext]


def _check_readable(p: Path, file: str) -> None:
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            near = get_close_matches(p.name, [q.name for q in p.parent.iterdir()], n=3)
            hint = f" Files with similar names there: {', '.join(near)}." if near else ""
        msg = (f"{file}: file not found (looked in {p.parent.resolve()}).{hint} Check the path in "
               "study.yaml; paths are relative to study.yaml.")
        raise IntakeError(msg)
    if p.is_dir():
        inside = sorted(q.name for q in p.iterdir() if q.suffix.lower() in FORMATS)
        hint = (f" It holds {len(inside)} data file(s), e.g. {', '.join(inside[:3])}."
                if inside else " It holds no data files evalkit reads.")
        msg = f"{file}: is a folder, not a file.{hint} Give the path of the data file itself in study.yaml."
        raise IntakeError(msg)
    if not p.is_file():
        msg = f"{file}: is not a regular file (a device or pipe). Give the path of the data file itself."
        raise IntakeError(msg)
    if p.stat().st_size == 0:
        msg = f"{file}: the file is empty (0 bytes). Export the data again; the export probably failed."
        raise IntakeError(msg)
