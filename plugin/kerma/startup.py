"""The line Kerma writes to Orthanc's log when Orthanc has started: what runs, on which database, how far behind."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def database_shown(url: str) -> str:
    """The database URL as it may be logged: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads (Kerma could not have opened it): show none of it
        return "(not a database URL)"


def start_line(version: str, database_url: str, cursor: int, orthanc_last_seq: int | None) -> str:
    """``started: version 0.1.0, database postgresql+psycopg://kerma:***@db/kerma, cursor 120, lag 3``.

    ``lag`` is the number of Orthanc changes after the cursor: the back-fill still to do (unknown: ``?``).
    """
    lag = "?" if orthanc_last_seq is None else orthanc_last_seq - cursor
    return f"started: version {version}, database {database_shown(database_url)}, cursor {cursor}, lag {lag}"
