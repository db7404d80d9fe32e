"""ADT: the HIS's patient records, and patient merges that move dose records (undoable)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..db.models import ImagingOrder, PatientMerge, PatientRecord, Study
from ..db.states import mark_refresh_due
from ..reconcile import his
from ..reconcile.records import Conflict, NotFound, give_to_patient, restore, snapshot
from .messages import Patient

DEMOGRAPHICS = ("issuer", "name", "birth_date", "sex", "height_m", "weight_kg")


def patient_record(session: Session, patient_id: str) -> PatientRecord | None:
    return session.scalars(select(PatientRecord).where(PatientRecord.patient_id == patient_id)).first()


def update_patient(session: Session, patient: Patient, message_id: int | None, create_only: bool = False,
                   actor: str | None = None) -> PatientRecord:
    """Create or update the HIS record of ``patient``.

    An empty HL7 field means "not sent", so only the values the message carries are
    written.  ``create_only``: leave an existing record alone (orders repeat the PID
    but ADT is the master of demographics).  ``actor``: an ADT update, applied to the
    patient's dose studies too (changed demographics, height and weight; audited: see
    :mod:`kerma.reconcile.his`), which the ingest worker then classifies and evaluates again.
    """
    record = patient_record(session, patient.patient_id)
    previous = his.demographics_of(record)
    if record is None:
        record = PatientRecord(patient_id=patient.patient_id)
        session.add(record)
    elif create_only:
        return record
    for name in DEMOGRAPHICS:
        value = getattr(patient, name)
        if value is not None:
            setattr(record, name, value)
    if patient.identifiers:
        record.identifiers = [{"id": i.value, "authority": i.authority, "type": i.type_code} for i in patient.identifiers]
    record.last_message_id = message_id
    if actor is not None:
        studies = session.scalars(select(Study).where(Study.patient_id == patient.patient_id).order_by(Study.id)).all()
        changed = his.apply_record(session, record, list(studies), actor, f"HIS update (HL7 message {message_id})",
                                   previous)
        mark_refresh_due(changed)
    return record


def merge_patients(session: Session, survivor: Patient, merged_patient_id: str, kind: str, actor: str,
                   message_id: int | None = None) -> PatientMerge | None:
    """Move every dose record and order of ``merged_patient_id`` to the surviving patient.

    Parameters
    ----------
    survivor : Patient
        The patient that remains (PID of the merge message); its HIS record is updated.
    merged_patient_id : str
        The identifier that ceases to exist (MRG-1).
    kind : str
        ``"merge"`` (A18/A34/A39/A40) or ``"identifier"`` (A47).
    actor : str
        Who asked, for the audit trail.

    Returns
    -------
    PatientMerge or None
        The record of what moved (None when both IDs are the same). Moved studies take the
        surviving patient's demographics from the HIS record.
    """
    survivor_record = update_patient(session, survivor, message_id)
    if merged_patient_id == survivor.patient_id:
        return None
    studies = session.scalars(select(Study).where(Study.patient_id == merged_patient_id).order_by(Study.id)).all()
    orders = session.scalars(select(ImagingOrder).where(ImagingOrder.patient_id == merged_patient_id)).all()
    moved = {"studies": {str(s.id): snapshot(s) for s in studies}, "orders": [o.id for o in orders]}
    for study in studies:
        give_to_patient(study, survivor.patient_id, survivor_record)
    for order in orders:
        order.patient_id = survivor.patient_id
    merged_record = patient_record(session, merged_patient_id)
    if merged_record is None:  # kept so that studies arriving later under the old ID are flagged
        merged_record = PatientRecord(patient_id=merged_patient_id)
        session.add(merged_record)
    merged_record.merged_into = survivor.patient_id
    merge = PatientMerge(kind=kind, survivor_patient_id=survivor.patient_id, merged_patient_id=merged_patient_id,
                         moved=moved, message_id=message_id)
    session.add(merge)
    session.flush()
    audit.record(session, actor, f"patient.{kind}", "patient", survivor.patient_id,
                 before={"patient_id": merged_patient_id}, after={"patient_id": survivor.patient_id},
                 note=f"merge {merge.id}: {len(studies)} studies, {len(orders)} orders moved")
    return merge


def undo_merge(session: Session, merge_id: int, actor: str | None, note: str | None = None) -> dict:
    """Give the merged patient back exactly the studies and orders the merge moved.

    A study that has been given to yet another patient since the merge is left where it
    is and reported as ``skipped``.

    Returns
    -------
    dict
        ``{"merge_id", "restored": [Study Instance UIDs], "skipped": [Study Instance UIDs]}``

    Raises
    ------
    NotFound
        No merge with this id.
    Conflict
        The merge was undone already.
    """
    merge = session.get(PatientMerge, merge_id)
    if merge is None:
        raise NotFound(f"no patient merge {merge_id}")
    if merge.undone_at is not None:
        raise Conflict(f"patient merge {merge_id} was undone already")
    restored, skipped = [], []
    for study_id, before in merge.moved["studies"].items():
        study = session.get(Study, int(study_id))
        if study is None:
            continue
        if study.patient_id == merge.survivor_patient_id:
            restore(study, before)
            restored.append(study.study_instance_uid)
        else:
            skipped.append(study.study_instance_uid)
    for order_id in merge.moved["orders"]:
        order = session.get(ImagingOrder, order_id)
        if order is not None and order.patient_id == merge.survivor_patient_id:
            order.patient_id = merge.merged_patient_id
    merged_record = patient_record(session, merge.merged_patient_id)
    if merged_record is not None and merged_record.merged_into == merge.survivor_patient_id:
        merged_record.merged_into = None
    merge.undone_at = clock.now()
    merge.undone_by = actor
    audit.record(session, actor, f"patient.{merge.kind}.undo", "patient", merge.merged_patient_id,
                 before={"patient_id": merge.survivor_patient_id, "study_instance_uids": restored},
                 after={"patient_id": merge.merged_patient_id, "study_instance_uids": restored},
                 note=note or f"undo of merge {merge.id}" + (f"; {len(skipped)} studies reassigned since, left" if skipped else ""))
    return {"merge_id": merge.id, "restored": restored, "skipped": skipped}
