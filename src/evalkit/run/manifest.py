"""The one record of a run: ``manifest.json``, written by :func:`build_manifest` alone.

A manifest says what went in (every input file with its SHA-256 and size, the
config, the parameters of every notebook including the language), with which
code (evalkit version, git commit, the versions of :data:`RECORDED_PACKAGES`,
a hash of every installed distribution, platform), with which seed, how long
each step took, and what came out (each output file with its SHA-256). Paths
of inputs are relative to the study's folder and paths of outputs relative to
the report folder, so a manifest names no user, home folder or machine;
:mod:`evalkit.run.reproduce` re-runs a study from it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from attrs import frozen

from evalkit._version import __version__

__all__ = [
    "MANIFEST_VERSION",
    "RECORDED_PACKAGES",
    "GitState",
    "build_manifest",
    "environment_hash",
    "output_hashes",
    "with_outputs",
    "git_commit",
    "git_state",
    "package_versions",
    "relative_to",
    "sha256_bytes",
    "sha256_file",
]

#: bumped when a field of the manifest changes meaning
MANIFEST_VERSION = 2

#: distributions whose versions every manifest and every report's session table record
#: ("python" is the interpreter); the full environment is covered by :func:`environment_hash`
RECORDED_PACKAGES = (
    "python", "evalkit", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "diff-diff",
    "pyreadstat", "pyarrow", "openpyxl", "duckdb", "papermill", "nbconvert", "ipykernel", "fonttools",
)  # fmt: skip


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_versions(names: Iterable[str] = RECORDED_PACKAGES) -> dict[str, str | None]:
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


def environment_hash() -> str:
    """SHA-256 over the name and version of every installed distribution and the Python version.

    Two environments with the same hash have the same packages at the same
    versions; ``--resume`` reuses a report only under the same hash.
    """
    # only the interpreter's own site-packages: sys.path also holds whatever a caller (a test runner,
    # a notebook) put there, and the hash must not change with that
    import sysconfig

    roots = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    dists = sorted(
        f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in metadata.distributions(path=roots)
    )
    return sha256_bytes("\n".join([platform.python_version(), *dists]).encode("utf-8"))


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
    """The checked-out commit, with ``-dirty`` appended if the tree has changes (as ``git describe --dirty``)."""
    state = git_state(repo_dir)
    if state is None:
        return None
    return state.commit + ("-dirty" if state.dirty else "")


def relative_to(path: str | os.PathLike[str], base: str | os.PathLike[str]) -> str:
    """``path`` relative to ``base`` in POSIX form (``..`` where needed), never absolute."""
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


def build_manifest(
    *,
    run_id: str,
    kind: str,
    study_dir: str | os.PathLike[str],
    config: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]],
    parameters: Mapping[str, Mapping[str, Any]],
    seed: int | None,
    language: str,
    study: Mapping[str, Any] | None = None,
    notebooks: Iterable[Mapping[str, Any]] = (),
    timings: Mapping[str, float] | None = None,
    reproduce: str = "",
    repo_dir: str | os.PathLike[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The run manifest (JSON-serialisable).

    Parameters
    ----------
    run_id
        The run's id (:mod:`evalkit.run.ids`).
    kind
        ``"run"`` (``evalkit run``), ``"community"`` or ``"programme"`` (``evalkit batch``).
    study_dir
        The folder of the study config; input paths are recorded relative to it.
    config
        The study config file (recorded relative to ``study_dir`` with its hash).
    inputs
        Every input file the run read; each is recorded with SHA-256 and size.
    parameters
        Per notebook, the parameters it ran with (JSON-like values; absolute
        paths must already have been made relative by the caller).
    seed, language
        The study seed and the report language.
    notebooks
        Per notebook: template, template SHA-256, seconds, cell timings.
    timings
        Seconds per step; ``total`` is added by the caller.
    reproduce
        The command that reproduces this run.
    repo_dir
        The evalkit checkout whose git commit is recorded (None: not recorded).
    extra
        Further top-level fields (e.g. the disclosure policy, the batch entry).
    """
    base = Path(study_dir)
    recorded = {
        relative_to(p, base): {"sha256": sha256_file(p), "size": Path(p).stat().st_size}
        for p in sorted({Path(i).resolve() for i in inputs})
    }
    state = git_state(repo_dir) if repo_dir is not None else None
    when = (created or datetime.now(UTC)).astimezone(UTC)
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "kind": kind,
        "created": when.isoformat(timespec="seconds"),
        "evalkit_version": __version__,
        "study": dict(study or {}),
        "config": {"path": relative_to(config, base), "sha256": sha256_file(config)},
        "language": language,
        "seed": seed,
        "inputs": recorded,
        "parameters": {k: dict(v) for k, v in parameters.items()},
        "notebooks": [dict(n) for n in notebooks],
        "packages": package_versions(),
        "environment_sha256": environment_hash(),
        "platform": {"system": platform.system(), "machine": platform.machine(),
                     "python": platform.python_version()},
        "git": None if state is None else {"commit": state.commit, "dirty": state.dirty},
        "timings_seconds": {k: round(v, 3) for k, v in (timings or {}).items()},
        "outputs": {},  # filled by with_outputs() once the folder is complete
        "reproduce": reproduce,
    }
    if extra:
        manifest.update(extra)
    return manifest


def output_hashes(folder: str | os.PathLike[str]) -> dict[str, str]:
    """SHA-256 of every file in a finished report folder (``manifest.json`` excepted), relative paths."""
    out = Path(folder)
    return {
        p.relative_to(out).as_posix(): sha256_file(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def with_outputs(manifest: Mapping[str, Any], folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest with ``outputs`` recording every file now in ``folder``."""
    return {**manifest, "outputs": output_hashes(folder)}
