"""The doses that may be entered by hand, their units and their usual values (``data/manual_quantities.csv``).

Two screens, both from data: a value beyond the bounds no device can reach (the plausible bounds of the quantity
table, :mod:`kerma.quantities`, as the extractor screens them: :mod:`kerma.extract.plausible`) is refused; a value
outside the usual range of real examinations (a unit mistyped) is kept only when the person entering it confirms it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import quantities as vocabulary
from ..extract import plausible
from ..extract.units import UnitError, convert

TABLE = Path(__file__).with_name("data") / "manual_quantities.csv"
REPORT, EXPOSURE = vocabulary.REPORT, vocabulary.EXPOSURE  # a record's totals, one irradiation event


class EntryRefused(ValueError):
    """A value that cannot be a dose of this quantity (unit of another dimension, non-finite, impossible)."""


@dataclass(frozen=True, slots=True)
class ManualQuantity:
    """One row of ``manual_quantities.csv`` with its quantity.

    Attributes
    ----------
    quantity : kerma.quantities.Quantity
        The quantity (key, label, unit, level ``report`` or ``exposure``, dose families, plausible bounds).
    units : tuple of str
        The UCUM units the form offers, the quantity's own first.
    usual_min, usual_max, usual_reason
        The range of real examinations, in the quantity's unit, and where it comes from.
    """

    quantity: vocabulary.Quantity
    units: tuple[str, ...]
    usual_min: float
    usual_max: float
    usual_reason: str

    key = property(lambda self: self.quantity.key)
    level = property(lambda self: self.quantity.level)  # REPORT: the record's totals; EXPOSURE: one event
    families = property(lambda self: self.quantity.families)
    label = property(lambda self: self.quantity.label)
    unit = property(lambda self: self.quantity.unit)

    def in_unit(self, value: float, unit: str) -> float:
        """``value`` given in UCUM ``unit`` expressed in this quantity's unit; raises :class:`EntryRefused`."""
        try:
            converted = convert(value, unit, self.unit)
        except UnitError as exc:
            raise EntryRefused(f"unit {unit!r} is not a unit of {self.label} ({self.unit}): {exc}") from None
        warnings: list[str] = []
        if plausible.screen({self.key: converted}, warnings):  # non-finite, or beyond what any device reaches
            raise EntryRefused(warnings[0])
        return converted

    def is_usual(self, value: float) -> bool:
        return self.usual_min <= value <= self.usual_max

    def outlier(self, value: float) -> str:
        """Why ``value`` (in :attr:`unit`) needs a confirmation."""
        side = "below" if value < self.usual_min else "above"
        return (f"{self.label} {value:g} {self.unit} is {side} the usual range {self.usual_min:g}-{self.usual_max:g} "
                f"{self.unit} ({self.usual_reason})")

    def as_json(self) -> dict:
        return {"key": self.key, "level": self.level, "families": list(self.families), "label": self.label,
                "unit": self.unit, "unit_display": self.quantity.unit_display, "units": list(self.units),
                "usual": {"min": self.usual_min, "max": self.usual_max, "reason": self.usual_reason}}


@lru_cache(maxsize=1)
def table() -> dict[str, ManualQuantity]:
    """Every quantity that may be entered by hand, by key, in the table's order."""
    with open(TABLE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    out = {}
    for row in rows:
        key = row["key"]
        quantity = vocabulary.get(key)
        if quantity is None or quantity.level not in (REPORT, EXPOSURE) or not quantity.families:
            raise ValueError(f"{TABLE.name}: {key} is not a report or exposure quantity of given families")
        units = tuple(u for u in row["units"].split(";") if u)
        if not units or units[0] != quantity.unit:
            raise ValueError(f"{TABLE.name}: {key}: the first unit must be the quantity's own, {quantity.unit}")
        for unit in units:
            convert(1.0, unit, units[0])  # raises UnitError for a unit the form could not convert
        if any(plausible.screen({key: float(row[end])}, []) for end in ("usual_min", "usual_max")):
            raise ValueError(f"{TABLE.name}: {key}: the usual range must lie within the plausible bounds")
        reason = row["usual_reason"]
        if reason.startswith("as ") and reason[3:] in out:
            reason = out[reason[3:]].usual_reason
        out[key] = ManualQuantity(quantity=quantity, units=units, usual_min=float(row["usual_min"]),
                                  usual_max=float(row["usual_max"]), usual_reason=reason)
    return out
