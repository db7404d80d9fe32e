"""Reassigning a study's dose records to another patient or order, audited and reversible."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..db.models import ImagingOrder, PatientRecord, Study, StudyReassignment
from .orthanc_sync import OrthancRest, correct_study
from .records import Conflict, NotFound, give_to_patient, restore, snapshot


def reassign_study(session: Session, study_instance_uid: str, actor: str | None, *, patient_id: str | None = None,
                   order_id: int | None = None, note: str | None = None,
                   orthanc: OrthancRest | None = None) -> StudyReassignment:
    """Give the study's dose records to an order (and its patient) or to a patient.

    Parameters
    ----------
    study_instance_uid : str
        The study whose records move.
    actor : str or None
        The Orthanc user, for the audit trail.
    patient_id : str, optional
        The patient the records belong to; demographics come from the HIS record when it
        knows the patient.  Defaults to the order's patient.
    order_id : int, optional
        The order the study was made for: the study is linked to it and takes its accession number.
    note : str, optional
        Why (kept with the audit entry).
    orthanc : OrthancRest, optional
        When given, the same correction is applied to the study in Orthanc.

    Raises
    ------
    NotFound
        No such study or order.
    Conflict
        Neither a patient nor an order given, the order has no patient, or another patient than the one given.
    """
    study = _study(session, study_instance_uid)
    order = None
    if order_id is not None:
        order = session.get(ImagingOrder, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
    if order is not None and patient_id and order.patient_id and patient_id != order.patient_id:
        raise Conflict(f"order {order_id} is another patient's")
    patient_id = patient_id or (order.patient_id if order else None)
    if not patient_id:
        raise Conflict("name a patient_id, or an order_id whose order has a patient")
    before = snapshot(study)
    record = session.scalars(select(PatientRecord).where(PatientRecord.patient_id == patient_id)).first()
    give_to_patient(study, patient_id, record)
    if order is not None:
        study.order_id = order.id
        study.accession_number = order.accession_number or study.accession_number
    after = snapshot(study)
    reassignment = StudyReassignment(actor=actor, study_id=study.id, before=before, after=after, note=note)
    session.add(reassignment)
    session.flush()
    audit.record(session, actor, "study.reassign", "study", study_instance_uid, before=before, after=after,
                 note=note or f"reassignment {reassignment.id}")
    if orthanc is not None:
        reassignment.orthanc_result = correct_study(orthanc, study_instance_uid, _changed(before, after))
    return reassignment


def undo_reassignment(session: Session, reassignment_id: int, actor: str | None, note: str | None = None,
                      orthanc: OrthancRest | None = None) -> StudyReassignment:
    """Put the study back as it was before the reassignment.

    Raises
    ------
    NotFound
        No such reassignment.
    Conflict
        Undone already, or the study changed since (undo the later change first).
    """
    reassignment = session.get(StudyReassignment, reassignment_id)
    if reassignment is None:
        raise NotFound(f"no reassignment {reassignment_id}")
    if reassignment.undone_at is not None:
        raise Conflict(f"reassignment {reassignment_id} was undone already")
    study = session.get(Study, reassignment.study_id)
    current = snapshot(study)
    if current != reassignment.after:
        raise Conflict(f"the study changed after reassignment {reassignment_id}: undo the later change first")
    restore(study, reassignment.before)
    reassignment.undone_at = clock.now()
    reassignment.undone_by = actor
    audit.record(session, actor, "study.reassign.undo", "study", study.study_instance_uid, before=current,
                 after=reassignment.before, note=note or f"undo of reassignment {reassignment.id}")
    if orthanc is not None:
        reassignment.orthanc_result = correct_study(orthanc, study.study_instance_uid, _changed(current, reassignment.before))
    return reassignment


def _study(session: Session, study_instance_uid: str) -> Study:
    study = session.scalars(select(Study).where(Study.study_instance_uid == study_instance_uid)).first()
    if study is None:
        raise NotFound("no dose record for this Study Instance UID")
    return study


def _changed(before: dict, after: dict) -> dict:
    return {k: v for k, v in after.items() if before.get(k) != v and k != "order_id"}
