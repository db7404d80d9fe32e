"""MPPS instances in the dose database: N-CREATE and N-SET applied as PS3.4 F.7.2 asks of an SCP.

Each function works in the caller's transaction and returns the :class:`Answer` the SCU gets; what it changed
(the instance, a refused N-SET kept as evidence, the dose record of a finished step) commits with it.  Database
outages are not answered here: they raise, and the caller answers "send it again".

* N-CREATE: the instance must not exist (``0x0111`` Duplicate SOP Instance) and must be IN PROGRESS
  (``0x0120`` Missing Attribute without a status, ``0x0106`` Invalid Attribute Value with another).
* N-SET: the instance must exist (``0x0112`` No Such Object Instance) and still be IN PROGRESS: once
  COMPLETED or DISCONTINUED it "may no longer be updated" (``0x0110`` Processing Failure, Error ID ``0xA710``,
  PS3.4 F.7.2.2.4); the refused modifications are kept with the instance.  A status other than the three
  enumerated values is ``0x0106``.
* A step that becomes COMPLETED or DISCONTINUED with values in its Radiation Dose module gives its dose record
  (:func:`kerma.extract.mpps.dose_report`, source ``mpps``), stored like an ingested object's
  (:func:`kerma.ingest.store.store_report`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import PerformedProcedureStep
from ..extract.mpps import IN_PROGRESS, STATES, dose_report, step_facts
from ..ingest.store import store_report

SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_OBJECT_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120
MAY_NO_LONGER_BE_UPDATED = 0xA710  # Error ID of PS3.4 Table F.7.2-2
SPECIFIC_CHARACTER_SET = "00080005"  # stored attributes are Unicode already (DICOM JSON)
REFUSED_KEPT = 20  # refused N-SETs kept per instance (the latest)


@dataclass(frozen=True, slots=True)
class Answer:
    """The status of an N-CREATE or N-SET response and what it says (Error Comment: at most 64 characters, Error ID)."""

    status: int
    comment: str | None = None
    error_id: int | None = None
    step: PerformedProcedureStep | None = None  # the instance, when the request was applied

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


def create(session: Session, uid: str, attributes: dict, calling_ae: str | None, now: dt.datetime) -> Answer:
    """Apply an N-CREATE: ``attributes`` is its Attribute List as DICOM JSON."""
    attributes = {k: v for k, v in attributes.items() if k != SPECIFIC_CHARACTER_SET}
    facts = step_facts(Dataset.from_json(attributes))
    if facts.status_value is None:
        return Answer(MISSING_ATTRIBUTE, "Performed Procedure Step Status (0040,0252) missing")
    if facts.status_value.upper() != IN_PROGRESS:
        return Answer(INVALID_ATTRIBUTE_VALUE, "N-CREATE status must be IN PROGRESS (PS3.4 F.7.2.1)")
    if session.scalars(select(PerformedProcedureStep.id).where(PerformedProcedureStep.sop_instance_uid == uid)).first():
        return Answer(DUPLICATE_SOP_INSTANCE, "this Performed Procedure Step exists already")
    step = PerformedProcedureStep(sop_instance_uid=uid, attributes=attributes, calling_ae=calling_ae,
                                  created_at=now, updated_at=now)
    _index(step, facts)
    session.add(step)
    session.flush()
    return Answer(SUCCESS, step=step)


def update(session: Session, uid: str, modifications: dict, calling_ae: str | None, now: dt.datetime) -> Answer:
    """Apply an N-SET: ``modifications`` is its Modification List as DICOM JSON (each attribute replaces the
    instance's, a sequence as a whole, an empty one empties it)."""
    step = session.scalars(select(PerformedProcedureStep).where(PerformedProcedureStep.sop_instance_uid == uid)
                           .with_for_update()).first()
    if step is None:
        return Answer(NO_SUCH_OBJECT_INSTANCE, "no Performed Procedure Step with this SOP Instance UID")
    if step.state != STATES[IN_PROGRESS]:
        reason = f"the step is {step.state.replace('_', ' ')}: Performed Procedure Step Object may no longer be updated"
        step.refused = [*(step.refused or []), {"at": now.isoformat(), "calling_ae": calling_ae, "reason": reason,
                                                 "attributes": modifications}][-REFUSED_KEPT:]
        return Answer(PROCESSING_FAILURE, "Performed Procedure Step Object may no longer be updated",
                      MAY_NO_LONGER_BE_UPDATED)
    merged = {**step.attributes, **{k: v for k, v in modifications.items() if k != SPECIFIC_CHARACTER_SET}}
    dataset = Dataset.from_json(merged)
    facts = step_facts(dataset)
    if facts.state is None:
        return Answer(INVALID_ATTRIBUTE_VALUE, "status must be IN PROGRESS, COMPLETED or DISCONTINUED")
    step.attributes = merged
    step.updated_at = now
    _index(step, facts)
    if step.state != STATES[IN_PROGRESS]:
        step.ended_at = now
        record = dose_report(dataset, uid)
        if record is not None:
            step.dose_object = store_report(session, record)
    session.flush()
    return Answer(SUCCESS, step=step)


def _index(step: PerformedProcedureStep, facts) -> None:
    step.state = facts.state
    step.modality = facts.modality
    step.study_instance_uid = facts.study_instance_uid
    step.accession_number = facts.accession_number
    step.patient_id = facts.patient_id
    step.performed_date = dt.date.fromisoformat(facts.performed_date) if facts.performed_date else None
    step.discontinuation_reason = facts.discontinuation_reason
