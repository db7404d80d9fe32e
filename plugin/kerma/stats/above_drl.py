"""The studies above their DRL, kept (``study_above_drl``): the studies list filtered "above DRL" reads them instead
of comparing every value of every quantity with a DRL (35 s over two years at a million events).

Kept beside the month table and by the same marks (:func:`kerma.db.states.mark_months_stale`: a stored study, a
mapping rule, a DRL value or set): :mod:`kerma.stats.refresher` writes :func:`month_rows` for each stale month it
recomputes, from the rows as :func:`kerma.stats.tables.exceedance_statement` compares them.  For the months of a
request still stale, :func:`studies_above` compares the rows instead, so the answer is never out of date.
"""

from __future__ import annotations

import re

from sqlalchemy import select, true, union
from sqlalchemy.orm import Session

from ..db.models import MonthSummaryStale, Setting, StudyAboveDrl
from ..db.states import TRACKED, UNDATED, month_key
from .monthly import key_range
from .tables import Filters, ReferenceLevels, Row, exceedance_statement, studies_above_drl

MONTH = re.compile(r"\d{4}-\d{2}")  # a month's key among the stale periods


def month_rows(session: Session, month: str, filters: Filters) -> list[dict]:
    """The kept rows of ``month`` (``filters``: its dates, or undated) computed from the rows: per study, quantity and
    month the value furthest above its DRL (written by :mod:`kerma.stats.refresher`)."""
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
    return list(highest.values())


def studies_above(session: Session, filters: Filters):
    """A select of the ids of the studies with a value above its DRL within ``filters``' dates (the value's own date,
    as :func:`kerma.stats.tables.studies_above_drl` compares them): the kept rows of the fresh months, and the rows
    compared for the months of the dates still stale (the current one, after each stored study); None when no DRL
    is active."""
    stale = _stale_months(session, filters)
    if stale is None:  # nothing kept yet
        return studies_above_drl(session, filters)
    kept = select(StudyAboveDrl.study_id).where(StudyAboveDrl.month.not_in(stale) if stale else true())
    if filters.date_from:
        kept = kept.where(StudyAboveDrl.day >= filters.date_from)
    if filters.date_to:
        kept = kept.where(StudyAboveDrl.day <= filters.date_to)
    if not stale:
        return kept
    compared = []
    for month in sorted(stale):
        if month == UNDATED:
            found = studies_above_drl(session, Filters(undated=True))
        else:
            first, last = key_range(month)
            found = studies_above_drl(session, Filters(max(first, filters.date_from or first), min(last, filters.date_to or last)))
        if found is None:  # no DRL active
            return None
        compared += found.selects  # one union with the kept rows (nested in IN it was planned as a filter per study)
    return union(kept, *compared)


def _stale_months(session: Session, filters: Filters) -> list[str] | None:
    """The stale months of ``filters``' dates (every month, and the undated ones without dates); None while the
    kept rows may miss some (not every month marked yet)."""
    if session.get(Setting, TRACKED) is None:
        return None
    first = month_key(filters.date_from) if filters.date_from else None
    last = month_key(filters.date_to) if filters.date_to else None
    stale = []
    for key in session.scalars(select(MonthSummaryStale.month)):  # a few rows: the periods changed since the last round
        if key == UNDATED:
            if not (first or last):  # undated values are outside any range
                stale.append(key)
        elif MONTH.fullmatch(key) and (first is None or key >= first) and (last is None or key <= last):
            stale.append(key)
    return stale
