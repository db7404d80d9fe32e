"""Sending one e-mail over SMTP (optionally STARTTLS and login), with a Message-ID stable per outbox row."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from .. import clock
from ..config import SmtpSettings
from .messages import Email

TIMEOUT_SECONDS = 20


class PermanentFailure(Exception):
    """The server refused the message for good (e.g. an unknown recipient): retrying would not help."""


def build(email: Email, sender: str, to: str, message_id: str) -> EmailMessage:
    """The MIME message of ``email``."""
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = email.subject, sender, to
    msg["Date"] = formatdate(clock.now().timestamp())
    msg["Message-ID"] = message_id
    msg.set_content(email.text)
    for name, mime, content in email.attachments:
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg


def message_id(dedup_key: str, sender: str) -> str:
    """A Message-ID fixed by the outbox row: a copy re-sent after a crash between the server's acceptance and
    Kerma's commit carries the same ID, so mail clients fold the two."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:24]
    return f"<kerma.{digest}@{sender.rpartition('@')[2] or 'kerma'}>"


def send(settings: SmtpSettings, email: Email, to: str, msg_id: str) -> None:
    """Deliver ``email`` to ``to``.

    Raises
    ------
    PermanentFailure
        The server refused the sender, the recipient or the content for good.
    OSError, smtplib.SMTPException
        The server is unreachable or failed for now: the outbox tries again later.
    """
    if not settings.host:
        raise OSError("Kerma.Smtp.Host is not configured")
    msg = build(email, settings.sender, to, msg_id)
    with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS) as client:
        if settings.starttls:
            client.starttls()
        if settings.user:
            client.login(settings.user, settings.password or "")
        try:
            client.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentFailure(str(exc)) from exc
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(str(exc)) from exc
            raise
