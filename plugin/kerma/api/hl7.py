"""/kerma/api/hl7/...: received messages, the HIS's patients and orders, patient merges (and their undo)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import ADMIN, VIEWER
from ..db.models import Hl7Message, ImagingOrder, PatientMerge
from ..hl7 import adt
from .his import merge_view, message_view, order_view, page, patient_view, run_action
from .router import ApiError, Context, Request, route


@route("GET", r"hl7/messages", role=VIEWER)
def list_messages(ctx: Context, session: Session, request: Request) -> dict:
    query = request.query
    stmt = select(Hl7Message)
    if query.get("ack_code"):
        stmt = stmt.where(Hl7Message.ack_code == query["ack_code"].upper())
    if query.get("message_type"):
        stmt = stmt.where(Hl7Message.message_type == query["message_type"].upper())
    if query.get("control_id"):
        stmt = stmt.where(Hl7Message.control_id == query["control_id"])
    return page(session, stmt.order_by(Hl7Message.id.desc()), query, "messages", lambda m: message_view(m, with_raw=False))


@route("GET", r"hl7/messages/(?P<id>[0-9]+)", role=ADMIN, personal=True)
def get_message(ctx: Context, session: Session, request: Request) -> dict:
    message = session.get(Hl7Message, int(request.param("id")))
    if message is None:
        raise ApiError(404, "no such HL7 message")
    return message_view(message, with_raw=True)


@route("GET", r"hl7/patients/(?P<patient_id>[^/]+)", role=ADMIN, personal=True)
def get_patient(ctx: Context, session: Session, request: Request) -> dict:
    patient_id = request.param("patient_id")
    record = adt.patient_record(session, patient_id)
    if record is None:
        raise ApiError(404, "the HIS has sent nothing about this patient ID")
    merges = session.scalars(select(PatientMerge).where(
        (PatientMerge.survivor_patient_id == patient_id) | (PatientMerge.merged_patient_id == patient_id)
    ).order_by(PatientMerge.id)).all()
    return {**patient_view(record), "merges": [merge_view(m) for m in merges]}


@route("GET", r"hl7/orders", role=VIEWER, personal=True)
def list_orders(ctx: Context, session: Session, request: Request) -> dict:
    query = request.query
    stmt = select(ImagingOrder)
    for name in ("accession_number", "patient_id", "status", "placer_order_number", "filler_order_number"):
        if query.get(name):
            stmt = stmt.where(getattr(ImagingOrder, name) == query[name])
    return page(session, stmt.order_by(ImagingOrder.id.desc()), query, "orders", order_view)


@route("GET", r"hl7/merges", role=VIEWER, personal=True)
def list_merges(ctx: Context, session: Session, request: Request) -> dict:
    query = request.query
    stmt = select(PatientMerge)
    if query.get("patient_id"):
        stmt = stmt.where((PatientMerge.survivor_patient_id == query["patient_id"])
                          | (PatientMerge.merged_patient_id == query["patient_id"]))
    return page(session, stmt.order_by(PatientMerge.id.desc()), query, "merges", merge_view)


@route("POST", r"hl7/merges/(?P<id>[0-9]+)/undo", role=ADMIN)
def undo_merge(ctx: Context, session: Session, request: Request) -> dict:
    body = request.body or {}
    return run_action(lambda: adt.undo_merge(session, int(request.param("id")), request.user, body.get("note")))
