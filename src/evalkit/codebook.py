"""The codebook: what each survey column means and how intake treats it.

A codebook entry (:class:`Variable`) carries, per column: the canonical English
name, the column's name in the raw file (``source_name``, often Chinese or an
SPSS name such as ``A1``), the question text in Chinese (and English), the
construct it measures, its scale range, value labels, missing codes (8 = 不知道,
9 = 拒答 …, which intake turns into NA and counts), whether it is
reverse-coded, and whether it is personal data (``privacy``).

Formats: YAML (:meth:`Codebook.from_yaml`), CSV (:meth:`Codebook.from_csv`)
and SPSS metadata (:meth:`Codebook.from_spss`, which imports variable labels,
value labels and declared user-missing values).

YAML layout::

    constructs:                       # optional: extra constructs beyond the built-in ones
      trust: {zh: 睦邻信任, en: Neighbourly trust}
    value_label_sets:                 # optional: named sets, referenced by name below
      agree5: {1: 非常不同意, 2: 不太同意, 3: 一般, 4: 比较同意, 5: 非常同意}
    variables:
      gain_1:
        source_name: A1
        label: {zh: 社区服务让我的生活更方便了, en: Community services made my life easier}
        construct: gain
        scale: [1, 5]
        value_labels: agree5
        missing_codes: {8: 不知道, 9: 拒答}
        reverse: false
      years_in_post:
        source_name: 任职年限
        type: number                  # number | integer | code | text | date; checked for every column
        scale: [0, 60]                # for any numeric column: the allowed range
      id_number:
        source_name: 身份证号
        privacy: direct_identifier
        pseudonymise: true            # keep a keyed pseudonym (person_key) for linking
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from attrs import evolve, field, frozen

from evalkit.errors import CodebookError
from evalkit.yamlio import Node, load_yaml

__all__ = ["CONSTRUCTS", "Construct", "Variable", "Codebook", "Privacy", "ValueType", "VALUE_TYPES"]

Privacy = Literal["none", "direct_identifier", "free_text"]
_PRIVACY = ("none", "direct_identifier", "free_text")
#: what a declared column holds; intake converts and checks every declared column by it
ValueType = Literal["number", "integer", "code", "text", "date"]
VALUE_TYPES: tuple[str, ...] = ("number", "integer", "code", "text", "date")


@frozen
class Construct:
    code: str
    zh: str
    en: str


#: constructs every study can name without declaring them
CONSTRUCTS: dict[str, Construct] = {
    c.code: c
    for c in (
        Construct("gain", "获得感", "Sense of gain"),
        Construct("happiness", "幸福感", "Happiness"),
        Construct("security", "安全感", "Sense of security"),
        Construct("belonging", "归属感", "Sense of belonging"),
        Construct("satisfaction", "满意度", "Satisfaction with community services"),
        Construct("participation", "参与", "Participation"),
        Construct("awareness", "知晓度", "Awareness of social workers and organisations"),
        Construct("trust", "睦邻信任", "Neighbourly trust"),
    )
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _code_key(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


@frozen
class Variable:
    """One column described by the codebook."""

    name: str
    source_name: str
    table: str = "survey"
    label_zh: str = ""
    label_en: str = ""
    construct: str | None = None
    scale_min: float | None = None
    scale_max: float | None = None
    value_labels: Mapping[float, str] = field(factory=dict)
    missing_codes: Mapping[float, str] = field(factory=dict)
    reverse: bool = False
    privacy: Privacy = "none"
    pseudonymise: bool = False
    #: declared type; None: inferred (scale or numeric value labels → code, else as read)
    type: ValueType | None = None

    @property
    def value_type(self) -> ValueType | None:
        """The type intake checks: the declared one, else ``code`` for a column with a scale or
        value labels, else None (kept as read)."""
        if self.type is not None:
            return self.type
        if self.scale_min is not None or self.value_labels or self.missing_codes:
            return "code"
        return None

    @property
    def is_item(self) -> bool:
        """A scored item: belongs to a construct and has a scale."""
        return self.construct is not None and self.scale_min is not None

    @property
    def is_personal(self) -> bool:
        return self.privacy != "none"

    def label(self, lang: str = "zh") -> str:
        text = self.label_zh if lang.startswith("zh") else (self.label_en or self.label_zh)
        return text or self.name


@frozen
class Codebook:
    """An immutable, ordered collection of :class:`Variable` plus the constructs they use."""

    variables: tuple[Variable, ...]
    constructs: Mapping[str, Construct] = field(factory=lambda: dict(CONSTRUCTS))
    source: str = "<memory>"

    def __attrs_post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for var in self.variables:
            if (var.table, var.name) in seen:
                msg = f"{self.source}: variable '{var.name}' is defined twice; keep one definition"
                raise CodebookError(msg)
            seen.add((var.table, var.name))
            if var.construct is not None and var.construct not in self.constructs:
                known = ", ".join(self.constructs)
                msg = (
                    f"{self.source}: variable '{var.name}' names unknown construct "
                    f"'{var.construct}'. Known constructs: {known}; declare new ones under 'constructs:'"
                )
                raise CodebookError(msg)

    # ---- look-ups -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.variables)

    def __contains__(self, name: object) -> bool:
        return any(v.name == name for v in self.variables)

    def __getitem__(self, name: str) -> Variable:
        for var in self.variables:
            if var.name == name:
                return var
        msg = f"{self.source}: no variable named '{name}' in the codebook"
        raise KeyError(msg)

    def for_table(self, table: str) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.table == table)

    def items(self, construct: str | None = None) -> tuple[Variable, ...]:
        """Scored items, optionally of one construct, in codebook order."""
        return tuple(
            v for v in self.variables if v.is_item and (construct is None or v.construct == construct)
        )

    def constructs_used(self) -> tuple[str, ...]:
        out: list[str] = []
        for var in self.items():
            if var.construct not in out:
                out.append(var.construct)  # type: ignore[arg-type]
        return tuple(out)

    def personal(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.is_personal)

    def construct_label(self, code: str, lang: str = "zh") -> str:
        c = self.constructs.get(code)
        if c is None:
            return code
        return c.zh if lang.startswith("zh") else c.en

    def with_spss_metadata(self, value_labels: Mapping[str, Mapping[float, str]],
                           missing: Mapping[str, Iterable[float]]) -> Codebook:
        """Fill value labels and missing codes from an SPSS file where the codebook has none.

        ``value_labels`` and ``missing`` are keyed by the *source* (SPSS) name.
        The codebook's own entries win: SPSS metadata only fills gaps.
        """
        out = []
        for var in self.variables:
            labels = value_labels.get(var.source_name, {})
            codes = list(missing.get(var.source_name, []))
            new = var
            if labels and not var.value_labels:
                new = evolve(new, value_labels={_code_key(k): str(v) for k, v in labels.items()})
            if codes and not var.missing_codes:
                new = evolve(
                    new,
                    missing_codes={_code_key(c): str(labels.get(c, "缺失")) for c in codes},
                )
            out.append(new)
        return evolve(self, variables=tuple(out))

    # ---- constructors --------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path) -> Codebook:
        root = load_yaml(path, error_class=CodebookError)
        root.check_keys({"constructs", "value_label_sets", "variables"})
        constructs = dict(CONSTRUCTS)
        if (cnode := root.get("constructs")) is not None:
            for code, c in cnode.items():
                c.check_keys({"zh", "en"})
                constructs[code] = Construct(
                    code, c.require("zh").as_str(), (c.get("en") or c.require("zh")).as_str()
                )
        sets: dict[str, dict[float, str]] = {}
        if (snode := root.get("value_label_sets")) is not None:
            for set_name, s in snode.items():
                sets[set_name] = _code_map(s)
        variables = [
            _variable_from_node(name, node, sets, constructs)
            for name, node in root.require("variables").items()
        ]
        return cls(tuple(variables), constructs, str(path))

    @classmethod
    def from_csv(cls, path: str | Path) -> Codebook:
        """One row per variable. Columns: name, source_name, table, label_zh, label_en,
        construct, scale_min, scale_max, value_labels (``1=非常不同意|2=…``),
        missing_codes (``8=不知道|9=拒答``), reverse, privacy, pseudonymise, type."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            text = path.read_text(encoding="gb18030")
        rows = list(csv.DictReader(text.splitlines()))
        if not rows or "name" not in rows[0]:
            msg = f"{path}: a CSV codebook needs a header row with at least the column 'name'"
            raise CodebookError(msg)
        variables = []
        for i, row in enumerate(rows, start=2):
            where = f"{path}, row {i}"
            try:
                variables.append(_variable_from_row(row))
            except (ValueError, KeyError) as exc:
                msg = f"{where}: {exc}"
                raise CodebookError(msg) from None
        return cls(tuple(variables), dict(CONSTRUCTS), str(path))

    @classmethod
    def from_spss(cls, path: str | Path, *, construct_of: Mapping[str, str] | None = None) -> Codebook:
        """Build a codebook from an SPSS .sav file's metadata.

        Variable labels become ``label_zh``; value labels and declared
        user-missing values are imported. Names are lower-cased SPSS names;
        ``construct_of`` may assign constructs (``{"A1": "gain"}``).
        """
        import pyreadstat

        _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
        construct_of = construct_of or {}
        variables = []
        for name in meta.column_names:
            labels = meta.variable_value_labels.get(name, {})
            missing = _spss_missing(meta, name)
            codes = {_code_key(c): str(labels.get(c, "缺失")) for c in missing}
            valid = [k for k in labels if k not in missing]
            variables.append(
                Variable(
                    name=_canonical_name(name),
                    source_name=name,
                    label_zh=meta.column_names_to_labels.get(name) or "",
                    construct=construct_of.get(name),
                    scale_min=min(valid) if valid and name in construct_of else None,
                    scale_max=max(valid) if valid and name in construct_of else None,
                    value_labels={_code_key(k): str(v) for k, v in labels.items() if k not in missing},
                    missing_codes=codes,
                )
            )
        return cls(tuple(variables), dict(CONSTRUCTS), str(path))


def _spss_missing(meta: object, name: str) -> list[float]:
    """Discrete user-missing codes declared in SPSS (ranges are expanded for integer codes)."""
    out: list[float] = []
    for rng in getattr(meta, "missing_ranges", {}).get(name, []):
        lo, hi = rng["lo"], rng["hi"]
        if isinstance(lo, str) or isinstance(hi, str):
            continue
        if lo == hi:
            out.append(lo)
        elif float(lo).is_integer() and float(hi).is_integer() and hi - lo <= 100:
            out.extend(float(v) for v in range(int(lo), int(hi) + 1))
    return out


def _canonical_name(name: str) -> str:
    cleaned = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower()
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"v_{cleaned}"
    return cleaned


def _code_map(node: Node) -> dict[float, str]:
    out: dict[float, str] = {}
    for key, label in node.items():
        try:
            code = _code_key(float(key))
        except ValueError:
            raise node.error(f"value code '{key}' is not a number") from None
        out[code] = label.as_str()
    return out


_VAR_KEYS = {
    "source_name", "table", "label", "construct", "scale", "value_labels",
    "missing_codes", "reverse", "privacy", "pseudonymise", "type",
}


def _variable_from_node(
    name: str, node: Node, sets: dict[str, dict[float, str]], constructs: Mapping[str, Construct]
) -> Variable:
    if not _NAME_RE.match(name):
        raise node.error(
            f"variable name '{name}' is not a valid identifier",
            "Use lower-case English letters, digits and _ (e.g. gain_1); put the Chinese "
            "column header in source_name and the question in label.zh",
        )
    if node.is_null:
        return Variable(name=name, source_name=name)
    node.check_keys(_VAR_KEYS)
    label_zh = label_en = ""
    if (lab := node.get("label")) is not None:
        if isinstance(lab.value, str):
            label_zh = lab.as_str()
        else:
            lab.check_keys({"zh", "en"})
            label_zh = lab.get("zh").as_str() if lab.get("zh") else ""
            label_en = lab.get("en").as_str() if lab.get("en") else ""
    construct = None
    if (cn := node.get("construct")) is not None:
        construct = cn.as_str()
        if construct not in constructs:
            raise cn.error(
                f"unknown construct '{construct}'",
                f"Known constructs: {', '.join(constructs)}; declare new ones under 'constructs:'",
            )
    scale_min = scale_max = None
    if (sc := node.get("scale")) is not None:
        bounds = sc.as_list()
        if len(bounds) != 2:
            raise sc.error("scale must be [min, max], e.g. [1, 5]")
        scale_min, scale_max = bounds[0].as_float(), bounds[1].as_float()
        if scale_min >= scale_max:
            raise sc.error(f"scale minimum {scale_min:g} is not below maximum {scale_max:g}")
    if construct is not None and scale_min is None:
        raise node.error(f"item '{name}' of construct '{construct}' has no scale", "Add scale: [1, 5]")
    value_labels: dict[float, str] = {}
    if (vl := node.get("value_labels")) is not None:
        if isinstance(vl.value, str):
            if vl.value not in sets:
                raise vl.error(
                    f"unknown value label set '{vl.value}'",
                    f"Defined sets: {', '.join(sets) or 'none'} (under value_label_sets:)",
                )
            value_labels = dict(sets[vl.value])
        else:
            value_labels = _code_map(vl)
    missing: dict[float, str] = {}
    if (mc := node.get("missing_codes")) is not None:
        if isinstance(mc.value, list):
            missing = {_code_key(n.as_float()): "缺失" for n in mc.as_list()}
        else:
            missing = _code_map(mc)
    if scale_min is not None and scale_max is not None:
        inside = [c for c in missing if scale_min <= c <= scale_max]
        if inside:
            raise node.error(
                f"missing code(s) {', '.join(map(str, inside))} lie inside the scale "
                f"[{scale_min:g}, {scale_max:g}]",
                "A missing code must be outside the valid answers (e.g. 8, 9, 98, 99)",
            )
    privacy = "none"
    if (pv := node.get("privacy")) is not None:
        privacy = pv.as_str()
        if privacy not in _PRIVACY:
            raise pv.error(f"privacy must be one of {', '.join(_PRIVACY)}, found '{privacy}'")
    vtype = None
    if (tn := node.get("type")) is not None:
        vtype = tn.as_str()
        if vtype not in VALUE_TYPES:
            raise tn.error(f"type must be one of {', '.join(VALUE_TYPES)}, found '{vtype}'")
        if vtype in {"text", "date"} and scale_min is not None:
            raise tn.error(f"a {vtype} column cannot have a scale", "Remove scale: or use type: number")
    return Variable(
        name=name,
        source_name=(node.get("source_name") or Node(name, "", 0, "")).as_str(),
        table=(node.get("table") or Node("survey", "", 0, "")).as_str(),
        label_zh=label_zh,
        label_en=label_en,
        construct=construct,
        scale_min=scale_min,
        scale_max=scale_max,
        value_labels=value_labels,
        missing_codes=missing,
        reverse=node.get("reverse").as_bool() if node.get("reverse") else False,
        privacy=privacy,  # type: ignore[arg-type]
        pseudonymise=node.get("pseudonymise").as_bool() if node.get("pseudonymise") else False,
        type=vtype,  # type: ignore[arg-type]
    )


def _parse_pairs(text: str) -> dict[float, str]:
    out: dict[float, str] = {}
    for part in filter(None, (p.strip() for p in text.split("|"))):
        code, _, label = part.partition("=")
        out[_code_key(float(code))] = label.strip() or "缺失"
    return out


def _variable_from_row(row: Mapping[str, str]) -> Variable:
    def val(key: str) -> str:
        return (row.get(key) or "").strip()

    name = val("name")
    if not _NAME_RE.match(name):
        msg = f"variable name '{name}' is not a valid identifier (lower-case letters, digits, _)"
        raise ValueError(msg)
    privacy = val("privacy") or "none"
    if privacy not in _PRIVACY:
        msg = f"column 'privacy' must be one of {', '.join(_PRIVACY)}, found '{privacy}'"
        raise ValueError(msg)
    vtype = val("type") or None
    if vtype is not None and vtype not in VALUE_TYPES:
        msg = f"column 'type' must be one of {', '.join(VALUE_TYPES)}, found '{vtype}'"
        raise ValueError(msg)
    return Variable(
        name=name,
        source_name=val("source_name") or name,
        table=val("table") or "survey",
        label_zh=val("label_zh"),
        label_en=val("label_en"),
        construct=val("construct") or None,
        scale_min=float(val("scale_min")) if val("scale_min") else None,
        scale_max=float(val("scale_max")) if val("scale_max") else None,
        value_labels=_parse_pairs(val("value_labels")),
        missing_codes=_parse_pairs(val("missing_codes")),
        reverse=val("reverse").lower() in {"1", "true", "yes", "是"},
        privacy=privacy,  # type: ignore[arg-type]
        pseudonymise=val("pseudonymise").lower() in {"1", "true", "yes", "是"},
        type=vtype,  # type: ignore[arg-type]
    )
