"""Numbers no device or person can produce never become numbers in a record.

Every number of a record is checked where the record is assembled: a non-finite
value (NaN, infinity: a DS ``"NaN"``, ``"1e309"``, an IEEE NaN in an FD) is
refused in every field, and a value outside the field's plausible bounds in the
quantity table (:mod:`kerma.quantities`: a negative dose, a 3,200 kg patient) is refused
too.  A refused number becomes ``None`` (absent) and a warning names the field,
the value and the reason; the caller decides whether what is left is still a
dose record (:func:`has_dose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import quantities
from ..quantities import Quantity


@dataclass(frozen=True, slots=True)
class Refusal:
    field: str
    value: float
    reason: str
    dose: bool

    def __str__(self) -> str:
        return f"{self.field} {self.value:g} refused: {self.reason}"


def bounds() -> dict[str, Quantity]:
    """The quantities with plausible bounds, by field name."""
    return quantities.plausible_ranges()


def dose_fields() -> frozenset[str]:
    """The fields that make an object's dose content."""
    return quantities.dose_keys()


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


def _screen(node: dict | list, table: dict[str, Quantity], out: list[Refusal], name: str = "") -> None:
    entries = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in entries:
        kind = type(value)
        if kind is float or kind is int:  # bool is neither
            field = key if isinstance(key, str) else name
            reason = _fault(value, kind, table.get(field))
            if reason is not None:
                node[key] = None
                quantity = table.get(field)
                out.append(Refusal(field, value, reason, quantity is not None and quantity.is_dose))
        elif kind is dict or kind is list:
            _screen(value, table, out, key if isinstance(key, str) else name)


def _fault(value: float, kind: type, quantity: Quantity | None) -> str | None:
    if kind is float and not math.isfinite(value):  # an int is finite (and may be too large for isfinite)
        return "not a finite number"
    if quantity is None:
        return None
    bound = quantity.plausible
    if bound.low is not None and value < bound.low:
        return f"below the plausible minimum {bound.low:g} {quantity.unit} ({bound.reason})"
    if bound.high is not None and value > bound.high:
        return f"above the plausible maximum {bound.high:g} {quantity.unit} ({bound.reason})"
    return None
