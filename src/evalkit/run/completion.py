"""The completion marker: shown by a template's last cell, checked after the run.

Papermill counts a notebook as finished even when it was not: cells after a
kernel death are marked "completed", and ``sys.exit(0)`` in a cell raises
nothing. So :mod:`evalkit.run.execute` trusts a run only when the executed
notebook shows no error in any cell and its *last* code cell displayed the
marker of :func:`mark_complete` carrying the run's id (:func:`check_completed`).

:func:`mark_complete` runs inside the kernel, so this module stays cheap to
import: the standard library, attrs and :mod:`evalkit.errors`; IPython is
imported only when the marker is shown. Executed notebooks are read as plain
JSON (nbformat's import costs seconds and adds nothing here).

A template ends with::

    import evalkit as ek
    ek.mark_complete(run_id)       # run_id is a parameter the runner sets
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attrs import field, frozen

from evalkit.errors import RunError

__all__ = ["COMPLETION_MIME", "ExecutedCell", "check_completed", "mark_complete", "read_executed_cells"]

#: MIME type of the marker output; the payload is ``{"run_id": str, "time": ISO-8601 UTC}``
COMPLETION_MIME = "application/vnd.evalkit.complete+json"

#: cells papermill adds to the executed notebook; they are not the template's
_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def mark_complete(run_id: str) -> None:
    """Display the completion marker for ``run_id`` as this cell's output.

    Call it as the last statement of the template's last code cell, with the
    ``run_id`` parameter the runner injected (never a literal string).

    Parameters
    ----------
    run_id : str
        The run id the runner passed in as the ``run_id`` parameter.

    Raises
    ------
    TypeError
        If ``run_id`` is not a string.

    Notes
    -----
    Returns ``None`` on purpose, so the call adds no ``Out[n]`` value to the
    report. The marker also carries a ``text/plain`` line;
    :func:`evalkit.run.export.export_html` drops the marker from the HTML.
    """
    if not isinstance(run_id, str):
        msg = (
            f"mark_complete(run_id) needs the run id as text, got {run_id!r} "
            f"({type(run_id).__name__}). Pass the template's `run_id: str` parameter."
        )
        raise TypeError(msg)
    from IPython.display import display  # only available (and needed) inside a kernel

    payload = {"run_id": run_id, "time": datetime.now(UTC).isoformat(timespec="seconds")}
    text = f"evalkit: run {run_id!r} completed at {payload['time']}"
    display({COMPLETION_MIME: payload, "text/plain": text}, raw=True)


@frozen
class ExecutedCell:
    """One template cell as found in an executed notebook."""

    number: int  # counted from 1 as in the template (cells papermill added are skipped)
    of: int  # how many cells the template has
    cell_type: str
    source: str
    outputs: tuple[dict[str, Any], ...] = field(converter=tuple)
    ran_by_papermill: bool  # papermill metadata present
    start_time: str | None
    duration: float | None

    @property
    def label(self) -> str:
        """``cell 3 of 5 (`first line …`)`` — how messages point at a cell."""
        lines = [ln.strip() for ln in self.source.splitlines() if ln.strip()]
        first = lines[0] if lines else ""
        first = (first if len(first) <= 60 else first[:57] + "...") + (" …" if len(lines) > 1 else "")
        return f"cell {self.number} of {self.of} (`{first}`)"

    @property
    def errors(self) -> list[tuple[str, str]]:
        """``(ename, evalue)`` of each error output."""
        return [
            (o.get("ename", "?"), o.get("evalue", ""))
            for o in self.outputs
            if o.get("output_type") == "error"
        ]

    def markers(self) -> list[dict[str, Any]]:
        """Payloads of the completion markers this cell displayed."""
        found = [o.get("data", {}).get(COMPLETION_MIME) for o in self.outputs]
        return [m for m in found if isinstance(m, dict)]


def read_executed_cells(executed_nb: str | Path) -> tuple[ExecutedCell, ...]:
    """The template's cells in an executed notebook, numbered as in the template.

    Raises
    ------
    RunError
        The notebook cannot be read or is not notebook JSON.
    """
    try:
        nb = json.loads(Path(executed_nb).read_text(encoding="utf-8"))
        raw = [c for c in nb["cells"] if not _PAPERMILL_TAGS & set(c.get("metadata", {}).get("tags", []))]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"Cannot read the executed notebook {executed_nb}: {exc}"
        raise RunError(msg) from None
    cells = []
    for i, cell in enumerate(raw, start=1):
        source = cell.get("source", "")
        pm = cell.get("metadata", {}).get("papermill", {})
        duration = pm.get("duration")
        cells.append(
            ExecutedCell(
                number=i,
                of=len(raw),
                cell_type=cell.get("cell_type", ""),
                source="".join(source) if isinstance(source, list) else source,
                outputs=cell.get("outputs", []),
                ran_by_papermill=bool(pm),
                start_time=pm.get("start_time"),
                duration=None if duration is None else float(duration),
            )
        )
    return tuple(cells)


def check_completed(
    executed_nb_path: str | Path, run_id: str, *, template: str | Path | None = None
) -> dict[str, str]:
    """Check that an executed notebook ran every cell without error and was marked complete.

    Parameters
    ----------
    executed_nb_path : str or Path
        A notebook papermill executed.
    run_id : str
        The run id the completion marker must carry.
    template : str or Path, optional
        Named in messages instead of the executed notebook.

    Returns
    -------
    dict
        The marker payload ``{"run_id": ..., "time": ...}``.

    Raises
    ------
    RunError
        A cell shows an error (``SystemExit`` included, which papermill lets
        pass), a code cell never ran, or the last code cell did not display the
        completion marker for ``run_id``. The message names the notebook, the
        cell (numbered as in the template, with its first line) and the fix.
    """
    path = Path(executed_nb_path)
    name = template if template is not None else path
    where = f" Executed notebook: {path}."
    code = [c for c in read_executed_cells(path) if c.cell_type == "code" and c.source.strip()]
    for cell in code:
        if not cell.errors:
            continue
        ename, evalue = cell.errors[0]
        if ename == "SystemExit":
            msg = (
                f"{name}: {cell.label} called sys.exit({evalue}). Papermill lets this pass as success, "
                f"but the cells after it did not run. Remove the sys.exit call; to stop a report, raise "
                f"an exception that says why.{where}"
            )
        else:
            msg = f"{name}: {cell.label} raised {ename}: {evalue}. See its traceback.{where}"
        raise RunError(msg)
    if not_run := [c for c in code if c.ran_by_papermill and c.start_time is None]:
        msg = (
            f"{name}: {not_run[0].label} never ran, although papermill may mark it 'completed'; "
            f"the run stopped before it.{where}"
        )
        raise RunError(msg)
    if not code:
        msg = f"{name} has no code cells, so it cannot have displayed the completion marker.{where}"
        raise RunError(msg)
    last = code[-1]
    markers = last.markers()
    if not markers:
        elsewhere = [c.number for c in code[:-1] if c.markers()]
        found = (
            f" It was displayed in cell {elsewhere[0]} instead; move that call to the end."
            if elsewhere
            else ""
        )
        msg = (
            f"{name}: the last code cell, {last.label}, did not display evalkit's completion marker, "
            f"so the run cannot be shown to have finished.{found} End the template with a cell "
            f"`import evalkit as ek; ek.mark_complete(run_id)`.{where}"
        )
        raise RunError(msg)
    found_id = markers[-1].get("run_id")
    if found_id != run_id:
        msg = (
            f"{name}: the completion marker in the last code cell, {last.label}, carries run id "
            f"{found_id!r}, but this run is {run_id!r}. Call mark_complete(run_id) with the run_id "
            f"parameter, not a fixed text; a stale executed notebook shows the same symptom.{where}"
        )
        raise RunError(msg)
    return {"run_id": str(found_id), "time": str(markers[-1].get("time", ""))}
