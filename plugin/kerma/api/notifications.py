"""REST: notification recipients (by role, device, site; audited) and the outbox."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..access import PHYSICIST
from ..db.models import Device, OutboxMessage, Recipient
from ..evaluate.rules import NOTIFY_ROLES, SEVERITY_RANK
from ..notify.outbox import message_json
from ..notify.recipients import recipient_json
from .his import page
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import Body, Id, Order, Page, body, choices, column_text, path_row, query, sort_field

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
FIELDS = ("name", "role", "email", "device_id", "site", "min_severity", "daily_digest", "enabled")


class RecipientBody(Body):
    name: column_text(Recipient.name, nonempty=True)
    role: Literal[NOTIFY_ROLES]
    email: Annotated[column_text(Recipient.email), StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
    device_id: Id | None = None
    site: column_text(Recipient.site) | None = None
    min_severity: Literal[tuple(SEVERITY_RANK)] = "info"
    daily_digest: bool = False
    enabled: bool = True


def _checked(session: Session, request: Request, current: dict | None = None) -> dict:
    fields = body(request, RecipientBody, current).model_dump()
    if fields["device_id"] is not None and session.get(Device, fields["device_id"]) is None:
        raise ApiError(400, "device_id names no device")
    return fields


@route("GET", r"notifications/recipients", role=PHYSICIST)
def list_recipients(ctx: Context, session: Session, request: Request):
    recipients = session.scalars(select(Recipient).order_by(Recipient.role, Recipient.id))
    return {"recipients": with_names(session, [recipient_json(r) for r in recipients])}


@route("POST", r"notifications/recipients", role=PHYSICIST)
def create_recipient(ctx: Context, session: Session, request: Request):
    recipient = Recipient(**_checked(session, request))
    session.add(recipient)
    session.flush()
    audit.record(session, request.user, "recipient.create", "recipient", recipient.id, after=recipient_json(recipient))
    return recipient_json(recipient)


@route("PUT", r"notifications/recipients/(?P<id>\d+)", role=PHYSICIST)
def update_recipient(ctx: Context, session: Session, request: Request):
    recipient = path_row(session, request, Recipient, "recipient")
    before = recipient_json(recipient)
    for name, value in _checked(session, request, {k: before[k] for k in FIELDS}).items():
        setattr(recipient, name, value)
    session.flush()
    audit.record(session, request.user, "recipient.update", "recipient", recipient.id, before=before,
                 after=recipient_json(recipient))
    return recipient_json(recipient)


@route("DELETE", r"notifications/recipients/(?P<id>\d+)", role=PHYSICIST)
def delete_recipient(ctx: Context, session: Session, request: Request):
    recipient = path_row(session, request, Recipient, "recipient")
    before = recipient_json(recipient)
    session.delete(recipient)
    audit.record(session, request.user, "recipient.delete", "recipient", before["id"], before=before)
    return {"deleted": before["id"]}


OUTBOX_SORTS = {"created_at": OutboxMessage.created_at, "status": OutboxMessage.status, "kind": OutboxMessage.kind,
                "channel": OutboxMessage.channel, "address": OutboxMessage.address, "attempts": OutboxMessage.attempts,
                "sent_at": OutboxMessage.sent_at}


class OutboxQuery(Page):
    status: choices(OUTBOX_STATUSES) = ()
    sort: sort_field(OUTBOX_SORTS) = "created_at"
    order: Order = "desc"


@route("GET", r"notifications/outbox", role=PHYSICIST)
def list_outbox(ctx: Context, session: Session, request: Request):
    q = query(request, OutboxQuery)
    stmt = select(OutboxMessage)
    if q.status:
        stmt = stmt.where(OutboxMessage.status.in_(q.status))
    return page(session, stmt, q, "messages", message_json, OUTBOX_SORTS, OutboxMessage.id)


@route("POST", r"notifications/outbox/(?P<id>\d+)/retry", role=PHYSICIST)
def retry(ctx: Context, session: Session, request: Request):
    """Send a message the server refused for good once more (e.g. after an address was corrected)."""
    message = path_row(session, request, OutboxMessage, "message")
    if message.status != "failed":
        raise ApiError(409, f"only failed messages are retried by hand; this one is {message.status}")
    message.status, message.next_attempt_at = "pending", clock.now()
    audit.record(session, request.user, "outbox.retry", "outbox_message", message.id, note=message.last_error)
    return message_json(message)
