"""``audit_reports``: scan a reports folder and list what must not be published.

Every finding names the file (relative to the folder), a location a person can
find, and a kind; it never contains the value found. ``evalkit audit DIR``
prints :meth:`AuditResult.summary` and exits with :attr:`AuditResult.exit_code`
(0 clean, 1 findings).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from attrs import frozen

from evalkit.audit.patterns import FindingKind, scan_text
from evalkit.audit.sources import READERS, Note, TableUnit, TextUnit, iter_units
from evalkit.audit.table_checks import check_table
from evalkit.disclosure.policy import DisclosurePolicy

__all__ = ["Finding", "AuditResult", "audit_reports", "audit_file", "main_audit", "DATA_SUFFIXES"]

#: microdata formats that have no place in a published reports folder
DATA_SUFFIXES = frozenset({".sav", ".zsav", ".dta", ".parquet", ".feather", ".arrow", ".sqlite", ".db", ".duckdb",
                           ".rds", ".rdata", ".rda", ".pkl", ".pickle", ".h5", ".hdf5", ".sas7bdat", ".xpt"})


@frozen
class Finding:
    """One problem: where it is and what kind; never the value.

    ``count``: how many cells or rows of the same kind share this location (a column
    of small cells, the rows of a row-level table); the location names the first.
    """

    file: str
    location: str
    kind: FindingKind
    count: int = 1

    def __str__(self) -> str:
        more = f" (n={self.count})" if self.count > 1 else ""
        where = f"{self.file}: {self.location}" if self.location else self.file
        return f"{where}: {self.kind}{more}"


@frozen(eq=False)
class AuditResult:
    """What an audit found.

    ``findings``: every :class:`Finding`; ``files``: files scanned (relative);
    ``skipped``: files of a type the audit does not read (images, fonts …);
    ``seconds``: time taken.
    """

    folder: str
    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    skipped: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 when anything was found (the ``evalkit audit`` exit status)."""
        return 0 if self.passed else 1

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"file": f.file, "location": f.location, "kind": str(f.kind), "count": f.count}
                             for f in self.findings], columns=["file", "location", "kind", "count"])

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "passed": self.passed, "files": list(self.files),
                "skipped": list(self.skipped), "seconds": self.seconds,
                "findings": self.to_frame().to_dict("records")}

    def summary(self) -> str:
        head = (f"audit {'passed' if self.passed else 'FAILED'}: {len(self.files)} files scanned, "
                f"{len(self.findings)} findings ({self.seconds:.1f} s)")
        return "\n".join([head, *(f"  {f}" for f in self.findings)])

    def __str__(self) -> str:
        return self.summary()


def _dedupe(items: list[tuple[str, FindingKind, int]]) -> list[tuple[str, FindingKind, int]]:
    seen: dict[tuple[str, FindingKind], int] = {}
    for loc, kind, count in items:
        seen[(loc, kind)] = max(count, seen.get((loc, kind), 0))
    return [(loc, kind, n) for (loc, kind), n in seen.items()]


_BATCH_CHARS = 1 << 18
_JOIN = "\n\x00\n"  # no detector matches across it (none accepts NUL)


def _scan_batch(pieces: list[tuple[Any, ...]]) -> Iterator[tuple[str, FindingKind, int]]:
    """Scan many pieces as one string; only when it hits, scan each piece to find where."""
    if not pieces or not scan_text(_JOIN.join(p[-1] for p in pieces)):
        return
    for piece in pieces:
        kinds = scan_text(piece[-1])
        if kinds:
            location = piece[0] if len(piece) == 2 else piece[0].ref(piece[1], piece[2])
            for kind in kinds:
                yield location, kind, 1


def _file_findings(path: Path, policy: DisclosurePolicy) -> Iterator[tuple[str, FindingKind, int]]:
    """Findings of one file. Text is scanned in batches of ~256 kB (findings are rare, so
    most batches need one pass of each detector); a batch that hits is rescanned piece by piece."""
    pieces: list[tuple[Any, ...]] = []  # (location, text) or (table, row, column, text)
    size = 0
    for unit in iter_units(path):
        if isinstance(unit, Note):
            yield unit.location, unit.kind, 1
            continue
        if isinstance(unit, TableUnit):
            yield from check_table(unit, min_count=policy.min_count, dominance_share=policy.dominance_share)
            for r, row in enumerate(unit.rows):
                for c, text in enumerate(row):
                    if text:
                        pieces.append((unit, r, c, text))
                        size += len(text)
        elif isinstance(unit, TextUnit):
            pieces.append((unit.location, unit.text))
            size += len(unit.text)
        if size >= _BATCH_CHARS:
            yield from _scan_batch(pieces)
            pieces, size = [], 0
    yield from _scan_batch(pieces)


def audit_file(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
               policy: DisclosurePolicy | None = None) -> list[Finding]:
    """The findings of one file (``root`` makes the reported file name relative)."""
    path = Path(path)
    policy = policy or DisclosurePolicy()
    name = str(path.relative_to(root)) if root else path.name
    try:
        raw = list(_file_findings(path, policy))
    except Exception as exc:  # noqa: BLE001 - an unreadable file must fail the audit, not crash it
        return [Finding(name, f"file could not be read ({type(exc).__name__})", FindingKind.UNREADABLE)]
    return [Finding(name, loc, kind, count) for loc, kind, count in _dedupe(raw)]


def audit_reports(folder: str | os.PathLike[str], *, policy: DisclosurePolicy | None = None,
                  exclude: Sequence[str] = ()) -> AuditResult:
    """Scan every file under ``folder`` for personal data and disclosure problems.

    Reads HTML, notebooks (sources, outputs, papermill metadata), Word (body,
    tables, headers, footers, core properties), Excel (every sheet, hidden ones
    too, and document properties), CSV, JSON, Markdown, text and logs. Images and
    fonts are listed as skipped. ``exclude``: glob patterns (relative to ``folder``) of
    files that are not published, e.g. ``("manifest.json",)``; they are listed as skipped.

    Returns
    -------
    AuditResult
        ``passed`` / ``exit_code`` (0 clean, 1 findings); findings name file,
        location and kind, never the value.
    """
    start = time.perf_counter()
    root = Path(folder)
    if not root.is_dir():
        msg = f"audit: {root} is not a folder; pass the reports folder (e.g. reports/<run_id>)."
        raise NotADirectoryError(msg)
    policy = policy or DisclosurePolicy()
    findings: list[Finding] = []
    files: list[str] = []
    skipped: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        suffix = path.suffix.lower()
        if any(fnmatch.fnmatch(rel, pattern) for pattern in exclude):
            skipped.append(rel)
        elif suffix in READERS:
            files.append(rel)
            findings.extend(audit_file(path, root=root, policy=policy))
        elif suffix in DATA_SUFFIXES:
            files.append(rel)
            findings.append(Finding(rel, "", FindingKind.DATA_FILE))
        else:
            skipped.append(rel)
    return AuditResult(folder=str(root), findings=tuple(findings), files=tuple(files), skipped=tuple(skipped),
                       seconds=time.perf_counter() - start)


def main_audit(folder: str | os.PathLike[str], *, exclude: Sequence[str] = ()) -> int:
    """What ``evalkit audit DIR`` runs: print the summary, return 0 (clean) or 1 (findings)."""
    result = audit_reports(folder, exclude=exclude)
    print(result.summary())  # noqa: T201 - the command's output
    return result.exit_code
