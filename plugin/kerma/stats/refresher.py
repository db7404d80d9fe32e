"""Keeping the month table (:mod:`kerma.stats.monthly`) fresh: stale months recomputed from the rows, by the same code
that computes the statistics table from the rows (:func:`kerma.stats.tables.computed_table`), a few months per round
of a background thread.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from .. import quantities
from ..background import PeriodicThread
from ..db.models import MonthSummary, MonthSummaryStale, Setting
from ..db.states import TRACKED, UNDATED, mark_months_stale
from .monthly import STATS
from .tables import Filters, computed_table


def refresh(session: Session, max_months: int = 3) -> bool:
    """Recompute up to ``max_months`` stale months; True when more are waiting."""
    stale = session.scalars(select(MonthSummaryStale.month).order_by(MonthSummaryStale.month).limit(max_months + 1)).all()
    for month in stale[:max_months]:
        filters = Filters(undated=True) if month == UNDATED else Filters(*_month_range(month))
        session.execute(delete(MonthSummary).where(MonthSummary.month == month))
        for quantity in (q.key for q in quantities.summarised()):
            for row in computed_table(session, quantity, filters, "month"):
                session.add(MonthSummary(quantity=quantity, month=month, standard_exam_id=row["standard_exam_id"],
                                         device_id=row["device_id"], drl_value_id=row["drl_value_id"],
                                         achievable_value_id=row["achievable_value_id"],
                                         **{k: row[k] for k in STATS}))
        session.execute(delete(MonthSummaryStale).where(MonthSummaryStale.month == month))
        session.flush()
    return len(stale) > max_months


def _month_range(month: str) -> tuple[dt.date, dt.date]:
    year, number = map(int, month.split("-"))
    first = dt.date(year, number, 1)
    following = dt.date(year + number // 12, number % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


class SummaryRefresher(PeriodicThread):
    """Keeps ``month_summary`` fresh in the background (a few months per round)."""

    name = "kerma-month-summary"

    def __init__(self, sessions: sessionmaker, interval: float = 10.0):
        super().__init__(interval)
        self.sessions = sessions

    def tick(self) -> bool:
        with self.sessions() as session, session.begin():
            if session.get(Setting, TRACKED) is None:
                mark_months_stale(session)
            return refresh(session)
