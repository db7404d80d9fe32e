"""Telling a database outage (wait and try again) from an error of the data (isolate it, go on)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

# SQLSTATE classes of the server or the connection, not of the statement's data: connection exception,
# transaction rollback (deadlock, serialization), insufficient resources, operator intervention
# (shutdown, cancel), system error; and 55P03, a lock not available
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
OUTAGE_SQLSTATES = frozenset({"55P03"})
# SQLite primary result codes of the same kind: busy, locked, no memory, read-only, I/O error, full,
# cannot open, lock protocol
OUTAGE_SQLITE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
REASON_CHARACTERS = 500


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be used now (retry later) rather than that the data is wrong."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state:
        return state[:2] in OUTAGE_SQLSTATE_CLASSES or state in OUTAGE_SQLSTATES
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in OUTAGE_SQLITE_CODES
    return isinstance(exc, OperationalError)  # no server answer at all (e.g. connection refused)


def reason(exc: BaseException) -> str:
    """What went wrong, as the database (or Python) said it, without the statement and its parameters."""
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:REASON_CHARACTERS]
