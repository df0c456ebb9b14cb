"""The common shape of every evalkit result.

Every estimator and measurement function returns a frozen ``attrs`` class that
subclasses :class:`Result` and so offers the same five members:

* ``summary(decimals=3, lang="zh")`` – readable text (also ``__str__``);
* ``to_frame()`` – a copy of the canonical tidy frame (``estimates``);
* ``to_dict()`` – JSON-safe (``json.dumps`` passes), for ``results.json``;
* ``from_dict(d)`` – rebuilds the result from ``to_dict()``;
* ``_repr_html_()`` – the HTML table JupyterLab shows;
* ``plot(ax=None)`` – draws onto an Axes and returns it; never ``plt.show()``.

Numbers are stored at full precision; rounding and language are arguments of
``summary`` and of ``evalkit.reporting``, never of the computation.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

__all__ = ["Provenance", "Result", "frame_to_records", "frame_from_records", "json_safe"]


@frozen
class Provenance:
    """Where a result came from."""

    evalkit_version: str = ""
    input_sha256: str | None = None
    seed: int | None = None
    created: str = field(factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @classmethod
    def current(cls, *, seed: int | None = None, input_sha256: str | None = None) -> Provenance:
        from evalkit._version import __version__

        return cls(evalkit_version=__version__, seed=seed, input_sha256=input_sha256)

    def to_dict(self) -> dict[str, Any]:
        return {
            "evalkit_version": self.evalkit_version,
            "input_sha256": self.input_sha256,
            "seed": self.seed,
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Provenance:
        return cls(**d)


def json_safe(value: Any) -> Any:
    """Convert numpy / pandas scalars and NaN into JSON-safe python values (NaN → None); a DataFrame
    becomes its records (:func:`frame_to_records`)."""
    if isinstance(value, pd.DataFrame):
        return frame_to_records(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT or value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp | dt.date | dt.datetime):
        return value.isoformat()
    return value


def frame_to_records(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as ``{"columns": [...], "dtypes": [...], "data": [[...], ...]}`` (JSON-safe)."""
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": [json_safe(list(row)) for row in frame.itertuples(index=False, name=None)],
    }


def frame_from_records(d: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(d["data"], columns=d["columns"])
    for col, dtype in zip(d["columns"], d["dtypes"], strict=True):
        if dtype.startswith(("float", "int")):
            frame[col] = pd.to_numeric(frame[col]).astype("float64" if dtype.startswith("float") else dtype)
    return frame


@frozen(eq=False)
class Result:
    """Base class: subclasses add fields and override ``summary`` / ``plot``.

    Subclasses must set ``kind`` (a registry key used by :meth:`from_dict`) and
    keep their canonical table in ``estimates``.
    """

    kind: ClassVar[str] = "result"
    _registry: ClassVar[dict[str, type[Result]]] = {}

    estimates: pd.DataFrame
    provenance: Provenance = field(factory=Provenance)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            other = Result._registry.get(cls.kind)
            if other is not None and other.__qualname__ != cls.__qualname__:  # two classes, one key
                msg = f"Result kind {cls.kind!r} is taken by {other.__module__}.{other.__qualname__}"
                raise TypeError(msg)
            Result._registry[cls.kind] = cls

    # ---- the contract ---------------------------------------------------------------
    def title(self, lang: str = "zh") -> str:
        return self.kind

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        body = self.estimates.round(decimals).to_string(index=False)
        return f"{self.title(lang)}\n{body}"

    def __str__(self) -> str:
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.copy()

    def _extra_to_dict(self) -> dict[str, Any]:
        """Subclass fields other than ``estimates`` and ``provenance`` (JSON-safe)."""
        return {}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        d = {
            "kind": self.kind,
            "estimates": frame_to_records(self.estimates),
            "provenance": self.provenance.to_dict(),
            **json_safe(self._extra_to_dict()),
        }
        json.dumps(d)  # fail here, not in a report writer, if something is not JSON-safe
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        target = Result._registry.get(d["kind"], cls)
        return target(
            estimates=frame_from_records(d["estimates"]),
            provenance=Provenance.from_dict(d["provenance"]),
            **target._extra_from_dict(d),
        )

    def _repr_html_(self) -> str:
        return (
            f"<div class='evalkit-result'><strong>{html.escape(self.title())}</strong>"
            f"{self.estimates.to_html(index=False, float_format=lambda x: f'{x:.3f}')}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        msg = f"{type(self).__name__} has no default plot"
        raise NotImplementedError(msg)
