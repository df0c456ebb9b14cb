"""One writer per output folder: a lock that a second batch finds at once and names.

``fcntl.flock`` on ``<folder>/.lock``: the operating system releases it when
the holding process ends in any way (SIGKILL included), so a killed batch
never leaves a stale lock. The file records who holds it (process id, host,
start time) so the refusal can say so. On Windows, where ``fcntl`` does not
exist, ``msvcrt.locking`` plays the same role.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from evalkit.errors import RunError

__all__ = ["folder_lock", "FolderLockedError"]


class FolderLockedError(RunError):
    """Another evalkit process is writing to the same output folder."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``<folder>/.lock`` for the duration of the block, or raise :class:`FolderLockedError`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        if not _try_lock(fh):
            fh.seek(0)
            holder = fh.read().strip() or "{}"
            try:
                info = json.loads(holder)
            except ValueError:
                info = {}
            msg = (f"{folder} is being written by another evalkit batch (process {info.get('pid', '?')} on "
                   f"{info.get('host', '?')}, started {info.get('started', '?')}). Wait for it to finish, or "
                   f"use another --out folder.")
            raise FolderLockedError(msg, kind="validation")
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": datetime.now(UTC).isoformat(timespec="seconds")}))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
    finally:
        fh.close()  # closing releases the lock


def _try_lock(fh: object) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[attr-defined]
    except BlockingIOError:
        return False
    return True
