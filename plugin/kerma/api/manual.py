"""/kerma/api/studies/{uid}/manual...: doses entered by hand (:mod:`kerma.manual`), and the quantities that may be."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..access import RADIOGRAPHER, VIEWER
from ..db.models import Device, ManualEntry, Study
from ..manual import entries
from ..manual.quantities import EntryRefused, table
from ..study_dose import FAMILY
from .router import ApiError, Context, Request, route
from .schemas import Body, Day, Id, Query, column_text, path_id, path_text, query, text
from .schemas import body as parse_body

STUDY = r"studies/(?P<uid>[^/]+)/manual"
LATE = dt.timedelta(minutes=5)  # a browser's clock may run a little ahead of the server's
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
DICOM_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")  # PS3.5 9.1, at most 64 characters


def _moment(value: Any) -> Any:
    """An ISO 8601 date and time with its offset (``2026-12-02T09:30:00+01:00``, ``...Z``), not in the future."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date and time as YYYY-MM-DDTHH:MM[:SS] with its offset (Z or +HH:MM)") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("must say its offset from UTC (Z or +HH:MM): a local time is ambiguous")
        if not EARLIEST <= value <= clock.now() + LATE:
            raise ValueError("must be between 1900 and now")
    return value


Moment = Annotated[dt.datetime, BeforeValidator(_moment)]
Value = Annotated[float, Field(ge=-1e15, le=1e15)]  # finite by the models' allow_inf_nan=False


class DeviceBody(Body):
    """A device by its identity: found in the inventory, or added to it."""

    manufacturer: column_text(Device.manufacturer) | None = None
    model: column_text(Device.model) | None = None
    station_name: column_text(Device.station_name) | None = None
    serial_number: column_text(Device.serial_number) | None = None

    @model_validator(mode="after")
    def named(self):
        if not any((v or "").strip() for v in self.model_dump().values()):
            raise ValueError("name the device: manufacturer, model, station_name or serial_number")
        return self


class EntryBody(Body):
    quantity: Literal[tuple(table())]
    value: Value
    unit: text(32, nonempty=True)  # UCUM (Gy.cm2, mGy.cm2, uGy.m2...): converted to the quantity's unit
    modality: Literal[tuple(FAMILY)]
    performed_at: Moment  # when the dose was given
    performed_by: text(256, nonempty=True) | None = None  # who gave it (the operator)
    device_id: Id | None = None  # a device of the inventory (GET devices), or:
    device: DeviceBody | None = None
    note: text() | None = None
    confirm_outlier: bool = False  # a value outside the quantity's usual range is kept only when confirmed

    @model_validator(mode="after")
    def one_device(self):
        if (self.device_id is None) == (self.device is None):
            raise ValueError("give the device: device_id (of the inventory) or device (its identity), one of them")
        return self


class NewEntryBody(EntryBody):
    # a study Kerma does not know yet is created with these; for a known study they must agree with it
    study_date: Day | None = None
    patient_id: column_text(Study.patient_id) | None = None
    accession_number: column_text(Study.accession_number) | None = None


class CorrectionBody(EntryBody):
    reason: text(nonempty=True)  # why, for the audit trail


class DeletionQuery(Query):
    reason: text(nonempty=True)


@route("GET", r"manual/quantities", role=VIEWER)
def manual_quantities(ctx: Context, session: Session, request: Request) -> dict:
    """What may be entered by hand: each quantity's level, families, unit, units offered, usual and plausible range."""
    return {"quantities": [q.as_json() for q in table().values()], "modalities": list(FAMILY)}


@route("GET", STUDY, role=VIEWER, personal=True)
def list_entries(ctx: Context, session: Session, request: Request) -> dict:
    """The study's manual entries and their history (every creation, correction and deletion, newest first)."""
    uid = path_text(request, "uid")
    study = session.scalars(select(Study).where(Study.study_instance_uid == uid)).first()
    history = session.scalars(audit.query(action="manual_entry", target_type="study", target_id=uid)).all()
    return {"study_instance_uid": uid, "known": study is not None,
            "entries": [entries.view(row) for row in entries.entries_of(session, study)] if study else [],
            "history": [audit.as_json(entry) for entry in history]}


@route("POST", STUDY, role=RADIOGRAPHER)
def create_entry(ctx: Context, session: Session, request: Request) -> dict:
    uid = path_text(request, "uid")
    given = parse_body(request, NewEntryBody)
    if session.scalars(select(Study.id).where(Study.study_instance_uid == uid)).first() is None and not (
            len(uid) <= 64 and DICOM_UID.fullmatch(uid)):
        raise ApiError(400, "a new study needs a valid DICOM Study Instance UID (digits and dots, at most 64 characters)")
    new_study = entries.NewStudy(given.study_date, given.patient_id, given.accession_number)
    row = _answering(lambda: entries.create(session, uid, _entered(session, given), new_study, request.user))
    return entries.view(row)


@route("PUT", STUDY + r"/(?P<id>\d+)", role=RADIOGRAPHER)
def correct_entry(ctx: Context, session: Session, request: Request) -> dict:
    row = _entry(session, request)
    raw = request.body if isinstance(request.body, dict) else {}
    current = {"quantity": row.quantity, "value": row.entered_value, "unit": row.entered_unit, "modality": row.modality,
               "performed_at": entries.utc(row.performed_at).isoformat(), "performed_by": row.performed_by, "note": row.note}
    current.update({"device_id": row.dose_object.device_id} if "device" not in raw else {})
    # a confirmation holds as long as the value it confirmed stays
    same_value = all(name not in raw or raw[name] == current[name] for name in ("quantity", "value", "unit"))
    current["confirm_outlier"] = row.outlier_confirmed and same_value
    given = parse_body(request, CorrectionBody, current)
    updated = _answering(lambda: entries.update(session, row, _entered(session, given), given.reason, request.user))
    return entries.view(updated)


@route("DELETE", STUDY + r"/(?P<id>\d+)", role=RADIOGRAPHER)
def delete_entry(ctx: Context, session: Session, request: Request) -> dict:
    """Deletion needs ``reason`` (in the query string: a DELETE carries no body through every server)."""
    row = _entry(session, request)
    reason = query(request, DeletionQuery).reason
    before = entries.view(row)
    entries.delete(session, row, reason, request.user)
    return {"deleted": before}


def _entry(session: Session, request: Request) -> ManualEntry:
    uid, entry_id = path_text(request, "uid"), path_id(request)
    row = session.get(ManualEntry, entry_id)
    if row is None or row.study.study_instance_uid != uid:
        raise ApiError(404, f"no manual entry {entry_id} for this study")
    return row


def _entered(session: Session, given: EntryBody) -> entries.Entered:
    device = (_answering(lambda: entries.device_identity(session, given.device_id)) if given.device_id is not None
              else {k: (v or "").strip() or None for k, v in given.device.model_dump().items()})
    return entries.Entered(quantity=given.quantity, value=given.value, unit=given.unit.strip(), modality=given.modality,
                           performed_at=given.performed_at, performed_by=given.performed_by, device=device,
                           note=given.note, confirm_outlier=given.confirm_outlier)


def _answering(action):
    """Run ``action``; what :mod:`kerma.manual` refuses becomes the answer (400, or 409 to confirm or correct)."""
    try:
        return action()
    except entries.NeedsConfirmation as exc:
        raise ApiError(409, f"{exc}: send it again with confirm_outlier true if it is right", confirm_outlier="needed",
                       quantity=exc.quantity.key, value=exc.value, unit=exc.quantity.unit,
                       usual={"min": exc.quantity.usual_min, "max": exc.quantity.usual_max,
                              "reason": exc.quantity.usual_reason}) from None
    except entries.Conflict as exc:
        raise ApiError(409, str(exc)) from None
    except EntryRefused as exc:
        raise ApiError(400, str(exc)) from None
