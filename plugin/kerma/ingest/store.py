"""Writing extraction results and the cursor in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .. import audit
from ..db.models import EVENT_FIELDS, Device, DoseObject, IngestCursor, IrradiationEvent, Study
from ..db.received import ReceivedText
from ..db.states import mark_refresh_due
from ..pipeline import after_store
from ..reconcile.his import from_header
from ..record import DoseRecord, Event

CURSOR = "orthanc-changes"
DEVICE_IDENTITY = ("manufacturer", "model", "station_name", "serial_number")
SOP_INSTANCE_UID: ReceivedText = DoseObject.__table__.c.sop_instance_uid.type
TOP_LEVEL = tuple(f.name for f in dataclasses.fields(DoseRecord))
# where each part of a record is stored: (record attribute or None for the top level, table, column prefix)
RECORD_COLUMNS = ((None, DoseObject, ""), (None, Study, ""), ("study", Study, ""), ("patient", Study, "patient_"), ("device", Device, ""))


@dataclass(slots=True)
class Deletion:
    """Orthanc deleted an instance (its change callback said so)."""

    orthanc_id: str
    at: dt.datetime


@dataclass(slots=True)
class Processed:
    """One change turned into a record (or into the reason it gave none)."""

    change_seq: int | None  # None for a report that did not come through Orthanc's log (see store_report)
    orthanc_id: str | None
    record: DoseRecord
    sop_instance_uid: str | None = None  # as Orthanc knows the instance: the ledger's key where the record has none


def read_cursor(session: Session) -> int:
    row = session.get(IngestCursor, CURSOR)
    return row.last_seq if row else 0


def store_batch(session: Session, processed: list[Processed], last_seq: int, deleted: list[Deletion] = (),
                *, purge_deleted: bool = False) -> int:
    """Give each new instance its ledger row, apply Orthanc's deletions and move the cursor; the caller commits.

    An instance already in the ledger (a repeat after a crash) is skipped.  Another instance with the
    SOP Instance UID of a recorded one (a corrected re-send into another study) gets an ``ignored`` row
    pointing to the record: one SOP Instance UID is one object, and its dose is counted once.

    Returns how many ledger rows were added.
    """
    ledger = _ledger(session, {_stored_uid(item) for item in processed})
    new = 0
    touched: list[DoseObject] = []
    # the batch's studies and devices, looked up once each (a CT series is hundreds of objects)
    studies: dict[str, Study] = {}
    devices: dict[tuple, Device] = {}
    events: list[tuple[DoseObject, Sequence[Event]]] = []
    with session.no_autoflush:
        for item in processed:
            rows = ledger.setdefault(_stored_uid(item), [])
            same = [row for row in rows if row.orthanc_id == item.orthanc_id]
            if same:  # this instance again: a repeat, or Orthanc storing it anew after deleting it
                for row in same:
                    row.deleted_in_pacs_at = None
                continue
            recorded = next((row for row in rows if row.duplicate_of_id is None and row.duplicate_of is None), None)
            if recorded is not None:
                obj = _duplicate(item, recorded)
            else:
                obj = DoseObject(sop_instance_uid=_stored_uid(item), orthanc_id=item.orthanc_id, change_seq=item.change_seq)
                events.append((obj, fill(session, obj, item.record, studies, devices)))
            session.add(obj)
            rows.append(obj)
            touched.append(obj)
            new += 1
    insert_events(session, events)
    touched_studies = {o.study_id for o in touched if o.study_id is not None}
    touched_studies |= apply_deletions(session, deleted, purge=purge_deleted)
    after_store(session, touched_studies)  # resolution, classification, statistics, alerts, notification
    cursor = session.get(IngestCursor, CURSOR)
    if cursor is None:
        session.add(IngestCursor(name=CURSOR, last_seq=last_seq))
    elif last_seq > cursor.last_seq:
        cursor.last_seq = last_seq
    return new


def store_report(session: Session, record: DoseRecord) -> DoseObject:
    """Give a report that did not come through Orthanc's log (an MPPS) its ledger row and records; the caller commits.

    It has no Orthanc instance and moves no cursor.  Its study is marked for the ingest worker to resolve,
    classify and evaluate (:func:`kerma.db.states.mark_refresh_due`), as HL7 changes are: a report received
    in another process never refreshes a study at the same time as the worker.
    """
    obj = DoseObject(sop_instance_uid=_stored_uid(Processed(change_seq=None, orthanc_id=None, record=record)))
    session.add(obj)
    insert_events(session, [(obj, fill(session, obj, record))])
    if obj.study is not None:
        mark_refresh_due([obj.study])
    return obj


def replace_report(session: Session, obj: DoseObject, record: DoseRecord) -> None:
    """Rewrite in place the records of a report that did not come through Orthanc's log (a corrected manual entry).

    The ledger row keeps its id and SOP Instance UID; its values, device and events become ``record``'s, and its
    study is marked for the ingest worker as :func:`store_report` does.
    """
    _fill(obj, record)
    obj.device = _device(session, record, {})
    obj.events.clear()
    session.flush()  # the old rows deleted before the new ones are inserted
    insert_events(session, [(obj, record.events)])
    mark_refresh_due([obj.study])


def apply_deletions(session: Session, deleted: list[Deletion], *, purge: bool = False) -> set[int]:
    """Mark the rows of instances Orthanc deleted ``deleted_in_pacs_at`` (or purge them, audited).

    Dose records are part of the patient's record and outlive the images by default.  Returns the ids of
    the studies whose records changed.
    """
    if not deleted:
        return set()
    rows = session.scalars(select(DoseObject).where(DoseObject.orthanc_id.in_([d.orthanc_id for d in deleted]),
                                                    DoseObject.deleted_in_pacs_at.is_(None))).all()
    at = {d.orthanc_id: d.at for d in deleted}
    studies = {row.study_id for row in rows if row.study_id is not None}
    for row in rows:
        if not purge:
            row.deleted_in_pacs_at = at[row.orthanc_id]
            continue
        audit.record(session, "orthanc", "dose_object.purge", "dose_object", row.sop_instance_uid,
                     before={"orthanc_id": row.orthanc_id, "status": row.status, "study_id": row.study_id,
                             "events": len(row.events)},
                     note="deleted in Orthanc; PurgeDeletedFromPacs is on")
        for duplicate in session.scalars(select(DoseObject).where(DoseObject.duplicate_of_id == row.id)):
            duplicate.duplicate_of_id = None
        session.delete(row)
    session.flush()
    return studies


def _ledger(session: Session, uids: set[str]) -> dict[str, list[DoseObject]]:
    """The ledger rows already there for these SOP Instance UIDs (as stored)."""
    rows: dict[str, list[DoseObject]] = {}
    if uids:
        for row in session.scalars(select(DoseObject).where(DoseObject.sop_instance_uid.in_(uids)).order_by(DoseObject.id)):
            rows.setdefault(row.sop_instance_uid, []).append(row)
    return rows


def _stored_uid(item: Processed) -> str:
    """The ledger's key of an instance: its SOP Instance UID as stored (the record's, else Orthanc's), or its Orthanc
    id when neither is known."""
    return SOP_INSTANCE_UID.stored(item.record.sop_instance_uid or item.sop_instance_uid or f"orthanc:{item.orthanc_id}")


def _duplicate(item: Processed, recorded: DoseObject) -> DoseObject:
    """The row of another instance with the SOP Instance UID of ``recorded``: ignored, pointing to it."""
    where = recorded.study.study_instance_uid if recorded.study is not None else "no study"
    return DoseObject(sop_instance_uid=_stored_uid(item), sop_class_uid=item.record.sop_class_uid,
                      orthanc_id=item.orthanc_id, change_seq=item.change_seq, status="ignored",
                      reason=f"SOP Instance UID already recorded for study {where} (Orthanc instance {recorded.orthanc_id})",
                      modality=item.record.modality, duplicate_of=recorded)


def fill(session: Session, obj: DoseObject, record: DoseRecord, studies: dict[str, Study] | None = None,
         devices: dict[tuple, Device] | None = None) -> Sequence[Event]:
    """Write ``record`` on the ledger row ``obj`` (a new row, or a dose screen's queued row once it is read).

    Returns its events, for :func:`insert_events` once ``obj`` is flushed (none when it has no study).
    """
    _fill(obj, record)
    if record.ok:
        obj.device = _device(session, record, {} if devices is None else devices)
    if record.ok and record.study_instance_uid:
        obj.study = _study(session, record, {} if studies is None else studies)
        return record.events
    return ()


def insert_events(session: Session, filled: list[tuple[DoseObject, Sequence[Event]]]) -> None:
    """Flush, then insert the event rows of the ledger rows in ``filled`` (each with its events) in one statement.

    One Core INSERT run over all the rows (executemany), not an ORM object per event: the 316-event fluoroscopy report
    spent most of its store time making, tracking and flushing them (and the ORM's bulk insert still spent 20 ms of
    its 50 on each row's bookkeeping).  Each row has every column (None where the event has no value), so that all
    share one statement.  ``obj.events`` is expired, read again when next used.
    """
    session.flush()  # the ledger rows' and studies' ids
    rows = [_event_row(obj, index, event) for obj, events in filled for index, event in enumerate(events)]
    if not rows:
        return
    session.execute(insert(IrradiationEvent.__table__), rows)  # Core: no ORM bookkeeping per row
    for obj, events in filled:
        if events:
            session.expire(obj, ["events"])


def _fill(obj: DoseObject, record: DoseRecord) -> DoseObject:
    """The ledger row's own values from ``record`` (not its study, device row or events)."""
    device = record.device
    obj.sop_class_uid = record.sop_class_uid or obj.sop_class_uid  # an OCR error record does not repeat it
    obj.status = record.status
    obj.reason = record.reason
    obj.source = record.source
    obj.modality = record.modality
    obj.report_kind = record.report_kind
    obj.totals = None if record.totals is None else record.totals.as_dict()  # the JSON column takes a dict
    obj.contrast = list(record.contrast) if record.contrast else None
    obj.warnings = [*record.warnings, *shortened(record)] or None
    obj.units = record.units or None
    obj.ocr_state = record.ocr_state  # a dose screen's (kerma.ingest.screens)
    obj.ocr = record.ocr
    for key in ("manufacturer", "model", "station_name", "serial_number", "software_versions", "device_observer_uid"):
        setattr(obj, key, getattr(device, key))
    return obj


def _device(session: Session, record: DoseRecord, devices: dict[tuple, Device]) -> Device:
    """The device that made the object, found by its identity or added to the inventory."""
    info = record.device
    fields = {k: getattr(info, k) for k in DEVICE_IDENTITY}
    key = tuple(fields.values())
    device = devices.get(key) or session.scalars(select(Device).where(*[
        getattr(Device, k).is_(None) if v is None else getattr(Device, k) == v for k, v in fields.items()
    ])).first()
    if device is None:
        device = Device(**fields, modality=record.modality)
        session.add(device)
    devices[key] = device
    device.device_observer_uid = device.device_observer_uid or info.device_observer_uid
    device.software_versions = info.software_versions or device.software_versions
    day = _date(record.study.study_date)
    if day:
        device.first_seen = min(device.first_seen or day, day)
        device.last_seen = max(device.last_seen or day, day)
    return device


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _study(session: Session, record: DoseRecord, studies: dict[str, Study]) -> Study:
    uid = record.study_instance_uid
    study = studies.get(uid) or session.scalars(select(Study).where(Study.study_instance_uid == uid)).first()
    if study is None:
        study = Study(study_instance_uid=uid)
        session.add(study)
    studies[uid] = study
    fields = record.study.as_dict()
    fields.pop("study_instance_uid")
    fields.update({f"patient_{k}" if k != "patient_id" else k: v for k, v in record.patient.as_dict().items()})
    for name, value in fields.items():
        if value is None or not hasattr(Study, name):
            continue
        if name in ("study_date", "patient_birth_date"):
            value = dt.date.fromisoformat(value)
        from_header(session, study, name, value)
    return study


def _event_row(obj: DoseObject, index: int, event: Event) -> dict:
    """The event's row: its scalar fields in their columns (absent ones NULL), the rest in ``details``."""
    row = dict.fromkeys(EVENT_FIELDS)
    details = {}
    for key, value in event.items():
        if key in EVENT_FIELDS and not isinstance(value, (list, dict)):
            row[key] = value
        else:
            details[key] = value
    row.update(dose_object_id=obj.id, study_id=obj.study_id, event_index=index, details=details or None)
    return row


def _limited(table) -> dict[str, ReceivedText]:
    """The columns of ``table`` that keep a value to a length (identifiers), by name, with their type."""
    return {column.name: column.type for column in table.__table__.columns if isinstance(column.type, ReceivedText)}


LIMITED = {table: _limited(table) for table in (DoseObject, Study, Device, IrradiationEvent)}


def shortened(record: DoseRecord) -> list[str]:
    """A warning for each value of ``record`` longer than the identifier column it goes to keeps (it is stored shortened)."""
    found = []
    for part, table, prefix in RECORD_COLUMNS:
        limited = LIMITED[table]
        values = ((key, getattr(record, key)) for key in TOP_LEVEL) if part is None else getattr(record, part).as_dict().items()
        for key, value in values:
            kept = limited.get(key if key == "patient_id" else prefix + key)
            if kept is not None and kept.too_long(value):
                found.append((key, value, kept))
    limited = LIMITED[IrradiationEvent]
    for event in record.events:
        for key, kept in limited.items():
            value = event.get(key)
            if value is not None and kept.too_long(value):
                found.append((key, value, kept))
    return sorted({f"{key} has {len(value)} characters, more than the {kept.length} Kerma keeps: "
                   f"stored as its first characters and a hash of the whole" for key, value, kept in found})
