"""Columns intake derives from others, each recorded as a :class:`Derivation` fact.

A programme office's survey asks 出生年份 rather than age, or has no wave column because
each wave is its own file. :func:`derive_survey` fills, in this order:

* ``wave`` from the interview date and the config's wave windows (``waves:``), where the
  file did not give it (a file declared ``wave: 2`` already filled its rows);
* ``survey_year`` (the year the impact analysis uses) from the interview date, else from
  the wave's window;
* ``age`` from ``birth_date`` (completed years at the interview date) or ``birth_year``
  (interview year − birth year, so up to one year above the completed age); the birth
  date itself is then dropped (it identifies more than age does);
* ``age_band`` from age, in the bands of the population margins (18-34, 35-59, 60+; under
  18 has no band).

It never overwrites a column the file has. Every derivation is returned as a fact (what,
from which columns, how many rows, how many left empty) for the data-quality report; rows
that cannot be derived or give impossible values are logged with file and row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.config import WaveWindow
from evalkit.datamodel import TABLES
from evalkit.intake.problems import Problem, ProblemLog, format_rows, format_values

__all__ = ["Derivation", "DERIVATION_METHODS", "derive_survey", "age_band_of", "log_by_file"]

#: derivation methods (reason codes) and their words; reports use these
DERIVATION_METHODS: dict[str, tuple[str, str]] = {
    "wave_from_file": ("按文件声明的轮次填写", "the wave declared for the file in study.yaml"),
    "wave_from_interview_date": ("由访问日期和轮次时间窗推算", "interview date within the configured wave windows"),
    "survey_year_from_interview_date": ("取访问日期的年份", "year of the interview date"),
    "survey_year_from_wave_window": ("取所在轮次时间窗的年份", "year of the wave's window"),
    "age_from_birth_date": ("由出生日期和访问日期计算周岁", "completed years between birth date and interview date"),
    "age_from_birth_year": ("访问年份减出生年份（可能比周岁大 1 岁）",
                            "interview year minus birth year (may exceed completed age by one)"),
    "age_band_from_age": ("按年龄分段（18-34、35-59、60+）", "age grouped into 18-34, 35-59, 60+"),
}

_AGE = TABLES["survey"].column("age")


@frozen
class Derivation:
    """One column intake filled from others."""

    table: str
    column: str
    method: str  # a key of DERIVATION_METHODS
    sources: tuple[str, ...]  # the columns (or config keys) it was derived from
    n_rows: int  # rows that got a value
    n_missing: int  # rows left empty (an input was missing)
    file: str | None = None  # when it applies to one file only

    def to_dict(self) -> dict[str, object]:
        return {"table": self.table, "column": self.column, "method": self.method,
                "sources": list(self.sources), "n_rows": self.n_rows, "n_missing": self.n_missing,
                "file": self.file}


def age_band_of(age: pd.Series) -> pd.Series:
    """Ages → ``"18-34"``, ``"35-59"``, ``"60+"``; under 18 or missing → NA (the margins' bands)."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series(pd.NA, index=age.index, dtype="string")
    out[(a >= 18) & (a < 35)] = "18-34"
    out[(a >= 35) & (a < 60)] = "35-59"
    out[a >= 60] = "60+"
    return out


def log_by_file(log: ProblemLog, origin: pd.DataFrame, mask: np.ndarray, *, check: str, column: str,
                what: str, fix: str, values: Sequence[object] | None = None,
                severity: str = "error") -> None:
    """One problem per file for the rows ``mask`` selects in a stacked table (``origin``: file, row)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    sub = origin[mask]
    vals = None if values is None else np.asarray(list(values), dtype=object)
    for file, part in sub.groupby("file", sort=False):
        rows = part["row"].to_numpy()
        shown = [] if vals is None else list(dict.fromkeys(map(str, vals[mask][(sub["file"] == file).to_numpy()])))
        vals_txt = f" (values: {format_values(shown)})" if shown else ""
        log.add(Problem(
            file=str(file), check=check, severity=severity, column=column,  # type: ignore[arg-type]
            rows=tuple(int(r) for r in rows[:50]), values=tuple(shown[:50]),
            message=f"{file}, column {column}, {format_rows(rows)}: {what}{vals_txt}. {fix}",
        ))


def _window_of(dates: pd.Series, windows: Sequence[WaveWindow]) -> tuple[pd.Series, pd.Series]:
    """Wave and window start year per date (NA outside every window)."""
    wave = pd.Series(pd.NA, index=dates.index, dtype="Int64")
    year = pd.Series(pd.NA, index=dates.index, dtype="Int64")
    for w in windows:
        inside = (dates >= pd.Timestamp(w.start)) & (dates <= pd.Timestamp(w.end))
        wave[inside.fillna(False)] = w.wave
        year[inside.fillna(False)] = w.start.year
    return wave, year


def derive_survey(survey: pd.DataFrame, origin: pd.DataFrame, windows: Sequence[WaveWindow],
                  log: ProblemLog, *, config_file: str = "study.yaml") -> tuple[pd.DataFrame, list[Derivation]]:
    """Fill wave, survey_year, age and age_band where the files did not give them (see module doc)."""
    out = survey.copy()
    facts: list[Derivation] = []
    has_date = "interview_date" in out.columns and out["interview_date"].notna().any()
    dates = pd.to_datetime(out["interview_date"]) if has_date else None

    # ---- wave ------------------------------------------------------------------------------
    need_wave = out["wave"].isna() if "wave" in out.columns else pd.Series(True, index=out.index)
    if need_wave.any() and windows and dates is not None:
        by_date, _ = _window_of(dates, windows)
        fill = need_wave & by_date.notna()
        wave = out["wave"] if "wave" in out.columns else pd.Series(pd.NA, index=out.index, dtype="Int64")
        out["wave"] = wave.astype("Int64").where(~fill, by_date)
        facts.append(Derivation("survey", "wave", "wave_from_interview_date", ("interview_date", "waves"),
                                int(fill.sum()), int((need_wave & ~fill).sum())))
        outside = (need_wave & by_date.isna()).to_numpy()
        log_by_file(log, origin, outside, check="wave_not_derived", column="wave",
                    what=f"{int(outside.sum())} row(s) have no wave: the interview date is missing or "
                         "outside every wave window",
                    values=dates.dt.strftime("%Y-%m-%d").fillna("(empty)"),
                    fix=f"Widen the windows under waves: in {config_file} or correct the dates")
    if "wave" not in out.columns:
        log.add(Problem(
            file=str(origin["file"].iloc[0]) if len(origin) else config_file, check="missing_column",
            column="wave",
            message=(f"{', '.join(map(str, origin['file'].unique()))}: required column 'wave' (调查轮次) is "
                     "missing (needed by every analysis). Add a wave column, declare each file's wave in "
                     f"{config_file} (data.survey: [{{path: …, wave: 1}}, …]), or give wave windows "
                     "(waves: {1: [2020-09-01, 2020-12-31], …}) with interview dates"),
        ))
        return out, facts

    # ---- survey year ---------------------------------------------------------------------------
    if dates is not None:
        out["survey_year"] = dates.dt.year.astype("Int64")
        facts.append(Derivation("survey", "survey_year", "survey_year_from_interview_date",
                                ("interview_date",), int(dates.notna().sum()), int(dates.isna().sum())))
    if windows and (dates is None or dates.isna().any()):
        year_of = {w.wave: w.start.year for w in windows}
        by_wave = out["wave"].map(year_of).astype("Int64")
        current = (out["survey_year"] if "survey_year" in out.columns
                   else pd.Series(pd.NA, index=out.index, dtype="Int64"))
        fill = current.isna() & by_wave.notna()
        out["survey_year"] = current.where(~fill, by_wave)
        facts.append(Derivation("survey", "survey_year", "survey_year_from_wave_window", ("wave", "waves"),
                                int(fill.sum()), int(out["survey_year"].isna().sum())))

    # ---- age ---------------------------------------------------------------------------------
    has_age = "age" in out.columns and out["age"].notna().any()
    ref_year = out["survey_year"] if "survey_year" in out.columns else None
    if not has_age and "birth_date" in out.columns and out["birth_date"].notna().any():
        born = pd.to_datetime(out["birth_date"])
        ref = dates if dates is not None else None
        if ref is not None:
            years = ref.dt.year - born.dt.year
            before_birthday = (ref.dt.month < born.dt.month) | (
                (ref.dt.month == born.dt.month) & (ref.dt.day < born.dt.day))
            age = (years - before_birthday.astype(int)).astype("Int64")
            out["age"] = age
            facts.append(Derivation("survey", "age", "age_from_birth_date", ("birth_date", "interview_date"),
                                    int(age.notna().sum()), int(age.isna().sum())))
            has_age = True
    if not has_age and "birth_year" in out.columns and out["birth_year"].notna().any():
        if ref_year is None:
            log.add(Problem(
                file=str(origin["file"].iloc[0]), check="age_not_derived", column="age",
                message=(f"{', '.join(map(str, origin['file'].unique()))}: age cannot be computed from "
                         "birth_year without the survey year. Map the interview-date column, or give "
                         f"wave windows (waves: {{1: 2020, …}}) in {config_file}"),
            ))
        else:
            born_year = out["birth_year"].astype("Int64")
            spec = TABLES["survey"].column("birth_year")  # rows out of its range are already errors
            born_year = born_year.where(born_year.between(spec.min_value, spec.max_value))
            age = (ref_year - born_year).astype("Int64")
            out["age"] = age
            facts.append(Derivation("survey", "age", "age_from_birth_year",
                                    ("birth_year", "interview_date" if dates is not None else "waves"),
                                    int(age.notna().sum()), int(age.isna().sum())))
            has_age = True
    if "birth_date" in out.columns:
        out = out.drop(columns="birth_date")  # age is kept; the exact birth date is not needed
    if has_age and any(f.column == "age" for f in facts):
        age = out["age"]
        bad = (age.notna() & ((age < _AGE.min_value) | (age > _AGE.max_value))).fillna(False).to_numpy()
        log_by_file(log, origin, bad, check="out_of_range", column="age (derived)",
                    what=f"{int(bad.sum())} derived age(s) outside {_AGE.min_value:g}–{_AGE.max_value:g}",
                    values=age.astype("string").fillna(""),
                    fix="Check the birth year / birth date and the interview date of these rows")
        out["age"] = age.where(~bad)

    # ---- age band ------------------------------------------------------------------------------
    if has_age and ("age_band" not in out.columns or out["age_band"].isna().all()):
        band = age_band_of(out["age"])
        out["age_band"] = band
        facts.append(Derivation("survey", "age_band", "age_band_from_age", ("age",),
                                int(band.notna().sum()), int(band.isna().sum())))
    return out, facts
