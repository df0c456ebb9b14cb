"""The study config: one YAML file describes one evaluation.

:func:`load_config` turns the file into immutable, typed objects
(:class:`StudyConfig`, :class:`DataSource`, :class:`Pilot`). Every mistake is
a :class:`~evalkit.errors.ConfigError` naming the file, the line, the key and
the fix. Checks that need the data (is a pilot community in the registry?)
happen in :func:`evalkit.intake.load_study`, which still names the config
line of the offending entry.

Scalars are read as the text the user wrote (see :mod:`evalkit.yamlio`), so a
community code ``0012`` stays ``"0012"`` instead of YAML 1.1's octal ``10``.
The format is documented in ``data/README.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from attrs import field, frozen

from evalkit.datamodel import PROGRAMMES, TABLES
from evalkit.errors import ConfigError
from evalkit.yamlio import Node, load_yaml

__all__ = ["DESIGNS", "DataSource", "DesignChoice", "Pilot", "Showcase", "StudyConfig", "WaveWindow",
           "check_outcomes", "load_config", "programme_code"]

Language = Literal["zh-CN", "en"]
_FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".sav": "sav",
            ".zsav": "sav", ".dta": "dta", ".parquet": "parquet", ".pq": "parquet"}
_ENCODINGS = {"utf-8", "utf-8-sig", "gbk", "gb2312", "gb18030"}
_PROGRAMME_ALIASES = {
    "sanshe": "sanshe", "三社联动": "sanshe", "三社": "sanshe",
    "wushe": "wushe", "五社联动": "wushe", "五社": "wushe",
    "other": "other", "其他": "other",
}


def programme_code(text: str) -> str | None:
    """``三社联动`` / ``sanshe`` → ``sanshe``; None if unknown."""
    return _PROGRAMME_ALIASES.get(text.strip())


@frozen
class DataSource:
    """One input file of the study.

    ``columns`` maps a header of this file to a canonical column (``{社区编号: community_id}``),
    as written in the config; ``wave`` is the survey wave every row of the file belongs to
    (one file per wave), or None.
    """

    table: str
    path: Path
    format: str
    sheet: str | None = None
    encoding: str | None = None
    line: int = 0  # config line, for messages
    columns: Mapping[str, str] = field(factory=dict)
    wave: int | None = None
    columns_line: int = 0  # config line of ``columns:``, for messages


@frozen
class WaveWindow:
    """Interviews dated ``start``–``end`` (inclusive) belong to ``wave``."""

    wave: int
    start: dt.date
    end: dt.date
    line: int = 0


@frozen
class Pilot:
    """One community in a programme since a date."""

    community_id: str
    programme: str  # a key of datamodel.PROGRAMMES
    start: dt.date
    programme_label: str | None = None  # e.g. 全岗通 for programme == "other"
    line: int = 0  # config line (0 when the pilot came from a data file)


#: designs the impact report can add to its staggered DiD (``designs:``), with the options each takes
#: (option → allowed values; a type name means any value of that type)
DESIGNS: dict[str, dict[str, object]] = {
    "matching": {"replace": bool, "caliper": float, "distance": ("propensity", "logit")},
    "weighting": {"method": ("ipw", "aipw", "entropy"), "estimand": ("ATT", "ATE")},
    "multilevel": {"random_slope": bool},
    "ordered_logit": {"items": list},
    "pre_post": {},
}
#: showcase methods (``showcase: {method: …}``); the first is the default
SHOWCASE_METHODS = ("synthetic_control", "synthetic_did")


@frozen
class DesignChoice:
    """One further design the config asks the impact report for, with its options."""

    name: str  # a key of DESIGNS
    options: Mapping[str, object] = field(factory=dict)
    line: int = 0


@frozen
class Showcase:
    """The one pilot a showcase report is about (``showcase:`` in the config).

    ``outcomes`` empty means the study's outcomes; ``donors`` None means the study's
    comparison communities.
    """

    community_id: str
    method: Literal["synthetic_control", "synthetic_did"] = "synthetic_control"
    outcomes: tuple[str, ...] = ()
    donors: tuple[str, ...] | None = None
    line: int = 0


@frozen
class StudyConfig:
    """Everything one evaluation needs to know, immutable."""

    path: Path
    name: str
    codebook: Path
    #: the (first) file of each table; ``sources`` has every file of tables given as several
    data: Mapping[str, DataSource]
    outcomes: tuple[str, ...]
    synthetic: bool = False
    language: Language = "zh-CN"
    seed: int = 20240901
    pilots: tuple[Pilot, ...] | None = None  # None: read from data["pilots"]
    comparison: str | tuple[str, ...] = "never_treated"
    targets: Mapping[str, float] = field(factory=dict)
    min_items_answered: float = 0.5
    pseudonym_key_env: str = "EVALKIT_PSEUDONYM_KEY"
    name_en: str | None = None  # the study's name in English reports (default: name)
    weights: Literal["none", "raked"] = "none"  # impact estimates on raked survey weights or unweighted
    narrative: Path | None = None  # folder of the study's own report text (<section>.md); None: narrative/
    raw: Mapping[str, object] = field(factory=dict)  # the file as plain python, for the manifest
    #: every file of each table (several survey files, one per wave or district, are stacked)
    sources: Mapping[str, tuple[DataSource, ...]] = field(factory=dict)
    waves: tuple[WaveWindow, ...] = ()
    #: further designs for the impact report (``designs:``), in the order given
    designs: tuple[DesignChoice, ...] = ()
    #: the pilot of the showcase report (``showcase:``); None: no showcase report
    showcase: Showcase | None = None

    def __attrs_post_init__(self) -> None:
        if not self.sources:  # built by hand with data only
            object.__setattr__(self, "sources", {k: (v,) for k, v in self.data.items()})

    def display_name(self, lang: str = "zh") -> str:
        """The study's name for a report in ``lang`` (``name_en`` in English when given)."""
        return self.name_en if (self.name_en and not lang.lower().startswith("zh")) else self.name

    @property
    def folder(self) -> Path:
        return self.path.parent

    def input_files(self) -> list[Path]:
        """Every file the study reads: config, codebook, data."""
        return [self.path, self.codebook, *(s.path for group in self.sources.values() for s in group)]

    def line_of(self, key: str) -> int:
        return int(self.raw.get("_lines", {}).get(key, 0))  # type: ignore[union-attr]


_TOP_KEYS = {
    "name", "synthetic", "language", "seed", "codebook", "data", "pilots", "comparison",
    "outcomes", "targets", "scoring", "privacy", "waves", "weights", "narrative", "name_en",
    "designs", "showcase",
}
_SOURCE_KEYS = {"path", "sheet", "encoding", "format", "columns", "wave"}


def load_config(path: str | Path) -> StudyConfig:
    """Read and check a study config. Raises ConfigError naming file, line, key and fix."""
    from evalkit.intake.safety import check_config_file

    path = Path(path).resolve()
    check_config_file(path)  # a folder, workbook, CSV of respondents or pickle is named, never echoed
    root = load_yaml(path)
    if not isinstance(root.value, dict):
        msg = (f"{path}: not a study config (a YAML file with keys such as name:, codebook:, data:). "
               "If this is a data file, list it under data: in study.yaml and pass study.yaml instead")
        raise ConfigError(msg)
    root.check_keys(_TOP_KEYS)
    folder = path.parent

    name = root.require("name", "Give the study a name, e.g. name: 某区三社联动试点评估").as_str()
    language = "zh-CN"
    if (ln := root.get("language")) is not None:
        language = ln.as_str()
        if language in {"zh", "zh_CN", "cn"}:
            language = "zh-CN"
        if language not in {"zh-CN", "en"}:
            raise ln.error(f"language must be zh-CN or en, found '{language}'")

    codebook_node = root.require("codebook", "Point it to the codebook file, e.g. codebook: codebook.yaml")
    codebook = _existing_file(codebook_node, folder)

    data_node = root.require("data", "List the data files under data:, e.g. survey: survey.sav")
    sources = {tbl: _data_sources(tbl, node, folder) for tbl, node in data_node.items()}
    data = {tbl: group[0] for tbl, group in sources.items()}
    for tbl in ("communities", "survey"):
        if tbl not in data:
            msg = (f"{path}, line {data_node.line}: data.{tbl} is required "
                   f"(the {TABLES[tbl].label_zh} file)")
            raise ConfigError(msg)

    pilots = None
    if (pnode := root.get("pilots")) is not None:
        if "pilots" in data:
            raise pnode.error(
                "pilots are given both inline and as data.pilots",
                "Keep one: the inline list or the pilot roll-out file",
            )
        pilots = tuple(_pilot(p) for p in pnode.as_list())
        seen: dict[str, int] = {}
        for p in pilots:
            if p.community_id in seen:
                msg = (f"{path}, line {p.line}: community '{p.community_id}' is listed as a pilot "
                       f"twice (also line {seen[p.community_id]}); keep one entry")
                raise ConfigError(msg)
            seen[p.community_id] = p.line
    elif "pilots" not in data:
        msg = (f"{path}: no pilots. Add data.pilots (the roll-out file) or an inline list "
               "pilots: [{community: '0012', programme: 五社联动, start: 2021-03-01}]")
        raise ConfigError(msg)

    comparison: str | tuple[str, ...] = "never_treated"
    if (cnode := root.get("comparison")) is not None:
        if isinstance(cnode.value, str):
            comparison = cnode.as_str()
            if comparison not in {"never_treated", "not_yet_treated"}:
                raise cnode.error(
                    f"comparison must be never_treated, not_yet_treated or a list of community ids, "
                    f"found '{comparison}'"
                )
        else:
            comparison = tuple(cnode.as_str_list())

    outcomes_node = root.require("outcomes", "List the constructs to evaluate, e.g. outcomes: [gain, belonging]")
    outcomes = tuple(outcomes_node.as_str_list())
    if not outcomes:
        raise outcomes_node.error("outcomes is empty", "Name at least one construct")

    targets: dict[str, float] = {}
    if (tnode := root.get("targets")) is not None:
        targets = {k: v.as_float() for k, v in tnode.items()}

    min_items = 0.5
    if (snode := root.get("scoring")) is not None:
        snode.check_keys({"min_items_answered"})
        if (m := snode.get("min_items_answered")) is not None:
            min_items = m.as_float()
            if not 0 < min_items <= 1:
                raise m.error(f"min_items_answered must be a share in (0, 1], found {min_items:g}")

    key_env = "EVALKIT_PSEUDONYM_KEY"
    if (pv := root.get("privacy")) is not None:
        pv.check_keys({"pseudonym_key_env"})
        if (k := pv.get("pseudonym_key_env")) is not None:
            key_env = k.as_str()

    waves = _waves(root.get("waves"))
    weights = "none"
    if (wnode := root.get("weights")) is not None:
        weights = wnode.as_str()
        if weights not in {"none", "raked"}:
            raise wnode.error(f"weights must be none or raked, found '{weights}'",
                              "raked: impact estimates use the survey weights raked to the population table")
    narrative = None
    if (nnode := root.get("narrative")) is not None:
        narrative = (folder / nnode.as_str()).resolve()
        if not narrative.is_dir():
            raise nnode.error(f"narrative folder '{nnode.as_str()}' not found (looked for {narrative})",
                              "Paths are relative to the config file; the folder holds <section>.md files")

    designs = _designs(root.get("designs"))
    showcase = _showcase(root.get("showcase"))

    raw = root.to_python()
    raw["_lines"] = {k: v.line for k, v in root.items()}
    return StudyConfig(
        path=path,
        name=name,
        codebook=codebook,
        data=data,
        outcomes=outcomes,
        synthetic=root.get("synthetic").as_bool() if root.get("synthetic") else False,
        language=language,  # type: ignore[arg-type]
        seed=root.get("seed").as_int() if root.get("seed") else 20240901,
        pilots=pilots,
        comparison=comparison,
        targets=targets,
        min_items_answered=min_items,
        pseudonym_key_env=key_env,
        name_en=root.get("name_en").as_str() if root.get("name_en") else None,
        weights=weights,  # type: ignore[arg-type]
        narrative=narrative,
        raw=raw,
        sources=sources,
        waves=waves,
        designs=designs,
        showcase=showcase,
    )


def check_outcomes(config: StudyConfig, constructs: Mapping[str, object]) -> None:
    """Every outcome must be a construct the codebook defines (or a built-in one it uses)."""
    for outcome in config.outcomes:
        if outcome not in constructs:
            known = ", ".join(constructs) or "none"
            msg = (f"{config.path}, line {config.line_of('outcomes')}, key 'outcomes': unknown "
                   f"construct '{outcome}'. Constructs with items in the codebook: {known}")
            raise ConfigError(msg)


def _existing_file(node: Node, folder: Path) -> Path:
    rel = node.as_str()
    p = (folder / rel).resolve()
    if p.is_dir():
        raise node.error(f"'{rel}' is a folder, not a file (looked at {p})",
                         "Name the data file inside it, e.g. " + f"{rel.rstrip('/')}/survey.csv")
    if not p.is_file():
        raise node.error(
            f"file '{rel}' not found (looked in {p.parent})",
            "Paths are relative to the config file; check the spelling and the folder",
        )
    return p


def _data_sources(table: str, node: Node, folder: Path) -> tuple[DataSource, ...]:
    """``survey: a.csv``, ``survey: {path: …}``, ``survey: [a.csv, {path: b.xlsx, wave: 2}]`` or
    ``survey: {files: [...], columns: {…}}`` (columns shared by every file)."""
    if table not in TABLES:
        raise node.error(f"unknown table '{table}'", f"Tables: {', '.join(TABLES)}")
    shared: dict[str, str] = {}
    shared_line = 0
    files = [node]
    if isinstance(node.value, dict) and "files" in node.value:
        node.check_keys({"files", "columns"})
        if (cn := node.get("columns")) is not None:
            shared, shared_line = _column_map(cn), cn.line
        files = node.require("files").as_list()
    elif isinstance(node.value, list):
        files = node.as_list()
    if not files:
        raise node.error(f"no files listed for table '{table}'", "List at least one file")
    out = tuple(_data_source(table, f, folder, shared, shared_line) for f in files)
    if len(out) > 1 and table != "survey":
        raise node.error(f"several files are listed for table '{table}'",
                         "Only the survey may come in several files (one per wave or district); "
                         "combine the others into one file")
    seen: dict[Path, int] = {}
    for src in out:
        if src.path in seen:
            msg = (f"{node.file}, line {src.line}: file '{src.path.name}' is listed twice for "
                   f"table '{table}' (also line {seen[src.path]}); list each file once")
            raise ConfigError(msg)
        seen[src.path] = src.line
    return out


def _designs(node: Node | None) -> tuple[DesignChoice, ...]:
    """``designs: [matching, multilevel]`` or ``designs: {weighting: {method: aipw}, pre_post: {}}``."""
    if node is None or node.is_null:
        return ()
    if isinstance(node.value, dict):
        entries = [(name, child) for name, child in node.items()]
    else:
        entries = [(child.as_str(), None) for child in node.as_list()]
    out: list[DesignChoice] = []
    for name, child in entries:
        if name not in DESIGNS:
            where = child if child is not None else node
            raise where.error(f"unknown design '{name}'", f"Designs: {', '.join(DESIGNS)}")
        if any(d.name == name for d in out):
            raise node.error(f"design '{name}' is listed twice", "List each design once")
        options: dict[str, object] = {}
        if child is not None and not child.is_null:
            child.check_keys(set(DESIGNS[name]) or {"(none)"})
            for key, opt in child.items():
                options[key] = _design_option(opt, DESIGNS[name][key])
        if name == "weighting" and (options.get("method"), options.get("estimand")) in _NOT_OFFERED:
            method, estimand = options.get("method"), options.get("estimand")
            raise child.error(f"weighting by {method} estimates the {_OFFERED[method]}, not the {estimand}",  # type: ignore[union-attr]
                              f"Use estimand: {_OFFERED[method]}, or method: ipw (ATT or ATE)")
        out.append(DesignChoice(name, options, (child or node).line))
    return tuple(out)


#: weighting methods that estimate one estimand only
_OFFERED = {"aipw": "ATE", "entropy": "ATT"}
_NOT_OFFERED = {("aipw", "ATT"), ("entropy", "ATE")}


def _design_option(node: Node, kind: object) -> object:
    if kind is bool:
        return node.as_bool()
    if kind is float:
        value = node.as_float()
        if value <= 0:
            raise node.error(f"expected a positive number, found {value:g}")
        return value
    if kind is list:
        return tuple(node.as_str_list())
    value = node.as_str()
    if value not in kind:  # type: ignore[operator]
        raise node.error(f"'{value}' is not one of {', '.join(kind)}")  # type: ignore[arg-type]
    return value


def _showcase(node: Node | None) -> Showcase | None:
    """``showcase: "043001002"`` or ``showcase: {community: …, method: synthetic_did, outcomes: […], donors: […]}``."""
    if node is None or node.is_null:
        return None
    if isinstance(node.value, str):
        return Showcase(node.as_str(), line=node.line)
    node.check_keys({"community", "method", "outcomes", "donors"})
    community = node.require("community", "Name the showcase pilot, e.g. community: '043001002'").as_str()
    method = "synthetic_control"
    if (m := node.get("method")) is not None:
        method = m.as_str()
        if method not in SHOWCASE_METHODS:
            raise m.error(f"method must be {' or '.join(SHOWCASE_METHODS)}, found '{method}'",
                          "synthetic_control (default) follows one pilot with a weighted average of comparison "
                          "communities; synthetic_did adds period weights and a level shift")
    outcomes = tuple(node.get("outcomes").as_str_list()) if node.get("outcomes") is not None else ()
    donors = tuple(node.get("donors").as_str_list()) if node.get("donors") is not None else None
    if donors is not None and community in donors:
        raise node.require("donors").error(f"the showcase pilot '{community}' is also listed as a donor",
                                           "Donors are comparison communities; remove the pilot")
    return Showcase(community, method, outcomes, donors, node.line)  # type: ignore[arg-type]


def _column_map(node: Node) -> dict[str, str]:
    """``{source header: canonical column}``; canonical names are checked against the model at load."""
    out: dict[str, str] = {}
    targets: dict[str, str] = {}
    for header, target in node.items():
        name = target.as_str().strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise target.error(
                f"'{name}' is not a canonical column name",
                "Map the file's header (left) to an English column name (right), e.g. "
                "社区编号: community_id",
            )
        if name in targets:
            raise target.error(f"headers '{targets[name]}' and '{header}' are both mapped to '{name}'",
                               "Map one header to each column")
        targets[name] = header
        out[header] = name
    return out


def _waves(node: Node | None) -> tuple[WaveWindow, ...]:
    """``waves: {1: [2020-09-01, 2020-12-31], 2: {from: 2021-09-01, to: 2021-12-31}, 3: 2022}``
    (a bare year is the whole calendar year)."""
    if node is None:
        return ()
    out: list[WaveWindow] = []
    for key, win in node.items():
        try:
            wave = int(key)
        except ValueError:
            raise win.error(f"wave '{key}' is not a whole number", "Number waves 1, 2, 3 …") from None
        if isinstance(win.value, str):
            year = win.as_int()
            if not 1990 <= year <= 2100:
                raise win.error(f"wave {wave}: '{year}' is not a survey year",
                                "Give a year (2021) or a window [2021-09-01, 2021-12-31]")
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        elif isinstance(win.value, list):
            bounds = win.as_list()
            if len(bounds) != 2:
                raise win.error("a wave window is [first day, last day]", "e.g. 1: [2020-09-01, 2020-12-31]")
            start, end = bounds[0].as_date(), bounds[1].as_date()
        else:
            win.check_keys({"from", "to"})
            start, end = win.require("from").as_date(), win.require("to").as_date()
        if end < start:
            raise win.error(f"wave {wave} ends ({end}) before it starts ({start})", "Swap the dates")
        for other in out:
            if start <= other.end and other.start <= end:
                raise win.error(f"wave {wave} overlaps wave {other.wave} (line {other.line})",
                                "Wave windows must not overlap; an interview date must name one wave")
        out.append(WaveWindow(wave, start, end, win.line))
    return tuple(sorted(out, key=lambda w: w.start))


def _data_source(table: str, node: Node, folder: Path, shared: Mapping[str, str] | None = None,
                 shared_line: int = 0) -> DataSource:
    sheet = encoding = None
    columns = dict(shared or {})
    columns_line = shared_line
    wave = None
    if isinstance(node.value, dict):
        node.check_keys(_SOURCE_KEYS)
        if (cn := node.get("columns")) is not None:
            columns.update(_column_map(cn))
            columns_line = cn.line
        if (wn := node.get("wave")) is not None:
            if table != "survey":
                raise wn.error("only survey files have a wave", "Remove wave: here")
            wave = wn.as_int()
            if not 1 <= wave <= 100:
                raise wn.error(f"wave must be 1–100, found {wave}")
        path_node = node.require("path")
        sheet = node.get("sheet").as_str() if node.get("sheet") else None
        if (en := node.get("encoding")) is not None:
            encoding = en.as_str().lower()
            if encoding not in _ENCODINGS:
                raise en.error(f"unsupported encoding '{encoding}'",
                               f"Use one of: {', '.join(sorted(_ENCODINGS))}")
    else:
        path_node = node
    path = _existing_file(path_node, folder)
    fmt = _FORMATS.get(path.suffix.lower())
    if isinstance(node.value, dict) and node.get("format") is not None:
        fmt = node.require("format").as_str()
    if fmt is None:
        raise path_node.error(
            f"cannot tell the format of '{path.name}'",
            f"Supported endings: {', '.join(sorted(_FORMATS))}; or add format: csv",
        )
    return DataSource(table, path, fmt, sheet, encoding, node.line, columns, wave, columns_line)


def _pilot(node: Node) -> Pilot:
    node.check_keys({"community", "programme", "start", "label"})
    community = node.require("community").as_str()
    pnode = node.require("programme", "e.g. programme: 五社联动")
    code = programme_code(pnode.as_str())
    if code is None:
        raise pnode.error(
            f"unknown programme '{pnode.as_str()}'",
            f"Use one of: {', '.join(f'{v} ({k})' for k, v in PROGRAMMES.items())}",
        )
    start = node.require("start", "e.g. start: 2021-03-01").as_date()
    label = node.get("label").as_str() if node.get("label") else None
    return Pilot(community, code, start, label, node.line)

