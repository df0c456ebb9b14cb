"""Load and estimate a study once per run or batch: an on-disk cache keyed by content.

Every report notebook starts with ``ek.load_study(config_path)`` and the same
heavy calls (measurement, the city-wide impact model). Run one after another,
or one per pilot community, each would read, validate and estimate the whole
study again. Inside a run the runner sets ``EVALKIT_CACHE_DIR`` for every
kernel; the functions here then compute each result once and store it there:

- the key of a study is the SHA-256 of the config's bytes, every input file's
  bytes, the evalkit version and the evalkit source files (so an edited
  checkout never reads a stale result);
- the key of a call is the function's name and a fingerprint of its
  arguments (a loaded study by its key, a DataFrame by pandas' row hashes,
  other values by their JSON or pickle bytes);
- values are pickled to ``<cache>/<key>.pkl``, written atomically; a per-key
  lock (``fcntl.flock``) makes concurrent kernels wait for the first one
  instead of computing the same thing twice.

Outside a run (no ``EVALKIT_CACHE_DIR``) every function calls straight
through, so a notebook opened in JupyterLab behaves exactly as before. The
cache holds only what the study's own analyses produced from already
pseudonymised tables; it lives under the reports folder (``.cache``), is never
published and is safe to delete. Why pickle: the cached values are evalkit's
own result objects (frozen attrs classes holding DataFrames) written by this
process tree; no user-supplied file is ever unpickled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from evalkit._version import __version__
from evalkit.intake.load import load_study as _load
from evalkit.run.atomic import write_bytes_atomic

__all__ = ["CACHE_ENV", "analyse_programme", "cache_dir", "cached", "community_effects", "estimate_impact",
           "evaluate_designs", "load_study", "measure", "prepare_study",
           "profile_study", "source_digest", "study_key"]

CACHE_ENV = "EVALKIT_CACHE_DIR"

T = TypeVar("T")

#: key of each study loaded through :func:`load_study` in this process
_STUDY_KEYS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def cache_dir() -> Path | None:
    """The active cache folder (from ``EVALKIT_CACHE_DIR``), or None outside a run."""
    value = os.environ.get(CACHE_ENV)
    return Path(value) if value else None


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 over evalkit's own source files (names and bytes)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def study_key(config: Any) -> str:
    """Content key of a study: config bytes, every input file, evalkit version and source."""
    from evalkit.config import StudyConfig, load_config
    from evalkit.run.manifest import sha256_file

    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    digest = hashlib.sha256(source_digest().encode())
    digest.update(Path(cfg.path).read_bytes())
    for path in sorted({Path(p).resolve() for p in cfg.input_files()}):
        digest.update(path.name.encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: no waiting; at worst a value is computed twice
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def cached(key: str, compute: Callable[[], T], *, folder: Path | None = None) -> T:
    """``compute()`` once per key: read ``<folder>/<key>.pkl`` if present, else compute and store it."""
    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return compute()
    path = folder / f"{key}.pkl"
    with _locked(path):
        if path.is_file():
            with open(path, "rb") as fh:
                return pickle.load(fh)  # noqa: S301 - written by evalkit itself, see module docstring
        value = compute()
        write_bytes_atomic(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value


def _fingerprint(value: Any) -> str:
    import pandas as pd

    if value is None or isinstance(value, str | int | float | bool):
        return json.dumps(value)
    if (key := _study_key_of(value)) is not None:
        return f"study:{key}"
    if isinstance(value, pd.DataFrame):
        rows = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        meta = json.dumps([list(map(str, value.columns)), list(map(str, value.dtypes))])
        return "frame:" + hashlib.sha256(rows + meta.encode()).hexdigest()
    if isinstance(value, list | tuple):
        return "[" + ",".join(_fingerprint(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_fingerprint(v)}" for k, v in sorted(value.items())) + "}"
    return "pickle:" + hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest()


def _study_key_of(value: Any) -> str | None:
    try:
        return _STUDY_KEYS.get(value)
    except TypeError:  # not weak-referenceable
        return None


def _cached_call(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if cache_dir() is None:
        return fn(*args, **kwargs)
    parts = [name, *(_fingerprint(a) for a in args), *(f"{k}={_fingerprint(v)}" for k, v in sorted(kwargs.items()))]
    key = name + "-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return cached(key, lambda: fn(*args, **kwargs))


def load_study(config: Any) -> Any:
    """:func:`evalkit.intake.load.load_study`, loaded once per run when a run cache is active.

    Outside a run this is exactly :func:`evalkit.intake.load.load_study`.
    """
    if cache_dir() is None:
        return _load(config)
    key = study_key(config)
    study = cached(f"study-{key[:32]}", lambda: _load(config))
    _STUDY_KEYS[study] = key
    return study


def _through_cache(module: str, name: str) -> Callable[..., Any]:
    """``module.name`` through the run cache, imported on first call.

    Imported lazily because a report kernel needs only the analyses its template calls: the
    per-pilot template would otherwise import the impact, measurement and programme stacks
    (about 1 s per kernel) to use none of them.
    """
    def call(*args: Any, **kwargs: Any) -> Any:
        import importlib

        fn = getattr(importlib.import_module(module), name)
        return _cached_call(name, fn, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = (f"``{module}.{name}`` (see its documentation for the parameters), computed once per "
                    f"run when a run cache is active (:mod:`evalkit.run.study`); called directly otherwise.")
    return call


measure = _through_cache("evalkit.measurement", "measure")
estimate_impact = _through_cache("evalkit.impact", "estimate_impact")
profile_study = _through_cache("evalkit.profiling", "profile_study")
community_effects = _through_cache("evalkit.community", "community_effects")
analyse_programme = _through_cache("evalkit.programme.report", "analyse_programme")
evaluate_designs = _through_cache("evalkit.design_analysis", "evaluate_designs")


def prepare_study(config: Any, folder: Path) -> Any:
    """Load and validate a study once into the run cache ``folder`` (before any kernel starts).

    Kernels started with ``EVALKIT_CACHE_DIR=folder`` then read the loaded
    study instead of loading it again. Raises what
    :func:`evalkit.intake.load.load_study` raises, so bad data are refused
    before any kernel starts.
    """
    key = study_key(config)
    study = cached(f"study-{key[:32]}", lambda: _load(config), folder=folder)
    _STUDY_KEYS[study] = key
    return study
