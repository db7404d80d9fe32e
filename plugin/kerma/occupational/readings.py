"""A report's rows read through a mapping: one reading per person, monitoring period and dosimeter position, in mSv,
or the row refused with its reason.

A row is refused whole (its other cells are not read into half a record) when a cell of it cannot be trusted: no
person, a period that cannot be read, ends before it starts, lasts more than a year or has not ended yet, a dose that
is not a finite number, negative or beyond any routine reading, a unit or position the mapping does not know, or a
reading the file already gave (the same person, position and an overlapping period).  Pure: no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import values, vocabulary
from .mapping import Mapping
from .report_file import ReportFile

LONGEST_PERIOD_DAYS = 366
SHOWN_VALUE = 100  # characters of a refused cell kept in the answer


@dataclass(frozen=True)
class Reading:
    """One dosimeter's reading as the report gives it (doses in mSv)."""

    row: int
    staff_id: str
    name: str | None
    department: str | None
    dosimeter_id: str | None
    period_start: dt.date
    period_end: dt.date
    position: str
    doses: dict[str, float | None]  # every reading quantity: mSv, or None (not measured, or below the level)
    below_level: dict[str, float | None] = field(default_factory=dict)  # quantity → recording level in mSv (None: not given)

    def as_json(self) -> dict:
        return {"row": self.row, "staff_id": self.staff_id, "name": self.name, "department": self.department,
                "dosimeter_id": self.dosimeter_id, "period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "position": self.position, **self.doses,
                "below_level": self.below_level or None}


@dataclass(frozen=True)
class Refusal:
    row: int
    column: str | None
    value: str | None
    reason: str

    def as_json(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class Parsed:
    row_count: int
    readings: list[Reading]
    refused: list[Refusal]


class _Refused(Exception):
    def __init__(self, column: str | None, value: str | None, reason: str):
        super().__init__(reason)
        self.refusal = (column, None if value is None else value[:SHOWN_VALUE], reason)


def parse_rows(report: ReportFile, mapping: Mapping, today: dt.date) -> Parsed:
    """Every record of ``report`` below its header as readings, or refused (see the module's description).

    ``mapping`` must have no :meth:`Mapping.problems` for the report's header; ``today`` is the clock's date (a
    period that ends after it is refused).
    """
    index = {name: i for i, name in enumerate(report.header)}
    records = report.records()
    readings: list[Reading] = []
    refused: list[Refusal] = []
    seen: dict[tuple[str, str], list[tuple[dt.date, dt.date, int]]] = {}
    for row, cells in records:
        def cell(column: str) -> str:
            i = index[column]
            return cells[i] if i < len(cells) else ""
        try:
            found = _row(row, cell, mapping, today)
            for reading in found:
                earlier = _overlapping(seen.get((reading.staff_id, reading.position), []), reading)
                if earlier is not None:
                    raise _Refused(None, None, f"the same person and position as row {earlier} for an overlapping "
                                               f"period: the report gives this reading twice")
            for reading in found:
                seen.setdefault((reading.staff_id, reading.position), []).append(
                    (reading.period_start, reading.period_end, row))
            readings += found
        except _Refused as exc:
            refused.append(Refusal(row, *exc.refusal))
    return Parsed(len(records), readings, refused)


def _overlapping(periods: list[tuple[dt.date, dt.date, int]], reading: Reading) -> int | None:
    for start, end, row in periods:
        if start <= reading.period_end and reading.period_start <= end:
            return row
    return None


def _row(row: int, cell, mapping: Mapping, today: dt.date) -> list[Reading]:
    staff_column = mapping.column("staff_id")
    staff_id = cell(staff_column).strip()
    if not staff_id:
        raise _Refused(staff_column, "", "no staff identifier: whose reading is it?")
    name = " ".join(part for part in (cell(c).strip() for c in mapping.columns.get("name", [])) if part) or None
    department = _optional(cell, mapping, "department")
    dosimeter_id = _optional(cell, mapping, "dosimeter_id")
    start, end = _period(cell, mapping, today)
    row_position = _row_position(cell, mapping)
    row_unit = _row_unit(cell, mapping)
    by_position: dict[str, tuple[dict, dict]] = {}
    for dose_column in mapping.doses:
        position = dose_column.position or row_position
        unit = dose_column.unit or row_unit
        raw = cell(dose_column.column)
        try:
            dose = values.dose(raw, mapping.decimal, vocabulary.units()[unit], dose_column.quantity)
        except values.CellError as exc:
            raise _Refused(dose_column.column, raw, str(exc)) from None
        if dose.absent:
            continue
        doses, below = by_position.setdefault(position, ({q: None for q in vocabulary.READING_QUANTITIES}, {}))
        doses[dose_column.quantity] = dose.value
        if dose.below:
            below[dose_column.quantity] = dose.level
    if not by_position:
        raise _Refused(None, None, "no dose value in the row")
    return [Reading(row, staff_id, name, department, dosimeter_id, start, end, position, doses, below)
            for position, (doses, below) in by_position.items()]


def _optional(cell, mapping: Mapping, name: str) -> str | None:
    column = mapping.column(name)
    return (cell(column).strip() or None) if column else None


def _period(cell, mapping: Mapping, today: dt.date) -> tuple[dt.date, dt.date]:
    try:
        if mapping.column("period"):
            column = mapping.column("period")
            raw = cell(column)
            start, end = values.period(raw, mapping.date_format)
        else:
            column = mapping.column("period_start")
            raw = cell(column)
            start = values.date(raw, mapping.date_format)
            column = mapping.column("period_end")
            raw = cell(column)
            end = values.date(raw, mapping.date_format)
    except values.CellError as exc:
        raise _Refused(column, raw, str(exc)) from None
    shown = f"{start.isoformat()} to {end.isoformat()}"
    if end < start:
        raise _Refused(column, raw, f"the period {shown} ends before it starts")
    if (end - start).days >= LONGEST_PERIOD_DAYS:
        raise _Refused(column, raw, f"the period {shown} is longer than a year: not one monitoring period")
    if end > today:
        raise _Refused(column, raw, f"the period {shown} has not ended (today is {today.isoformat()}): "
                                    "a reading is for a period that is over")
    return start, end


def _row_position(cell, mapping: Mapping) -> str | None:
    column = mapping.column("position")
    if column is None:
        return mapping.default_position
    raw = cell(column).strip()
    if not raw:
        if mapping.default_position is None:
            raise _Refused(column, raw, "no position: where was the dosimeter worn?")
        return mapping.default_position
    position = mapping.position_of(raw)
    if position is None:
        raise _Refused(column, raw, f"the position {raw[:40]!r} is not known: map it to one of "
                                    f"{', '.join(vocabulary.positions())}")
    return position


def _row_unit(cell, mapping: Mapping) -> str | None:
    column = mapping.column("unit")
    if column is None:
        return None
    raw = cell(column)
    unit = vocabulary.find("unit", vocabulary.normalise(raw))
    if unit is None and any(d.unit is None for d in mapping.doses):
        raise _Refused(column, raw, f"the unit {raw[:40]!r} is not known ({', '.join(vocabulary.units())})")
    return unit
