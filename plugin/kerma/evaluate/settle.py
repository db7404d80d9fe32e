"""What a correction factor's change does to the alerts of the studies it covers, once they are evaluated again.

A physicist who corrects a device's values means its alerts to follow: an open alert whose value the correction
brings under its threshold is closed, by the physicist who made the change, with the reason (the factor, the value
now and the threshold) as its comment and in the audit trail; one already justified or closed gets that reason as a
comment.  An alert closed so that a later change puts above its threshold again is reopened, with the reason.  A study
the correction puts above a threshold gets its new alert from the evaluation itself.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..db.models import Alert
from ..numbers import show
from .evaluator import REEVALUATED_BY
from .findings import Evaluation
from .review import act, comment_on

CLOSED = "Closed automatically: "  # how the comment of an alert a correction closed begins (reopening looks for it)
CLEARED = "No longer "  # how the note on an alert already justified or closed begins
OPEN = ("new", "acknowledged", "under_investigation")


def settle(session: Session, evaluation: Evaluation, cause: str, actor: str | None) -> dict:
    """Close, comment or reopen the alerts ``evaluation`` found cleared or again; ``cause`` names the change
    ("correction factor #3 (DAP calibration factor ×0.9, version 2)").  Returns how many of each."""
    done = {"closed": 0, "commented": 0, "reopened": 0}
    for cleared in evaluation.cleared:
        alert = cleared.alert
        if cleared.value is not None:
            alert.value = cleared.value
        text = f"no longer {_side(alert)} the threshold after {cause}: {_values(alert, cleared.value)}."
        if alert.status in OPEN:
            act(session, alert, "close", actor, comment=CLOSED + text, reportable=False)
            done["closed"] += 1
        elif not _last_comment_starts(alert, CLOSED, CLEARED):
            comment_on(session, alert, text[0].upper() + text[1:], actor)
            done["commented"] += 1
    for alert in evaluation.again:
        text = f"{_side(alert).capitalize()} the threshold again after {cause}: {_values(alert, alert.value)}."
        if alert.status == "closed" and _last_comment_starts(alert, CLOSED):
            act(session, alert, "reopen", actor, comment=text)
            done["reopened"] += 1
        elif _last_comment_starts(alert, CLEARED):
            comment_on(session, alert, text, actor)
            done["commented"] += 1
    return done


def _last_comment_starts(alert: Alert, *prefixes: str) -> bool:
    """Whether the last comment a person's step left (not the evaluator's own note of a new value) starts so."""
    said = [c for c in alert.comments if c.author != REEVALUATED_BY]
    return bool(said) and said[-1].text.startswith(prefixes)


def _side(alert: Alert) -> str:
    """Which side of its threshold the alert's value was: below for a value under an expected range."""
    return "below" if alert.subject.endswith(":below") else "above"


def _values(alert: Alert, value: float | None) -> str:
    def shown(value):
        if value is None:
            return "none"
        return show(value, alert.quantity) if alert.quantity else f"{value:g}"
    return f"value {shown(value)}, threshold {shown(alert.threshold)}"
