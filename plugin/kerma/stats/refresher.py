"""Keeping the kept statistics (:mod:`kerma.stats.monthly`) fresh: stale periods recomputed from the rows, by the same
code that computes the statistics table from the rows (:func:`kerma.stats.tables.computed_table`) and counts the
examinations per device (:func:`kerma.stats.tables.counts`), a few periods per round of a background thread.

Months come first (each is one month of rows), then quarters and years (three and twelve): while data arrives for
the current month, its quarter and year are recomputed after it, and a request for them is computed from the rows
in the meantime.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from .. import quantities
from ..background import PeriodicThread
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


class SummaryRefresher(PeriodicThread):
    """Keeps ``month_summary`` fresh in the background (a few months per round)."""

    name = "kerma-month-summary"

    def __init__(self, sessions: sessionmaker, interval: float = 10.0):
        super().__init__(interval)
        self.sessions = sessions

    def tick(self) -> bool:
        with self.sessions() as session:
            with session.begin():
                if session.get(Setting, TRACKED) is None:
                    mark_months_stale(session)
            for _ in range(3):  # a transaction a period: a write lock is never held across two periods' reading
                with session.begin():
                    more = refresh(session, max_months=1)
                if not more:
                    break
            return more
