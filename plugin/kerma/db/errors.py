"""Errors as they may be logged or shown: never with the values of the statement that failed.

Engines hide a statement's parameters (``hide_parameters``), but the database server's own message
can still quote them: PostgreSQL's ``DETAIL: Key (patient_id)=(MRN-4711) already exists`` or
``invalid input syntax for type integer: "Doe"``.  :func:`describe` keeps what says what went wrong
(the kind of error, SQLSTATE, constraint, table and column) and leaves out every value.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

DIAGNOSTICS = ("constraint_name", "table_name", "column_name")  # psycopg's Diagnostic: names, never values


def describe(exc: BaseException) -> str:
    """``exc`` as text fit for a log line or ``health``; a database error without the values it concerned."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = exc.orig
        diagnostic = getattr(orig, "diag", None)
        if diagnostic is None:  # SQLite: its messages name the constraint or column, never the value
            return f"{type(exc).__name__}: {str(orig).splitlines()[0] if str(orig) else type(orig).__name__}"
        names = [f"{name.split('_')[0]} {getattr(diagnostic, name)}" for name in DIAGNOSTICS if getattr(diagnostic, name, None)]
        return f"{type(exc).__name__}: {type(orig).__name__} (SQLSTATE {getattr(orig, 'sqlstate', None)}" + \
            "".join(f", {n}" for n in names) + ")"
    if isinstance(exc, SQLAlchemyError):
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return f"{type(exc).__name__}: {exc}"
