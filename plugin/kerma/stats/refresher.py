"""Keeping the kept statistics (:mod:`kerma.stats.monthly`) fresh: stale periods recomputed from the rows, by the same
code that computes the statistics table from the rows (:func:`kerma.stats.tables.computed_table`) and counts the
examinations per device (:func:`kerma.stats.tables.counts`), a few periods per round of a background thread.

Months come first (each is one month of rows), then quarters and years (three and twelve): while data arrives for
the current month, its quarter and year are recomputed after it, and a request for them is computed from the rows
in the meantime.

In Orthanc the rounds run in the statistics process (:class:`StatisticsProcess`), a niced child of its own with its
own connection: a year of rows is seconds of Python (48 s at a million events), which in Orthanc's process would
hold the GIL that storing and extracting need (the 3.3 MB report's store-to-record time went from 0.2 s to 0.6-0.8 s
whenever a round ran beside it).
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from .. import quantities
from ..background import PeriodicThread
from ..child import ChildProcess
from ..db.engine import make_engine, make_sessionmaker
from ..db.errors import describe
from ..db.models import MonthCount, MonthSummary, MonthSummaryStale, Setting, StudyAboveDrl
from ..db.states import TRACKED, mark_months_stale
from . import above_drl
from .monthly import KEPT, STATS, key_range, kind_of
from .tables import Filters, computed_table, counts


IDS = ("standard_exam_id", "device_id", "drl_value_id", "achievable_value_id")


def refresh(session: Session, max_months: int = 3) -> bool:
    """Recompute up to ``max_months`` stale periods (months first); True when more are waiting.

    Each period is computed first and written after: on SQLite the write lock (taken by the first write of a
    transaction) is then held for the writes alone, not for the seconds a quarter or a year of rows takes to read,
    while the ingest worker waits for it.  A period marked again while it was computed keeps its mark (its
    ``generation`` moved) and is computed again.
    """
    stale = sorted(session.execute(select(MonthSummaryStale.month, MonthSummaryStale.generation)).all(),
                   key=lambda mark: (KEPT.index(kind_of(mark.month) or "month"), mark.month))
    for key, generation in stale[:max_months]:
        kind = kind_of(key)
        filters = Filters(undated=True) if kind is None else Filters(*key_range(key))
        kept = []  # inserted in one statement (thousands of rows a month at a million events: no ORM objects)
        for quantity in (q.key for q in quantities.summarised()):
            for by_device in (True, False):
                rows = computed_table(session, quantity, filters, kind or "month", by_device)
                # undated rows have no period, the same under each: kept once per period for a plain read
                kept += [{"quantity": quantity, "period": period, "month": key, "by_device": by_device,
                          **{k: row[k] for k in (*IDS, *STATS)}} for period in ((kind,) if kind else KEPT) for row in rows]
        monthly = kind in ("month", None)
        highest = above_drl.month_rows(session, key, filters) if monthly else []
        found = [{"month": key, "device_id": device_id, "field": field, "name": name, "n": n}
                 for device_id, _, field, name, n in counts(session, filters, "month")] if monthly else []
        for table in (MonthSummary, StudyAboveDrl, MonthCount) if monthly else (MonthSummary,):
            session.execute(delete(table).where(table.month == key))
        for table, rows in ((MonthSummary, kept), (StudyAboveDrl, highest), (MonthCount, found)):
            if rows:
                session.execute(insert(table), rows)
        session.execute(delete(MonthSummaryStale).where(MonthSummaryStale.month == key,
                                                        MonthSummaryStale.generation == generation))
        session.flush()
    return len(stale) > max_months


ROUNDS = 3  # periods per call: the thread looks whether it is to stop between calls


def refresh_rounds(sessions: sessionmaker, rounds: int = ROUNDS) -> bool:
    """Up to ``rounds`` stale periods recomputed, a transaction each (a write lock is never held across two periods'
    reading); every period marked first if they were never tracked.  True when more are waiting."""
    with sessions() as session:
        with session.begin():
            if session.get(Setting, TRACKED) is None:
                mark_months_stale(session)
        for _ in range(rounds):
            with session.begin():
                more = refresh(session, max_months=1)
            if not more:
                break
        return more


_databases: dict[str, sessionmaker] = {}  # the statistics process's engine, made at its first call


def refresh_database(url: str) -> tuple[bool, str | None]:
    """The statistics process's answer: :func:`refresh_rounds` over the database at ``url``, as ``(more, error)``
    (a fault is its answer, described without a statement's values: the thread raises it)."""
    try:
        if url not in _databases:
            _databases[url] = make_sessionmaker(make_engine(url))
        return refresh_rounds(_databases[url]), None
    except Exception as exc:
        return False, describe(exc)


class RefreshFailed(Exception):
    """The statistics process could not recompute a period (its description; the round is tried again)."""


class StatisticsProcess(ChildProcess):
    """The statistics process: month statistics recomputed in a niced child with its own connection.

    Parameters
    ----------
    database_url : str
    timeout : float
        Seconds one call (:data:`ROUNDS` periods) may take; a year at a million events took 48 s at load 15.
    """

    def __init__(self, database_url: str, timeout: float = 900.0):
        super().__init__("kerma.stats.refresher:refresh_database", "kerma-statistics", timeout)
        self.database_url = database_url

    def refresh(self) -> bool:
        more, error = self.call(self.database_url)
        if error is not None:
            raise RefreshFailed(error)
        return more


class SummaryRefresher(PeriodicThread):
    """Keeps ``month_summary`` fresh in the background (a few periods per round).

    Parameters
    ----------
    sessions : sessionmaker
    process : StatisticsProcess, optional
        Where the rounds run in Orthanc; without one they run in this thread (tests, the command line).
    """

    name = "kerma-month-summary"

    def __init__(self, sessions: sessionmaker, interval: float = 10.0, process: StatisticsProcess | None = None):
        super().__init__(interval)
        self.sessions = sessions
        self.process = process

    def tick(self) -> bool:
        return self.process.refresh() if self.process is not None else refresh_rounds(self.sessions)

    def state(self) -> dict:
        """For ``GET health``: the statistics process's pid (None before its first round or after a failure), how many
        were started, the last round's error."""
        process = self.process
        return {"state": "error" if self.last_error else "running", "pid": process.pid if process else None,
                "processes_started": process.started if process else None, "error": self.last_error}

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self.process is not None:
            self.process.stop()  # first: a period being computed is abandoned (it stays stale), not waited for
        super().stop(timeout)
