"""Which correction factors cover a device on a day, and a record's dose values multiplied by them (pure but the
loading)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..correction_kinds import STATISTICS, kind_by_field, kinds
from ..db.models import CorrectionFactor
from ..record import DoseRecord, Event, Totals


@dataclass(frozen=True)
class Factor:
    """One recorded factor as lookups need it."""

    id: int
    device_id: int
    kind: str
    factor: float
    valid_from: dt.date | None
    valid_to: dt.date | None
    version: int

    def covers(self, day: dt.date | None) -> bool:
        """Whether the factor is in force on ``day`` (bounds included); an undated study only by an open-ended one."""
        if day is None:
            return self.valid_from is None and self.valid_to is None
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def as_applied(self) -> dict:
        return {"factor": self.factor, "correction_id": self.id, "version": self.version}


def factor_of(row: CorrectionFactor) -> Factor:
    return Factor(row.id, row.device_id, row.kind, row.factor, row.valid_from, row.valid_to, row.version)


class DeviceFactors:
    """Every recorded factor, loaded once (a site has tens), found by device, day and kind."""

    def __init__(self, session: Session):
        self.by_device: dict[int, list[Factor]] = defaultdict(list)
        for row in session.scalars(select(CorrectionFactor).order_by(CorrectionFactor.id)):
            self.by_device[row.device_id].append(factor_of(row))

    def __bool__(self) -> bool:
        return bool(self.by_device)

    def on(self, device_id: int | None, day: dt.date | None, use: str | None = STATISTICS) -> dict[str, Factor]:
        """The factors of ``use`` (None: every use) in force for the device on ``day``, by kind."""
        return {f.kind: f for f in self.by_device.get(device_id, ())
                if (use is None or kinds()[f.kind].use == use) and f.covers(day)}


def corrected_record(record: DoseRecord, factors: dict[str, float]) -> DoseRecord:
    """``record`` with every field a factor covers multiplied by it (``factors``: kind -> factor; a kind that multiplies
    no field changes nothing)."""
    if not factors:
        return record
    return replace(record, totals=Totals(_corrected(record.totals or {}, factors)),
                   events=tuple(Event(_corrected(event, factors)) for event in record.events))


def _corrected(values: Mapping, factors: dict[str, float]) -> dict:
    out = dict(values.items())  # an Event (kerma.record) copied at once, not key by key
    fields = kind_by_field()
    for name, value in values.items():
        kind = fields.get(name)
        if kind is not None and kind.kind in factors and _number(value):
            out[name] = value * factors[kind.kind]
        elif name == "planes" and isinstance(value, list):  # a biplane report's totals per plane
            out[name] = [_corrected(plane, factors) if isinstance(plane, dict) else plane for plane in value]
    return out


def corrected_value(name: str, value, event_factors: dict[str, float | None]):
    """An event field's value times the factor its row holds for it (``event_factors``: column name -> factor)."""
    kind = kind_by_field().get(name)
    factor = event_factors.get(kind.event_column) if kind is not None else None
    return value * factor if factor is not None and _number(value) else value


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
