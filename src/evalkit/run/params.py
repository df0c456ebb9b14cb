"""Typed parameters of a report template: read the schema, validate values.

A template's cell tagged ``parameters`` declares every parameter as an
annotated assignment with a literal default and a comment::

    config_path: str = "data/example/study.yaml"  # the study config
    community_id: str | None = None                # one community, or None for all
    seed: int = 20240901                           # recorded in the manifest
    lang: str = "zh"                               # report language; one of: zh, en

:func:`read_parameter_schema` turns that cell into a :class:`ParameterSchema`
using :mod:`ast` and :mod:`tokenize` only (the cell is never executed), and
:func:`validate_parameters` checks values against it before any kernel starts.

Why hand-written: papermill does not type-check parameters (an ``int``
parameter silently takes the string ``"200"``), only warns on unknown names,
and pastes parameter *names* into code unescaped. Its own parameter parser is
a regular expression that keeps annotations as text. The checks here are
small and strict: JSON-like values only (what YAML/JSON run manifests can
hold), ``bool`` is not ``int``, an ``int`` is accepted (and converted) where a
``float`` is declared, and text stays text (a ``str`` parameter given ``12``
is refused, never stringified, because ``0012`` would have lost its zeros).
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import keyword
import math
import re
import tokenize
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from attrs import field, frozen

from evalkit.errors import NotebookTemplateError, ParameterError

__all__ = [
    "PARAMETERS_TAG",
    "ParameterSchema",
    "ParameterSpec",
    "TypeSpec",
    "parse_parameters_cell",
    "read_parameter_schema",
    "validate_parameters",
]

#: the cell tag papermill (and evalkit) look for
PARAMETERS_TAG = "parameters"

TypeKind = Literal["str", "int", "float", "bool", "none", "list", "dict", "any", "union"]

_SCALARS = {"str", "int", "float", "bool"}
_SUPPORTED = (
    "str, int, float, bool, None, list[T], dict[str, T], T | None, Optional[T], "
    "A | B (T is any of these; bare list / dict allow any JSON-like content)"
)
_CHOICES_RE = re.compile(r"\bone of:\s*(?P<values>.+)$", re.IGNORECASE)
_FIX_TAG = (
    "Tag the cell that sets the defaults: in JupyterLab select it, open the property "
    "inspector (gear icon in the right sidebar) and add `parameters` under Cell Tags "
    '(in a jupytext .py file: `# %% tags=["parameters"]`).'
)


@frozen
class TypeSpec:
    """A parameter's declared type, e.g. ``list[str]`` or ``str | None``."""

    kind: TypeKind
    args: tuple[TypeSpec, ...] = ()

    def __str__(self) -> str:
        if self.kind == "union":
            return " | ".join(str(a) for a in self.args)
        if self.kind == "none":
            return "None"
        if self.kind in {"list", "dict"} and self.args:
            return f"{self.kind}[{', '.join(str(a) for a in self.args)}]"
        return self.kind

    def scalar_kind(self) -> str | None:
        """The scalar kind ``one of:`` choices apply to (``list[str]`` → ``str``)."""
        if self.kind in _SCALARS:
            return self.kind
        if self.kind == "list" and self.args:
            return self.args[0].scalar_kind()
        if self.kind == "union":
            kinds = {a.scalar_kind() for a in self.args if a.kind != "none"}
            return kinds.pop() if len(kinds) == 1 else None
        return None


_ANY = TypeSpec("any")


@frozen
class ParameterSpec:
    """One declared parameter: name, type, literal default, comment, allowed values."""

    name: str
    type: TypeSpec
    default: Any
    comment: str = ""
    choices: tuple[Any, ...] | None = None  # from a ``# one of: a, b`` comment
    line: int = 0  # line within the parameters cell, counted from 1


@frozen
class ParameterSchema:
    """The parameters a template accepts, in the order the template declares them."""

    source: str  # the template file, as the user named it
    cell_number: int  # the parameters cell, counted from 1 as JupyterLab shows cells
    parameters: tuple[ParameterSpec, ...] = field(converter=tuple)

    def __iter__(self) -> Iterator[ParameterSpec]:
        return iter(self.parameters)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.parameters)

    def __getitem__(self, name: str) -> ParameterSpec:
        for p in self.parameters:
            if p.name == name:
                return p
        msg = f"{self.source} declares no parameter {name!r}; it declares {', '.join(self.names)}"
        raise KeyError(msg)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def defaults(self) -> dict[str, Any]:
        """The template's default values (fresh copies, safe to mutate)."""
        return {p.name: json.loads(json.dumps(p.default)) for p in self.parameters}

    def describe(self) -> str:
        """One line per parameter: ``name: type = default  # comment``."""
        lines = []
        for p in self.parameters:
            comment = f"  # {p.comment}" if p.comment else ""
            lines.append(f"{p.name}: {p.type} = {p.default!r}{comment}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading


def read_parameter_schema(template: str | Path) -> ParameterSchema:
    """Read the typed parameter schema from a template's ``parameters`` cell.

    Parameters
    ----------
    template : str or Path
        The ``.ipynb`` report template.

    Returns
    -------
    ParameterSchema

    Raises
    ------
    NotebookTemplateError
        The file is missing or not a notebook; no cell (or more than one) is
        tagged ``parameters``; the cell holds anything other than annotated
        assignments with literal defaults of a supported type. Every problem in
        the cell is listed at once.
    """
    path = Path(template)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"Notebook template {path} does not exist. Check the path (relative to {Path.cwd()})."
        raise NotebookTemplateError(msg) from None
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        msg = f"{path} is not a Jupyter notebook (.ipynb JSON with 'cells'): {exc}"
        raise NotebookTemplateError(msg) from None

    tagged = [i for i, c in enumerate(cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        msg = f"{path} has no cell tagged `parameters`, so its parameters cannot be checked. {_FIX_TAG}"
        raise NotebookTemplateError(msg)
    if len(tagged) > 1:
        numbers = ", ".join(str(i + 1) for i in tagged)
        msg = (
            f"{path}: cells {numbers} are all tagged `parameters`; papermill would use only the "
            f"first. Keep the tag on one cell and merge the assignments into it."
        )
        raise NotebookTemplateError(msg)
    cell = cells[tagged[0]]
    if cell.get("cell_type") != "code":
        kind = cell.get("cell_type")
        msg = f"{path}: cell {tagged[0] + 1} is tagged `parameters` but is a {kind} cell; tag a code cell."
        raise NotebookTemplateError(msg)
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    return parse_parameters_cell(source, source_name=str(template), cell_number=tagged[0] + 1)


def parse_parameters_cell(source: str, *, source_name: str, cell_number: int) -> ParameterSchema:
    """Parse the text of a parameters cell into a :class:`ParameterSchema` (never executes it).

    ``source_name`` and ``cell_number`` only serve the messages.
    """
    where = f"{source_name}, parameters cell (cell {cell_number})"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        msg = (
            f"{where}, line {exc.lineno}: not valid Python ({exc.msg}). The parameters cell may "
            f"only hold lines like `seed: int = 1  # what it means` (no magics, no code)."
        )
        raise NotebookTemplateError(msg) from None
    comments = _comments_by_line(source)
    lines = source.splitlines()

    problems: list[str] = []
    specs: list[ParameterSpec] = []
    seen: set[str] = set()
    for node in tree.body:
        text = lines[node.lineno - 1].strip() if node.lineno - 1 < len(lines) else ""
        at = f"line {node.lineno} `{text}`"
        if isinstance(node, ast.Assign | ast.AugAssign):
            problems.append(
                f"{at}: no type annotation. Declare the type, e.g. `seed: int = 1  # what it means`; "
                f"the runner refuses values it cannot type-check."
            )
            continue
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            problems.append(
                f"{at}: only annotated assignments to plain names (`name: type = literal`) may stand "
                f"in the parameters cell; move other code to the next cell."
            )
            continue
        name = node.target.id
        if node.value is None:
            problems.append(f"{at}: `{name}` has no default value; give one (the template must run as-is).")
            continue
        if name in seen:
            problems.append(f"{at}: `{name}` is declared twice; keep one declaration.")
            continue
        seen.add(name)
        try:
            type_spec = _parse_annotation(node.annotation)
        except ValueError as exc:
            problems.append(f"{at}: {exc}. Supported types: {_SUPPORTED}.")
            continue
        try:
            default = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError):
            problems.append(
                f"{at}: the default of `{name}` is not a literal (write the value itself, "
                f'e.g. "data/example/study.yaml", not an expression).'
            )
            continue
        if (bad := _json_problem(default)) is not None:
            problems.append(f"{at}: the default of `{name}` {bad}.")
            continue
        try:
            default = _conform(default, type_spec, name)
        except _Mismatch as mm:
            problems.append(f"{at}: the default does not match the declared type: {mm.describe()}.")
            continue
        comment = " ".join(
            comments.get(n, "") for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)
        ).strip()
        choices = None
        if (m := _CHOICES_RE.search(comment)) is not None:
            try:
                choices = _parse_choices(m.group("values"), type_spec)
            except ValueError as exc:
                problems.append(f"{at}: {exc}.")
                continue
            if (bad := _choice_problem(name, default, choices)) is not None:
                problems.append(f"{at}: the default is not allowed by its own comment: {bad}")
                continue
        specs.append(ParameterSpec(name, type_spec, default, comment, choices, node.lineno))

    if problems:
        head = f"{where}: {len(problems)} problem{'s' if len(problems) > 1 else ''}:"
        raise NotebookTemplateError("\n".join([head, *(f"  - {p}" for p in problems)]))
    return ParameterSchema(source_name, cell_number, specs)


def _comments_by_line(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    return comments


def _parse_annotation(node: ast.expr) -> TypeSpec:
    """Annotation AST → TypeSpec; raises ValueError naming what is not supported."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "str | None" as text
        try:
            return _parse_annotation(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            raise ValueError(f"annotation {node.value!r} is not a type") from None
    if isinstance(node, ast.Constant) and node.value is None:
        return TypeSpec("none")
    if isinstance(node, ast.Name):
        if node.id in _SCALARS:
            return TypeSpec(node.id)  # type: ignore[arg-type]
        if node.id in {"list", "List"}:
            return TypeSpec("list", (_ANY,))
        if node.id in {"dict", "Dict"}:
            return TypeSpec("dict", (TypeSpec("str"), _ANY))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union(_parse_annotation(node.left), _parse_annotation(node.right))
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        outer = node.value.id
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = [_parse_annotation(a) for a in inner]
        if outer in {"list", "List"} and len(args) == 1:
            return TypeSpec("list", (args[0],))
        if outer in {"dict", "Dict"} and len(args) == 2:
            if args[0] != TypeSpec("str"):
                raise ValueError("dict keys must be str (JSON object keys are text)")
            return TypeSpec("dict", tuple(args))
        if outer == "Optional" and len(args) == 1:
            return _union(args[0], TypeSpec("none"))
    raise ValueError(f"type `{ast.unparse(node)}` is not supported")


def _union(*specs: TypeSpec) -> TypeSpec:
    flat: list[TypeSpec] = []
    for s in specs:
        for alt in s.args if s.kind == "union" else (s,):
            if alt not in flat:
                flat.append(alt)
    return flat[0] if len(flat) == 1 else TypeSpec("union", tuple(flat))


def _parse_choices(text: str, type_spec: TypeSpec) -> tuple[Any, ...]:
    kind = type_spec.scalar_kind()
    if kind is None:
        raise ValueError(
            f"`one of:` needs a str, int or float parameter (or a list of them), not {type_spec}"
        )
    choices: list[Any] = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        if kind == "str":
            choices.append(raw[1:-1] if len(raw) > 1 and raw[0] == raw[-1] and raw[0] in "'\"" else raw)
            continue
        try:
            value = _conform(ast.literal_eval(raw), TypeSpec(kind), "choice")  # type: ignore[arg-type]
        except (ValueError, SyntaxError, _Mismatch):
            raise ValueError(f"allowed value {raw!r} in `one of:` is not a {kind}") from None
        choices.append(value)
    if not choices:
        raise ValueError("`one of:` lists no values; write e.g. `# one of: zh, en`")
    return tuple(choices)


# --------------------------------------------------------------------------- validating


def validate_parameters(schema: ParameterSchema, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameter values against a template's schema; list every problem at once.

    Parameters
    ----------
    schema : ParameterSchema
        From :func:`read_parameter_schema`.
    params : mapping
        Parameter name → value, as a run manifest (YAML/JSON) or caller gives them.

    Returns
    -------
    dict
        The given parameters, checked and normalised (an ``int`` given for a
        ``float`` parameter becomes a ``float``). Parameters not given keep
        the template's defaults and are not included.

    Raises
    ------
    ParameterError
        Listing every problem: names that are not Python identifiers (papermill
        pastes names into code unescaped) in ``params`` or in the schema,
        unknown names (with close matches), values that are not JSON-like
        (``None``, bool, int, finite float, str, list, dict with str keys),
        wrong types (``"200"`` for an ``int``; ``True`` for an ``int``; ``12``
        for a ``str``) and values outside a ``# one of:`` list.
    """
    problems: list[str] = []
    for spec in schema:
        if not _is_safe_name(spec.name):
            problems.append(
                f"the template declares parameter {spec.name!r}, which is not a plain Python name; "
                f"rename it in the parameters cell."
            )
    known = schema.names
    out: dict[str, Any] = {}
    unknown = False
    for name, value in params.items():
        if not isinstance(name, str):
            problems.append(
                f"parameter name {name!r} ({type(name).__name__}) is not text; names are strings."
            )
            continue
        if not _is_safe_name(name):
            problems.append(
                f"parameter name {name!r} is not a plain Python name (letters, digits, _; not a keyword) "
                f"and is refused: papermill pastes names into the notebook's code unescaped."
            )
            continue
        if name not in schema:
            unknown = True
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            problems.append(f"unknown parameter {name!r}: the template does not declare it.{hint}")
            continue
        spec = schema[name]
        if (bad := _json_problem(value)) is not None:
            problems.append(f"parameter {name!r} {bad}.")
            continue
        try:
            value = _conform(value, spec.type, name)
        except _Mismatch as mm:
            problems.append(f"{mm.describe()}.{mm.hint()}")
            continue
        if spec.choices is not None and (bad := _choice_problem(name, value, spec.choices)) is not None:
            problems.append(bad)
            continue
        out[name] = value

    if problems:
        lines = [
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} with the parameters for "
            f"{schema.source} (nothing was run):",
            *(f"  - {p}" for p in problems),
        ]
        if unknown:
            lines.append(f"The template declares:\n{_indent(schema.describe())}")
        raise ParameterError("\n".join(lines))
    return out


def _is_safe_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _json_problem(value: Any, path: str = "") -> str | None:
    """Why ``value`` is not JSON-like, or None. Exact types only (no numpy scalars, tuples)."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return (
            None if math.isfinite(value) else f"holds {value!r}{_at(path)}; only finite numbers are allowed"
        )
    if isinstance(value, list):
        for i, v in enumerate(value):
            if (bad := _json_problem(v, f"{path}[{i}]")) is not None:
                return bad
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"has the key {k!r} ({type(k).__name__}){_at(path)}; dict keys must be text"
            if (bad := _json_problem(v, f"{path}[{k!r}]")) is not None:
                return bad
        return None
    kind = type(value).__name__
    hint = " (use a list)" if isinstance(value, tuple | set) else " (convert it with int(), float() or str())"
    return f"holds {value!r} of type {kind}{_at(path)}, which is not JSON-like{hint}"


def _at(path: str) -> str:
    return f" at {path}" if path else ""


class _Mismatch(Exception):
    """A value does not fit a TypeSpec; ``path`` locates it inside the parameter."""

    def __init__(self, path: str, value: Any, expected: TypeSpec):
        super().__init__(path)
        self.path, self.value, self.expected = path, value, expected

    def describe(self) -> str:
        where = f"parameter {self.path!r}" if "[" not in self.path else f"parameter {self.path}"
        return f"{where} expects {self.expected} but got {_show(self.value)}"

    def hint(self) -> str:
        expected = (
            {a.kind for a in self.expected.args} if self.expected.kind == "union" else {self.expected.kind}
        )
        v = self.value
        if "str" in expected and isinstance(v, int | float) and not isinstance(v, bool):
            return (
                ' Ids and codes are text: quote them (write "0012", not 0012 — YAML and JSON read an '
                "unquoted 0012 as the number 12 and its leading zeros are lost)."
            )
        if isinstance(v, str) and expected & {"int", "float"}:
            numeric = re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", v.strip())
            example = f" ({v.strip()})" if numeric else ""
            return f" Pass a number without quotes{example}, not text; papermill would pass the text on."
        if isinstance(v, bool) and expected & {"int", "float"}:
            return " True/False are not numbers here."
        return ""


def _show(value: Any) -> str:
    kind = type(value).__name__
    if isinstance(value, str):
        return f"the text {value!r} (str)"
    if value is None:
        return "None"
    return f"{value!r} ({kind})"


def _conform(value: Any, spec: TypeSpec, path: str) -> Any:
    """``value`` fitted to ``spec`` (int → float where float is declared), or raise _Mismatch."""
    kind = spec.kind
    if kind == "any":
        return value
    if kind == "union":
        failures: list[_Mismatch] = []
        for alt in spec.args:
            try:
                return _conform(value, alt, path)
            except _Mismatch as mm:
                failures.append(mm)
        deeper = [f for f in failures if f.path != path]  # e.g. list[str] | None given [12]
        if len(deeper) == 1:
            raise deeper[0]
        raise _Mismatch(path, value, spec)
    if kind == "none" and value is None:
        return None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "list" and isinstance(value, list):
        return [_conform(v, spec.args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "dict" and isinstance(value, dict):
        return {k: _conform(v, spec.args[1], f"{path}[{k!r}]") for k, v in value.items()}
    raise _Mismatch(path, value, spec)


def _choice_problem(name: str, value: Any, choices: tuple[Any, ...]) -> str | None:
    items = value if isinstance(value, list) else [value]
    bad = [v for v in items if v is not None and v not in choices]
    if not bad:
        return None
    allowed = ", ".join(repr(c) for c in choices)
    found = ", ".join(repr(v) for v in bad)
    close = [
        m
        for v in bad
        if isinstance(v, str)
        for m in difflib.get_close_matches(v, [str(c) for c in choices], n=1)
    ]
    hint = f" Did you mean {' / '.join(repr(c) for c in close)}?" if close else ""
    return f"parameter {name!r} got {found}, but the template allows only: {allowed}.{hint}"
