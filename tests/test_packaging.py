"""The three dependency lists agree: pyproject.toml, environment.yml, requirements.lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from evalkit.datamodel import tables_markdown

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {_name(r) for r in reqs}


#: conda-forge names that differ from the PyPI names
CONDA_ALIASES = {"brotli-python": "brotli", "python-duckdb": "duckdb"}


def test_environment_yml_names_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(d) for d in dep.get("pip", [])}
        else:
            names.add(CONDA_ALIASES.get(_name(dep), _name(dep)))
    names -= {"python", "pip"}
    assert names == _pyproject_names()


def test_lock_pins_every_dependency_exactly():
    lines = [line.strip() for line in (ROOT / "requirements.lock").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    pins = {_name(line): line for line in lines}
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]
    missing = _pyproject_names() - set(pins)
    assert not missing, f"not pinned in requirements.lock: {sorted(missing)}"


def test_data_readme_documents_the_data_model():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- tables:start", 1)[1].split("-->", 1)[1].split("<!-- tables:end -->")[0]
    assert block.strip() == tables_markdown().strip(), (
        "data/README.md is out of date: paste the output of evalkit.datamodel.tables_markdown()")
