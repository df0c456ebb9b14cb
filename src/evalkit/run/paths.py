"""The project's folders, resolved once: notebooks/, data/, reports/ and the demo city.

Resolution order: an explicit argument, then the environment (``EVALKIT_HOME``
for the project root), then the current folder if it looks like an evalkit
project (has ``notebooks/``), then the source checkout this package was
installed from (editable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "notebooks_dir", "reports_dir", "demo_dir", "demo_config", "template_path",
           "find_template"]

_DEMO_STAMP = ".evalkit-demo"


def project_root() -> Path:
    env = os.environ.get("EVALKIT_HOME")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd()
    if (cwd / "notebooks").is_dir() and (cwd / "pyproject.toml").is_file():
        return cwd
    checkout = Path(__file__).resolve().parents[3]  # src/evalkit/run/paths.py → the checkout
    if (checkout / "notebooks").is_dir():
        return checkout
    return cwd


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def reports_dir() -> Path:
    return project_root() / "reports"


def demo_dir() -> Path:
    return project_root() / "data" / "demo"


def demo_config(folder: str | os.PathLike[str] | None = None, *, seed: int = 20240901) -> Path:
    """Path of the demo city's study.yaml, writing the demo files first if needed.

    The files are rewritten when they are missing or were written by another
    evalkit version, seed or demo generator (a stamp file records all three; the
    generator by the hash of its source), so the demo always matches the code that
    analyses it.
    """
    import hashlib

    from evalkit import datasets
    from evalkit._version import __version__
    from evalkit.datasets.demo import write_demo_city

    target = Path(folder) if folder is not None else demo_dir()
    stamp = target / _DEMO_STAMP
    digest = hashlib.sha256()
    for source in sorted(Path(datasets.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    expected = f"evalkit {__version__} seed {seed} generator {digest.hexdigest()[:16]}"
    config = target / "study.yaml"
    if config.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == expected:
        return config
    config = Path(write_demo_city(target, seed=seed))
    stamp.write_text(expected + "\n", encoding="utf-8")
    return config


def template_path(template: str | os.PathLike[str]) -> str:
    """A template's path relative to the notebooks folder (how a manifest names it)."""
    return Path(os.path.relpath(Path(template).resolve(), notebooks_dir().resolve())).as_posix()


def find_template(relative: str) -> Path:
    """The template a manifest names (relative to the notebooks folder)."""
    return notebooks_dir() / relative
