"""JSON views of what the HIS/RIS sent (messages, patients, orders, merges) and of the actions on them."""

from __future__ import annotations

from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Hl7Message, ImagingOrder, PatientMerge, PatientRecord, Study
from ..reconcile.records import Conflict, NotFound
from .router import ApiError
from .schemas import Page
from .views import iso


COUNTED_UP_TO = 10_000  # a list's total is counted up to this many rows; past it, "more than" (a page needs no more)


def total(session: Session, stmt) -> dict:
    """``{"total": rows of stmt, "counted_up_to": COUNTED_UP_TO}``, the total null when there are more than that: a
    count reads every row of the list (the studies with dose data of a site: 333,000 at 1,000,000 events, 0.4-1.2 s
    for a page of 50 at load 15; ten times that at 10,000,000), and the database stops reading at the bound."""
    n = session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(COUNTED_UP_TO + 1).subquery()))
    return {"total": n if n <= COUNTED_UP_TO else None, "counted_up_to": COUNTED_UP_TO}


def page(session: Session, stmt, window: Page, key: str, view: Callable, sort: dict | None = None, *tiebreak) -> dict:
    """``{"total", "counted_up_to", "limit", "offset", key: [view(row)...]}`` for a select statement and the query's
    limit/offset (``total``: see :func:`total`).

    ``sort``: the route's sortable columns by name; the statement is then ordered by ``window.sort`` in
    ``window.order`` (absent values last), then by ``tiebreak``.
    """
    counted = total(session, stmt)
    if sort is not None:
        stmt = ordered(stmt, sort[window.sort], window.order, *tiebreak)
    rows = session.scalars(stmt.limit(window.limit).offset(window.offset)).all()
    return {**counted, "limit": window.limit, "offset": window.offset, key: [view(r) for r in rows]}


def ordered(stmt, column, order: str, *tiebreak):
    """``stmt`` ordered by ``column`` ascending or descending with absent values last, then by ``tiebreak`` (a
    unique column, so that pages do not overlap) in the same direction."""
    def way(c):
        return c.asc() if order == "asc" else c.desc()
    return stmt.order_by(None).order_by(way(column).nulls_last(), *(way(c) for c in tiebreak))


def sorted_items(items: list, key: Callable, order: str) -> list:
    """A list computed in Python sorted by ``key(item)``, absent (None) values last in either direction."""
    present = [i for i in items if key(i) is not None]
    return sorted(present, key=key, reverse=order == "desc") + [i for i in items if key(i) is None]


def run_action(action: Callable):
    """Run a reconciliation action; its NotFound and Conflict become HTTP 404 and 409."""
    try:
        return action()
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None


def message_json(message: Hl7Message) -> dict:
    """A received message without its content (``GET hl7/messages/{id}`` adds it, redacted)."""
    return {"id": message.id, "received_at": iso(message.received_at), "control_id": message.control_id,
            "message_type": message.message_type, "version": message.version,
            "sending_application": message.sending_application, "sending_facility": message.sending_facility,
            "ack_code": message.ack_code, "error": message.error, "outcome": message.outcome}


def patient_json(record: PatientRecord, every_identifier: bool = False) -> dict:
    """The HIS's record of a patient; of its PID-3 identifiers (national ID numbers among them) only the one
    Kerma uses as Patient ID, unless ``every_identifier`` (an admin asked for them)."""
    identifiers = record.identifiers or []
    shown = identifiers if every_identifier else [i for i in identifiers if i.get("id") == record.patient_id][:1]
    return {"patient_id": record.patient_id, "issuer": record.issuer, "identifiers": shown,
            "identifiers_withheld": len(identifiers) - len(shown),
            "name": record.name, "birth_date": iso(record.birth_date), "sex": record.sex,
            "height_m": record.height_m, "weight_kg": record.weight_kg, "merged_into": record.merged_into,
            "updated_at": iso(record.updated_at)}


def merge_json(merge: PatientMerge) -> dict:
    return {"id": merge.id, "at": iso(merge.at), "kind": merge.kind,
            "survivor_patient_id": merge.survivor_patient_id, "merged_patient_id": merge.merged_patient_id,
            "study_count": len(merge.moved["studies"]), "order_count": len(merge.moved["orders"]),
            "message_id": merge.message_id, "undone_at": iso(merge.undone_at), "undone_by": merge.undone_by}


def order_json(order: ImagingOrder) -> dict:
    return {"id": order.id, "placer_order_number": order.placer_order_number,
            "filler_order_number": order.filler_order_number, "accession_number": order.accession_number,
            "patient_id": order.patient_id, "status": order.status, "order_control": order.order_control,
            "order_status": order.order_status, "result_status": order.result_status,
            "procedure": {"code": order.procedure_code, "scheme": order.procedure_scheme, "text": order.procedure_text},
            "clinical_indication": order.clinical_indication, "ordering_department": order.ordering_department,
            "modality": order.modality, "study_instance_uid": order.study_instance_uid,
            "scheduled_at": iso(order.scheduled_at), "completed_at": iso(order.completed_at),
            "updated_at": iso(order.updated_at)}


def study_json(study: Study) -> dict:
    """The study's identity and patient as Kerma holds them (what reconciliation compares and changes)."""
    return {"study_instance_uid": study.study_instance_uid, "study_date": iso(study.study_date),
            "accession_number": study.accession_number, "study_description": study.study_description,
            "order_id": study.order_id,
            "patient": {"patient_id": study.patient_id, "name": study.patient_name,
                        "birth_date": iso(study.patient_birth_date), "sex": study.patient_sex}}
