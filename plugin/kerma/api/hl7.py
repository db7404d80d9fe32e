"""/kerma/api/hl7/...: received messages, the HIS's patients and orders, patient merges (and their undo)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import access, audit
from ..access import ADMIN, VIEWER
from ..db.models import Hl7Message, ImagingOrder, PatientMerge
from ..hl7 import adt
from ..hl7.redact import redact
from .his import merge_json, message_json, order_json, page, patient_json, run_action
from .router import ApiError, Context, Request, route
from .schemas import Flag, NoteBody, Order, Page, Query, body, column_text, path_id, path_row, path_text, query, sort_field


MESSAGE_SORTS = {"received_at": Hl7Message.received_at, "message_type": Hl7Message.message_type,
                 "ack_code": Hl7Message.ack_code, "control_id": Hl7Message.control_id,
                 "sending_application": Hl7Message.sending_application}


class MessageQuery(Page):
    sort: sort_field(MESSAGE_SORTS) = "received_at"
    order: Order = "desc"
    ack_code: column_text(Hl7Message.ack_code) | None = None
    message_type: column_text(Hl7Message.message_type) | None = None
    control_id: column_text(Hl7Message.control_id) | None = None


@route("GET", r"hl7/messages", role=VIEWER)
def list_messages(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, MessageQuery)
    stmt = select(Hl7Message)
    if q.ack_code:
        stmt = stmt.where(Hl7Message.ack_code == q.ack_code.upper())
    if q.message_type:
        stmt = stmt.where(Hl7Message.message_type == q.message_type.upper())
    if q.control_id:
        stmt = stmt.where(Hl7Message.control_id == q.control_id)
    return page(session, stmt, q, "messages", message_json, MESSAGE_SORTS, Hl7Message.id)


class RawQuery(Query):
    """``raw=1``: as received, every identifier and segment (admins only; the read is audited)."""

    raw: Flag = False


def raw_wanted(session: Session, request: Request, target_type: str, target_id) -> bool:
    """Whether the request asks ``raw=1`` (refused to all but admins; the read is audited)."""
    if not query(request, RawQuery).raw:
        return False
    if not access.allows(request.roles, ADMIN):
        raise ApiError(403, "raw: only an admin may see what a sender sent unredacted")
    audit.record(session, request.user, f"{target_type}.read_raw", target_type, target_id)
    return True


@route("GET", r"hl7/messages/(?P<id>[0-9]+)", role=ADMIN, personal=True)
def get_message(ctx: Context, session: Session, request: Request) -> dict:
    """The message redacted to what Kerma reads (kerma.hl7.redact), or as received with ``raw=1``."""
    message = path_row(session, request, Hl7Message, "HL7 message")
    if raw_wanted(session, request, "hl7_message", message.id):
        return {**message_json(message), "message": message.raw, "redacted": False, "withheld": []}
    shown = redact(message.raw or "", ctx.settings.hl7_patient_id_authority)
    return {**message_json(message), "message": shown.text, "redacted": True, "withheld": shown.withheld}


@route("GET", r"hl7/patients/(?P<patient_id>[^/]+)", role=ADMIN, personal=True)
def get_patient(ctx: Context, session: Session, request: Request) -> dict:
    """The HIS's record: the identifier Kerma uses (``raw=1``: every PID-3 identifier), and its merges."""
    patient_id = path_text(request, "patient_id")
    record = adt.patient_record(session, patient_id)
    if record is None:
        raise ApiError(404, "the HIS has sent nothing about this patient ID")
    merges = session.scalars(select(PatientMerge).where(
        (PatientMerge.survivor_patient_id == patient_id) | (PatientMerge.merged_patient_id == patient_id)
    ).order_by(PatientMerge.id)).all()
    every = raw_wanted(session, request, "patient_record", patient_id)
    return {**patient_json(record, every_identifier=every), "merges": [merge_json(m) for m in merges]}


ORDER_SORTS = {"updated_at": ImagingOrder.updated_at, "scheduled_at": ImagingOrder.scheduled_at,
               "accession_number": ImagingOrder.accession_number, "patient_id": ImagingOrder.patient_id,
               "status": ImagingOrder.status, "modality": ImagingOrder.modality, "procedure": ImagingOrder.procedure_text}


class OrderQuery(Page):
    sort: sort_field(ORDER_SORTS) = "updated_at"
    order: Order = "desc"
    accession_number: column_text(ImagingOrder.accession_number) | None = None
    patient_id: column_text(ImagingOrder.patient_id) | None = None
    status: column_text(ImagingOrder.status) | None = None
    placer_order_number: column_text(ImagingOrder.placer_order_number) | None = None
    filler_order_number: column_text(ImagingOrder.filler_order_number) | None = None


@route("GET", r"hl7/orders", role=VIEWER, personal=True)
def list_orders(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, OrderQuery)
    stmt = select(ImagingOrder)
    for name in ("accession_number", "patient_id", "status", "placer_order_number", "filler_order_number"):
        if getattr(q, name):
            stmt = stmt.where(getattr(ImagingOrder, name) == getattr(q, name))
    return page(session, stmt, q, "orders", order_json, ORDER_SORTS, ImagingOrder.id)


MERGE_SORTS = {"at": PatientMerge.at, "kind": PatientMerge.kind, "survivor_patient_id": PatientMerge.survivor_patient_id,
               "merged_patient_id": PatientMerge.merged_patient_id, "undone_at": PatientMerge.undone_at}


class MergeQuery(Page):
    sort: sort_field(MERGE_SORTS) = "at"
    order: Order = "desc"
    patient_id: column_text(PatientMerge.survivor_patient_id) | None = None


@route("GET", r"hl7/merges", role=VIEWER, personal=True)
def list_merges(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, MergeQuery)
    stmt = select(PatientMerge)
    if q.patient_id:
        stmt = stmt.where((PatientMerge.survivor_patient_id == q.patient_id) | (PatientMerge.merged_patient_id == q.patient_id))
    return page(session, stmt, q, "merges", merge_json, MERGE_SORTS, PatientMerge.id)


@route("POST", r"hl7/merges/(?P<id>[0-9]+)/undo", role=ADMIN)
def undo_merge(ctx: Context, session: Session, request: Request) -> dict:
    note = body(request, NoteBody).note
    return run_action(lambda: adt.undo_merge(session, path_id(request), request.user, note))
