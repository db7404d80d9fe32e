"""The states a row can be in, spelt once below the packages that set them and those that read them.

An imaging order's ``status`` (:class:`kerma.db.models.ImagingOrder`) is set by :mod:`kerma.hl7.orders` from the
HIS's order messages and read by :mod:`kerma.reconcile` (worklists of orders without dose, doses without orders).
A study's ``refresh_due`` is set by whatever changes what its dose depends on (:func:`mark_refresh_due`: HL7,
manual entries, dose screens, corrected reports) and cleared by the ingest worker once it has resolved, classified
and evaluated the study again (:func:`kerma.pipeline.refresh_due`).  Its ``dosimetry_due`` is set by each
refresh and by a change of its standard exam (:func:`mark_dosimetry_due`) and cleared by the dosimetry thread
(:mod:`kerma.ingest.dosimetry`), which recomputes its derived doses when their inputs changed.  The month
statistics (``month_summary``) are marked stale by whatever changes what they count (:func:`mark_months_stale`:
a stored study, a mapping rule, a DRL) and made fresh again by :mod:`kerma.stats.refresher`, which reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import MonthSummaryStale, Setting, Study

CANCELLED = "cancelled"
COMPLETED = "completed"
IN_PROGRESS = "in_progress"
SCHEDULED = "scheduled"


def mark_refresh_due(studies) -> None:
    """Ask the ingest worker to resolve, classify and evaluate ``studies`` again (after a change made elsewhere).

    HL7 changes (the listener's own process) and upgrades only set the flag: the refresh itself runs in the
    worker's thread, between batches, so two refreshes of one study never race (alerts and month marks are
    written once).
    """
    for study in studies:
        study.refresh_due = True


def mark_dosimetry_due(studies) -> None:
    """Ask the dosimetry thread to look at ``studies`` again (it recomputes their derived doses only when the
    inputs' fingerprint changed: :mod:`kerma.derived.inputs`)."""
    for study in studies:
        study.dosimetry_due = True


UNDATED = "undated"  # the month key of studies without a date
TRACKED = "month_summary_tracked"  # the setting present once every month has been marked (the summary can answer)


def month_key(day: dt.date | None) -> str:
    return f"{day.year}-{day.month:02d}" if day else UNDATED


def period_keys(day: dt.date | None) -> tuple[str, ...]:
    """The keys of the kept periods holding ``day``: its month, quarter and year ("2026-03", "2026-Q1", "2026")."""
    if day is None:
        return (UNDATED,)
    return month_key(day), f"{day.year}-Q{(day.month - 1) // 3 + 1}", str(day.year)


def mark_months_stale(session: Session, days: Iterable[dt.date | None] | None = None) -> None:
    """Mark the kept statistics of ``days`` stale (the study dates a change touched; None: every month): their
    months, and the quarters and years holding them.

    The one place that does it: the ingest pipeline's ``statistics`` stage (the months of the studies it stored),
    and every change that can move any month's figures (a mapping rule: exams; a DRL value or set: the level a
    median falls under) with None.  :mod:`kerma.stats.refresher` recomputes the marked periods in the background.
    """
    every = days is None
    keys = {key for day in (session.scalars(select(Study.study_date).distinct()) if every else days)
            for key in period_keys(day)}
    if keys:  # marked, or marked again (the refresher then keeps the mark of a period it was computing)
        insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(MonthSummaryStale)
        session.execute(insert.values([{"month": m} for m in sorted(keys)]).on_conflict_do_update(
            index_elements=[MonthSummaryStale.month], set_={"generation": MonthSummaryStale.generation + 1}))
    if every and session.get(Setting, TRACKED) is None:
        session.add(Setting(name=TRACKED, value="1"))
