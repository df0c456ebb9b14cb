"""Run report templates with papermill, prove they finished, export and record them.

Owns: executing one template (:func:`run_notebook`), the HTML export
(:func:`export_html`), swapping a finished report folder into place
(:func:`write_report_atomically`), and the provenance a run manifest records
(:func:`sha256_file`, :func:`package_versions`, :func:`git_commit`,
:func:`build_manifest`). Parameter schemas live in :mod:`evalkit.notebook_params`;
the completion marker and :func:`check_completed` in :mod:`evalkit.completion`
(cheap to import in a kernel). Both are re-exported here.

Why papermill is wrapped rather than called directly:

- It does not type-check parameters and pastes names into code, so values are
  validated first (:func:`~evalkit.notebook_params.validate_parameters`) and
  no kernel starts for a bad request.
- It has a per-cell timeout only. The whole run therefore executes in a child
  process (``python -c`` importing :func:`_child_main`) in its own process
  session; on ``wall_timeout`` the kernel's and the child's process groups are
  killed, so no kernel is left running.
- It reports success when a run did not finish: cells after a kernel death
  are marked "completed", and ``sys.exit(0)`` in a cell raises nothing. A run
  counts as succeeded only when no cell shows an error and the last code cell
  displayed :func:`~evalkit.completion.mark_complete` with this run's id.
- The kernel is always the Python running evalkit (``sys.executable`` with
  ipykernel), whatever kernelspecs a user has installed under
  ``~/.local/share/jupyter``; no kernelspec needs to be registered, so a fresh
  ``pip install -e .`` is enough.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from attrs import field, frozen

from evalkit.completion import COMPLETION_MIME, check_completed, mark_complete, read_executed_cells
from evalkit.errors import NotebookTemplateError, ParameterError, ReportError, RunError
from evalkit.notebook_params import ParameterSchema, read_parameter_schema, validate_parameters

__all__ = [
    "COMPLETION_MIME",
    "MANIFEST_PACKAGES",
    "CellTiming",
    "GitState",
    "NotebookRun",
    "build_manifest",
    "check_completed",
    "export_html",
    "git_commit",
    "git_state",
    "mark_complete",
    "package_versions",
    "read_parameter_schema",
    "run_notebook",
    "sha256_file",
    "write_report_atomically",
]

#: packages whose versions every manifest records ("python" is the interpreter)
MANIFEST_PACKAGES = (
    "evalkit", "pandas", "numpy", "statsmodels", "scipy", "matplotlib",
    "papermill", "pyreadstat", "pyarrow", "python",
)  # fmt: skip

_RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_KILL_GRACE_SECONDS = 10
_CHILD_CODE = "import sys; from evalkit.runner import _child_main; sys.exit(_child_main(sys.argv[1]))"
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
) -> NotebookRun:
    """Execute a report template with papermill and prove that it ran to the end.

    Parameters
    ----------
    template : str or Path
        The ``.ipynb`` template. It needs a cell tagged ``parameters`` that
        declares ``run_id: str``, and a last code cell calling
        ``mark_complete(run_id)`` (from :mod:`evalkit.completion`).
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
    outcome = _execute_in_child(template, output_path, checked, cell_timeout, wall_timeout, workdir)
    seconds = time.monotonic() - t0
    finished = datetime.now(UTC)

    if outcome.get("error_type") == "ParameterError":
        msg = f"{template}: {outcome['message']}"
        raise ParameterError(msg)
    if not outcome.get("ok"):
        msg = _describe_failure(template, output_path, outcome, cell_timeout, wall_timeout)
        raise RunError(msg)
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
            "notebook with a cell `from evalkit.completion import mark_complete; mark_complete(run_id)`"
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
    if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
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
        env = {**os.environ, _PID_FILE_ENV: str(pid_file)}
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
    # papermill imports nbformat, which imports jsonschema, which imports the optional
    # rfc3987_syntax (IRI format checks) and compiles its grammar: 1.5-2.5 s per run.
    # nbformat never checks formats, and jsonschema treats the module as absent
    # (ImportError is suppressed), so the child blocks that one optional import.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
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
) -> str:
    try:
        cells = read_executed_cells(output_path)
    except RunError:
        cells = ()
    started = [c for c in cells if c.start_time is not None]
    at = started[-1].label if started else "an unknown cell (the executed notebook was not saved)"
    kept = f" Executed notebook (outputs up to the failure): {output_path}." if cells else ""
    kind = outcome.get("error_type")
    if outcome.get("wall_timeout_hit"):
        what = (
            f"the whole run exceeded wall_timeout={wall_timeout:g} s and was killed (kernel included) "
            f"while {at} was running. Raise wall_timeout if the report really needs longer, or make that "
            f"cell faster."
        )
    elif kind == "DeadKernelError":
        what = (
            f"the kernel died while running {at} (the process exited: os._exit, a crash in compiled "
            f"code, or the machine ran out of memory). Papermill marks such cells 'completed'; they are not."
        )
    elif kind == "CellTimeoutError":
        what = (
            f"{at} ran longer than cell_timeout={cell_timeout} s and was stopped. Raise cell_timeout "
            f"if that cell really needs longer."
        )
    elif kind == "PapermillExecutionError" and (failed := [c for c in cells if c.errors]):
        ename, evalue = failed[0].errors[0]
        what = f"{failed[0].label} raised {ename}: {evalue}. See its traceback."
    elif kind is not None:
        what = f"papermill failed while running {at}: {kind}: {outcome.get('message', '')}"
    else:
        what = (
            f"the papermill process ended with exit code {outcome.get('returncode')} without reporting "
            f"a result, while {at} was running. Its last output:\n{outcome.get('stderr', '')}"
        )
    return f"{template}: {what}{kept}"


# --------------------------------------------------------------------------- HTML


_LANG_CODES = {"zh": "zh-CN", "en": "en"}
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def export_html(
    executed_nb: str | Path,
    html_path: str | Path,
    *,
    lang: Literal["zh", "en"] = "zh",
    postprocess: Callable[[str], str] | None = None,
) -> Path:
    """Export an executed notebook to an HTML report without code.

    Parameters
    ----------
    executed_nb : str or Path
        The executed notebook (from :func:`run_notebook`).
    html_path : str or Path
        Where the HTML is written (parent folders are created).
    lang : {"zh", "en"}
        Sets ``<html lang="zh-CN">`` or ``<html lang="en">``.
    postprocess : callable, optional
        Applied to the finished HTML text before it is written, e.g.
        ``evalkit.reporting.html_fonts.embed_cjk_font``.

    Returns
    -------
    Path
        ``html_path``.

    Notes
    -----
    Code, input prompts and output prompts are hidden (nbconvert's
    ``exclude_input``, ``exclude_input_prompt``, ``exclude_output_prompt``);
    the completion marker output is dropped. The title is the first markdown
    heading, else the notebook's file name.
    """
    if lang not in _LANG_CODES:
        msg = f"lang={lang!r} is not supported; use one of: {', '.join(_LANG_CODES)}."
        raise ValueError(msg)
    import nbformat
    from nbconvert import HTMLExporter

    executed_nb, html_path = Path(executed_nb), Path(html_path)
    nb = nbformat.read(executed_nb, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if COMPLETION_MIME not in o.get("data", {})]
    nb.metadata["title"] = _first_heading(nb) or executed_nb.stem
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    html, _ = exporter.from_notebook_node(nb)
    html, n = re.subn(r'<html lang="[^"]*">', f'<html lang="{_LANG_CODES[lang]}">', html, count=1)
    if n != 1:
        msg = f"nbconvert's HTML for {executed_nb} has no <html lang=...> tag; check the nbconvert version."
        raise ReportError(msg)
    if postprocess is not None:
        html = postprocess(html)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    return html_path


def _first_heading(nb: Any) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (m := _HEADING_RE.search(cell.source)):
            return m.group("title").replace("**", "").replace("`", "").strip()
    return None


# --------------------------------------------------------------------------- atomic folders


def write_report_atomically(
    build: Callable[[Path], None], final_dir: str | Path, *, keep_failed: bool = True
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
    The exception is re-raised with a note saying which.

    Returns
    -------
    Path
        ``final_dir``.
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
        if keep_failed:
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


# --------------------------------------------------------------------------- manifest


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """Installed version of each distribution (None if absent); ``"python"`` is the interpreter."""
    versions: dict[str, str | None] = {}
    for name in names:
        if name == "python":
            versions[name] = platform.python_version()
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@frozen
class GitState:
    """The checked-out commit and whether the working tree differs from it."""

    commit: str
    dirty: bool  # tracked changes or untracked files (gitignored files do not count)


def git_state(repo_dir: str | Path) -> GitState | None:
    """Commit and dirtiness of the git checkout containing ``repo_dir``.

    None when ``repo_dir`` is not in a git checkout, the repository has no
    commit yet, or git is not installed.
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # `git status` must not write the index

    def git(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo_dir), *args], capture_output=True, text=True, env=env, check=False
            )
        except (FileNotFoundError, NotADirectoryError):
            return None
        return done if done.returncode == 0 else None

    head = git("rev-parse", "--verify", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=normal")
    if head is None or status is None:
        return None
    return GitState(commit=head.stdout.strip(), dirty=bool(status.stdout.strip()))


def git_commit(repo_dir: str | Path) -> str | None:
    """The checked-out commit, with ``-dirty`` appended if the tree has changes (as ``git describe --dirty``).

    None when not a git checkout, no commit exists yet, or git is absent.
    """
    state = git_state(repo_dir)
    if state is None:
        return None
    return state.commit + ("-dirty" if state.dirty else "")


def build_manifest(
    *,
    run_id: str,
    inputs: Iterable[str | Path],
    parameters: Mapping[str, Any],
    seed: int | None,
    runs: Iterable[NotebookRun] = (),
    repo_dir: str | Path | None = None,
    base_dir: str | Path | None = None,
    packages: Iterable[str] = MANIFEST_PACKAGES,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The run manifest: what went in, with which code and settings, and how long it took.

    Parameters
    ----------
    run_id : str
    inputs : iterable of paths
        Input files; each is recorded with its SHA-256 and size in bytes.
    parameters : mapping
        The run's parameters (JSON-like values).
    seed : int or None
    runs : iterable of NotebookRun
        The notebooks run, each with its parameters and timings.
    repo_dir : path, optional
        The code checkout whose git commit is recorded (None: not recorded).
    base_dir : path, optional
        Input paths under it are recorded relative to it (POSIX separators).
    packages : iterable of str
        Distributions whose versions are recorded.
    created : datetime, optional
        Defaults to now (UTC).

    Returns
    -------
    dict
        JSON-serialisable: ``run_id, created, seed, parameters, inputs,
        packages, git, notebooks``.
    """
    base = Path(base_dir).resolve() if base_dir is not None else None
    recorded: dict[str, dict[str, Any]] = {}
    for item in inputs:
        p = Path(item)
        key = p.as_posix()
        if base is not None and p.resolve().is_relative_to(base):
            key = p.resolve().relative_to(base).as_posix()
        recorded[key] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    try:
        params = json.loads(json.dumps(dict(parameters), allow_nan=False))
    except (TypeError, ValueError) as exc:
        msg = f"Run {run_id}: parameters cannot go into the manifest as JSON ({exc}); pass JSON-like values."
        raise ValueError(msg) from None
    state = git_state(repo_dir) if repo_dir is not None else None
    when = (created or datetime.now(UTC)).astimezone(UTC)
    return {
        "run_id": run_id,
        "created": when.isoformat(timespec="seconds"),
        "seed": seed,
        "parameters": params,
        "inputs": recorded,
        "packages": package_versions(packages),
        "git": None if state is None else {"commit": state.commit, "dirty": state.dirty},
        "notebooks": [run.to_dict() for run in runs],
    }
