"""Outputs appear whole or not at all: atomic files and atomic report folders.

A reader (a browser, a reviewer, a resumed batch) must never see a half-written
file at a final path. Files are written to a temporary sibling, flushed and
fsynced, then renamed over the final path (``os.replace`` is atomic on one
filesystem). A report folder is built beside its final place and swapped in
only when complete, so a failed re-run keeps the last good report.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit.errors import ReportError

__all__ = ["write_bytes_atomic", "write_text_atomic", "write_json_atomic", "write_report_atomically",
           "dump_json"]


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def dump_json(payload: Any) -> str:
    """The one JSON layout of evalkit's records: sorted keys, UTF-8, two-space indent, no NaN."""
    return json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> Path:
    return write_text_atomic(path, dump_json(payload))


def write_report_atomically(
    build: Callable[[Path], None], final_dir: str | Path, *, keep_failed: bool = True,
    failed_dir: str | Path | None = None,
) -> Path:
    """Build a report folder beside ``final_dir``, then swap it into place.

    ``build`` receives an empty temporary folder in the same parent (so the
    same filesystem) and writes everything there. Only if it returns is the
    folder renamed to ``final_dir``; the previous ``final_dir`` is moved aside
    first and deleted after the swap. Readers therefore never see a half-built
    report, though for a moment between the two renames ``final_dir`` is absent.

    If ``build`` raises, ``final_dir`` is left untouched, and the partial build
    is kept as ``<final_dir>.failed-<UTC time>`` (``keep_failed=True``, the
    default: the executed notebooks in it show what went wrong) or deleted.
    With ``failed_dir`` the partial build goes exactly there instead
    (replacing an older failed build), e.g. a batch's ``failed/<id>`` area.
    The exception is re-raised with a note saying which.
    """
    final_dir = Path(final_dir)
    if final_dir.exists() and not final_dir.is_dir():
        msg = f"{final_dir} exists and is not a folder; move it away before writing the report there."
        raise ReportError(msg)
    parent = final_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{final_dir.name}.building-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        build(tmp)
    except BaseException as exc:
        if failed_dir is not None:
            failed = Path(failed_dir)
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(failed, ignore_errors=True)
            os.replace(tmp, failed)
            exc.add_note(f"The partial build was kept at {failed}; {final_dir} was left as it was.")
        elif keep_failed:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            failed = parent / f"{final_dir.name}.failed-{stamp}"
            n = 1
            while failed.exists():
                n += 1
                failed = parent / f"{final_dir.name}.failed-{stamp}-{n}"
            os.replace(tmp, failed)
            exc.add_note(
                f"The failed build was kept at {failed} for debugging; {final_dir} was left as it was."
            )
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            exc.add_note(f"The failed build was deleted; {final_dir} was left as it was.")
        raise
    old = None
    if final_dir.exists():
        old = parent / f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final_dir, old)
    try:
        os.replace(tmp, final_dir)
    except BaseException:
        if old is not None:
            os.replace(old, final_dir)
        raise
    if old is not None:
        shutil.rmtree(old)
    return final_dir
