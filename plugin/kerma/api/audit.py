"""GET /kerma/api/audit: the audit trail, filtered by actor, action (and the actions below it), target and date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from .. import audit
from ..access import ADMIN
from .his import page
from .router import Context, Request, date_param, route


@route("GET", r"audit", role=ADMIN)
def list_audit(ctx: Context, session: Session, request: Request) -> dict:
    query = request.query
    date_from, date_to = date_param(query, "date_from"), date_param(query, "date_to")
    stmt = audit.query(actor=query.get("actor"), action=query.get("action"), target_type=query.get("target_type"),
                       target_id=query.get("target_id"),
                       since=_start_of(date_from), until=_start_of(date_to + dt.timedelta(days=1)) if date_to else None)
    return page(session, stmt, query, "entries", audit.as_json)


def _start_of(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) if day else None
