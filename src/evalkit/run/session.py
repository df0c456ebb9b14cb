"""Versions of everything that can change a number (printed at the end of every report).

The list of packages is the manifest's (:data:`evalkit.run.manifest.RECORDED_PACKAGES`),
so a report's session table and its manifest never disagree.
"""

from __future__ import annotations

import platform

import pandas as pd

from evalkit.run.manifest import RECORDED_PACKAGES, package_versions

__all__ = ["session_info"]


def session_info(packages: tuple[str, ...] = RECORDED_PACKAGES) -> pd.DataFrame:
    """One row per component: python, platform, and each installed recorded package."""
    rows = [{"component": "platform", "version": platform.platform(terse=True)}]
    rows += [{"component": name, "version": version}
             for name, version in package_versions(packages).items() if version is not None]
    return pd.DataFrame(rows)
