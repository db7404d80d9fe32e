"""GET /kerma/api/audit: the audit trail, filtered by actor, action (and the actions below it), target and date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from .. import audit
from ..access import ADMIN
from .his import page
from ..db.models import AuditEntry
from .router import Context, Request, route
from .schemas import Day, Order, Page, column_text, query, sort_field


AUDIT_SORTS = {"at": AuditEntry.at, "actor": AuditEntry.actor, "action": AuditEntry.action,
               "target_type": AuditEntry.target_type, "target_id": AuditEntry.target_id}


class AuditQuery(Page):
    sort: sort_field(AUDIT_SORTS) = "at"
    order: Order = "desc"
    actor: column_text(AuditEntry.actor) | None = None
    action: column_text(AuditEntry.action) | None = None
    target_type: column_text(AuditEntry.target_type) | None = None
    target_id: column_text(AuditEntry.target_id) | None = None
    date_from: Day | None = None
    date_to: Day | None = None


@route("GET", r"audit", role=ADMIN)
def list_audit(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, AuditQuery)
    stmt = audit.query(actor=q.actor, action=q.action, target_type=q.target_type, target_id=q.target_id,
                       since=_start_of(q.date_from), until=_start_of(q.date_to + dt.timedelta(days=1)) if q.date_to else None)
    return page(session, stmt, q, "entries", audit.as_json, AUDIT_SORTS, AuditEntry.id)


def _start_of(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) if day else None
