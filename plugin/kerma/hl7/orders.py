"""ORM^O01 / OMI^O23: orders, their status changes and cancellations; ORU^R01: results of orders Kerma has (their
status, the contrast media their OBX state)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..db.models import ImagingOrder
from ..db.states import CANCELLED, COMPLETED, IN_PROGRESS, SCHEDULED, mark_refresh_due
from ..reconcile.lists import studies_of_order
from .messages import Order

# ORC-1 order control codes (HL7 table 0119) that end an order
CANCEL_CONTROLS = {"CA", "OC", "CR", "DC", "OD", "DR"}
# ORC-5 order status (table 0038) and OBR-25 result status (table 0123), most final first
ORDER_STATUS_STATES = {"CA": CANCELLED, "DC": CANCELLED, "CM": COMPLETED, "IP": IN_PROGRESS, "SC": SCHEDULED}
RESULT_STATUS_STATES = {"X": CANCELLED, "F": COMPLETED, "C": COMPLETED, "R": COMPLETED, "P": COMPLETED,
                        "I": IN_PROGRESS, "S": SCHEDULED, "O": SCHEDULED}
FIELDS = ("placer_order_number", "filler_order_number", "accession_number", "procedure_code", "procedure_scheme",
          "procedure_text", "clinical_indication", "ordering_department", "modality", "study_instance_uid",
          "scheduled_at", "contrast")  # contrast: the administrations its OBX stated (a later statement replaces them)


def order_state(order: Order) -> str | None:
    """Kerma's state of an order from ORC-1, ORC-5 and OBR-25 (None: the message says nothing about it).

    A result (OBR-25 P, R, F or C) means the examination was done, so the order counts as completed.
    """
    if order.control in CANCEL_CONTROLS:
        return CANCELLED
    states = [ORDER_STATUS_STATES.get(order.order_status or ""), RESULT_STATUS_STATES.get(order.result_status or "")]
    for state in (CANCELLED, COMPLETED, IN_PROGRESS, SCHEDULED):
        if state in states:
            return state
    return SCHEDULED if order.control == "NW" else None


def find_order(session: Session, order: Order) -> ImagingOrder | None:
    """The stored order this message is about: by placer, else filler order number, else accession number."""
    for column, value in ((ImagingOrder.placer_order_number, order.placer_order_number),
                          (ImagingOrder.filler_order_number, order.filler_order_number),
                          (ImagingOrder.accession_number, order.accession_number)):
        if value:
            found = session.scalars(select(ImagingOrder).where(column == value).order_by(ImagingOrder.id)).first()
            if found is not None:
                return found
    return None


def apply_order(session: Session, order: Order, patient_id: str | None, message_id: int | None,
                now: dt.datetime | None = None) -> str:
    """Create or update the order; return what was done (no patient data in the text).

    A message without a requested procedure (no OBR/IPC) only changes an order Kerma
    already has: a status change for an unknown order is acknowledged and ignored.
    """
    stored = find_order(session, order)
    state = order_state(order)
    if stored is None:
        if not order.has_request:
            return "status change for an unknown order ignored"
        # IHE radiology puts the accession number in OBR-18 or IPC-1; many RIS use the filler order number
        # and without an ordering department (ORC-17), the patient's ward orders
        stored = ImagingOrder(accession_number=order.filler_order_number, ordering_department=order.patient_location)
        session.add(stored)
        action = "created"
    else:
        action = "updated"
    for name in FIELDS:
        value = getattr(order, name)
        if value is not None:
            setattr(stored, name, value)
    if stored.scheduled_at is not None:
        stored.scheduled_date = stored.scheduled_at.date()
    if patient_id:
        stored.patient_id = patient_id
    stored.order_control = order.control or stored.order_control
    stored.order_status = order.order_status or stored.order_status
    stored.result_status = order.result_status or stored.result_status
    status = state or stored.status or SCHEDULED
    if status != stored.status:
        # the no-dose delay runs from when Kerma learnt of the completion
        stored.completed_at = (now or clock.now()) if status == COMPLETED else None
        stored.status = status
    stored.last_message_id = message_id
    session.flush()
    # the studies it matches are classified again (by the ingest worker): mapping rules may test its procedure
    # code and indication
    mark_refresh_due(studies_of_order(session, stored))
    return f"order {action} ({stored.status})"
