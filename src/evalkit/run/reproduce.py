"""``evalkit reproduce MANIFEST``: re-run a report from its raw inputs and compare every number.

A funding reviewer holds a report folder and the study's files. This module:

1. reads the report's ``manifest.json`` and finds the study folder (recorded
   relative to the report, or given with ``study=``);
2. checks every input file against its recorded SHA-256 and names each file
   that changed or is missing; a changed input fails the check at once
   (numbers from other inputs prove nothing);
3. re-runs the same templates with the same parameters and language into a
   temporary folder with an empty cache, so everything is recomputed from the
   raw inputs;
4. compares every number in the two ``results.json`` (each leaf, by its path)
   within ``rtol``/``atol``; text and flags must be equal; a value present in
   one and not the other is a mismatch;
5. returns a :class:`ReproduceOutcome` whose :meth:`~ReproduceOutcome.render`
   prints a pass/fail table naming the first diverging numbers.

Differences in package versions or platform are reported as notes: they may
explain a mismatch, but do not fail a reproduction whose numbers agree.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from attrs import field, frozen

from evalkit.errors import ConfigError
from evalkit.run.manifest import package_versions, sha256_file

__all__ = ["ReproduceOutcome", "compare_results", "reproduce", "flatten_numbers"]


@frozen
class ReproduceOutcome:
    """The verdict: input checks, the number-by-number comparison and notes."""

    manifest: Path
    changed_inputs: tuple[str, ...] = field(converter=tuple)
    compared: int
    mismatches: tuple[dict[str, Any], ...] = field(converter=tuple)
    notes: tuple[str, ...] = field(converter=tuple)
    rtol: float
    atol: float
    reran: bool
    identical: bool = False  # the re-run's results.json has exactly the report's bytes

    @property
    def passed(self) -> bool:
        return self.reran and not self.changed_inputs and not self.mismatches and self.compared > 0

    def render(self, limit: int = 10) -> str:
        lines = [f"Reproducing {self.manifest}"]
        lines.append(f"  {'inputs unchanged':<34} {'PASS' if not self.changed_inputs else 'FAIL'}")
        for name in self.changed_inputs:
            lines.append(f"    changed or missing: {name}")
        if self.reran:
            ok = not self.mismatches and self.compared > 0
            lines.append(f"  {f'numbers equal (rtol {self.rtol:g}, atol {self.atol:g})':<34} "
                         f"{'PASS' if ok else 'FAIL'}  {self.compared - len(self.mismatches)}/{self.compared}")
            lines.append(f"  {'results.json byte-identical':<34} {'yes' if self.identical else 'no'}")
            for m in self.mismatches[:limit]:
                lines.append(f"    {m['path']}: report {m['original']!r} vs re-run {m['reproduced']!r}")
            if len(self.mismatches) > limit:
                lines.append(f"    … and {len(self.mismatches) - limit} more")
        else:
            lines.append(f"  {'numbers equal':<34} not checked (inputs differ)")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append("REPRODUCED" if self.passed else "NOT REPRODUCED")
        return "\n".join(lines)


def flatten_numbers(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a JSON value with its path (``impact/gain/att``; list items by index)."""
    if isinstance(value, dict):
        for k in sorted(value):
            yield from flatten_numbers(value[k], f"{prefix}/{k}" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flatten_numbers(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def compare_results(original: Any, reproduced: Any, *, rtol: float, atol: float) -> tuple[int, list[dict[str, Any]]]:
    """Compare two results.json values leaf by leaf; return (leaves compared, mismatches)."""
    a, b = dict(flatten_numbers(original)), dict(flatten_numbers(reproduced))
    mismatches = []
    for path in sorted(a.keys() | b.keys()):
        x, y = a.get(path, _MISSING), b.get(path, _MISSING)
        if not _equal(x, y, rtol=rtol, atol=atol):
            mismatches.append({"path": path, "original": _show(x), "reproduced": _show(y)})
    return len(a.keys() | b.keys()), mismatches


_MISSING = object()


def _show(v: Any) -> Any:
    return "(absent)" if v is _MISSING else v


def _equal(x: Any, y: Any, *, rtol: float, atol: float) -> bool:
    if x is _MISSING or y is _MISSING:
        return False
    numeric = (int, float)
    if isinstance(x, numeric) and isinstance(y, numeric) and not isinstance(x, bool) and not isinstance(y, bool):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=rtol, abs_tol=atol)
    return x == y


def reproduce(
    manifest: str | os.PathLike[str],
    *,
    study: str | os.PathLike[str] | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    workdir: str | os.PathLike[str] | None = None,
) -> ReproduceOutcome:
    """Check a report against a fresh re-run from its raw inputs (see the module docstring).

    Parameters
    ----------
    manifest
        The report's ``manifest.json``.
    study
        The study's folder, if it is no longer where the manifest says (relative to the report).
    rtol, atol
        Tolerances for numbers; the default demands agreement to about nine significant digits.
    workdir
        Where the re-run is written (default: a temporary folder, removed afterwards).
    """
    path = Path(manifest)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        inputs, config_rel = record["inputs"], record["config"]["path"]
    except FileNotFoundError:
        msg = f"{path}: no such manifest; pass the manifest.json of a report folder."
        raise ConfigError(msg) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        msg = f"{path} is not an evalkit manifest (manifest.json written by `evalkit run` or `evalkit batch`)."
        raise ConfigError(msg) from None
    report_dir = path.parent
    study_dir = Path(study) if study is not None else report_dir / record["study"].get("folder_from_report", ".")
    changed = [name for name, info in sorted(inputs.items())
               if not (study_dir / name).is_file() or sha256_file(study_dir / name) != info["sha256"]]
    notes = _environment_notes(record)
    original = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    if changed:
        return ReproduceOutcome(manifest=path, changed_inputs=changed, compared=0, mismatches=(),
                                notes=notes, rtol=rtol, atol=atol, reran=False)
    with tempfile.TemporaryDirectory(prefix="evalkit-reproduce-", dir=workdir) as tmp:
        rerun_dir = _rerun(record, study_dir / config_rel, Path(tmp), notes)
        rerun_bytes = (rerun_dir / "results.json").read_bytes()
    identical = rerun_bytes == (report_dir / "results.json").read_bytes()
    compared, mismatches = compare_results(original, json.loads(rerun_bytes), rtol=rtol, atol=atol)
    return ReproduceOutcome(manifest=path, changed_inputs=(), compared=compared, mismatches=mismatches,
                            notes=notes, rtol=rtol, atol=atol, reran=True, identical=identical)


def _rerun(record: dict[str, Any], config: Path, tmp: Path, notes: list[str]) -> Path:
    """Re-run the report's templates into ``tmp``; return the new report folder."""
    from evalkit.run.paths import find_template
    from evalkit.run.pipeline import run_study

    templates = []
    for nb in record.get("notebooks", []):
        template = find_template(nb.get("template_path", nb["template"]))
        if not template.is_file():
            msg = (f"the report was made with the template {nb.get('template_path', nb['template'])}, which this "
                   f"evalkit installation does not have; install the evalkit version the manifest names "
                   f"({record.get('evalkit_version')}).")
            raise ConfigError(msg)
        if nb.get("template_sha256") and sha256_file(template) != nb["template_sha256"]:
            notes.append(f"template {template.name} differs from the one that made the report")
        templates.append(template)
    params = {k: v for p in record.get("parameters", {}).values() for k, v in p.items()
              if k not in {"config_path", "lang", "run_id", "output_dir"}}
    summary = run_study(config, run_id=record["run_id"], reports=tmp / "reports", lang=record["language"],
                        templates=templates, cache=tmp / "cache", extra_parameters=params)
    return summary.folder


def _environment_notes(record: dict[str, Any]) -> list[str]:
    notes = []
    recorded = record.get("packages", {})
    now = package_versions(recorded.keys())
    for name in sorted(recorded):
        if recorded[name] != now.get(name):
            notes.append(f"{name} {recorded[name]} made the report; {now.get(name)} is installed")
    return notes
