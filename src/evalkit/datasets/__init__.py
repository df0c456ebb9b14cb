"""Small bundled and synthetic data sets.

``demo``: the synthetic demo city 示范市 (tables, raw field files and known
true effects); see ``DEMO.md`` in this folder.
"""

from __future__ import annotations

from evalkit.datasets.demo import DemoCity, generate_demo_city, write_demo_city

__all__ = ["DemoCity", "generate_demo_city", "write_demo_city"]
