"""Load a whole study: config → codebook → every table, validated together.

:func:`load_study` is the one entry point notebooks call. It reads each
configured file with :func:`~evalkit.intake.readers.read_raw`, conforms it to
the data model (:func:`~evalkit.intake.validate.conform_table`), checks the
tables against each other (every community in the registry, pilots known,
comparison communities known and not pilots), and raises a single
:class:`~evalkit.errors.DataValidationError` listing every error in every
file. Warnings are kept on the returned :class:`Study` for the report.

Raw files are only ever opened for reading.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.codebook import Codebook
from evalkit.config import StudyConfig, check_outcomes, load_config
from evalkit.datamodel import PROGRAMMES, TABLES
from evalkit.errors import ConfigError
from evalkit.intake.problems import Problem, ProblemLog, format_rows, format_values
from evalkit.intake.quality import run_quality_checks
from evalkit.intake.readers import read_raw
from evalkit.intake.validate import conform_table
from evalkit.privacy import pseudonym_key

__all__ = ["Study", "load_study", "load_codebook"]


@frozen(eq=False)
class Study:
    """A loaded, validated study: typed tables free of personal data, plus what intake noticed."""

    config: StudyConfig
    codebook: Codebook
    tables: Mapping[str, pd.DataFrame]
    warnings: tuple[Problem, ...] = ()
    missing_codes: pd.DataFrame = field(factory=pd.DataFrame)  # table, item, code, label, count
    sources: pd.DataFrame = field(factory=pd.DataFrame)  # table, file, format, encoding, sheet, rows
    pseudonyms_stable: bool = False

    def __getattr__(self, name: str) -> pd.DataFrame:
        # study.survey, study.communities …: the tables by name
        tables = object.__getattribute__(self, "tables")
        if name in tables:
            return tables[name]
        msg = f"Study has no table or attribute {name!r}; tables: {', '.join(tables)}"
        raise AttributeError(msg)

    @property
    def pilots(self) -> pd.DataFrame:
        return self.tables["pilots"]

    def treated_ids(self) -> list[str]:
        return sorted(self.pilots["community_id"].tolist())

    def comparison_ids(self) -> list[str]:
        """The comparison communities the config asks for (never-treated by default)."""
        comparison = self.config.comparison
        if isinstance(comparison, tuple):
            return sorted(comparison)
        treated = set(self.treated_ids())
        if comparison == "never_treated":
            return sorted(set(self.tables["communities"]["community_id"]) - treated)
        return sorted(self.tables["communities"]["community_id"])  # not yet treated: all

    def warnings_frame(self) -> pd.DataFrame:
        log = ProblemLog(list(self.warnings))
        return log.to_frame()


def load_codebook(path: Path) -> Codebook:
    if path.suffix.lower() in {".yaml", ".yml"}:
        return Codebook.from_yaml(path)
    if path.suffix.lower() == ".csv":
        return Codebook.from_csv(path)
    if path.suffix.lower() == ".sav":
        return Codebook.from_spss(path)
    msg = f"{path}: a codebook must be .yaml, .csv or .sav"
    raise ConfigError(msg)


def load_study(config: str | Path | StudyConfig) -> Study:
    """Read, conform and cross-check every table of a study.

    Raises
    ------
    ConfigError
        The config itself is wrong (names file, line and key).
    DataValidationError
        One or more data problems; ``failure_cases`` lists all of them.
    """
    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    codebook = load_codebook(cfg.codebook)
    key, stable = pseudonym_key(cfg.pseudonym_key_env)
    log = ProblemLog()
    tables: dict[str, pd.DataFrame] = {}
    rows_of: dict[str, np.ndarray] = {}
    files_of: dict[str, str] = {}
    raw_of: dict[str, pd.DataFrame] = {}
    sources = []
    missing_counts: list[dict[str, object]] = []

    for name, source in cfg.data.items():
        spec = TABLES[name]
        variables = codebook.for_table(name)
        expected = [c.name for c in spec.columns] + [c.label_zh for c in spec.columns] + [
            v.source_name for v in variables
        ]
        # a row whose key or community column says 合计/Total (or is empty at the end) is a totals row
        id_specs = [spec.column(spec.key[0])]
        if "community_id" in spec.column_names:
            id_specs.append(spec.column("community_id"))
        id_cols = [name for col in id_specs for name in (col.name, col.label_zh)]
        raw = read_raw(source.path, format=source.format, sheet=source.sheet,
                       encoding=source.encoding, expected_columns=tuple(expected),
                       id_columns=tuple(dict.fromkeys(id_cols)))
        if name == "survey" and raw.value_labels:
            codebook = codebook.with_spss_metadata(raw.value_labels, raw.missing_codes)
        frame, rows = conform_table(raw, spec, codebook, log, pseudonym_key=key,
                                    missing_counts=missing_counts)
        tables[name] = frame
        rows_of[name] = rows
        files_of[name] = raw.file
        raw_of[name] = raw.frame
        # relative to the config: reports show where a file sits in the study, not on a disk
        sources.append({"table": name, "file": os.path.relpath(source.path, cfg.folder), "format": raw.format,
                        "encoding": raw.encoding, "sheet": raw.sheet, "rows": len(frame)})

    check_outcomes(cfg, {c: codebook.constructs[c] for c in codebook.constructs_used()})
    tables["pilots"] = _pilots_table(cfg, tables, rows_of, files_of, log)
    _check_references(cfg, tables, rows_of, files_of, log)
    if "survey" in tables:  # field-team checks: flags, never drops (evalkit.intake.quality)
        log.extend(run_quality_checks(tables["survey"], rows=rows_of["survey"], files=files_of["survey"],
                                      raw=raw_of["survey"], registry=tables.get("communities"), codebook=codebook))
    log.raise_if_errors()
    return Study(
        config=cfg,
        codebook=codebook,
        tables=tables,
        warnings=tuple(log.warnings),
        missing_codes=pd.DataFrame(missing_counts, columns=["table", "item", "code", "label", "count"]),
        sources=pd.DataFrame(sources),
        pseudonyms_stable=stable,
    )


def _pilots_table(cfg: StudyConfig, tables, rows_of, files_of, log: ProblemLog) -> pd.DataFrame:
    cols = ["community_id", "programme", "programme_zh", "start_date", "start_year"]
    if cfg.pilots is not None:
        frame = pd.DataFrame(
            [{"community_id": p.community_id, "programme": p.programme,
              "start_date": pd.Timestamp(p.start)} for p in cfg.pilots]
        )
    else:
        frame = tables.get("pilots", pd.DataFrame(columns=["community_id", "programme", "start_date"]))
    if frame.empty:
        return pd.DataFrame(columns=cols)
    frame = frame.copy()
    frame["programme_zh"] = frame["programme"].map(PROGRAMMES)
    frame["start_year"] = pd.to_datetime(frame["start_date"]).dt.year.astype("Int64")
    return frame


def _check_references(cfg: StudyConfig, tables, rows_of, files_of, log: ProblemLog) -> None:
    registry = set(tables["communities"]["community_id"].dropna())
    for name, frame in tables.items():
        if name in {"communities"} or "community_id" not in frame.columns:
            continue
        if name == "pilots" and cfg.pilots is not None:
            for p in cfg.pilots:
                if p.community_id not in registry:
                    log.add(Problem(
                        file=str(cfg.path), check="unknown_community", column="pilots",
                        message=(f"{cfg.path}, line {p.line}, key 'pilots': community "
                                 f"'{p.community_id}' is not in the community registry "
                                 f"({files_of['communities']}). Check the code (ids are text: "
                                 "quote codes with leading zeros, e.g. '0012') or add the community"),
                    ))
            continue
        unknown = frame["community_id"].notna() & ~frame["community_id"].isin(registry)
        if unknown.any():
            rows = rows_of[name][unknown.to_numpy()]
            vals = frame.loc[unknown, "community_id"].drop_duplicates().tolist()
            hint = ""
            if any(str(v).lstrip("0") in {r.lstrip("0") for r in registry} for v in vals):
                hint = " Some look like registry codes that lost their leading zeros (saved as numbers)."
            log.add(Problem(
                file=files_of[name], check="unknown_community", column="community_id",
                rows=tuple(int(r) for r in rows[:50]), values=tuple(map(str, vals[:50])),
                message=(f"{files_of[name]}, column community_id, {format_rows(rows)}: "
                         f"{int(unknown.sum())} row(s) name communities not in the registry "
                         f"(values: {format_values(vals)}).{hint} Add them to "
                         f"{files_of['communities']} or correct the codes"),
            ))
    if isinstance(cfg.comparison, tuple):
        pilots = set(tables["pilots"]["community_id"]) if "pilots" in tables else set()
        line = cfg.line_of("comparison")
        for cid in cfg.comparison:
            if cid not in registry:
                log.add(Problem(file=str(cfg.path), check="unknown_community", column="comparison",
                                message=(f"{cfg.path}, line {line}, key 'comparison': community "
                                         f"'{cid}' is not in the registry; correct the code")))
            elif cid in pilots:
                log.add(Problem(file=str(cfg.path), check="comparison_is_pilot", column="comparison",
                                message=(f"{cfg.path}, line {line}, key 'comparison': community "
                                         f"'{cid}' is a pilot and cannot be a comparison community; "
                                         "remove it from comparison")))
    pilots = tables.get("pilots")
    if pilots is not None and not pilots.empty:
        today = pd.Timestamp(dt.date.today())
        late = pd.to_datetime(pilots["start_date"]) > today + pd.Timedelta(days=366)
        for cid in pilots.loc[late, "community_id"]:
            log.add(Problem(file=str(cfg.path), check="impossible_date", column="start_date",
                            message=f"pilot '{cid}' starts more than a year in the future; check the date"))
