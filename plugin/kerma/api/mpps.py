"""/kerma/api/mpps...: the Modality Performed Procedure Steps Kerma's MPPS listener received."""

from __future__ import annotations

from pydicom.datadict import keyword_for_tag
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import ADMIN, VIEWER
from ..db.models import PerformedProcedureStep
from .his import page
from .hl7 import raw_wanted
from .router import ApiError, Context, Request, route
from .schemas import Day, Flag, Order, Page, choices, column_text, path_text, query, sort_field
from .views import iso

STATES = ("in_progress", "completed", "discontinued")
PATIENT_GROUP = "0010"  # the Patient module's attributes (name, ID, birth date, sex, other IDs...)


STEP_SORTS = {"performed_date": PerformedProcedureStep.performed_date, "state": PerformedProcedureStep.state,
              "modality": PerformedProcedureStep.modality, "accession_number": PerformedProcedureStep.accession_number,
              "patient_id": PerformedProcedureStep.patient_id, "calling_ae": PerformedProcedureStep.calling_ae,
              "created_at": PerformedProcedureStep.created_at, "ended_at": PerformedProcedureStep.ended_at}


class StepQuery(Page):
    sort: sort_field(STEP_SORTS) = "created_at"
    order: Order = "desc"
    state: choices(STATES) | None = None
    study: column_text(PerformedProcedureStep.study_instance_uid) | None = None
    accession_number: column_text(PerformedProcedureStep.accession_number) | None = None
    patient_id: column_text(PerformedProcedureStep.patient_id) | None = None
    date_from: Day | None = None
    date_to: Day | None = None
    dose: Flag | None = None  # with (true) or without (false) a dose record


@route("GET", r"mpps", role=VIEWER, personal=True)
def list_steps(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, StepQuery)
    stmt = select(PerformedProcedureStep)
    if q.state:
        stmt = stmt.where(PerformedProcedureStep.state.in_(q.state))
    for name, column in (("study", "study_instance_uid"), ("accession_number", "accession_number"),
                         ("patient_id", "patient_id")):
        if getattr(q, name):
            stmt = stmt.where(getattr(PerformedProcedureStep, column) == getattr(q, name))
    if q.date_from:
        stmt = stmt.where(PerformedProcedureStep.performed_date >= q.date_from)
    if q.date_to:
        stmt = stmt.where(PerformedProcedureStep.performed_date <= q.date_to)
    if q.dose is not None:
        stmt = stmt.where(PerformedProcedureStep.dose_object_id.is_not(None) if q.dose
                          else PerformedProcedureStep.dose_object_id.is_(None))
    return page(session, stmt, q, "steps", step_json, STEP_SORTS, PerformedProcedureStep.id)


@route("GET", r"mpps/(?P<uid>[^/]+)", role=ADMIN, personal=True)
def get_step(ctx: Context, session: Session, request: Request) -> dict:
    """One step with its attributes and the N-SETs refused after it ended, without the patient's identification
    (``raw=1``: as received, audited), like an HL7 message."""
    step = session.scalars(select(PerformedProcedureStep).where(
        PerformedProcedureStep.sop_instance_uid == path_text(request, "uid"))).first()
    if step is None:
        raise ApiError(404, "no Performed Procedure Step with this SOP Instance UID")
    refused = step.refused or []
    if raw_wanted(session, request, "performed_procedure_step", step.sop_instance_uid):
        return {**step_json(step), "attributes": step.attributes, "refused": refused, "redacted": False, "withheld": []}
    withheld: set[str] = set()
    return {**step_json(step), "attributes": _redacted(step.attributes, withheld),
            "refused": [{**r, "attributes": _redacted(r["attributes"], withheld)} for r in refused],
            "redacted": True, "withheld": sorted(withheld)}


def _redacted(attributes: dict, withheld: set[str]) -> dict:
    """DICOM JSON without the patient's identification: every Patient attribute (group 0010) and person name (PN),
    in sequences too; their keywords are added to ``withheld``."""
    shown = {}
    for tag, element in attributes.items():
        if tag.upper().startswith(PATIENT_GROUP) or element.get("vr") == "PN":
            withheld.add(keyword_for_tag(int(tag, 16)) or tag)
            continue
        if element.get("vr") == "SQ" and element.get("Value"):
            element = {**element, "Value": [_redacted(item, withheld) for item in element["Value"]]}
        shown[tag] = element
    return shown


def step_json(step: PerformedProcedureStep) -> dict:
    record = step.dose_object
    return {
        "sop_instance_uid": step.sop_instance_uid,
        "state": step.state,
        "discontinued": step.state == "discontinued",  # flagged: the examination may be incomplete
        "discontinuation_reason": step.discontinuation_reason,
        "modality": step.modality,
        "study_instance_uid": step.study_instance_uid,
        "accession_number": step.accession_number,
        "patient_id": step.patient_id,
        "performed_date": iso(step.performed_date),
        "calling_ae": step.calling_ae,
        "created_at": iso(step.created_at),
        "updated_at": iso(step.updated_at),
        "ended_at": iso(step.ended_at),
        "dose_record": None if record is None else {"totals": record.totals, "event_count": len(record.events),
                                                    "warnings": record.warnings or []},
        "refused_count": len(step.refused or []),
    }
