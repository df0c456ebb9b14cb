"""Load a whole study: config → codebook → every table, validated together.

:func:`load_study` is the one entry point notebooks call; :func:`collect_study` does the
same but returns every problem instead of raising (``evalkit validate``). For each
configured file it reads the cells (:func:`~evalkit.intake.readers.read_raw`), maps the
headers (the config's ``columns:``, normalisation, codebook; :mod:`.mapping`) and conforms
the table to the data model (:func:`~evalkit.intake.validate.conform_table`); several files
of the survey are stacked and checked against each other (:mod:`.multifile`); wave, survey
year, age and age band are derived where missing (:mod:`.derive`); then the tables are
checked against each other (every community in the registry, pilots known, comparison
communities known and not pilots). Every error in every file is raised together as one
:class:`~evalkit.errors.DataValidationError`. Warnings, notices, the derivations and the
columns the study lacks (``Study.unavailable``) are kept on the returned :class:`Study`
for the report.

Raw files are only ever opened for reading.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from attrs import field, frozen

from evalkit.codebook import Codebook
from evalkit.config import DataSource, StudyConfig, check_outcomes, load_config
from evalkit.datamodel import ANALYSES, PROGRAMMES, TABLES, TableSpec
from evalkit.errors import ConfigError, IntakeError
from evalkit.intake.derive import Derivation, derive_survey, log_by_file
from evalkit.intake.mapping import resolve_headers, suggest_headers
from evalkit.intake.multifile import FilePart, check_label_conflicts, stack_files
from evalkit.intake.problems import Problem, ProblemLog
from evalkit.intake.quality import run_quality_checks
from evalkit.intake.readers import RawTable, read_raw
from evalkit.intake.validate import conform_table
from evalkit.privacy import pseudonym_key

__all__ = ["Study", "load_study", "collect_study", "load_codebook"]


@frozen(eq=False)
class Study:
    """A loaded, validated study: typed tables free of personal data, plus what intake noticed.

    ``derivations`` lists every column intake filled from others (age from birth year …);
    ``unavailable`` maps a column or table the study lacks to the analyses that leave it out
    (reason codes of :data:`evalkit.datamodel.ANALYSES`), e.g. ``{"hukou": ("raking_margin",
    "subgroup", "balance")}``; ``notices`` says what intake did on the user's behalf
    (encodings detected, headers normalised, optional columns absent).
    """

    config: StudyConfig
    codebook: Codebook
    tables: Mapping[str, pd.DataFrame]
    warnings: tuple[Problem, ...] = ()
    missing_codes: pd.DataFrame = field(factory=pd.DataFrame)  # table, item, code, label, count
    sources: pd.DataFrame = field(factory=pd.DataFrame)  # table, file, format, encoding, sheet, rows
    pseudonyms_stable: bool = False
    derivations: tuple[Derivation, ...] = ()
    unavailable: Mapping[str, tuple[str, ...]] = field(factory=dict)
    notices: tuple[Problem, ...] = ()

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

    def derivations_frame(self) -> pd.DataFrame:
        """One row per derived column: table, column, method, sources, n_rows, n_missing, file."""
        cols = ["table", "column", "method", "sources", "n_rows", "n_missing", "file"]
        return pd.DataFrame([{**d.to_dict(), "sources": ", ".join(d.sources)} for d in self.derivations],
                            columns=cols)

    def unavailable_frame(self) -> pd.DataFrame:
        """One row per missing column or table and analysis that leaves it out."""
        return pd.DataFrame([{"column": c, "analysis": a} for c, codes in self.unavailable.items()
                             for a in codes], columns=["column", "analysis"])


def load_codebook(path: Path) -> Codebook:
    if path.suffix.lower() in {".yaml", ".yml"}:
        return Codebook.from_yaml(path)
    if path.suffix.lower() == ".csv":
        return Codebook.from_csv(path)
    if path.suffix.lower() == ".sav":
        return Codebook.from_spss(path)
    msg = f"{path}: a codebook must be .yaml, .csv or .sav"
    raise ConfigError(msg)


#: survey columns intake may derive, so a file without them is not refused before derivation
_DERIVABLE = {"survey": ("wave",)}


def load_study(config: str | Path | StudyConfig) -> Study:
    """Read, conform and cross-check every table of a study.

    Raises
    ------
    ConfigError
        The config itself is wrong (names file, line and key).
    DataValidationError
        One or more data problems; ``failure_cases`` lists all of them.
    """
    study, log = collect_study(config)
    log.raise_if_errors()
    return study  # type: ignore[return-value]  # not None: there were no errors


def collect_study(config: str | Path | StudyConfig) -> tuple[Study | None, ProblemLog]:
    """Like :func:`load_study`, but return every problem instead of raising on data errors.

    The study is None when there are errors. A file that cannot be read at all is one
    problem (``unreadable_file``) and the other files are still checked. Config and codebook
    mistakes raise (ConfigError, CodebookError): nothing can be checked past them.
    """
    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    declared = load_codebook(cfg.codebook)
    codebook = declared
    key, stable = pseudonym_key(cfg.pseudonym_key_env)
    log = ProblemLog()
    tables: dict[str, pd.DataFrame] = {}
    origins: dict[str, pd.DataFrame] = {}
    sources = []
    missing_counts: list[dict[str, object]] = []
    derivations: list[Derivation] = []
    config_file = cfg.path.name

    for name, group in cfg.sources.items():
        spec = TABLES[name]
        parts: list[FilePart] = []
        for source in group:
            variables = codebook.for_table(name)
            try:
                raw = _read(source, spec, variables)
            except IntakeError as exc:  # unreadable: report it and check the other files
                log.add(Problem(file=str(source.path), check="unreadable_file", message=str(exc)))
                continue
            _encoding_notice(raw, source, log)
            if raw.value_labels:
                codebook = codebook.with_spss_metadata(raw.value_labels, raw.missing_codes)
            frame, rows = conform_table(raw, spec, codebook, log, pseudonym_key=key,
                                        missing_counts=missing_counts, config_columns=source.columns,
                                        optional=_DERIVABLE.get(name, ()))
            resolution = resolve_headers(raw.frame.columns, spec=spec, variables=codebook.for_table(name),
                                         config_columns=source.columns)
            parts.append(FilePart(source, raw, frame, rows, resolution.mapping(), resolution.config_unmatched))
            # relative to the config: reports show where a file sits in the study, not on a disk
            sources.append({"table": name, "file": os.path.relpath(source.path, cfg.folder),
                            "format": raw.format, "encoding": raw.encoding, "sheet": raw.sheet,
                            "rows": len(frame)})
        if not parts:
            continue
        _check_column_map(cfg, name, parts, codebook, log)
        check_label_conflicts(parts, {v.name: v.value_labels for v in declared.for_table(name)},
                              str(cfg.codebook.name), log)
        frame, origin, facts = stack_files(parts, cfg.waves, log, config_file=config_file)
        if name == "survey":
            survey_parts = parts
        tables[name], origins[name] = frame, origin
        derivations += facts

    if "survey" not in tables or "communities" not in tables:
        return None, log  # an unreadable survey or registry is already reported
    survey, facts = derive_survey(tables["survey"], origins["survey"], cfg.waves, log, config_file=config_file)
    tables["survey"] = survey
    derivations += facts
    headers = [str(h) for p in survey_parts for h in p.raw.frame.columns]
    unavailable = _unavailable(cfg, tables, origins, headers, log)
    try:
        check_outcomes(cfg, {c: codebook.constructs[c] for c in codebook.constructs_used()})
    except ConfigError as exc:  # reported with the data problems, so one pass shows everything
        log.add(Problem(file=str(cfg.path), check="ConfigError", message=str(exc)))
    _check_design_items(cfg, codebook, log)
    tables["pilots"] = _pilots_table(cfg, tables)
    _check_references(cfg, tables, origins, log)
    # field-team checks (speeding, straight-lining, duplicates, ID numbers, dates …): flags, never drops
    log.extend(run_quality_checks(tables["survey"], rows=origins["survey"]["row"].to_numpy(),
                                  files=origins["survey"]["file"].astype(str).to_numpy(),
                                  raw=_aligned_raw(survey_parts), registry=tables.get("communities"),
                                  codebook=codebook))
    if log.errors:
        return None, log
    study = Study(
        config=cfg,
        codebook=codebook,
        tables=tables,
        warnings=tuple(log.warnings),
        missing_codes=pd.DataFrame(missing_counts, columns=["table", "item", "code", "label", "count"]),
        sources=pd.DataFrame(sources),
        pseudonyms_stable=stable,
        derivations=tuple(derivations),
        unavailable=unavailable,
        notices=tuple(log.notices),
    )
    return study, log


def _read(source: DataSource, spec: TableSpec, variables) -> RawTable:
    expected = [c.name for c in spec.columns] + [c.label_zh for c in spec.columns] + [
        v.source_name for v in variables] + list(source.columns)
    # a row whose key or community column says 合计/Total (or is empty at the end) is a totals row
    id_targets = [spec.key[0]] + (["community_id"] if "community_id" in spec.column_names else [])
    id_cols = [n for t in id_targets for n in (t, spec.column(t).label_zh)]
    id_cols += [h for h, t in source.columns.items() if t in id_targets]
    id_cols += [v.source_name for v in variables if v.name in id_targets]
    return read_raw(source.path, format=source.format, sheet=source.sheet, encoding=source.encoding,
                    expected_columns=tuple(expected), id_columns=tuple(dict.fromkeys(id_cols)))


def _encoding_notice(raw: RawTable, source: DataSource, log: ProblemLog) -> None:
    if raw.format != "csv" or raw.encoding is None or source.encoding is not None:
        return
    log.add(Problem(file=raw.file, check="encoding_detected", severity="notice", values=(raw.encoding,),
                    message=(f"{raw.file}: text encoding detected as {raw.encoding}. If Chinese text "
                             "looks wrong in the report, give encoding: in study.yaml")))


def _check_column_map(cfg: StudyConfig, table: str, parts: list[FilePart], codebook: Codebook,
                      log: ProblemLog) -> None:
    """Every ``columns:`` entry names a known column and matches a header in some file."""
    spec = TABLES[table]
    known = set(spec.column_names) | {v.name for v in codebook.for_table(table)}
    reported: set[str] = set()
    for part in parts:
        for header, target in part.source.columns.items():
            line = part.source.columns_line or part.source.line
            if target not in known and target not in reported:
                reported.add(target)
                log.add(Problem(
                    file=str(cfg.path), check="unknown_target", column=target,
                    message=(f"{cfg.path}, line {line}, data.{table}.columns: '{header}' is mapped to "
                             f"'{target}', which is neither a column of the {table} table nor a "
                             f"codebook variable. Columns: {', '.join(spec.column_names)}; declare other "
                             f"columns in the codebook (with table: {table})"),
                ))
    for header in dict.fromkeys(h for p in parts for h in p.source.columns):
        if all(header not in p.source.columns or header in p.config_unmatched for p in parts):
            part = next(p for p in parts if header in p.source.columns)
            found = ", ".join(repr(str(c)) for c in list(part.raw.frame.columns)[:30])
            log.add(Problem(
                file=str(cfg.path), check="mapped_header_absent", column=header,
                message=(f"{cfg.path}, line {part.source.columns_line or part.source.line}, "
                         f"data.{table}.columns: no file has the header '{header}' "
                         f"(headers of {part.raw.file}: {found}). Copy the header exactly from the file"),
            ))


def _hint(target: str, headers: list[str]) -> str:
    near = suggest_headers(target, headers)
    return (f" The header {near[0]!r} may be it: if so, add `{near[0]}: {target}` under "
            "data.survey.columns in study.yaml." if near else "")


def _unavailable(cfg: StudyConfig, tables, origins, headers: list[str],
                 log: ProblemLog) -> dict[str, tuple[str, ...]]:
    """Optional columns and tables the study lacks → the analyses that leave them out (notices)."""
    out: dict[str, tuple[str, ...]] = {}
    survey = tables["survey"]
    files = ", ".join(map(str, origins["survey"]["file"].unique()))
    failed = {p.column for p in log.errors}  # present but refused: the error says what to do
    for col in ("gender", "age", "hukou", "age_band", "interview_date"):
        spec = TABLES["survey"].column(col)
        if col in survey.columns and (survey[col].notna().any() or col in failed):
            continue
        codes = tuple(a for a in spec.needed_by if a not in {"age_derivation", "wave_derivation"})
        if col == "interview_date" and "survey_year" in survey.columns:
            codes = tuple(a for a in codes if a != "impact_year")
        out[col] = codes
        if "impact_year" in codes:
            continue  # an error below, not a notice
        what = ", ".join(ANALYSES[a][1] for a in codes)
        log.add(Problem(file=files, check="optional_column_absent", column=col, severity="notice",
                        message=(f"{files}: no {col} ({spec.label_zh}) column; {what} leave it out. "
                                 f"Map the column in study.yaml if the survey asked it.{_hint(col, headers)}")))
    if "impact_year" in out.get("interview_date", ()):
        log.add(Problem(
            file=files, check="missing_column", column="interview_date",
            message=(f"{files}: no interview date and no wave windows, so the survey year is unknown "
                     "(needed by impact estimation, which compares survey years with pilot start "
                     "years). Map the interview-date column (data.survey.columns), or give each wave's "
                     "year in study.yaml: waves: {1: 2020, 2: 2021}." + _hint("interview_date", headers)),
        ))
    reg = tables["communities"]
    absent = [c.name for c in TABLES["communities"].columns if not c.required and c.name not in reg.columns]
    if absent:
        for c in absent:
            out[c] = ("report_context",)
        reg_file = ", ".join(map(str, origins["communities"]["file"].unique()))
        log.add(Problem(file=reg_file, check="optional_column_absent", column=", ".join(absent),
                        severity="notice",
                        message=(f"{reg_file}: the community registry has no {', '.join(absent)}; "
                                 "reports show communities by id and name only")))
    if "population" not in tables:
        out["population_margins"] = ("weighting",)
        log.add(Problem(file=str(cfg.path), check="no_population_margins", severity="notice",
                        message=("no population margins (data.population): estimates are unweighted "
                                 "(equal weights), and the reports say so")))
    return out


def _pilots_table(cfg: StudyConfig, tables) -> pd.DataFrame:
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


def _check_references(cfg: StudyConfig, tables, origins, log: ProblemLog) -> None:
    if "community_id" not in tables["communities"].columns:
        return  # the registry's missing id column is already reported
    registry = set(tables["communities"]["community_id"].dropna())
    registry_file = ", ".join(map(str, origins["communities"]["file"].unique())) or "the community registry"
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
                                 f"({registry_file}). Check the code (ids are text: "
                                 "quote codes with leading zeros, e.g. '0012') or add the community"),
                    ))
            continue
        if name not in origins:
            continue
        unknown = (frame["community_id"].notna() & ~frame["community_id"].isin(registry)).to_numpy()
        if unknown.any():
            vals = frame.loc[unknown, "community_id"].astype(str)
            hint = ""
            if any(v.lstrip("0") in {r.lstrip("0") for r in registry} for v in vals.drop_duplicates()):
                hint = " Some look like registry codes that lost their leading zeros (saved as numbers)."
            log_by_file(log, origins[name], unknown, check="unknown_community", column="community_id",
                        what=f"{int(unknown.sum())} row(s) name communities not in the registry",
                        values=frame["community_id"].astype("string").fillna(""),
                        fix=f"{hint.strip()} Add them to {registry_file} or correct the codes".strip())
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
    _check_showcase(cfg, tables, registry, log)
    pilots = tables.get("pilots")
    if pilots is not None and not pilots.empty:
        today = pd.Timestamp(dt.date.today())
        late = pd.to_datetime(pilots["start_date"]) > today + pd.Timedelta(days=366)
        for cid in pilots.loc[late, "community_id"]:
            log.add(Problem(file=str(cfg.path), check="impossible_date", column="start_date",
                            message=f"pilot '{cid}' starts more than a year in the future; check the date"))


def _check_design_items(cfg: StudyConfig, codebook: Codebook, log: ProblemLog) -> None:
    """``designs: {ordered_logit: {items: […]}}`` must name answer items of the codebook's constructs."""
    items = {v.name for v in codebook.items()}
    for design in cfg.designs:
        for item in design.options.get("items", ()):  # type: ignore[union-attr]
            if item not in items:
                close = difflib.get_close_matches(str(item), sorted(items), n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                log.add(Problem(file=str(cfg.path), check="unknown_item", column=f"designs.{design.name}.items",
                                message=(f"{cfg.path}, line {design.line}, key 'designs.{design.name}.items': "
                                         f"'{item}' is not an answer item of the codebook (items are the "
                                         f"canonical names of questions with a construct).{hint}")))


def _check_showcase(cfg: StudyConfig, tables: Mapping[str, pd.DataFrame], registry: set[str],
                    log: ProblemLog) -> None:
    """The showcase pilot must be a pilot; its donors must be registry communities that are not pilots."""
    show = cfg.showcase
    if show is None:
        return
    pilots = set(tables["pilots"]["community_id"]) if "pilots" in tables else set()
    where = f"{cfg.path}, line {show.line}, key 'showcase'"
    if show.community_id not in pilots:
        close = difflib.get_close_matches(show.community_id, sorted(pilots), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        log.add(Problem(file=str(cfg.path), check="showcase_not_pilot", column="showcase",
                        message=(f"{where}: community '{show.community_id}' is not a pilot of this study; "
                                 f"the showcase report is about one pilot.{hint}")))
    for cid in show.donors or ():
        if cid not in registry:
            log.add(Problem(file=str(cfg.path), check="unknown_community", column="showcase.donors",
                            message=f"{where}: donor '{cid}' is not in the registry; correct the code"))
        elif cid in pilots:
            log.add(Problem(file=str(cfg.path), check="donor_is_pilot", column="showcase.donors",
                            message=(f"{where}: donor '{cid}' is a pilot; a synthetic comparison is built "
                                     "from communities without the programme, so remove it")))


def _aligned_raw(parts: list[FilePart]) -> pd.DataFrame | None:
    """The source cells of the stacked survey, row by row, when every file kept all its rows
    (the quality checks read columns intake does not keep, such as 所用时间); else None."""
    if not parts or any(len(p.raw.frame) != len(p.frame) for p in parts):
        return None
    return pd.concat([p.raw.frame for p in parts], ignore_index=True)
