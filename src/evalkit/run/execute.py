"""Execute one report template with papermill and prove that it finished.

Owns :func:`run_notebook` and the classification of a failed run
(:class:`~evalkit.errors.RunError` with a ``kind``). Parameter schemas live in
:mod:`evalkit.run.params`, the completion marker in
:mod:`evalkit.run.completion` (cheap to import in a kernel), the HTML export in
:mod:`evalkit.run.export`, the manifest in :mod:`evalkit.run.manifest`.

Why papermill is wrapped rather than called directly:

- It does not type-check parameters and pastes names into code, so values are
  validated first (:func:`~evalkit.run.params.validate_parameters`) and
  no kernel starts for a bad request.
- It has a per-cell timeout only. The whole run therefore executes in a child
  process (``python -c`` importing :func:`_child_main`) in its own process
  session; on ``wall_timeout`` the kernel's and the child's process groups are
  killed, so no kernel is left running.
- It reports success when a run did not finish: cells after a kernel death
  are marked "completed", and ``sys.exit(0)`` in a cell raises nothing. A run
  counts as succeeded only when no cell shows an error and the last code cell
  displayed :func:`~evalkit.run.completion.mark_complete` with this run's id.
- The kernel is always the Python running evalkit (``sys.executable`` with
  ipykernel), whatever kernelspecs a user has installed under
  ``~/.local/share/jupyter``; no kernelspec needs to be registered, so a fresh
  ``pip install -e .`` is enough.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attrs import field, frozen

from evalkit.errors import NotebookTemplateError, ParameterError, RunError
from evalkit.run.completion import check_completed, read_executed_cells
from evalkit.run.ids import RUN_ID_RE
from evalkit.run.params import ParameterSchema, read_parameter_schema, validate_parameters

__all__ = ["BLAS_ONE_THREAD", "CellTiming", "NotebookRun", "kernel_environment", "run_notebook"]

#: environment for report kernels: one BLAS thread. Report models are small; with OpenBLAS's thread
#: per core they stall unpredictably on a loaded machine (a CR2 fit 0.2 s → up to 7.9 s,
#: benchmarks/README.md), and parallel batch kernels would each spawn a thread per core.
BLAS_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_KILL_GRACE_SECONDS = 10
_CHILD_CODE = "import sys; from evalkit.run.execute import _child_main; sys.exit(_child_main(sys.argv[1]))"
_PID_FILE_ENV = "EVALKIT_KERNEL_PID_FILE"


# --------------------------------------------------------------------------- results


class _FrozenParameters(Mapping[str, Any]):
    """A read-only, picklable copy of a parameter dict (runs may cross process boundaries)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]):
        self._data = copy.deepcopy(dict(data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __getstate__(self) -> dict[str, Any]:
        return self._data

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._data = state


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return _FrozenParameters(value)


@frozen
class CellTiming:
    """How long one template cell ran (cells counted from 1 as in the template)."""

    cell: int
    seconds: float


@frozen
class NotebookRun:
    """A run that completed: where it ran from and to, with what, and how long it took.

    ``parameters`` are the effective values: the template's defaults updated
    with the validated parameters passed in (including ``run_id``).
    """

    template: Path
    output_path: Path
    run_id: str
    parameters: Mapping[str, Any] = field(converter=_frozen_mapping)
    started: datetime
    finished: datetime
    seconds: float
    cell_timings: tuple[CellTiming, ...] = field(converter=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, as the manifest records it."""
        return {
            "template": self.template.as_posix(),
            "output_path": self.output_path.as_posix(),
            "run_id": self.run_id,
            "parameters": copy.deepcopy(dict(self.parameters)),
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "seconds": self.seconds,
            "cell_timings": [{"cell": t.cell, "seconds": t.seconds} for t in self.cell_timings],
        }


# --------------------------------------------------------------------------- running


def run_notebook(
    template: str | Path,
    *,
    parameters: Mapping[str, Any],
    output_path: str | Path,
    run_id: str,
    cell_timeout: int = 600,
    wall_timeout: float = 3600,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> NotebookRun:
    """Execute a report template with papermill and prove that it ran to the end.

    Parameters
    ----------
    template : str or Path
        The ``.ipynb`` template. It needs a cell tagged ``parameters`` that
        declares ``run_id: str``, and a last code cell calling
        ``mark_complete(run_id)`` (``ek.mark_complete``).
    parameters : mapping
        Parameter values, checked against the template's typed schema before
        any kernel starts. ``run_id`` is set from the argument of that name.
    output_path : str or Path
        Where the executed notebook is written (also on failure, with the
        outputs up to the failing cell, for debugging).
    run_id : str
        Identifies the run (letters, digits, ``.``, ``_``, ``-``); the completion
        marker must carry it.
    cell_timeout : int
        Seconds any single cell may run (papermill's ``execution_timeout``).
    wall_timeout : float
        Seconds the whole run may take, kernel start included; on expiry the
        kernel and the papermill process are killed.
    cwd : str or Path, optional
        Working directory of the kernel; None means the caller's current
        directory (recorded as an absolute path). The caller's own working
        directory never changes, so runs may go in parallel threads.
    env : mapping, optional
        Extra environment variables for the kernel (e.g. the run cache,
        :data:`evalkit.run.study.CACHE_ENV`).

    Returns
    -------
    NotebookRun

    Raises
    ------
    NotebookTemplateError
        The template is missing, has no ``parameters`` cell, does not declare
        ``run_id``, or is not a Python notebook.
    ParameterError
        The parameters do not fit the template's schema (every problem listed).
    RunError
        The run did not complete: a cell raised (``sys.exit`` included), the
        kernel died, a cell or the whole run timed out, or the last code cell
        did not display the completion marker for ``run_id``. The message names
        the template, the cell and what happened.

    Examples
    --------
    >>> run = run_notebook("notebooks/10_did_main.ipynb", parameters={"seed": 1},
    ...                    output_path="reports/r1/10_did_main.ipynb", run_id="r1")  # doctest: +SKIP
    """
    template = Path(template)
    output_path = Path(output_path)
    schema = read_parameter_schema(template)
    _check_template_runnable(template, schema)
    checked = _check_request(schema, parameters, run_id, cell_timeout, wall_timeout)
    if output_path.resolve() == template.resolve():
        msg = f"output_path {output_path} is the template itself; write executed notebooks elsewhere."
        raise ValueError(msg)
    workdir = Path(cwd if cwd is not None else Path.cwd()).resolve()
    if not workdir.is_dir():
        msg = f"cwd {workdir} is not a directory; pass the folder the notebook's relative paths start from."
        raise NotADirectoryError(msg)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.unlink(missing_ok=True)  # a stale notebook must not be mistaken for this run's

    started = datetime.now(UTC)
    t0 = time.monotonic()
    outcome = _execute_in_child(template, output_path, checked, cell_timeout, wall_timeout, workdir,
                                dict(env or {}))
    seconds = time.monotonic() - t0
    finished = datetime.now(UTC)

    if outcome.get("error_type") == "ParameterError":
        msg = f"{template}: {outcome['message']}"
        raise ParameterError(msg)
    if not outcome.get("ok"):
        kind, msg = _describe_failure(template, output_path, outcome, cell_timeout, wall_timeout)
        raise RunError(msg, kind=kind)
    check_completed(output_path, run_id, template=template)
    timings = [
        CellTiming(c.number, c.duration)
        for c in read_executed_cells(output_path)
        if c.cell_type == "code" and c.duration is not None
    ]
    return NotebookRun(
        template=template,
        output_path=output_path,
        run_id=run_id,
        parameters={**schema.defaults(), **checked},
        started=started,
        finished=finished,
        seconds=seconds,
        cell_timings=timings,
    )


def _check_template_runnable(template: Path, schema: ParameterSchema) -> None:
    problems = []
    if "run_id" not in schema or schema["run_id"].type.kind != "str":
        problems.append(
            'declare `run_id: str = ""  # set by the runner` in the parameters cell, and end the '
            "notebook with a cell `import evalkit as ek; ek.mark_complete(run_id)`"
        )
    nb = json.loads(template.read_text(encoding="utf-8"))
    language = nb.get("metadata", {}).get("kernelspec", {}).get("language", "python")
    if language.lower() != "python":
        problems.append(f"its kernel language is {language!r}; evalkit runs Python templates only")
    if problems:
        msg = f"{template} cannot be run by evalkit: " + "; ".join(problems) + "."
        raise NotebookTemplateError(msg)


def _check_request(
    schema: ParameterSchema,
    parameters: Mapping[str, Any],
    run_id: str,
    cell_timeout: int,
    wall_timeout: float,
) -> dict[str, Any]:
    problems = []
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        problems.append(
            f"run_id {run_id!r} must be text of letters, digits, '.', '_' or '-' (it names the "
            f"report folder), e.g. '2024-09-pilot'."
        )
    given = dict(parameters)
    if "run_id" in given and given["run_id"] != run_id:
        problems.append(
            f"parameters say run_id={given['run_id']!r} but the run_id argument is {run_id!r}; "
            f"leave run_id out of the parameters (the runner sets it)."
        )
    if isinstance(cell_timeout, bool) or not isinstance(cell_timeout, int) or cell_timeout <= 0:
        problems.append(f"cell_timeout must be a whole number of seconds > 0, got {cell_timeout!r}.")
    if (
        isinstance(wall_timeout, bool)
        or not isinstance(wall_timeout, int | float)
        or not math.isfinite(wall_timeout)
        or wall_timeout <= 0
    ):
        problems.append(f"wall_timeout must be a number of seconds > 0, got {wall_timeout!r}.")
    given["run_id"] = run_id
    try:
        checked = validate_parameters(schema, given)
    except ParameterError as exc:
        if not problems:
            raise
        problems.append(str(exc))
    if problems:  # one message listing the request's problems and the parameters' together
        msg = f"Cannot run {schema.source} (nothing was run):\n" + "\n".join(f"  - {p}" for p in problems)
        raise ParameterError(msg)
    return checked


def _execute_in_child(
    template: Path,
    output_path: Path,
    parameters: dict[str, Any],
    cell_timeout: int,
    wall_timeout: float,
    workdir: Path,
    extra_env: dict[str, str],
) -> dict[str, Any]:
    """Run papermill in a child process; kill it and its kernel after ``wall_timeout``.

    Returns the child's result record (``ok``, ``error_type``, ``message``) plus
    ``returncode``, ``wall_timeout_hit`` and ``stderr`` (its last lines).
    """
    with tempfile.TemporaryDirectory(prefix="evalkit-run-") as tmp:
        tmpdir = Path(tmp)
        job = {
            "template": str(template.resolve()),
            "output": str(output_path.resolve()),
            "parameters": parameters,
            "cell_timeout": cell_timeout,
            "cwd": str(workdir),
            "result": str(tmpdir / "result.json"),
        }
        (tmpdir / "job.json").write_text(json.dumps(job), encoding="utf-8")
        pid_file = tmpdir / "kernel.pid"
        env = {**kernel_environment(tmpdir), **extra_env, _PID_FILE_ENV: str(pid_file)}
        popen_kw: dict[str, Any] = (
            {"start_new_session": True}
            if os.name == "posix"
            else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
        )
        with open(tmpdir / "stderr.txt", "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE, str(tmpdir / "job.json")],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                env=env,
                **popen_kw,
            )
            hit = False
            try:
                proc.wait(timeout=wall_timeout)
            except subprocess.TimeoutExpired:
                hit = True
                _kill_run(proc, pid_file)
            except BaseException:  # e.g. Ctrl-C in the caller: leave no kernel behind
                _kill_run(proc, pid_file)
                raise
        try:
            outcome = json.loads((tmpdir / "result.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            outcome = {"ok": False, "error_type": None, "message": ""}
        stderr = (tmpdir / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    if hit:
        outcome = {"ok": False, "error_type": None, "message": ""}
    outcome.update(returncode=proc.returncode, wall_timeout_hit=hit, stderr=_tail(stderr))
    return outcome


def kernel_environment(scratch: Path) -> dict[str, str]:
    """The environment a report kernel starts with.

    ``IPYTHONDIR`` points at an empty folder, so a user's IPython start-up
    files and profile settings never run inside a report (they could change
    numbers or print personal data).
    """
    ipython_dir = scratch / "ipython"
    ipython_dir.mkdir(exist_ok=True)
    env = {**os.environ, "IPYTHONDIR": str(ipython_dir), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    env.pop("MPLBACKEND", None)  # the kernel's inline backend must draw figures into the notebook
    return env


def _kill_run(proc: subprocess.Popen[bytes], pid_file: Path) -> None:
    """Kill the kernel's process group, then the papermill child's, and reap the child.

    If the limit hits before the kernel has started (no pid file yet), a kernel
    started after all exits by itself: ipykernel polls its parent and quits when
    the papermill child is gone.
    """
    try:
        kernel_pid = int(pid_file.read_text(encoding="ascii"))
    except (FileNotFoundError, ValueError):
        kernel_pid = None
    if os.name == "posix":
        for pid in (kernel_pid, proc.pid):  # each leads its own session (jupyter_client, Popen)
            if pid is None:
                continue
            try:
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    else:
        if kernel_pid is not None:
            with contextlib.suppress(OSError):
                os.kill(kernel_pid, signal.SIGTERM)  # TerminateProcess on Windows
        proc.kill()
    proc.wait(timeout=_KILL_GRACE_SECONDS)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _child_main(job_path: str) -> int:
    """Entry point of the child process: run papermill, record the outcome as JSON."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    result_path = Path(job["result"])
    from evalkit.run.export import skip_iri_grammar

    skip_iri_grammar()  # papermill imports nbformat: 1.5-2.5 s saved per run
    try:
        _check_translation(job["parameters"])
        import papermill

        papermill.execute_notebook(
            job["template"],
            job["output"],
            parameters=job["parameters"],
            kernel_name="python3",
            language="python",
            execution_timeout=job["cell_timeout"],
            cwd=job["cwd"],
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
            kernel_manager_class=_evalkit_kernel_manager(),
        )
    except BaseException as exc:  # everything is reported to the parent, which raises
        record = {"ok": False, "error_type": type(exc).__name__, "message": str(exc)}
        result_path.write_text(json.dumps(record), encoding="utf-8")
        return 1
    result_path.write_text(json.dumps({"ok": True}), encoding="utf-8")
    return 0


def _check_translation(parameters: Mapping[str, Any]) -> None:
    """Make sure papermill's injected code is exactly ``name = <literal of value>``.

    Names and values were validated already; this guards against papermill's
    escaping ever changing under us.
    """
    from papermill.translators import PythonTranslator

    for name, value in parameters.items():
        code = f"{name} = {PythonTranslator.translate(value)}"
        try:
            tree = ast.parse(code)
            node = tree.body[0]
            ok = (
                len(tree.body) == 1
                and isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == name
                and json.dumps(ast.literal_eval(node.value)) == json.dumps(value)
            )
        except (SyntaxError, ValueError):
            ok = False
        if not ok:
            msg = f"papermill would inject {code[:200]!r} for parameter {name!r}; it does not round-trip."
            raise ParameterError(msg)


def _evalkit_kernel_manager() -> type:
    """A kernel manager that always starts ipykernel on ``sys.executable``.

    It ignores installed kernelspecs (a user's ``python3`` spec may point at
    another interpreter) and writes the kernel's pid where the parent can
    find it to kill the kernel on ``wall_timeout``.
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    class EvalkitKernelManager(AsyncKernelManager):  # type: ignore[misc]
        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return self._kernel_spec

        async def start_kernel(self, **kw: Any) -> None:
            await super().start_kernel(**kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid is not None and (pid_file := os.environ.get(_PID_FILE_ENV)):
                Path(pid_file).write_text(str(pid), encoding="ascii")

    return EvalkitKernelManager


# --------------------------------------------------------------------------- failures


def _describe_failure(
    template: Path, output_path: Path, outcome: Mapping[str, Any], cell_timeout: int, wall_timeout: float
) -> tuple[str, str]:
    """The failure's kind (see :class:`~evalkit.errors.RunError`) and a message naming the cell."""
    try:
        cells = read_executed_cells(output_path)
    except RunError:
        cells = ()
    started = [c for c in cells if c.start_time is not None]
    at = started[-1].label if started else "an unknown cell (the executed notebook was not saved)"
    kept = f" Executed notebook (outputs up to the failure): {output_path}." if cells else ""
    kind = outcome.get("error_type")
    message = str(outcome.get("message", ""))
    category = "execution"
    if outcome.get("wall_timeout_hit"):
        category = "timeout"
        what = (
            f"the whole run exceeded wall_timeout={wall_timeout:g} s and was killed (kernel included) "
            f"while {at} was running. Raise wall_timeout if the report really needs longer, or make that "
            f"cell faster."
        )
    elif kind == "DeadKernelError":
        category = "kernel_died"
        what = (
            f"the kernel died while running {at} (the process exited: os._exit, a crash in compiled "
            f"code, or the machine ran out of memory). Papermill marks such cells 'completed'; they are not."
        )
    elif kind == "CellTimeoutError":
        category = "timeout"
        what = (
            f"{at} ran longer than cell_timeout={cell_timeout} s and was stopped. Raise cell_timeout "
            f"if that cell really needs longer."
        )
    elif kind == "PapermillExecutionError" and (failed := [c for c in cells if c.errors]):
        ename, evalue = failed[0].errors[0]
        what = f"{failed[0].label} raised {ename}: {evalue}. See its traceback."
    elif not started and kind is not None and ("kernel" in message.lower() or kind == "TimeoutError"):
        category = "kernel_start"
        what = f"the kernel could not be started: {kind}: {message}"
    elif kind in {"OSError", "PermissionError", "FileNotFoundError"}:
        category = "io"
        what = f"papermill could not read or write a notebook: {kind}: {message}"
    elif kind is not None:
        what = f"papermill failed while running {at}: {kind}: {message}"
    else:
        category = "kernel_died" if started else "kernel_start"
        what = (
            f"the papermill process ended with exit code {outcome.get('returncode')} without reporting "
            f"a result, while {at} was running. Its last output:\n{outcome.get('stderr', '')}"
        )
    return category, f"{template}: {what}{kept}"
