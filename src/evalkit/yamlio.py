"""Read YAML config files keeping line numbers and the user's exact text.

PyYAML follows YAML 1.1, where ``0012`` is the octal number 10, ``yes`` is
``True`` and ``2021-03-01`` silently becomes a date. A study config holds
community codes such as ``0012`` that must stay strings, so this module
composes the node tree without implicit typing: every scalar is kept as the
text the user wrote, with its line, and is converted only where the schema
asks for a type (:meth:`Node.as_int`, :meth:`Node.as_date` …). Every
conversion error names the file, the line, the key path and the fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from attrs import frozen

from evalkit.errors import ConfigError
from evalkit.privacy import ID_NUMBER_RE, MOBILE_RE

__all__ = ["Node", "load_yaml", "parse_yaml"]

_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "是"}
_FALSE = {"false", "False", "FALSE", "no", "No", "否"}


@frozen
class Node:
    """A YAML value with where it came from. ``value`` is str, None, list[Node] or dict[str, Node]."""

    value: Any
    file: str
    line: int  # 1-based, as an editor shows it
    path: str  # e.g. "pilots[2].start"
    error_class: type[Exception] = ConfigError

    # ---- errors -----------------------------------------------------------------
    def where(self) -> str:
        return f"{self.file}, line {self.line}, key '{self.path}'"

    def error(self, what: str, fix: str = "") -> Exception:
        msg = f"{self.where()}: {what}" + (f". {fix}" if fix else "")
        return self.error_class(msg)

    # ---- structure --------------------------------------------------------------
    @property
    def is_null(self) -> bool:
        return self.value is None

    def as_mapping(self) -> dict[str, Node]:
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping (key: value lines), found {self._kind()}")
        return self.value

    def as_list(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"expected a list (lines starting with '- '), found {self._kind()}")
        return self.value

    def get(self, key: str) -> Node | None:
        return self.as_mapping().get(key)

    def require(self, key: str, hint: str = "") -> Node:
        node = self.get(key)
        if node is None:
            msg = f"{self.file}, line {self.line}: required key '{self._child(key)}' is missing"
            raise self.error_class(msg + (f". {hint}" if hint else ""))
        return node

    def check_keys(self, allowed: set[str]) -> None:
        """Refuse unknown keys (typos such as ``outcome:`` for ``outcomes:``)."""
        for key, child in self.as_mapping().items():
            if key not in allowed:
                raise child.error(
                    f"unknown key '{key}'",
                    f"Allowed keys here: {', '.join(sorted(allowed))}",
                )

    def items(self) -> Iterator[tuple[str, Node]]:
        return iter(self.as_mapping().items())

    # ---- scalars ----------------------------------------------------------------
    def as_str(self) -> str:
        if not isinstance(self.value, str):
            raise self.error(f"expected a single value, found {self._kind()}")
        return self.value

    def as_opt_str(self) -> str | None:
        return None if self.is_null else self.as_str()

    def as_int(self) -> int:
        text = self.as_str()
        try:
            return int(text.replace("_", ""), 10)
        except ValueError:
            raise self.error(f"expected a whole number, found '{text}'") from None

    def as_float(self) -> float:
        text = self.as_str()
        try:
            return float(text)
        except ValueError:
            raise self.error(f"expected a number, found '{text}'") from None

    def as_bool(self) -> bool:
        text = self.as_str()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.error(f"expected true or false, found '{text}'")

    def as_date(self) -> dt.date:
        text = self.as_str()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(
                f"'{text}' is not a valid date",
                "Write dates as YYYY-MM-DD, for example 2021-03-01",
            ) from None

    def as_str_list(self) -> list[str]:
        if isinstance(self.value, str):
            return [self.value]
        return [n.as_str() for n in self.as_list()]

    def to_python(self) -> Any:
        """Plain python (str / None / list / dict), e.g. to record in a manifest."""
        if isinstance(self.value, dict):
            return {k: v.to_python() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.to_python() for v in self.value]
        return self.value

    # ---- helpers ----------------------------------------------------------------
    def _child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _kind(self) -> str:
        if self.value is None:
            return "nothing"
        if isinstance(self.value, dict):
            return "a mapping"
        if isinstance(self.value, list):
            return "a list"
        text = str(self.value)
        # never echo a long value (a data file passed as the config) or anything personal
        if len(text) > 40 or "\n" in text or ID_NUMBER_RE.search(text) or MOBILE_RE.search(text):
            return f"a text of {len(text)} characters (not shown)"
        return f"'{text}'"


def parse_yaml(text: str, file: str, error_class: type[Exception] = ConfigError) -> Node:
    """Parse YAML text into a :class:`Node` tree (scalars kept as text)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{file}{where}: not valid YAML ({problem}). Check indentation and quoting there."
        raise error_class(msg) from None
    if root is None:
        msg = f"{file}: the file is empty"
        raise error_class(msg)
    return _convert(root, file, "", error_class)


def load_yaml(path: str | Path, error_class: type[Exception] = ConfigError) -> Node:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        msg = f"{path}: file not found"
        raise error_class(msg) from None
    except UnicodeDecodeError:
        msg = f"{path}: not UTF-8 text. Save the file as UTF-8 (in WPS/Notepad: 另存为 → 编码 UTF-8)."
        raise error_class(msg) from None
    return parse_yaml(text, str(path), error_class)


def _convert(node: yaml.Node, file: str, path: str, error_class: type[Exception]) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                msg = f"{file}, line {key_node.start_mark.line + 1}: keys must be plain text"
                raise error_class(msg)
            key = key_node.value
            child_path = f"{path}.{key}" if path else key
            if key in out:
                msg = f"{file}, line {key_node.start_mark.line + 1}: key '{child_path}' appears twice"
                raise error_class(msg + "; delete one of them")
            out[key] = _convert(value_node, file, child_path, error_class)
        return Node(out, file, line, path, error_class)
    if isinstance(node, yaml.SequenceNode):
        items = [
            _convert(v, file, f"{path}[{i}]", error_class) for i, v in enumerate(node.value)
        ]
        return Node(items, file, line, path, error_class)
    value = node.value
    if node.style is None and value in _NULLS:  # plain (unquoted) null
        value = None
    return Node(value, file, line, path, error_class)
