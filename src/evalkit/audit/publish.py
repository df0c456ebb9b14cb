"""Make the published copy of an executed notebook: no papermill metadata, paths or personal parameters.

The executed notebook under ``reports/<run_id>/`` is the run's record; what is
published is a copy from :func:`strip_for_publication`, which the audit then
checks like any other file.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

from evalkit.audit.patterns import scan_text

__all__ = ["strip_for_publication"]

_PATHS = re.compile(r"(?<![\w.~])(?:/(?:home|Users|root|tmp|var|opt|mnt|srv|work|data|usr|etc|private)/"
                    r"[^\s\"'<>]+|[A-Za-z]:\\[^\s\"'<>]+)")
_ANSWER = re.compile(r"^(\s*)([A-Za-z_]\w*)\s*=\s*(.+)$")


def _scrub_paths(text: str) -> str:
    return _PATHS.sub(lambda m: "<path>/" + Path(m.group(0).replace("\\", "/")).name, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_paths(value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def _scrub_parameters(source: str) -> str:
    """Parameter lines: absolute paths reduced to file names; values carrying personal data removed."""
    lines = []
    for line in source.splitlines():
        m = _ANSWER.match(line)
        if m and scan_text(m.group(3)):
            kinds = set(map(str, scan_text(m.group(3)))) - {"absolute_path", "user_name"}
            if kinds:
                line = f'{m.group(1)}{m.group(2)} = None  # removed for publication'
        lines.append(_scrub_paths(line))
    return "\n".join(lines)


def strip_for_publication(notebook: str | os.PathLike[str] | dict[str, Any],
                          target: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A copy of an executed notebook fit to publish.

    Removes notebook- and cell-level ``papermill`` metadata and cell execution
    timings, drops the ``injected-parameters`` cell, reduces absolute paths
    (``/home/…``, ``C:\\Users\\…``) in sources and outputs to file names, and
    removes parameter values that carry personal data. Returns the notebook as a
    dict; with ``target`` it is also written there (the source is never changed).
    """
    if isinstance(notebook, dict):
        nb = copy.deepcopy(notebook)
    else:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    nb.setdefault("metadata", {}).pop("papermill", None)
    cells = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        if "injected-parameters" in tags:
            continue
        meta.pop("papermill", None)
        meta.pop("execution", None)
        if "parameters" in tags:
            src = cell.get("source", "")
            cell["source"] = _scrub_parameters("".join(src) if isinstance(src, list) else src)
        else:
            cell["source"] = _scrub(cell.get("source", ""))
        if "outputs" in cell:
            cell["outputs"] = _scrub(cell["outputs"])
        cells.append(cell)
    nb["cells"] = cells
    if target is not None:
        Path(target).write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    return nb
