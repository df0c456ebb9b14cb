"""Raw-file readers: one per format, each returning a :class:`RawTable`.

This package owns getting a file's cells into a DataFrame *without losing or
inventing anything*, and knowing for every row which row the user sees in the
source (CSV line, Excel sheet row, SPSS/Stata case number). It does not rename
columns, convert types or apply the codebook: that is ``intake.validate`` and
``intake.load``. It never writes to the input file.

Everything wrong that does not stop reading becomes a :class:`Problem`, so one
run reports every problem of a file. Only files that cannot be read at all
(missing, empty, wrong format) raise :class:`~evalkit.errors.IntakeError`.

Modules (each docstring says what is hand-written there, and why):

* :mod:`.dispatch`: :func:`read_raw`, format resolution and the can-it-be-read checks, then
  :func:`evalkit.intake.safety.check_before_parsing` (hostile and mislabelled files).
* :mod:`._common`: :class:`RawTable`, :data:`FORMATS`, :data:`EXCEL_ERRORS` and the
  format-independent checks (header row, column names, blank and totals rows,
  Excel errors, mojibake, ids stored as numbers).
* :mod:`.csv`: CSV (pyarrow, with record boundaries and line numbers computed here);
  :mod:`.csv_blocks` reads well-formed CSVs block by block in bounded memory.
* :mod:`.xlsx`: Excel .xlsx/.xlsm (openpyxl; merged cells, uncached formulas).
* :mod:`.stat`: SPSS .sav and Stata .dta (pyreadstat), Parquet (pyarrow).
"""

from evalkit.intake.readers._common import EXCEL_ERRORS, FORMATS, RawTable
from evalkit.intake.readers.dispatch import read_raw

__all__ = ["RawTable", "read_raw", "EXCEL_ERRORS", "FORMATS"]
