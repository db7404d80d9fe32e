"""Numbers no device or person can produce never become numbers in a record.

Every number of a record is checked where the record is assembled: a non-finite
value (NaN, infinity: a DS ``"NaN"``, ``"1e309"``, an IEEE NaN in an FD) is
refused in every field, and a value outside the field's bounds in
``data/plausible_ranges.csv`` (a negative dose, a 3,200 kg patient) is refused
too.  A refused number becomes ``None`` (absent) and a warning names the field,
the value and the reason; the caller decides whether what is left is still a
dose record (:func:`has_dose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from .concepts import _rows as table_rows


@dataclass(frozen=True, slots=True)
class Bound:
    """One row of ``plausible_ranges.csv``: the values a record field may hold, and why."""

    field: str
    unit: str
    low: float | None
    high: float | None
    kind: str  # "dose" marks the object's dose content; the other kinds describe the field
    why: str


@dataclass(frozen=True, slots=True)
class Refusal:
    field: str
    value: float
    reason: str
    dose: bool

    def __str__(self) -> str:
        return f"{self.field} {self.value:g} refused: {self.reason}"


@lru_cache(maxsize=1)
def bounds() -> dict[str, Bound]:
    rows = {r["field"]: r for r in table_rows("plausible_ranges.csv")}

    def number(text: str) -> float | None:
        return float(text) if text else None

    def why(row: dict) -> str:  # "as ctdivol_mGy": that row's reason
        other = rows.get(row["why"][3:]) if row["why"].startswith("as ") else None
        return other["why"] if other else row["why"]

    return {
        name: Bound(name, r["unit"], number(r["min"]), number(r["max"]), r["kind"], why(r)) for name, r in rows.items()
    }


@lru_cache(maxsize=1)
def dose_fields() -> frozenset[str]:
    return frozenset(name for name, bound in bounds().items() if bound.kind == "dose")


def screen(node: dict | list, warnings: list[str]) -> list[Refusal]:
    """Set every implausible number in ``node`` (walked whole: dicts, lists) to ``None``; one warning each."""
    refusals: list[Refusal] = []
    _screen(node, bounds(), refusals)
    warnings.extend(str(r) for r in refusals)
    return refusals


def has_dose(node: dict | list) -> bool:
    """Does ``node`` (walked whole) hold a value of a dose field?"""
    if isinstance(node, dict):
        doses = dose_fields()
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                if has_dose(value):
                    return True
            elif value is not None and key in doses:
                return True
        return False
    return any(has_dose(item) for item in node if isinstance(item, (dict, list)))


def _screen(node: dict | list, table: dict[str, Bound], out: list[Refusal], name: str = "") -> None:
    entries = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in entries:
        kind = type(value)
        if kind is float or kind is int:  # bool is neither
            field = key if isinstance(key, str) else name
            reason = _fault(value, kind, table.get(field))
            if reason is not None:
                node[key] = None
                bound = table.get(field)
                out.append(Refusal(field, value, reason, bound is not None and bound.kind == "dose"))
        elif kind is dict or kind is list:
            _screen(value, table, out, key if isinstance(key, str) else name)


def _fault(value: float, kind: type, bound: Bound | None) -> str | None:
    if kind is float and not math.isfinite(value):  # an int is finite (and may be too large for isfinite)
        return "not a finite number"
    if bound is None:
        return None
    if bound.low is not None and value < bound.low:
        return f"below the plausible minimum {bound.low:g} {bound.unit} ({bound.why})"
    if bound.high is not None and value > bound.high:
        return f"above the plausible maximum {bound.high:g} {bound.unit} ({bound.why})"
    return None
