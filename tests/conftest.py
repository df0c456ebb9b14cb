"""Shared test set-up."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on CI; figures render to files

# deliberately broken templates used by test_runner: never collect them as notebooks
collect_ignore_glob = ["notebooks_fixtures/*.ipynb"]
