"""The daily digest: what needs attention today (the ESR asks for a control every working day)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Alert

OPEN = ("new", "acknowledged", "under_investigation")
STALE_DAYS = 7  # an open alert older than this is overdue
WORKING_DAYS = (0, 1, 2, 3, 4)  # Monday to Friday


def previous_working_day(day: dt.date) -> dt.date:
    """The working day before ``day`` (Friday for a Monday)."""
    day -= dt.timedelta(days=1)
    while day.weekday() not in WORKING_DAYS:
        day -= dt.timedelta(days=1)
    return day


def daily_digest(session: Session, day: dt.date) -> dict:
    """Open alerts on ``day``: new since the previous working day, unassigned, overdue, by severity and kind.

    Returns
    -------
    dict
        ``date``, ``since`` (start of the previous working day), ``counts`` (open alerts by status,
        severity and kind), ``new_since`` (alerts created since then), ``unassigned`` and ``overdue``
        (lists of alert summaries, most severe first).
    """
    since = dt.datetime.combine(previous_working_day(day), dt.time(), tzinfo=dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
    alerts = session.scalars(select(Alert).where(Alert.status.in_(OPEN), Alert.created_at < end)
                             .order_by(Alert.id)).all()
    counts: dict = {"status": {}, "severity": {}, "kind": {}}
    for alert in alerts:
        for name in counts:
            value = getattr(alert, name)
            counts[name][value] = counts[name].get(value, 0) + 1
    order = {"high": 0, "warning": 1, "info": 2}

    def ranked(items):
        return [summary(a) for a in sorted(items, key=lambda a: (order.get(a.severity, 3), a.id))]

    overdue_before = end - dt.timedelta(days=STALE_DAYS + 1)
    return {
        "date": day.isoformat(), "since": since.date().isoformat(), "open": len(alerts), "counts": counts,
        "new_since": ranked(a for a in alerts if _aware(a.created_at) >= since),
        "unassigned": ranked(a for a in alerts if a.assignee is None and a.status != "new"),
        "overdue": ranked(a for a in alerts if _aware(a.created_at) < overdue_before),
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)  # SQLite gives naive UTC


def summary(alert: Alert) -> dict:
    """An alert as the digest lists it."""
    return {"id": alert.id, "severity": alert.severity, "kind": alert.kind, "status": alert.status,
            "study_instance_uid": alert.study_instance_uid, "person_id": alert.person_id,
            "study_date": alert.study_date.isoformat() if alert.study_date else None,
            "reason": alert.reason, "assignee": alert.assignee,
            "created_at": alert.created_at.isoformat() if alert.created_at else None}
