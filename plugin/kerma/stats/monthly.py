"""Monthly statistics kept ready: the median table per exam × device × month, refreshed after changes.

Computing the table from the rows costs seconds at a million events (fetching the values into
Python dominates), too slow for a page.  So the table for period "month" is kept in
``month_summary``, one row per (quantity, exam, device, month, DRL value), and read back in a
single query.  Ingestion marks the months it touched as stale, a rule or DRL change marks every
month stale (:func:`kerma.db.states.mark_months_stale`, the one place that does), and a
background thread recomputes stale months with the same code that computes the table from the
rows (:mod:`kerma.stats.refresher`); until a month is fresh again, requests covering it are
computed from the rows, so an answer is never out of date.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import quantities
from ..db.models import MonthSummary, MonthSummaryStale, Setting
from ..db.states import TRACKED, UNDATED, month_key

STATS = ("n", "median", "mean", "min", "max", "sd", "p25", "p75")


def read(session: Session, quantity: str, filters) -> list[tuple[dict, tuple[int | None, int | None]]] | None:
    """Rows of the month table with their (DRL, achievable dose) value ids, or None when the summary cannot answer exactly."""
    if quantity not in {q.key for q in quantities.summarised()} or filters.modality or filters.undated:
        return None
    if filters.date_from and filters.date_from.day != 1:
        return None
    if filters.date_to and (filters.date_to + dt.timedelta(days=1)).day != 1:
        return None
    if session.get(Setting, TRACKED) is None:
        return None
    stale = select(func.count()).select_from(MonthSummaryStale)
    if filters.date_from or filters.date_to:  # months outside the range do not matter, undated ones are outside any range
        stale = stale.where(MonthSummaryStale.month != UNDATED)
        if filters.date_from:
            stale = stale.where(MonthSummaryStale.month >= month_key(filters.date_from))
        if filters.date_to:
            stale = stale.where(MonthSummaryStale.month <= month_key(filters.date_to))
    if session.scalar(stale):
        return None
    columns = [MonthSummary.standard_exam_id, MonthSummary.device_id, MonthSummary.month, MonthSummary.drl_value_id,
               MonthSummary.achievable_value_id, *[getattr(MonthSummary, k) for k in STATS]]
    stmt = select(*columns).where(MonthSummary.quantity == quantity)  # plain rows: tens of thousands, no ORM objects
    if filters.date_from or filters.date_to:
        stmt = stmt.where(MonthSummary.month != UNDATED)
    if filters.date_from:
        stmt = stmt.where(MonthSummary.month >= month_key(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(MonthSummary.month <= month_key(filters.date_to))
    if filters.device_id is not None:
        stmt = stmt.where(MonthSummary.device_id == filters.device_id)
    if filters.standard_exam_id is not None:
        stmt = stmt.where(MonthSummary.standard_exam_id == filters.standard_exam_id)
    return [({"standard_exam_id": exam, "device_id": device, "period": None if month == UNDATED else month,
              **dict(zip(STATS, figures))}, (drl, achievable))
            for exam, device, month, drl, achievable, *figures in session.execute(stmt)]
