"""The durable outbox: messages written in the transaction of what they report, delivered later.

Rows move ``pending`` → ``sending`` (claimed by one poller until ``claimed_until``) → ``sent``; a
failed attempt goes back to ``pending`` with a later ``next_attempt_at``.  A message is claimed by
an atomic update, so two pollers (two Orthanc nodes on one PostgreSQL) never send the same one.
Webhook targets and the back-fill cut-off come from Orthanc's configuration, set once at start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..db.models import Alert, OutboxMessage, ReportRun, Study
from ..evaluate.findings import Raised
from .recipients import recipients_for

CLAIM_SECONDS = 120  # a poller that died while sending releases its messages after this
MAX_BACKOFF_SECONDS = 900


@dataclass(frozen=True)
class Webhook:
    """A webhook target from ``Kerma.Webhooks``."""

    url: str
    secret: str | None = None  # signs the body (HMAC-SHA256) when set


@dataclass(frozen=True)
class Targets:
    """Where alerts go besides the recipients, and which alerts are told at all (from the configuration)."""

    webhooks: tuple[Webhook, ...] = ()
    within_days: int = 0  # > 0: alerts on studies older than this (a back-fill) are recorded, not sent


_targets = Targets()


def set_targets(targets: Targets) -> None:
    """The targets of this Orthanc's configuration (called once at start)."""
    global _targets
    _targets = targets


def webhooks() -> tuple[Webhook, ...]:
    """The configured webhook targets."""
    return _targets.webhooks


def _add(session: Session, kind: str, channel: str, address: str, key: str, **links) -> None:
    session.add(OutboxMessage(kind=kind, channel=channel, address=address, dedup_key=key[:600], status="pending",
                              attempts=0, next_attempt_at=clock.now(), **links))


def enqueue_alerts(session: Session, raised: list[Raised]) -> list[Alert]:
    """The outbox messages of each new alert an evaluation raised (:func:`enqueue_alert`); returns the alerts."""
    for new in raised:
        enqueue_alert(session, new.alert, new.roles, site=new.site)
    return [new.alert for new in raised]


def enqueue_alert(session: Session, alert: Alert, roles, site: str | None = None) -> int:
    """One e-mail per recipient of ``roles`` (by device, site, severity) and one POST per webhook; returns how many.

    The site is the study's institution; an alert on a person (occupational dose) gives its ``site``.  An alert
    on a study older than the configured ``within_days`` (Orthanc's history back-filled when Kerma is enabled)
    is told to nobody: it waits in the alert list and the digest.
    """
    if _targets.within_days and alert.study_date is not None \
            and alert.study_date < clock.today() - dt.timedelta(days=_targets.within_days):
        return 0
    if alert.study_id is not None:
        site = session.scalar(select(Study.institution_name).where(Study.id == alert.study_id))
    people = recipients_for(session, roles, device_id=alert.device_id, site=site, severity=alert.severity)
    for person in people:
        _add(session, "alert", "email", person.email, f"alert:{alert.id}:email:{person.email.casefold()}", alert_id=alert.id)
    for hook in _targets.webhooks:
        _add(session, "alert", "webhook", hook.url, f"alert:{alert.id}:webhook:{hook.url}", alert_id=alert.id)
    return len(people) + len(_targets.webhooks)


def enqueue_digest(session: Session, day: dt.date, roles) -> int:
    """The daily digest of ``day`` to the recipients of ``roles`` who asked for it; once per day and address."""
    known = set(session.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.digest_date == day)))
    added = 0
    for person in recipients_for(session, roles, digest=True):
        key = f"digest:{day.isoformat()}:{person.email.casefold()}"
        if key not in known:
            known.add(key)
            _add(session, "digest", "email", person.email, key, digest_date=day)
            added += 1
    return added


def enqueue_report(session: Session, run: ReportRun) -> int:
    """The report's e-mail (PDF attached) to the recipients of its roles."""
    people = recipients_for(session, run.roles or [], device_id=(run.filters or {}).get("device_id"))
    for person in people:
        _add(session, "report", "email", person.email, f"report:{run.id}:{person.email.casefold()}", report_id=run.id)
    return len(people)


def claim_due(session: Session, limit: int = 20) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for this poller (each claim is an atomic conditional update)."""
    moment = clock.now()
    due = session.scalars(select(OutboxMessage.id).where(
        or_((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= moment),
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < moment)))
        .order_by(OutboxMessage.id).limit(limit)).all()
    claimed = []
    for message_id in due:
        result = session.execute(update(OutboxMessage).where(
            OutboxMessage.id == message_id,
            or_(OutboxMessage.status == "pending", (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < moment)))
            .values(status="sending", claimed_until=moment + dt.timedelta(seconds=CLAIM_SECONDS)))
        if result.rowcount == 1:
            claimed.append(message_id)
    session.commit()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)))


def mark_sent(message: OutboxMessage) -> None:
    """The server took the message: it is never sent again."""
    message.status, message.sent_at, message.claimed_until, message.last_error = "sent", clock.now(), None, None
    message.attempts += 1


def mark_failed_attempt(message: OutboxMessage, error: str, *, permanent: bool = False) -> None:
    """Back to pending with exponential backoff (5 s, 10 s, … 15 min); ``failed`` when the server refused for good."""
    message.attempts += 1
    message.last_error = error[:2000]
    message.claimed_until = None
    if permanent:
        message.status = "failed"
        return
    message.status = "pending"
    message.next_attempt_at = clock.now() + dt.timedelta(seconds=min(5 * 2 ** (message.attempts - 1), MAX_BACKOFF_SECONDS))


def message_json(m: OutboxMessage) -> dict:
    """A message as the REST API shows it."""
    return {"id": m.id, "created_at": m.created_at.isoformat() if m.created_at else None, "kind": m.kind,
            "channel": m.channel, "address": m.address, "alert_id": m.alert_id, "report_id": m.report_id,
            "digest_date": m.digest_date.isoformat() if m.digest_date else None, "status": m.status,
            "attempts": m.attempts, "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
            "last_error": m.last_error, "sent_at": m.sent_at.isoformat() if m.sent_at else None}
