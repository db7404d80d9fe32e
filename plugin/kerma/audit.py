"""The audit trail: who changed which record, when, from what to what.

Every feature that changes dose records or reference data by hand or through an
interface calls :func:`record` inside its own transaction, so the entry commits
(or rolls back) together with the change it describes.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .db.models import AuditEntry

TARGET_ID_LENGTH = AuditEntry.target_id.type.length or 10_000


def record(session: Session, actor: str | None, action: str, target_type: str, target_id,
           before: dict | None = None, after: dict | None = None, note: str | None = None) -> AuditEntry:
    """Add one audit entry to the session's transaction.

    Parameters
    ----------
    session : Session
        The session of the change being audited; the caller commits.
    actor : str or None
        Who made the change: an Orthanc user name, or ``"hl7:<sending application>"``.
    action : str
        What was done, dotted: ``"study.reassign"``, ``"patient.merge.undo"``.
    target_type, target_id
        What it was done to: ``"study"`` and a Study Instance UID, ``"patient"`` and a patient ID.
    before, after : dict, optional
        The values the change replaced and the values it wrote (JSON-able; dates become ISO text).
    note : str, optional
        Why, in the actor's words.

    Returns
    -------
    AuditEntry
        The new entry (flushed, so its ``id`` is set).
    """
    entry = AuditEntry(actor=_storable(actor), action=action, target_type=target_type,
                       target_id=None if target_id is None else _storable(str(target_id))[:TARGET_ID_LENGTH],
                       before=_jsonable(before), after=_jsonable(after), note=_storable(note))
    session.add(entry)
    session.flush()
    return entry


def query(*, actor: str | None = None, action: str | None = None, target_type: str | None = None,
          target_id: str | None = None, since: dt.datetime | None = None,
          until: dt.datetime | None = None) -> Select:
    """Audit entries matching every filter given, newest first.

    ``action`` matches the action itself and the actions below it: ``"study"`` finds
    ``"study.reassign"`` and ``"study.reassign.undo"``.
    """
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where((AuditEntry.action == action) | AuditEntry.action.startswith(action + "."))
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    return stmt.order_by(AuditEntry.id.desc())


def as_json(entry: AuditEntry) -> dict:
    """An entry as the REST API shows it."""
    return {"id": entry.id, "at": entry.at.isoformat() if entry.at else None, "actor": entry.actor,
            "action": entry.action, "target_type": entry.target_type, "target_id": entry.target_id,
            "before": entry.before, "after": entry.after, "note": entry.note}


def _jsonable(values: dict | None) -> dict | None:
    """``values`` as JSON both databases store and every answer can carry (see :func:`_storable`)."""
    return None if values is None else json.loads(_storable(json.dumps(values, default=_iso, ensure_ascii=False)))


def _storable(text: str | None) -> str | None:
    """The text without what PostgreSQL cannot store: NUL is dropped, a lone surrogate becomes "?".

    What is audited can come from a request as it was sent (its query string): the entry must still be written.
    """
    if text is None:
        return None
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _iso(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
