"""Stored rows back into records (:mod:`kerma.record`), for code that works on records: the one conversion from rows
(:mod:`kerma.ingest.store` is the one to them)."""

from __future__ import annotations

from ..record import DoseRecord, Event, Totals
from .models import EVENT_FIELDS, DoseObject, IrradiationEvent


_UNLOADED = object()


def event(row: IrradiationEvent) -> Event:
    """The event row as the event it was stored from, with its ``event_id``."""
    # the row's loaded values read directly (each through its attribute costs a descriptor call: 316 events x 130
    # fields on the ingest path); one not loaded (a pending or expired row) is read through its attribute
    loaded = vars(row)
    out = {"event_id": row.id}
    for name in EVENT_FIELDS:
        value = loaded.get(name, _UNLOADED)
        out[name] = getattr(row, name) if value is _UNLOADED else value
    out.update(row.details or {})
    return Event(out)


def record(obj: DoseObject) -> DoseRecord:
    """The object's record as extracted: the events it gives (a folded acquisition's row is a result, not one of them)."""
    return DoseRecord(obj.status, obj.reason, obj.source, obj.sop_instance_uid, obj.sop_class_uid,
                      modality=obj.modality, report_kind=obj.report_kind, totals=Totals(obj.totals or {}),
                      events=tuple(event(e) for e in obj.events if e.folded_key is None), device_id=obj.device_id)
