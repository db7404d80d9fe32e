"""REST: notification recipients (by role, device, site; audited) and the outbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..access import PHYSICIST
from ..db.models import Device, OutboxMessage, Recipient
from ..notify.outbox import message_json
from ..notify.recipients import ROLES, SEVERITY_RANK, recipient_json
from .his import page
from .router import ApiError, Context, Request, route

FIELDS = ("name", "role", "email", "device_id", "site", "min_severity", "daily_digest", "enabled")


def _checked(session: Session, body: dict, current: dict | None = None) -> dict:
    fields = {**(current or {}), **{k: body[k] for k in FIELDS if k in body}}
    if not fields.get("name") or "@" not in str(fields.get("email") or ""):
        raise ApiError(400, "a recipient needs a name and an e-mail address")
    if fields.get("role") not in ROLES:
        raise ApiError(400, f"role must be one of {', '.join(ROLES)}")
    fields.setdefault("min_severity", "info")
    if fields["min_severity"] not in SEVERITY_RANK:
        raise ApiError(400, f"min_severity must be one of {', '.join(SEVERITY_RANK)}")
    if fields.get("device_id") is not None and session.get(Device, fields["device_id"]) is None:
        raise ApiError(400, "device_id names no device")
    fields.setdefault("daily_digest", False)
    fields.setdefault("enabled", True)
    return fields


def _recipient(session: Session, request: Request) -> Recipient:
    recipient = session.get(Recipient, int(request.param("id")))
    if recipient is None:
        raise ApiError(404, "no such recipient")
    return recipient


@route("GET", r"notifications/recipients", role=PHYSICIST)
def list_recipients(ctx: Context, session: Session, request: Request):
    return {"recipients": [recipient_json(r) for r in session.scalars(select(Recipient).order_by(Recipient.role, Recipient.id))]}


@route("POST", r"notifications/recipients", role=PHYSICIST)
def create_recipient(ctx: Context, session: Session, request: Request):
    recipient = Recipient(**_checked(session, request.body or {}))
    session.add(recipient)
    session.flush()
    audit.record(session, request.user, "recipient.create", "recipient", recipient.id, after=recipient_json(recipient))
    return recipient_json(recipient)


@route("PUT", r"notifications/recipients/(?P<id>\d+)", role=PHYSICIST)
def update_recipient(ctx: Context, session: Session, request: Request):
    recipient = _recipient(session, request)
    before = recipient_json(recipient)
    for name, value in _checked(session, request.body or {}, {k: before[k] for k in FIELDS}).items():
        setattr(recipient, name, value)
    session.flush()
    audit.record(session, request.user, "recipient.update", "recipient", recipient.id, before=before,
                 after=recipient_json(recipient))
    return recipient_json(recipient)


@route("DELETE", r"notifications/recipients/(?P<id>\d+)", role=PHYSICIST)
def delete_recipient(ctx: Context, session: Session, request: Request):
    recipient = _recipient(session, request)
    before = recipient_json(recipient)
    session.delete(recipient)
    audit.record(session, request.user, "recipient.delete", "recipient", before["id"], before=before)
    return {"deleted": before["id"]}


@route("GET", r"notifications/outbox", role=PHYSICIST)
def list_outbox(ctx: Context, session: Session, request: Request):
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if request.query.get("status"):
        stmt = stmt.where(OutboxMessage.status.in_(request.query["status"].split(",")))
    return page(session, stmt, request.query, "messages", message_json)


@route("POST", r"notifications/outbox/(?P<id>\d+)/retry", role=PHYSICIST)
def retry(ctx: Context, session: Session, request: Request):
    """Send a message the server refused for good once more (e.g. after an address was corrected)."""
    message = session.get(OutboxMessage, int(request.param("id")))
    if message is None:
        raise ApiError(404, "no such message")
    if message.status != "failed":
        raise ApiError(409, f"only failed messages are retried by hand; this one is {message.status}")
    message.status, message.next_attempt_at = "pending", clock.now()
    audit.record(session, request.user, "outbox.retry", "outbox_message", message.id, note=message.last_error)
    return message_json(message)
