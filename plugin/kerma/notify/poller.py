"""The outbox poller: a daemon thread that delivers due messages, never inside an ingest transaction.

Each message is claimed, composed, sent and marked in its own short transactions; an unreachable
server leaves it pending for a later attempt (backoff up to 15 minutes), so nothing is lost while
SMTP is down and nothing is sent twice once it is back.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import sessionmaker

from ..config import Settings
from . import outbox, smtp, webhook
from ..background import PeriodicThread
from .messages import compose
from .smtp import PermanentFailure

log = logging.getLogger("kerma.notify")


def configure(settings: Settings) -> None:
    """Take the webhook targets and the back-fill cut-off from the settings (the outbox adds the messages)."""
    hooks = tuple(outbox.Webhook(w["Url"], w.get("Secret")) for w in settings.webhooks if w.get("Url"))
    outbox.set_targets(outbox.Targets(hooks, settings.notify_within_days))


def deliver_due(sessions: sessionmaker, settings: Settings, limit: int = 20) -> dict:
    """Try every due message once; returns counts by outcome (``sent``, ``retry``, ``failed``)."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with sessions() as session:
        claimed = outbox.claim_due(session, limit)
        for message in claimed:
            try:
                email, payload = compose(session, message, settings.base_url)
                if message.channel == "email":
                    smtp.send(settings.smtp, email, message.address, smtp.message_id(message.dedup_key, settings.smtp.sender))
                else:
                    hook = next((w for w in outbox.webhooks() if w.url == message.address), None)
                    webhook.post(message.address, payload, hook.secret if hook else None, message.dedup_key)
                outbox.mark_sent(message)
                counts["sent"] += 1
            except PermanentFailure as exc:
                outbox.mark_failed_attempt(message, str(exc), permanent=True)
                counts["failed"] += 1
                log.error("outbox message %d refused for good: %s", message.id, exc)
            except Exception as exc:  # server down, timeout: try again later
                outbox.mark_failed_attempt(message, f"{type(exc).__name__}: {exc}")
                counts["retry"] += 1
                log.warning("outbox message %d not delivered yet (attempt %d): %s", message.id, message.attempts, exc)
            session.commit()
    return counts


class OutboxPoller(PeriodicThread):
    """The daemon thread that delivers the outbox (started and stopped with Orthanc)."""

    name = "kerma-outbox"

    def __init__(self, sessions: sessionmaker, settings: Settings):
        super().__init__(settings.outbox_poll_seconds)
        self.sessions = sessions
        self.settings = settings

    def tick(self) -> bool:
        counts = deliver_due(self.sessions, self.settings)
        return sum(counts.values()) > 0 and counts["retry"] == 0  # a full batch went out: there may be more
