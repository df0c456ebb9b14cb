"""Tests for evalkit.run.execute, .params, .completion, .export, .atomic and .manifest.

Schema and validation tests need no kernel. Tests marked ``notebooks`` run the
fixture templates in tests/notebooks_fixtures/ through papermill with real
kernels (8 kernel runs in all); every way a run can fail must give RunError
naming the template, the cell and what happened.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import evalkit
from evalkit.errors import NotebookTemplateError, ParameterError, RunError
from evalkit.run.atomic import write_report_atomically
from evalkit.run.completion import COMPLETION_MIME, check_completed
from evalkit.run.execute import CellTiming, NotebookRun, run_notebook
from evalkit.run.export import export_html
from evalkit.run.manifest import (
    RECORDED_PACKAGES,
    GitState,
    build_manifest,
    git_commit,
    git_state,
    package_versions,
    sha256_file,
)
from evalkit.run.params import (
    ParameterSchema,
    ParameterSpec,
    TypeSpec,
    read_parameter_schema,
    validate_parameters,
)

FIXTURES = Path(__file__).parents[1] / "notebooks_fixtures"
RUN_ID = "r-1"


def _template(
    tmp_path: Path, params_source: str | None, *, name: str = "t.ipynb", extra_tagged: bool = False
) -> Path:
    """A minimal template whose second cell holds ``params_source`` (tagged ``parameters``)."""

    def cell(source: str, tags: list[str] | None = None) -> dict:
        meta = {"tags": tags} if tags else {}
        return {
            "cell_type": "code",
            "metadata": meta,
            "source": source,
            "outputs": [],
            "execution_count": None,
        }

    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# T"}]
    if params_source is not None:
        cells.append(cell(params_source, ["parameters"]))
    if extra_tagged:
        cells.append(cell("more: int = 1  # x", ["parameters"]))
    cells.append(cell("import evalkit as ek\nek.mark_complete(run_id)"))
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    path = tmp_path / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def schema() -> ParameterSchema:
    return read_parameter_schema(FIXTURES / "report_ok.ipynb")


# --------------------------------------------------------------------------- schema


def test_schema_is_read_from_the_parameters_cell(schema: ParameterSchema) -> None:
    assert schema.cell_number == 2
    assert schema.names == (
        "config_path", "communities", "seed", "lang", "run_id",
        "output_dir", "community_id", "threshold", "show",
    )  # fmt: skip
    types = {p.name: str(p.type) for p in schema}
    assert types == {
        "config_path": "str", "communities": "list[str]", "seed": "int", "lang": "str",
        "run_id": "str", "output_dir": "str", "community_id": "str | None",
        "threshold": "float", "show": "bool",
    }  # fmt: skip
    assert schema.defaults() == {
        "config_path": "data/example/study.yaml", "communities": [], "seed": 1, "lang": "zh",
        "run_id": "", "output_dir": "", "community_id": None, "threshold": 0.5, "show": True,
    }  # fmt: skip
    assert schema["seed"].comment == "recorded in the manifest"
    assert schema["lang"].choices == ("zh", "en")
    assert schema["seed"].choices is None


def test_template_without_parameters_cell_is_refused() -> None:
    path = FIXTURES / "no_parameters.ipynb"
    with pytest.raises(
        NotebookTemplateError,
        match=r"no_parameters\.ipynb has no cell tagged `parameters`.*property inspector",
    ):
        read_parameter_schema(path)


def test_two_parameters_cells_are_refused(tmp_path: Path) -> None:
    path = _template(tmp_path, "seed: int = 1", extra_tagged=True)
    with pytest.raises(NotebookTemplateError, match=r"cells 2, 3 are all tagged `parameters`"):
        read_parameter_schema(path)


def test_every_problem_in_the_parameters_cell_is_listed(tmp_path: Path) -> None:
    source = "\n".join(
        [
            "seed = 1",  # no annotation
            'lang: str = "zh"  # one of: zh, en',  # fine
            "ids: tuple = ()",  # unsupported type
            "path: str = str(1)",  # default is not a literal
            'n: int = "5"',  # default does not match its type
            'mode: str = "fast"  # one of: slow, careful',  # default outside its own choices
            "import os",  # code in the parameters cell
        ]
    )
    path = _template(tmp_path, source)
    with pytest.raises(NotebookTemplateError) as info:
        read_parameter_schema(path)
    msg = str(info.value)
    assert "parameters cell (cell 2): 6 problems" in msg
    assert "line 1 `seed = 1`: no type annotation" in msg
    assert "line 3 `ids: tuple = ()`: type `tuple` is not supported" in msg
    assert "line 4" in msg and "is not a literal" in msg
    assert "line 5" in msg and "expects int but got the text '5'" in msg
    assert "line 6" in msg and "'fast'" in msg
    assert "line 7 `import os`: only annotated assignments" in msg
    assert "line 2" not in msg


def test_annotation_forms(tmp_path: Path) -> None:
    source = (
        "a: Optional[int] = None\n"
        'b: "str | None" = "x"\n'
        "c: dict[str, float] = {}\n"
        "d: list = [1, 'x']\n"
        "e: list[str] | None = None  # one of: p, q\n"
    )
    schema = read_parameter_schema(_template(tmp_path, source))
    assert [str(p.type) for p in schema] == [
        "int | None",
        "str | None",
        "dict[str, float]",
        "list[any]",
        "list[str] | None",
    ]
    assert schema["e"].choices == ("p", "q")


# --------------------------------------------------------------------------- validation


def test_valid_parameters_are_normalised(schema: ParameterSchema) -> None:
    given = {
        "seed": 200,
        "threshold": 1,
        "communities": ["0012", "430102001"],
        "community_id": None,
        "lang": "en",
    }
    checked = validate_parameters(schema, given)
    assert checked == given
    assert isinstance(checked["threshold"], float)  # int accepted for float, converted
    assert "config_path" not in checked  # defaults are not filled in


@pytest.mark.parametrize(
    ("name", "value", "pattern"),
    [
        (
            "seed",
            "200",
            r"'seed' expects int but got the text '200' \(str\)\. Pass a number without quotes \(200\)",
        ),
        (
            "seed",
            "abc",
            r"'seed' expects int but got the text 'abc' \(str\)\. Pass a number without quotes, not text",
        ),
        ("seed", True, r"'seed' expects int but got True \(bool\)\. True/False are not numbers"),
        ("seed", 2.0, r"'seed' expects int but got 2\.0 \(float\)"),
        ("threshold", False, r"'threshold' expects float but got False \(bool\)"),
        (
            "community_id",
            12,
            r"'community_id' expects str \| None but got 12 \(int\)\..*\"0012\".*leading zeros",
        ),
        ("config_path", 12, r"'config_path' expects str but got 12 \(int\)"),
        ("communities", ["0012", 12], r"parameter communities\[1\] expects str but got 12 \(int\)"),
        ("communities", "0012", r"'communities' expects list\[str\] but got the text '0012'"),
        ("show", "yes", r"'show' expects bool but got the text 'yes'"),
    ],
)
def test_wrong_types_are_refused(schema: ParameterSchema, name: str, value: object, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        validate_parameters(schema, {name: value})


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (("a", "b"), r"tuple.*not JSON-like \(use a list\)"),
        ([1.0, math.nan], r"nan at \[1\]; only finite numbers"),
        ({1: "a"}, r"key 1 \(int\).*keys must be text"),
        (Path("x"), r"PosixPath|WindowsPath"),
    ],
)
def test_values_that_are_not_json_like_are_refused(tmp_path: Path, value: object, pattern: str) -> None:
    schema = read_parameter_schema(_template(tmp_path, "x: list = []\ny: dict = {}\nz: str = ''"))
    name = "y" if isinstance(value, dict) else "x"
    with pytest.raises(ParameterError, match=pattern):
        validate_parameters(schema, {name: value})


def test_allowed_values_from_the_comment(schema: ParameterSchema) -> None:
    assert validate_parameters(schema, {"lang": "zh"}) == {"lang": "zh"}
    with pytest.raises(
        ParameterError,
        match=r"'lang' got 'zhh', but the template allows only: 'zh', 'en'\. Did you mean 'zh'\?",
    ):
        validate_parameters(schema, {"lang": "zhh"})


def test_allowed_values_apply_to_list_elements(tmp_path: Path) -> None:
    schema = read_parameter_schema(
        _template(tmp_path, 'outcomes: list[str] = ["gain"]  # one of: gain, belonging')
    )
    assert validate_parameters(schema, {"outcomes": ["belonging", "gain"]}) == {
        "outcomes": ["belonging", "gain"]
    }
    with pytest.raises(
        ParameterError, match=r"'outcomes' got 'security', but the template allows only: 'gain', 'belonging'"
    ):
        validate_parameters(schema, {"outcomes": ["gain", "security"]})


def test_all_problems_are_listed_at_once(schema: ParameterSchema) -> None:
    evil = "x=1;import os;os.system('echo pwned');y"
    with pytest.raises(ParameterError) as info:
        validate_parameters(schema, {"seeds": 3, "threshold": "0.5", evil: 1, "lang": "fr"})
    msg = str(info.value)
    assert (
        msg.startswith("4 problems with the parameters for ") and "report_ok.ipynb (nothing was run)" in msg
    )
    assert "unknown parameter 'seeds'" in msg and "Did you mean 'seed'?" in msg
    assert "'threshold' expects float but got the text '0.5'" in msg
    assert f"parameter name {evil!r} is not a plain Python name" in msg and "unescaped" in msg
    assert "'lang' got 'fr'" in msg
    assert "The template declares:" in msg and "seed: int = 1  # recorded in the manifest" in msg


@pytest.mark.parametrize("bad_name", ["class", "a b", "1x", "x=1;import os;y", ""])
def test_unsafe_names_in_the_schema_are_refused(bad_name: str) -> None:
    spec = ParameterSpec(bad_name, TypeSpec("int"), 1)
    schema = ParameterSchema("hand-made.ipynb", 2, [ParameterSpec("ok", TypeSpec("int"), 1), spec])
    with pytest.raises(
        ParameterError,
        match=rf"declares parameter {re.escape(repr(bad_name))}, which is not a plain Python name",
    ):
        validate_parameters(schema, {"ok": 2})


def test_run_notebook_validates_before_any_kernel_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    out = tmp_path / "out.ipynb"
    with pytest.raises(ParameterError, match=r"'seed' expects int but got the text '200'"):
        run_notebook(FIXTURES / "report_ok.ipynb", parameters={"seed": "200"}, output_path=out, run_id=RUN_ID)
    with pytest.raises(
        ParameterError, match=r"parameters say run_id='other' but the run_id argument is 'r-1'"
    ):
        run_notebook(
            FIXTURES / "report_ok.ipynb", parameters={"run_id": "other"}, output_path=out, run_id=RUN_ID
        )
    with pytest.raises(ParameterError, match=r"run_id '\.\./x' must be text of letters"):
        run_notebook(FIXTURES / "report_ok.ipynb", parameters={}, output_path=out, run_id="../x")
    with pytest.raises(ParameterError) as info:  # request and parameter problems in one message
        run_notebook(
            FIXTURES / "report_ok.ipynb",
            parameters={"seed": 1.5},
            output_path=out,
            run_id=RUN_ID,
            cell_timeout=0,
        )
    assert "cell_timeout must be a whole number of seconds > 0, got 0." in str(info.value)
    assert "'seed' expects int but got 1.5 (float)" in str(info.value)
    no_run_id = _template(tmp_path, "seed: int = 1  # s")
    with pytest.raises(
        NotebookTemplateError, match=r"t\.ipynb cannot be run by evalkit: declare `run_id: str"
    ):
        run_notebook(no_run_id, parameters={}, output_path=out, run_id=RUN_ID)
    assert not out.exists()


def _executed(tmp_path: Path, cells: list[dict]) -> Path:
    """A hand-made executed notebook: each cell dict gives source, outputs and papermill start_time."""
    nb_cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# T"},
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": 'run_id: str = ""',
            "outputs": [],
        },
        {
            "cell_type": "code",
            "metadata": {"tags": ["injected-parameters"]},
            "source": 'run_id = "r-1"',
            "outputs": [],
        },
    ]
    for c in cells:
        meta = {
            "papermill": {
                "start_time": c.get("start", "2026-01-01T00:00:00"),
                "duration": 0.1,
                "status": "completed",
            }
        }
        nb_cells.append(
            {"cell_type": "code", "metadata": meta, "source": c["source"], "outputs": c.get("outputs", [])}
        )
    path = tmp_path / "executed.ipynb"
    path.write_text(
        json.dumps({"cells": nb_cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8"
    )
    return path


def _marker(run_id: str) -> dict:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {COMPLETION_MIME: {"run_id": run_id, "time": "t"}},
    }


def test_check_completed_on_hand_made_notebooks(tmp_path: Path) -> None:
    done = _executed(
        tmp_path, [{"source": "x = 1"}, {"source": "mark_complete(run_id)", "outputs": [_marker("r-1")]}]
    )
    assert check_completed(done, "r-1") == {"run_id": "r-1", "time": "t"}
    # the marker shown early, then more cells: the last cell is what counts
    early = _executed(
        tmp_path, [{"source": "mark_complete(run_id)", "outputs": [_marker("r-1")]}, {"source": "y = 2"}]
    )
    with pytest.raises(
        RunError, match=r"last code cell, cell 4 of 4 \(`y = 2`\), did not .* displayed in cell 3 instead"
    ):
        check_completed(early, "r-1")
    # papermill says "completed" after a kernel death, but the cell has no start time: it never ran
    never = _executed(
        tmp_path,
        [
            {"source": "x = 1"},
            {"source": "mark_complete(run_id)", "outputs": [_marker("r-1")], "start": None},
        ],
    )
    with pytest.raises(
        RunError, match=r"executed\.ipynb: cell 4 of 4 \(`mark_complete\(run_id\)`\) never ran"
    ):
        check_completed(never, "r-1")
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(RunError, match=r"Cannot read the executed notebook .*broken\.ipynb"):
        check_completed(tmp_path / "broken.ipynb", "r-1")


# --------------------------------------------------------------------------- kernel runs


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    """One successful run, with a user kernelspec `python3` that points at no real interpreter."""
    base = tmp_path_factory.mktemp("ok_run")
    (base / "work").mkdir()
    elsewhere = base / "jupyter" / "kernels" / "python3"
    elsewhere.mkdir(parents=True)
    argv = ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "elsewhere", "language": "python"}
    (elsewhere / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    # a user's IPython start-up file, which must never run inside a report kernel
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-user.py").write_text(
        f"open({str(base / 'startup-ran.txt')!r}, 'w').write('ran')\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(base / "jupyter"))  # searched before the venv's kernelspecs
        mp.setenv("IPYTHONDIR", str(base / "ipython"))
        return run_notebook(
            FIXTURES / "report_ok.ipynb",
            parameters={"communities": ["0012"], "community_id": "0012", "threshold": 1, "seed": 7},
            output_path=base / "reports" / RUN_ID / "report_ok.ipynb",
            run_id=RUN_ID,
            cwd=base / "work",
        )


def test_user_ipython_startup_files_never_run_in_a_report(ok_run: NotebookRun) -> None:
    base = ok_run.output_path.parents[2]
    assert (base / "ipython" / "profile_default" / "startup" / "00-user.py").is_file()
    assert not (base / "startup-ran.txt").exists()


def _seen_by_kernel(executed: Path) -> dict:
    nb = json.loads(executed.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", []))
            if text.startswith("EVALKIT-TEST "):
                return json.loads(text.removeprefix("EVALKIT-TEST "))
    raise AssertionError("the fixture's report line is missing")


@pytest.mark.notebooks
def test_successful_run(ok_run: NotebookRun) -> None:
    assert ok_run.run_id == RUN_ID and ok_run.output_path.is_file()
    assert ok_run.parameters["threshold"] == 1.0 and ok_run.parameters["lang"] == "zh"  # default kept
    assert ok_run.parameters["run_id"] == RUN_ID
    assert ok_run.started < ok_run.finished and ok_run.started.tzinfo is UTC
    assert 0 < ok_run.seconds < 120
    assert [t.cell for t in ok_run.cell_timings] == [
        2,
        3,
        5,
        6,
    ]  # the code cells, numbered as in the template
    seen = _seen_by_kernel(ok_run.output_path)
    assert seen["prefix"] == sys.prefix  # the kernel is this interpreter, whatever kernelspecs say
    assert seen["cwd"] == str((ok_run.output_path.parents[2] / "work").resolve())
    assert seen["communities"] == ["0012"] and seen["community_id"] == "0012"  # ids stay text
    assert seen["types"] == ["int", "float", "bool"] and seen["threshold"] == 1.0 and seen["seed"] == 7
    with pytest.raises(AttributeError):
        ok_run.run_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ok_run.parameters["seed"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(ok_run)) == ok_run  # runs can come back from worker processes


@pytest.mark.notebooks
def test_check_completed(ok_run: NotebookRun) -> None:
    marker = check_completed(ok_run.output_path, RUN_ID)
    assert marker["run_id"] == RUN_ID
    assert datetime.fromisoformat(marker["time"]) <= datetime.now(UTC)
    with pytest.raises(
        RunError,
        match=r"report_ok\.ipynb: the completion marker in the last code cell, cell 6 of 6 .* "
        r"carries run id 'r-1', but this run is 'r-2'",
    ):
        check_completed(ok_run.output_path, "r-2", template=FIXTURES / "report_ok.ipynb")


@pytest.mark.notebooks
def test_export_html(ok_run: NotebookRun, tmp_path: Path) -> None:
    seen: list[str] = []

    def postprocess(html: str) -> str:
        seen.append(html)
        return html.replace("</body>", "<!-- fonts embedded --></body>")

    html_path = export_html(ok_run.output_path, tmp_path / "html" / "report.html", postprocess=postprocess)
    html = html_path.read_text(encoding="utf-8")
    assert len(seen) == 1
    assert '<html lang="zh-CN">' in html
    assert "<title>示范报告：参数与完成标记</title>" in html
    assert "社区数量" in html  # outputs are kept
    assert "import json" not in html and "mark_complete" not in html  # code is not
    assert COMPLETION_MIME not in html and "evalkit: run" not in html  # nor the marker
    body = html[html.index("<body") :]
    assert not [
        k for k in ("jp-InputPrompt", "jp-OutputPrompt", "hl-ipython3") if k in body
    ]  # no code, no prompts
    assert "<!-- fonts embedded -->" in html
    en = export_html(ok_run.output_path, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in en
    with pytest.raises(ValueError, match=r"lang='fr' is not supported; use one of: zh, en"):
        export_html(ok_run.output_path, tmp_path / "fr.html", lang="fr")  # type: ignore[arg-type]


@pytest.mark.notebooks
def test_kernel_death_is_a_failure(tmp_path: Path) -> None:
    pattern = r"kernel_death\.ipynb: the kernel died while running cell 3 of 4 \(`import os …`\)"
    with pytest.raises(RunError, match=pattern):
        run_notebook(
            FIXTURES / "kernel_death.ipynb", parameters={}, output_path=tmp_path / "o.ipynb", run_id=RUN_ID
        )


@pytest.mark.notebooks
def test_cell_timeout_is_a_failure(tmp_path: Path) -> None:
    pattern = (
        r"slow_cell\.ipynb: cell 4 of 5 \(`time\.sleep\(sleep_seconds\)`\) ran longer than cell_timeout=1 s"
    )
    with pytest.raises(RunError, match=pattern):
        run_notebook(
            FIXTURES / "slow_cell.ipynb",
            parameters={},
            output_path=tmp_path / "o.ipynb",
            run_id=RUN_ID,
            cell_timeout=1,
        )


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1].startswith("Z")  # a zombie has exited


@pytest.mark.notebooks
@pytest.mark.slow  # waits out an 8 s wall-clock limit
def test_wall_timeout_kills_the_kernel(tmp_path: Path) -> None:
    pid_file = tmp_path / "kernel.pid"
    t0 = time.monotonic()
    pattern = (
        r"slow_cell\.ipynb: the whole run exceeded wall_timeout=8 s and was killed \(kernel included\) "
        r"while cell 4 of 5"
    )
    with pytest.raises(RunError, match=pattern):
        run_notebook(
            FIXTURES / "slow_cell.ipynb",
            parameters={"sleep_seconds": 120, "pid_file": str(pid_file)},
            output_path=tmp_path / "o.ipynb",
            run_id=RUN_ID,
            wall_timeout=8,
        )
    assert time.monotonic() - t0 < 30
    kernel_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _process_gone(kernel_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _process_gone(kernel_pid)


@pytest.mark.notebooks
def test_sys_exit_is_a_failure(tmp_path: Path) -> None:
    out = tmp_path / "o.ipynb"
    with pytest.raises(
        RunError, match=r"sys_exit\.ipynb: cell 3 of 5 \(`import sys …`\) called sys\.exit\(0\)"
    ):
        run_notebook(FIXTURES / "sys_exit.ipynb", parameters={}, output_path=out, run_id=RUN_ID)
    outputs = [o for c in json.loads(out.read_text(encoding="utf-8"))["cells"] for o in c.get("outputs", [])]
    assert outputs and not any(
        "after exit" in "".join(o.get("text", [])) for o in outputs
    )  # stopped, silently


@pytest.mark.notebooks
def test_missing_marker_is_a_failure(tmp_path: Path) -> None:
    pattern = (
        r"no_marker\.ipynb: the last code cell, cell 3 of 3 \(`print\(\"done\"\)`\), "
        r"did not display evalkit's completion marker"
    )
    with pytest.raises(RunError, match=pattern):
        run_notebook(
            FIXTURES / "no_marker.ipynb", parameters={}, output_path=tmp_path / "o.ipynb", run_id=RUN_ID
        )


@pytest.mark.notebooks
def test_marker_with_wrong_run_id_is_a_failure(tmp_path: Path) -> None:
    pattern = (
        r"wrong_marker\.ipynb: the completion marker in the last code cell, cell 3 of 3 .* "
        r"carries run id 'some-other-run', but this run is 'r-1'"
    )
    with pytest.raises(RunError, match=pattern):
        run_notebook(
            FIXTURES / "wrong_marker.ipynb", parameters={}, output_path=tmp_path / "o.ipynb", run_id=RUN_ID
        )


@pytest.mark.notebooks
def test_failed_rerun_keeps_the_last_good_report(ok_run: NotebookRun, tmp_path: Path) -> None:
    final = tmp_path / "reports" / RUN_ID

    def good(folder: Path) -> None:
        shutil.copy(ok_run.output_path, folder / "report.ipynb")

    write_report_atomically(good, final)
    before = sha256_file(final / "report.ipynb")

    def failing(folder: Path) -> None:
        run_notebook(
            FIXTURES / "raises.ipynb", parameters={}, output_path=folder / "report.ipynb", run_id=RUN_ID
        )

    with pytest.raises(
        RunError, match=r"raises\.ipynb: cell 3 of 4 .* raised ValueError: 示范错误：阈值超出范围"
    ) as info:
        write_report_atomically(failing, final)
    assert sha256_file(final / "report.ipynb") == before
    (failed,) = tmp_path.glob("reports/r-1.failed-*")
    assert (failed / "report.ipynb").is_file()  # the failed run is kept for debugging
    assert any(str(failed) in note for note in info.value.__notes__)


# --------------------------------------------------------------------------- atomic folders


def test_atomic_write_replaces_only_after_a_complete_build(tmp_path: Path) -> None:
    final = tmp_path / "out" / "report"

    def build(version: str) -> object:
        def _build(folder: Path) -> None:
            assert folder.parent == final.parent and not any(folder.iterdir())  # same filesystem, empty
            (folder / "index.html").write_text(version, encoding="utf-8")

        return _build

    assert write_report_atomically(build("v1"), final) == final
    write_report_atomically(build("v2"), final)
    assert (final / "index.html").read_text(encoding="utf-8") == "v2"

    def half_then_fail(folder: Path) -> None:
        (folder / "index.html").write_text("half", encoding="utf-8")
        raise ValueError("build broke")

    with pytest.raises(ValueError, match="build broke") as info:
        write_report_atomically(half_then_fail, final, keep_failed=False)
    assert "was deleted" in info.value.__notes__[0]
    assert (final / "index.html").read_text(encoding="utf-8") == "v2"
    assert sorted(p.name for p in final.parent.iterdir()) == ["report"]  # no temp or old folders left


# --------------------------------------------------------------------------- manifest


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    # FIPS 180-2, appendix B.1: SHA-256("abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big.bin"
    data = os.urandom(3 * (1 << 20) + 17)  # spans several read chunks
    big.write_bytes(data)
    assert sha256_file(big) == hashlib.sha256(data).hexdigest()


def test_package_versions() -> None:
    versions = package_versions(["python", "evalkit", "papermill", "no-such-distribution-xyz"])
    assert versions["python"] == platform.python_version()
    assert versions["evalkit"] == evalkit.__version__
    assert re.fullmatch(r"\d+\.\d+.*", versions["papermill"] or "")
    assert versions["no-such-distribution-xyz"] is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None  # not a checkout
    git = [
        "git",
        "-C",
        str(tmp_path),
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run([*git, "init", "-q"], check=True)
    assert git_commit(tmp_path) is None  # no commit yet
    (tmp_path / "a.txt").write_text("1", encoding="utf-8")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert git_state(tmp_path) == GitState(commit=head, dirty=False)
    assert git_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("2", encoding="utf-8")
    assert git_commit(tmp_path) == f"{head}-dirty"


def test_build_manifest(tmp_path: Path) -> None:
    study = tmp_path / "study"
    (study / "data").mkdir(parents=True)
    (study / "data" / "survey.csv").write_bytes(b"id,score\n1,5\n")
    (study / "study.yaml").write_text("name: t\n", encoding="utf-8")
    manifest = build_manifest(
        run_id=RUN_ID,
        kind="run",
        study_dir=study,
        config=study / "study.yaml",
        inputs=[study / "data" / "survey.csv", study / "study.yaml"],
        parameters={"01_x.ipynb": {"lang": "zh", "communities": ["0012"]}},
        seed=7,
        language="zh",
        notebooks=[{"template": "01_x.ipynb", "seconds": 4.5}],
        timings={"total": 5.0},
        repo_dir=tmp_path,  # not a checkout
        created=datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
    )
    assert json.loads(json.dumps(manifest, allow_nan=False)) == manifest
    assert manifest["inputs"] == {
        "data/survey.csv": {"sha256": hashlib.sha256(b"id,score\n1,5\n").hexdigest(), "size": 13},
        "study.yaml": {"sha256": hashlib.sha256(b"name: t\n").hexdigest(), "size": 8},
    }
    assert manifest["config"]["path"] == "study.yaml"
    assert manifest["created"] == "2026-01-01T09:00:00+00:00"
    assert set(manifest["packages"]) == set(RECORDED_PACKAGES)
    assert manifest["git"] is None and manifest["seed"] == 7 and manifest["language"] == "zh"
    assert manifest["parameters"]["01_x.ipynb"]["communities"] == ["0012"]
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["environment_sha256"])
    assert str(tmp_path) not in json.dumps(manifest)  # no absolute paths
