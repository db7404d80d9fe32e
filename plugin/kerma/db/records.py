"""Stored rows in the shape :func:`kerma.extract.extract` gives, for code that works on records."""

from __future__ import annotations

from .models import EVENT_FIELDS, DoseObject, IrradiationEvent


_UNLOADED = object()


def event(row: IrradiationEvent) -> dict:
    # the row's loaded values read directly (each through its attribute costs a descriptor call: 316 events x 130
    # fields on the ingest path); one not loaded (a pending or expired row) is read through its attribute
    loaded = vars(row)
    out = {"event_id": row.id}
    for name in EVENT_FIELDS:
        value = loaded.get(name, _UNLOADED)
        out[name] = getattr(row, name) if value is _UNLOADED else value
    out.update(row.details or {})
    return out


def record(obj: DoseObject) -> dict:
    """The object's record as extracted: the events it gives (a folded acquisition's row is a result, not one of them)."""
    return {"source": obj.source, "modality": obj.modality, "sop_instance_uid": obj.sop_instance_uid,
            "device_id": obj.device_id, "totals": obj.totals or {},
            "events": [event(e) for e in obj.events if e.folded_key is None]}
