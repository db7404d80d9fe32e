"""Writing extraction results and the cursor in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import EVENT_FIELDS, Device, DoseObject, IngestCursor, IrradiationEvent, Study
from ..reconcile.his import from_header
from .refresh import refresh_studies

CURSOR = "orthanc-changes"
DEVICE_IDENTITY = ("manufacturer", "model", "station_name", "serial_number")


@dataclass(slots=True)
class Processed:
    """One change turned into a record (or into the reason it gave none)."""

    change_seq: int
    orthanc_id: str
    record: dict


def read_cursor(session: Session) -> int:
    row = session.get(IngestCursor, CURSOR)
    return row.last_seq if row else 0


def store_batch(session: Session, processed: list[Processed], last_seq: int) -> int:
    """Insert new dose objects (idempotent by SOP Instance UID) and move the cursor; the caller commits.

    Returns how many objects were new.
    """
    uids = [p.record.get("sop_instance_uid") for p in processed if p.record.get("sop_instance_uid")]
    known = set(session.scalars(select(DoseObject.sop_instance_uid).where(DoseObject.sop_instance_uid.in_(uids)))) if uids else set()
    new = 0
    touched: list[DoseObject] = []
    # the batch's studies and devices, looked up once each (a CT series is hundreds of objects)
    studies: dict[str, Study] = {}
    devices: dict[tuple, Device] = {}
    with session.no_autoflush:
        for item in processed:
            record = item.record
            uid = record.get("sop_instance_uid") or f"orthanc:{item.orthanc_id}"  # unreadable objects keep their Orthanc id
            if uid in known:
                continue
            known.add(uid)
            obj = _dose_object(session, item, uid, studies, devices)
            session.add(obj)
            touched.append(obj)
            new += 1
    session.flush()
    refresh_studies(session, {o.study_id for o in touched if o.study_id is not None})
    cursor = session.get(IngestCursor, CURSOR)
    if cursor is None:
        session.add(IngestCursor(name=CURSOR, last_seq=last_seq))
    elif last_seq > cursor.last_seq:
        cursor.last_seq = last_seq
    return new


def _dose_object(session: Session, item: Processed, uid: str, studies: dict[str, Study],
                 devices: dict[tuple, Device]) -> DoseObject:
    record = item.record
    device = record.get("device") or {}
    obj = DoseObject(
        sop_instance_uid=uid,
        sop_class_uid=record.get("sop_class_uid"),
        orthanc_id=item.orthanc_id,
        change_seq=item.change_seq,
        status=record["status"],
        reason=record.get("reason"),
        source=record.get("source"),
        modality=record.get("modality"),
        report_kind=record.get("report_kind"),
        totals=record.get("totals"),
        warnings=record.get("warnings") or None,
        **{k: device.get(k) for k in ("manufacturer", "model", "station_name", "serial_number", "software_versions", "device_observer_uid")},
    )
    if record["status"] == "ok":
        obj.device = _device(session, record, devices)
    if record["status"] == "ok" and record.get("study_instance_uid"):
        obj.study = _study(session, record, studies)
        for index, event in enumerate(record.get("events") or []):
            obj.events.append(_event(obj.study, index, event))
    return obj


def _device(session: Session, record: dict, devices: dict[tuple, Device]) -> Device:
    """The device that made the object, found by its identity or added to the inventory."""
    fields = {k: (record.get("device") or {}).get(k) for k in DEVICE_IDENTITY}
    key = tuple(fields.values())
    device = devices.get(key) or session.scalars(select(Device).where(*[
        getattr(Device, k).is_(None) if v is None else getattr(Device, k) == v for k, v in fields.items()
    ])).first()
    if device is None:
        device = Device(**fields, modality=record.get("modality"))
        session.add(device)
    devices[key] = device
    info = record.get("device") or {}
    device.device_observer_uid = device.device_observer_uid or info.get("device_observer_uid")
    device.software_versions = info.get("software_versions") or device.software_versions
    day = _date((record.get("study") or {}).get("study_date"))
    if day:
        device.first_seen = min(device.first_seen or day, day)
        device.last_seen = max(device.last_seen or day, day)
    return device


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _study(session: Session, record: dict, studies: dict[str, Study]) -> Study:
    uid = record["study_instance_uid"]
    study = studies.get(uid) or session.scalars(select(Study).where(Study.study_instance_uid == uid)).first()
    if study is None:
        study = Study(study_instance_uid=uid)
        session.add(study)
    studies[uid] = study
    fields = dict(record.get("study") or {})
    fields.pop("study_instance_uid", None)
    patient = record.get("patient") or {}
    fields.update({f"patient_{k}" if k != "patient_id" else k: v for k, v in patient.items()})
    for name, value in fields.items():
        if value is None or not hasattr(Study, name):
            continue
        if name in ("study_date", "patient_birth_date"):
            value = dt.date.fromisoformat(value)
        from_header(session, study, name, value)
    return study


def _event(study: Study, index: int, event: dict) -> IrradiationEvent:
    columns = {k: v for k, v in event.items() if k in EVENT_FIELDS and not isinstance(v, (list, dict))}
    details = {k: v for k, v in event.items() if k not in columns}
    return IrradiationEvent(study=study, event_index=index, details=details or None, **columns)
