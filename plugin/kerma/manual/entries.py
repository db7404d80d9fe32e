"""A dose entered by hand becomes a record with source ``manual``, through the ingest's store.

The record takes part in its study's dose like any other, at the lowest precedence (RDSR > MPPS > header > OCR >
manual, :mod:`kerma.study_dose`): any other record of the study's dose family wins, and the manual one stays as
evidence.  The study is refreshed (resolved totals, classification, statistics, alerts) by the ingest worker, as
after an MPPS.  A study Kerma does not know yet is created from its Study Instance UID with the date (and, when
given, patient ID and accession number) of the form; images or reports that arrive later join it.

Every creation, correction and deletion is one audit entry (``manual_entry.create``, ``.update``, ``.delete``)
on the study, with the entry before and after; a correction and a deletion say why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..db.models import Device, DoseObject, ManualEntry, Study
from ..db.states import mark_refresh_due
from ..extract.totals import DERIVABLE_TOTALS, complete_totals
from ..ingest.store import replace_report, store_report
from ..record import Device as DeviceInfo, DoseRecord, Event, Patient, StudyInfo, Totals
from ..study_dose import FAMILY, KIND
from .quantities import EXPOSURE, REPORT, EntryRefused, ManualQuantity, table

SOURCE = "manual"
DEVICE_IDENTITY = ("manufacturer", "model", "station_name", "serial_number")


class Conflict(ValueError):
    """The entry contradicts what the study already holds (answered 409)."""


class NeedsConfirmation(ValueError):
    """The value is outside its quantity's usual range and was not confirmed (answered 409 with the reason)."""

    def __init__(self, quantity: ManualQuantity, value: float):
        super().__init__(quantity.outlier(value))
        self.quantity = quantity
        self.value = value


@dataclass(frozen=True, slots=True)
class Entered:
    """What the form says (validated as to form by the API's schema)."""

    quantity: str
    value: float
    unit: str
    modality: str
    performed_at: dt.datetime
    performed_by: str | None
    device: dict  # the device's identity (manufacturer, model, station_name, serial_number), as given or of device_id
    note: str | None
    confirm_outlier: bool


@dataclass(frozen=True, slots=True)
class NewStudy:
    """What a study Kerma does not know yet is created with."""

    study_date: dt.date | None
    patient_id: str | None = None
    accession_number: str | None = None


def create(session: Session, study_instance_uid: str, entered: Entered, new_study: NewStudy, actor: str | None) -> ManualEntry:
    """Record ``entered`` for the study (created when Kerma does not know it yet); the caller commits."""
    quantity, value = _checked(entered)
    study = session.scalars(select(Study).where(Study.study_instance_uid == study_instance_uid)).first()
    if study is not None:
        _agrees(study, new_study)
        _no_double_count(session, study, quantity, entered.modality)
    elif new_study.study_date is None:
        raise EntryRefused("Kerma has no study with this Study Instance UID: give its study_date (and modality) to create it")
    record = _record(study_instance_uid, entered, quantity, value, f"2.25.{uuid.uuid4().int}",
                     None if study is not None else new_study)
    obj = store_report(session, record)
    now = clock.now()
    row = ManualEntry(study=obj.study, dose_object=obj, created_by=actor, created_at=now)
    _set(row, entered, value, quantity)
    session.add(row)
    session.flush()
    audit.record(session, actor, "manual_entry.create", "study", study_instance_uid, after=view(row),
                 note=_confirmation(entered, quantity, value))
    return row


def update(session: Session, row: ManualEntry, entered: Entered, reason: str, actor: str | None) -> ManualEntry:
    """Correct ``row`` with ``entered`` (every field as it is to be); the caller commits."""
    quantity, value = _checked(entered)
    _no_double_count(session, row.study, quantity, entered.modality, besides=row)
    before = view(row)
    replace_report(session, row.dose_object, _record(row.study.study_instance_uid, entered, quantity, value,
                                                     row.dose_object.sop_instance_uid, None))
    _set(row, entered, value, quantity)
    row.updated_by, row.updated_at = actor, clock.now()
    session.flush()
    note = "; ".join(filter(None, [reason, _confirmation(entered, quantity, value)]))
    audit.record(session, actor, "manual_entry.update", "study", row.study.study_instance_uid, before=before,
                 after=view(row), note=note)
    return row


def delete(session: Session, row: ManualEntry, reason: str, actor: str | None) -> None:
    """Delete ``row`` and its record (the study stays, refreshed without it); the caller commits."""
    study = row.study
    audit.record(session, actor, "manual_entry.delete", "study", study.study_instance_uid, before=view(row), note=reason)
    obj = row.dose_object
    session.delete(row)
    session.flush()
    session.delete(obj)
    session.flush()
    mark_refresh_due([study])


def entries_of(session: Session, study: Study) -> list[ManualEntry]:
    return list(session.scalars(select(ManualEntry).where(ManualEntry.study_id == study.id).order_by(ManualEntry.id)))


def view(row: ManualEntry) -> dict:
    """An entry as the API answers it and the audit trail keeps it."""
    obj = row.dose_object
    quantity = table().get(row.quantity)
    return {
        "id": row.id, "study_instance_uid": row.study.study_instance_uid,
        "quantity": row.quantity, "label": quantity.label if quantity else row.quantity,
        "level": quantity.level if quantity else None, "value": row.value, "unit": quantity.unit if quantity else None,
        "entered_value": row.entered_value, "entered_unit": row.entered_unit, "modality": row.modality,
        "performed_at": utc(row.performed_at).isoformat(), "performed_by": row.performed_by,
        "device": {"id": obj.device_id, **{k: getattr(obj, k) for k in DEVICE_IDENTITY}},
        "note": row.note, "outlier_confirmed": row.outlier_confirmed,
        "created_by": row.created_by, "created_at": utc(row.created_at).isoformat(),
        "updated_by": row.updated_by, "updated_at": utc(row.updated_at).isoformat() if row.updated_at else None,
        "record": {"sop_instance_uid": obj.sop_instance_uid, "source": obj.source, "warnings": obj.warnings or []},
    }


def utc(moment: dt.datetime) -> dt.datetime:
    """A stored moment in UTC (SQLite gives it back without its offset; it was stored in UTC)."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def device_identity(session: Session, device_id: int) -> dict:
    """The identity of a device of the inventory (its manual records are then that device's)."""
    device = session.get(Device, device_id)
    if device is None:
        raise EntryRefused(f"no device {device_id} in the inventory")
    return {k: getattr(device, k) for k in DEVICE_IDENTITY}


def _checked(entered: Entered) -> tuple[ManualQuantity, float]:
    """The quantity and the value in its unit; refused or asking for a confirmation as the tables say."""
    quantity = table().get(entered.quantity)
    if quantity is None:
        raise EntryRefused(f"quantity {entered.quantity!r} cannot be entered by hand; use one of {', '.join(table())}")
    family = FAMILY.get(entered.modality)
    if family not in quantity.families:
        raise EntryRefused(f"{quantity.label} is a dose of {', '.join(quantity.families)}, not of modality {entered.modality}")
    value = quantity.in_unit(entered.value, entered.unit)
    if not quantity.is_usual(value) and not entered.confirm_outlier:
        raise NeedsConfirmation(quantity, value)
    return quantity, value


def _confirmation(entered: Entered, quantity: ManualQuantity, value: float) -> str | None:
    return None if quantity.is_usual(value) else f"confirmed: {quantity.outlier(value)}"


def _agrees(study: Study, new_study: NewStudy) -> None:
    """What the form says of a study Kerma knows must be what Kerma knows (a typo would put a dose on another study)."""
    for name in ("study_date", "patient_id", "accession_number"):
        given, known = getattr(new_study, name), getattr(study, name)
        if given is not None and known is not None and given != known:
            raise Conflict(f"the study has {name} {known}, not {given}: check the Study Instance UID")


def _feeds(quantity: ManualQuantity, family: str) -> str:
    """The record total a quantity gives: itself for a total, the total its events add up to for an exposure value."""
    if quantity.level == REPORT:
        return quantity.key
    kind = KIND.get(family, "projection")
    return next((total for total, field, _ in DERIVABLE_TOTALS.get(kind, []) if field == quantity.key), quantity.key)


def _no_double_count(session: Session, study: Study, quantity: ManualQuantity, modality: str,
                     besides: ManualEntry | None = None) -> None:
    """One examination total per quantity, and never both a total and the exposures that add up to it."""
    family = FAMILY.get(modality)
    for other in entries_of(session, study):
        known = table().get(other.quantity)
        if other is besides or known is None or FAMILY.get(other.modality) != family:
            continue
        if _feeds(known, family) != _feeds(quantity, family):
            continue
        if known.level == REPORT and quantity.level == REPORT:
            raise Conflict(f"{quantity.label} is already entered for this study (entry {other.id}): correct that entry")
        if known.level != quantity.level:
            raise Conflict(f"this study's {_feeds(quantity, family)} is entered as {known.label} (entry {other.id}): "
                           f"{quantity.label} would count it twice")


def _record(study_instance_uid: str, entered: Entered, quantity: ManualQuantity, value: float, sop_instance_uid: str,
            new_study: NewStudy | None) -> DoseRecord:
    """The entry as a record of source ``manual``."""
    kind = KIND[FAMILY[entered.modality]]
    warnings = () if quantity.is_usual(value) else (f"confirmed by the person entering it: {quantity.outlier(value)}",)
    if quantity.level == EXPOSURE:
        events = [{quantity.key: value, "datetime_started": utc(entered.performed_at).isoformat()}]
        totals = complete_totals(kind, {}, events)
    else:
        events, totals = [], {quantity.key: value}
    study, patient = StudyInfo(), Patient()
    if new_study is not None:
        study = StudyInfo(study_date=new_study.study_date.isoformat(), accession_number=new_study.accession_number)
        patient = Patient(patient_id=new_study.patient_id)
    return DoseRecord("ok", None, SOURCE, sop_instance_uid, None, None, study_instance_uid, modality=entered.modality,
                      report_kind=kind, patient=patient, study=study, device=DeviceInfo(**entered.device), totals=Totals(totals),
                      events=tuple(map(Event, events)), warnings=warnings)


def _set(row: ManualEntry, entered: Entered, value: float, quantity: ManualQuantity) -> None:
    row.quantity, row.value = quantity.key, value
    row.entered_value, row.entered_unit = entered.value, entered.unit
    row.modality, row.performed_at, row.performed_by = entered.modality, utc(entered.performed_at), entered.performed_by
    row.note, row.outlier_confirmed = entered.note, not quantity.is_usual(value)
