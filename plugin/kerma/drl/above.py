"""The studies above their DRL, kept (``study_above_drl``): the studies list filtered "above DRL" reads them instead
of comparing every value of every quantity with a DRL (35 s over two years at a million events).

Kept beside the month table and by the same marks (:func:`kerma.db.states.mark_months_stale`: a stored study, a
mapping rule, a DRL value or set): :mod:`kerma.stats.refresher` calls :func:`refresh_month` for each stale month it
recomputes, from the rows as :func:`kerma.stats.tables.exceedance_statement` compares them.  While a month that a
request covers is stale, :func:`studies_above` compares the rows instead, so the answer is never out of date.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..db.models import MonthSummaryStale, Setting, StudyAboveDrl
from ..db.states import TRACKED, UNDATED, month_key
from ..stats.tables import Filters, ReferenceLevels, Row, exceedance_statement, studies_above_drl

MONTH = re.compile(r"\d{4}-\d{2}")  # a month's key among the stale periods


def refresh_month(session: Session, month: str, filters: Filters) -> None:
    """Recompute the kept rows of ``month`` (``filters``: its dates, or undated): per study, quantity and month the
    value furthest above its DRL."""
    session.execute(delete(StudyAboveDrl).where(StudyAboveDrl.month == month))
    drls = ReferenceLevels(session)
    highest: dict[tuple[int, str], dict] = {}
    for quantity in sorted({q for _, q in drls.index.by_key}):
        for r in session.execute(exceedance_statement(session, quantity, filters, drls).order_by(None)):
            row, level = Row(*r[:-1]), drls.by_id[r[-1]]
            ratio = row.value / level.value
            kept = highest.get((row.study_id, quantity))
            if kept is None or ratio > kept["ratio"]:
                highest[row.study_id, quantity] = {"study_id": row.study_id, "month": month, "day": row.day,
                                                   "quantity": quantity, "value": row.value, "drl_value_id": level.id,
                                                   "drl": level.value, "ratio": ratio}
    if highest:  # in one statement (thousands of rows a month at a million events: no ORM objects)
        session.execute(insert(StudyAboveDrl), list(highest.values()))


def studies_above(session: Session, filters: Filters):
    """A select of the ids of the studies with a value above its DRL within ``filters``' dates (the value's own date,
    as :func:`kerma.stats.tables.studies_above_drl` compares them): from the kept rows when every month of the dates
    is fresh, else from the rows; None when no DRL is active."""
    if not _fresh(session, filters):
        return studies_above_drl(session, filters)
    stmt = select(StudyAboveDrl.study_id)
    if filters.date_from:
        stmt = stmt.where(StudyAboveDrl.day >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(StudyAboveDrl.day <= filters.date_to)
    return stmt


def _fresh(session: Session, filters: Filters) -> bool:
    """Is every month of ``filters``' dates fresh (every month and the undated ones without dates)?"""
    if session.get(Setting, TRACKED) is None:  # not every month marked yet: the kept rows may miss some
        return False
    first = month_key(filters.date_from) if filters.date_from else None
    last = month_key(filters.date_to) if filters.date_to else None
    for key in session.scalars(select(MonthSummaryStale.month)):  # a few rows: the periods changed since the last round
        if key == UNDATED:
            if not (first or last):  # undated values are outside any range
                return False
        elif MONTH.fullmatch(key) and (first is None or key >= first) and (last is None or key <= last):
            return False
    return True
