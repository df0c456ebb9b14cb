"""Versions of everything that can change a number (printed at the end of every report)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import pandas as pd

__all__ = ["session_info", "KEY_PACKAGES"]

KEY_PACKAGES = (
    "evalkit", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyreadstat", "pyarrow",
    "openpyxl", "papermill", "nbconvert", "ipykernel", "fonttools", "diff-diff",
)


def session_info(packages: tuple[str, ...] = KEY_PACKAGES) -> pd.DataFrame:
    """One row per component: python, platform, and each installed key package."""
    rows = [{"component": "python", "version": sys.version.split()[0]},
            {"component": "platform", "version": platform.platform()}]
    for name in packages:
        try:
            rows.append({"component": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            continue
    return pd.DataFrame(rows)
