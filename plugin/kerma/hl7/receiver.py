"""One received HL7 message: parse, apply in one transaction, keep it, answer.

Every message is stored as received in ``hl7_message`` with its answer (AA, AE,
AR) and outcome, so the trail of what the HIS said is in the database; the log
line names the message type, control ID and sender, never the patient.
"""

from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from ..db.models import Hl7Message
from . import adt, orders
from .ack import acknowledgement
from .messages import CHARACTER_SETS, Header, Hl7Error, Message, decode, parse, read_header, salvage_header

log = logging.getLogger("kerma.hl7")


class Hl7Receiver:
    """The handler the MLLP listener calls with each message's bytes; returns the ACK's bytes.

    Parameters
    ----------
    sessions : sessionmaker
        The dose database.
    patient_id_authority : str, optional
        See :func:`kerma.hl7.messages.read_message`.
    """

    def __init__(self, sessions: sessionmaker, patient_id_authority: str | None = None):
        self.sessions = sessions
        self.patient_id_authority = patient_id_authority

    def __call__(self, raw: bytes) -> bytes:
        header, text = None, None
        try:
            text = decode(raw)
            header = read_header(text)
            message = parse(text, header, self.patient_id_authority)
        except Hl7Error as exc:
            return self._refuse(raw, text, header, exc)
        try:
            with self.sessions() as session, session.begin():
                row = _row(text, header, "AA")
                session.add(row)
                session.flush()
                row.outcome = APPLY[message.kind](session, message, row.id, f"hl7:{header.sending_application or 'unknown'}")
        except Hl7Error as exc:
            return self._refuse(raw, text, header, exc)
        except Exception as exc:  # a database outage: the sender keeps the message and sends it again
            log.error("HL7 %s %s not applied: %s", header.message_type, header.control_id, type(exc).__name__)
            return self._refuse(raw, text, header, Hl7Error("Kerma could not store the message; send it again"))
        log.info("HL7 %s %s from %s: AA, %s", header.message_type, header.control_id, header.sending_application,
                 row.outcome)
        return _encode(acknowledgement(header, "AA"), header)

    def refuse_frame(self, reason: str, fragment: bytes = b"") -> bytes:
        """The NAK for bytes that never became a message (see :class:`kerma.hl7.mllp.MllpServer`).

        ``fragment`` is their start: the NAK names the control ID when an MSH is found there.
        """
        header = salvage_header(fragment)
        log.warning("HL7 frame refused (%s): %s", header.control_id if header else "-", reason)
        return _encode(acknowledgement(header, "AE", reason, "100"), header)

    def _refuse(self, raw: bytes, text: str | None, header: Header | None, error: Hl7Error) -> bytes:
        """Keep the refused message with its reason, answer AE/AR (naming its control ID when it can be found)."""
        header = header or salvage_header(raw)
        reason = str(error)
        log.warning("HL7 %s %s from %s: %s, %s", header.message_type if header else "(unreadable)",
                    header.control_id if header else "-", header.sending_application if header else "-",
                    error.ack_code, reason)
        try:
            with self.sessions() as session, session.begin():
                row = _row(text if text is not None else raw.decode("latin-1"), header, error.ack_code)
                row.error = reason
                session.add(row)
        except Exception as exc:
            log.error("HL7 message refused and not kept: %s", type(exc).__name__)
        return _encode(acknowledgement(header, error.ack_code, reason, error.error_code), header)


def _row(text: str, header: Header | None, ack_code: str) -> Hl7Message:
    header = header or Header()
    return Hl7Message(control_id=_clip(header.control_id, 64), message_type=_clip(header.message_type, 32),
                      version=_clip(header.version, 16), sending_application=_clip(header.sending_application, 128),
                      sending_facility=_clip(header.sending_facility, 128), ack_code=ack_code,
                      raw=text.replace("\x00", ""))


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else value


def _encode(ack: str, header: Header | None) -> bytes:
    """The ACK in the character set the message declared (UTF-8 otherwise)."""
    codec = CHARACTER_SETS.get(((header.character_set if header else None) or "").upper(), "utf-8")
    return ack.encode(codec, errors="replace")


def _apply_update(session: Session, message: Message, message_id: int, actor: str) -> str:
    adt.update_patient(session, message.patient, message_id, actor=actor)
    return "patient updated"


def _apply_merges(session: Session, message: Message, message_id: int, actor: str) -> str:
    done = []
    for merge in message.merges:
        record = adt.merge_patients(session, merge.survivor, merge.prior_patient_id, message.kind, actor, message_id)
        done.append("same patient ID, nothing moved" if record is None else
                    f"merge {record.id}: {len(record.moved['studies'])} studies, {len(record.moved['orders'])} orders moved")
    return "; ".join(done)


def _apply_orders(session: Session, message: Message, message_id: int, actor: str) -> str:
    patient_id = message.patient.patient_id if message.patient else None
    if message.patient is not None:
        adt.update_patient(session, message.patient, message_id, create_only=True)
    return "; ".join(orders.apply_order(session, order, patient_id, message_id) for order in message.orders)


APPLY: dict[str, Callable[[Session, Message, int, str], str]] = {
    "update": _apply_update, "merge": _apply_merges, "identifier": _apply_merges, "order": _apply_orders,
}
