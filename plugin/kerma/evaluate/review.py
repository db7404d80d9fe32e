"""The review of an alert: new → acknowledged → justified / under investigation / closed (reportable or not).

Every step names who took it, may carry a comment and an assignee, and is written to the audit
trail with the alert's state before and after, in the transaction of the change.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .. import audit, clock
from ..db.models import Alert, AlertComment

# action -> (status it leads to, statuses it may start from)
ACTIONS = {
    "acknowledge": ("acknowledged", ("new",)),
    "investigate": ("under_investigation", ("new", "acknowledged")),
    "justify": ("justified", ("new", "acknowledged", "under_investigation")),
    "close": ("closed", ("new", "acknowledged", "under_investigation", "justified")),
    "reopen": ("acknowledged", ("justified", "closed")),
}
STATUSES = ("new", "acknowledged", "under_investigation", "justified", "closed")


class ReviewError(ValueError):
    """A step the alert's state does not allow, or one missing what it needs."""


def state(alert: Alert) -> dict:
    """The reviewable state of an alert, as the audit trail records it before and after a step."""
    return {"status": alert.status, "assignee": alert.assignee, "reportable": alert.reportable}


def act(session: Session, alert: Alert, action: str, actor: str | None, *, comment: str | None = None,
        assignee: str | None = None, reportable: bool | None = None) -> Alert:
    """Take one review step on ``alert``.

    Parameters
    ----------
    action : str
        ``acknowledge``, ``investigate``, ``justify`` (needs a comment saying why), ``close`` (needs a comment
        saying why, with ``reportable`` true or false: whether it was notified to the authority) or ``reopen``.
    actor : str or None
        The Orthanc user taking the step.
    comment, assignee : str, optional
        Added to the alert (the assignee replaces the current one).
    """
    if action not in ACTIONS:
        raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
    target, sources = ACTIONS[action]
    if alert.status not in sources:
        raise ReviewError(f"a {alert.status.replace('_', ' ')} alert cannot be {action}d; from {alert.status}: "
                          + ", ".join(a for a, (_, s) in ACTIONS.items() if alert.status in s))
    if action in ("justify", "close") and not (comment or "").strip():
        raise ReviewError(f"{'a justification' if action == 'justify' else 'closing'} needs a comment saying why")
    if action == "close" and reportable is None:
        reportable = False  # closing without a notification to the authority: say so in the audit trail
    before = state(alert)
    alert.status = target
    alert.closed_at = clock.now() if target in ("closed", "justified") else None
    if assignee is not None:
        alert.assignee = assignee or None
    if action == "close":
        alert.reportable = bool(reportable)
    if comment and comment.strip():
        alert.comments.append(AlertComment(author=actor, text=comment.strip()))
    session.flush()
    audit.record(session, actor, f"alert.{action}", "alert", alert.id, before=before, after=state(alert), note=comment or None)
    return alert


def assign(session: Session, alert: Alert, assignee: str | None, actor: str | None) -> Alert:
    """Give the alert to ``assignee`` (None: nobody), audited."""
    before = state(alert)
    alert.assignee = assignee or None
    session.flush()
    audit.record(session, actor, "alert.assign", "alert", alert.id, before=before, after=state(alert))
    return alert


def comment_on(session: Session, alert: Alert, text: str, actor: str | None) -> AlertComment:
    """Add a comment to the alert, audited; raises :class:`ReviewError` for an empty one."""
    if not (text or "").strip():
        raise ReviewError("a comment needs text")
    entry = AlertComment(author=actor, text=text.strip())
    alert.comments.append(entry)
    session.flush()
    audit.record(session, actor, "alert.comment", "alert", alert.id, after={"comment": entry.text})
    return entry
