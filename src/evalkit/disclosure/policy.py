"""The disclosure policy, the reason codes, and the suppression register.

One frozen :class:`DisclosurePolicy` states every threshold a published table
obeys; :meth:`DisclosurePolicy.to_manifest` is what the run's manifest records
(including any override of the floor of 5). Reason codes are an enum of short
English strings; ``reporting`` turns them into zh/en words.

The :class:`SuppressionRegister` keys a cell by the *population* it describes
(``{"community_id": "C03", "wave": "2024"}``), not by the table it appears in,
so a cell suppressed in one table or wave is suppressed in every other table
that shows the same population, and the register can be saved between runs.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from attrs import field, frozen

from evalkit.errors import DisclosureError

__all__ = [
    "DisclosurePolicy",
    "SuppressionReason",
    "SuppressionRegister",
    "CellKey",
    "cell_key",
    "SENSITIVE_ATTRIBUTES",
    "ABSOLUTE_FLOOR",
]

#: below this many contributors no cell is published unless an override is recorded
ABSOLUTE_FLOOR = 5

#: attribute families whose 0 % / 100 % shares are flagged (低保, disability, health, minors)
SENSITIVE_ATTRIBUTES: tuple[str, ...] = ("dibao", "disability", "health", "minor")

#: a cell's identity: sorted (dimension, level) pairs; the empty tuple is the grand total
CellKey = tuple[tuple[str, str], ...]


class SuppressionReason(enum.StrEnum):
    """Why a published cell is hidden or flagged (reporting renders these)."""

    SMALL_COUNT = "small_count"  # fewer contributors than min_count (primary)
    DOMINANCE = "dominance"  # top contributors hold too large a share of a money/hours total (primary)
    SECONDARY = "secondary"  # hidden so a primary cell cannot be recomputed from margins
    REGISTER = "register"  # hidden because the same population is hidden elsewhere (another table or wave)
    DERIVED = "derived"  # a share or mean resting on a hidden count
    SENSITIVE_EXTREME = "sensitive_extreme"  # 0 % or 100 % on a sensitive attribute
    EXTREME_STATISTIC = "extreme_statistic"  # a minimum, maximum or tail percentile of individuals


def cell_key(levels: Mapping[str, Any]) -> CellKey:
    """The register key of a population cell; dimensions at their total are left out."""
    return tuple(sorted((str(k), str(v)) for k, v in levels.items() if v is not None))


def _check_policy(p: DisclosurePolicy) -> None:
    if p.min_count < 1:
        msg = f"DisclosurePolicy: min_count={p.min_count} is not a count; use an integer of at least {ABSOLUTE_FLOOR}."
        raise DisclosureError(msg)
    if p.min_count < ABSOLUTE_FLOOR and not (p.floor_override_reason or "").strip():
        msg = (f"DisclosurePolicy: min_count={p.min_count} is below the floor of {ABSOLUTE_FLOOR} contributors "
               f"per published cell. Keep min_count >= {ABSOLUTE_FLOOR}, or state why in "
               "floor_override_reason (it is recorded in the run manifest).")
        raise DisclosureError(msg)
    if not 0.5 < p.dominance_share <= 1.0:
        msg = f"DisclosurePolicy: dominance_share={p.dominance_share} must lie in (0.5, 1]; the default is 0.85."
        raise DisclosureError(msg)
    if p.dominance_top < 1:
        msg = f"DisclosurePolicy: dominance_top={p.dominance_top} must be at least 1; the default is 2."
        raise DisclosureError(msg)
    if p.secondary not in ("milp", "none"):
        msg = f"DisclosurePolicy: secondary={p.secondary!r} is not allowed; use 'milp' or 'none'."
        raise DisclosureError(msg)
    if p.sensitive_extremes not in ("flag", "suppress"):
        msg = f"DisclosurePolicy: sensitive_extremes={p.sensitive_extremes!r} is not allowed; use 'flag' or 'suppress'."
        raise DisclosureError(msg)


@frozen(kw_only=True)
class DisclosurePolicy:
    """Thresholds every published cell over a group obeys.

    Parameters
    ----------
    min_count
        Fewest contributors (respondents, households, service users) a published
        count, share, mean, scale score or model cell may rest on. Default 10.
    floor_override_reason
        Required when ``min_count`` is below 5; recorded in the manifest.
    dominance_top, dominance_share
        The (n, k) dominance rule for money and hours: a total is primary-suppressed
        when its ``dominance_top`` largest contributions exceed ``dominance_share``
        of it (default: top 2 above 85 %).
    secondary
        ``"milp"``: secondary suppression by an exact integer program (see
        :mod:`evalkit.disclosure.secondary`); ``"none"`` only when no margin or
        total of the table is published anywhere.
    sensitive_extremes
        What to do with a 0 % / 100 % share of a sensitive attribute: ``"flag"``
        (keep the value, add a flag) or ``"suppress"``.
    sensitive_attributes
        Substrings of column names that mark a sensitive attribute.
    milp_time_limit
        Seconds the secondary-suppression solver may use per table.
    """

    min_count: int = field(default=10)
    floor_override_reason: str | None = field(default=None)
    dominance_top: int = field(default=2)
    dominance_share: float = field(default=0.85)
    secondary: Literal["milp", "none"] = field(default="milp")
    sensitive_extremes: Literal["flag", "suppress"] = field(default="flag")
    sensitive_attributes: tuple[str, ...] = field(default=SENSITIVE_ATTRIBUTES, converter=tuple)
    milp_time_limit: float = 20.0

    def __attrs_post_init__(self) -> None:
        _check_policy(self)

    @property
    def floor_overridden(self) -> bool:
        """True when ``min_count`` is below the floor of 5 (allowed only with a recorded reason)."""
        return self.min_count < ABSOLUTE_FLOOR

    def is_sensitive(self, column: str) -> bool:
        name = column.lower()
        return any(tag in name for tag in self.sensitive_attributes)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> DisclosurePolicy:
        """The policy from a study config's ``disclosure:`` section (unknown keys are refused)."""
        d = dict(d or {})
        known = {"min_count", "floor_override_reason", "dominance_top", "dominance_share", "secondary",
                 "sensitive_extremes", "sensitive_attributes", "milp_time_limit"}
        unknown = sorted(set(d) - known)
        if unknown:
            msg = (f"disclosure: unknown key(s) {', '.join(map(repr, unknown))}; "
                   f"allowed: {', '.join(sorted(known))}.")
            raise DisclosureError(msg)
        return cls(**d)

    def to_manifest(self) -> dict[str, Any]:
        """The policy as the run manifest records it (JSON-safe)."""
        return {
            "min_count": self.min_count,
            "floor": ABSOLUTE_FLOOR,
            "floor_overridden": self.floor_overridden,
            "floor_override_reason": self.floor_override_reason,
            "dominance_top": self.dominance_top,
            "dominance_share": self.dominance_share,
            "secondary": self.secondary,
            "sensitive_extremes": self.sensitive_extremes,
            "sensitive_attributes": list(self.sensitive_attributes),
        }


@frozen
class SuppressionRegister:
    """Cells hidden so far, keyed by population; immutable (``with_cells`` returns a new one).

    Save it next to the study (``save``) and load it for the next wave's run
    (``load``), so a community-wave hidden this year stays hidden next year.
    """

    cells: frozenset[CellKey] = field(factory=frozenset, converter=frozenset)

    def __contains__(self, key: object) -> bool:
        return key in self.cells

    def __len__(self) -> int:
        return len(self.cells)

    def with_cells(self, keys: Iterable[CellKey]) -> SuppressionRegister:
        return SuppressionRegister(self.cells | frozenset(keys))

    def to_dict(self) -> dict[str, Any]:
        return {"cells": sorted([dict(k) for k in self.cells], key=lambda d: sorted(d.items()))}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SuppressionRegister:
        return cls(frozenset(cell_key(c) for c in d.get("cells", [])))

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SuppressionRegister:
        source = Path(path)
        if not source.exists():
            return cls()
        return cls.from_dict(json.loads(source.read_text(encoding="utf-8")))
