"""Stored rows in the shape :func:`kerma.extract.extract` gives, for code that works on records."""

from __future__ import annotations

from .models import EVENT_FIELDS, DoseObject, IrradiationEvent


def event(row: IrradiationEvent) -> dict:
    out = {"event_id": row.id}
    out.update({name: getattr(row, name) for name in EVENT_FIELDS})
    out.update(row.details or {})
    return out


def record(obj: DoseObject) -> dict:
    """The object's record as extracted: the events it gives (a folded acquisition's row is a result, not one of them)."""
    return {"source": obj.source, "modality": obj.modality, "sop_instance_uid": obj.sop_instance_uid,
            "device_id": obj.device_id, "totals": obj.totals or {},
            "events": [event(e) for e in obj.events if e.folded_key is None]}
