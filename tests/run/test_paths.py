"""The project's folders resolve to the checkout from wherever a kernel starts."""

from __future__ import annotations

from pathlib import Path

from evalkit.run import paths

CHECKOUT = Path(__file__).resolve().parents[2]


def test_project_root_from_a_notebook_subfolder(monkeypatch):
    """A kernel started in notebooks/batch/ (JupyterLab does) must find data/demo in the checkout,
    not write a demo city beside the notebook."""
    monkeypatch.delenv("EVALKIT_HOME", raising=False)
    monkeypatch.chdir(CHECKOUT / "notebooks" / "batch")
    assert paths.project_root() == CHECKOUT
    assert paths.demo_dir() == CHECKOUT / "data" / "demo"
    assert paths.notebooks_dir() == CHECKOUT / "notebooks"


def test_evalkit_home_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("EVALKIT_HOME", str(tmp_path))
    assert paths.project_root() == tmp_path.resolve()
