"""The programme side of an evaluation: what was delivered, to whom, by which partners, at
what cost, against which targets — and which programme type works better.

One module per concern: :mod:`~evalkit.programme.aggregate` (DuckDB aggregation of the
service ledger and request log), :mod:`~evalkit.programme.reach`,
:mod:`~evalkit.programme.linkage`, :mod:`~evalkit.programme.inputs`,
:mod:`~evalkit.programme.responsiveness`, :mod:`~evalkit.programme.costs`,
:mod:`~evalkit.programme.targets` (frameworks under ``frameworks/``),
:mod:`~evalkit.programme.claims`, :mod:`~evalkit.programme.scoring`,
:mod:`~evalkit.programme.compare`; :mod:`~evalkit.programme.report` puts them together.
"""

from __future__ import annotations

from evalkit.programme.report import ProgrammeReport, analyse_programme, indicator_panel, target_attainment

__all__ = ["ProgrammeReport", "analyse_programme", "indicator_panel", "target_attainment"]
