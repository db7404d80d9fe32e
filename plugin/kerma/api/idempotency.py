"""``Idempotency-Key``: a POST sent twice with the same key is done once, and both get the first answer.

A double click on Save, or a browser or script retrying after a lost answer, must not create two rules.  The UI
sends a new key with each submission of a form (and the same key when it repeats that submission); any client may.

The key is claimed in the request's own transaction, before its handler runs: a row ``(user, key)`` under a unique
index, which the answer is written to when the handler is done.  A second request with that key inserts the same
row and waits for the first transaction on the index (PostgreSQL) or the write lock (SQLite), so it never runs
beside the first: once the first has committed, its insert fails, and it answers the stored answer.  If the first
failed (an error answer rolls back everything, its key row too), the second runs as if it came first: only a
success is kept.  The rows live in the database, so this holds across the API's threads, Orthanc nodes sharing a
PostgreSQL database, and restarts.  Keys are kept for :data:`WINDOW`; a key sent again for another request
(another path or body) is refused (422) rather than answered with what was done for the first one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .. import clock, jsonout
from ..db.models import IdempotencyKey

HEADER = "idempotency-key"
WINDOW = dt.timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII, as a UUID or a client's own token


class BadKey(ValueError):
    """The header is not a usable key (400)."""


class Taken(Exception):
    """Another request claimed the key first (raised out of the request's transaction, which then rolls back)."""


def valid_key(raw: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header value (None when absent); :class:`BadKey` when unusable."""
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY.fullmatch(key):
        raise BadKey("Idempotency-Key: 1 to 128 visible ASCII characters (e.g. a UUID)")
    return key


def fingerprint(method: str, path: str, body) -> str:
    """What the key stands for: the same key with another request is refused."""
    # the body is parsed JSON, so only JSON types: the strict encoder (not default=str) keeps it that way
    canonical = jsonout.dumps([method, path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def claim(session: Session, actor: str | None, key: str, print_: str) -> IdempotencyKey:
    """Claim ``key`` for this request in its transaction (first thing, before any other statement).

    Raises :class:`Taken` when another request holds it (after waiting for that request's transaction to end).
    """
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < clock.now() - WINDOW))
    row = IdempotencyKey(actor=actor or "", key=key, fingerprint=print_, created_at=clock.now())
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Taken() from None
    return row


def keep(row: IdempotencyKey, answer) -> None:
    """Store the answer a later request with the same key gets: as :func:`kerma.api.http.strict_json` sends it
    (same encoder, a non-finite number null); a type it does not know raises, in the request's transaction."""
    row.answer = json.loads(jsonout.dumps(answer), parse_constant=lambda _: None)


def first_answer(sessions: sessionmaker, actor: str | None, key: str, print_: str) -> tuple[int, dict]:
    """(status, answer) for a request whose key was taken: the stored answer, or 422 for another request."""
    with sessions() as session:
        row = session.scalars(select(IdempotencyKey).where(IdempotencyKey.actor == (actor or ""),
                                                            IdempotencyKey.key == key)).first()
    if row is None:  # claimed and released (the first request failed) between our insert and this read
        return 409, {"error": "Idempotency-Key: the first request with this key did not complete; send it again"}
    if row.fingerprint != print_:
        return 422, {"error": "Idempotency-Key: already used for another request (another path or body)"}
    return 200, row.answer
