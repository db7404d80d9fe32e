"""Summaries read from the stored readings: per person, and per department (the department a reading was made in),
over a window (:class:`kerma.occupational.estimates.Window`).  Only active readings count (not those a later import
replaced, nor those of an undone import)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import DoseReading, OccupationalDepartment, OccupationalPerson
from . import vocabulary
from .estimates import EFFECTIVE, EXTREMITY, LENS, SKIN, Measured, Period, Summary, Window, summarise
from .register import department_json, person_json


def periods(rows: list[DoseReading]) -> list[Period]:
    """One person's readings as monitoring periods (readings of one period and position are one reading)."""
    grouped: dict[tuple[dt.date, dt.date], dict[str, Measured]] = defaultdict(dict)
    for row in rows:
        grouped[(row.period_start, row.period_end)][row.position] = Measured(
            row.position, {q: getattr(row, q) for q in vocabulary.READING_QUANTITIES}, frozenset(row.below_level or {}))
    return [Period(start, end, readings) for (start, end), readings in sorted(grouped.items())]


def active_readings(session: Session, *, person_ids=None, department_id: int | None = None,
                    since: dt.date | None = None, until: dt.date | None = None) -> list[DoseReading]:
    """Active readings whose period ends between ``since`` and ``until`` (both included)."""
    stmt = select(DoseReading).where(DoseReading.status == "active").order_by(DoseReading.person_id, DoseReading.period_end)
    if person_ids is not None:
        stmt = stmt.where(DoseReading.person_id.in_(list(person_ids)))
    if department_id is not None:
        stmt = stmt.where(DoseReading.department_id == department_id)
    if since is not None:
        stmt = stmt.where(DoseReading.period_end >= since)
    if until is not None:
        stmt = stmt.where(DoseReading.period_end <= until)
    return list(session.scalars(stmt))


def person_summaries(session: Session, window: Window, algorithm: str, *, person_ids=None,
                     department_id: int | None = None) -> list[tuple[OccupationalPerson, Summary]]:
    """Each person with readings in the window (of ``department_id`` when given), with their summary."""
    by_person: dict[int, list[DoseReading]] = defaultdict(list)
    for row in active_readings(session, person_ids=person_ids, department_id=department_id, since=window.start,
                               until=window.end):
        by_person[row.person_id].append(row)
    people = {p.id: p for p in session.scalars(select(OccupationalPerson).where(OccupationalPerson.id.in_(list(by_person)))
                                              .options(selectinload(OccupationalPerson.department)))}
    return [(people[pid], summarise(periods(rows), window, algorithm)) for pid, rows in sorted(by_person.items())]


def person_row(person: OccupationalPerson, summary: Summary) -> dict:
    """A person's summary as one flat row (a CSV line): identity, then each estimate, then each position's sums."""
    row = {key: value for key, value in person_json(person).items() if key not in ("notes", "created_at", "active")}
    row.update(_window_columns(summary))
    for quantity in vocabulary.person_quantities():
        row[quantity] = summary.estimate(quantity)
    row["effective_dose_methods"] = summary.effective.methods or None
    row["lens_dose_methods"] = summary.lens.methods or None
    for position, by_quantity in sorted(summary.positions.items()):
        for quantity, total in by_quantity.items():
            row[f"{position}_{quantity}"] = round(total.value, 6)
    return row


def _window_columns(summary: Summary) -> dict:
    return {"window": summary.window.kind, "window_start": summary.window.start.isoformat(),
            "window_end": summary.window.end.isoformat(), "periods": summary.periods,
            "effective_dose_algorithm": summary.algorithm}


def department_rows(session: Session, window: Window, algorithm: str, department_id: int | None = None) -> list[dict]:
    """Per department: people monitored, the collective and the largest estimates, and each position's sums.

    A reading counts for the department it was made in; readings without one are under ``department: null``.
    """
    by_department: dict[int | None, list[DoseReading]] = defaultdict(list)
    for row in active_readings(session, department_id=department_id, since=window.start, until=window.end):
        by_department[row.department_id].append(row)
    names = {d.id: d for d in session.scalars(select(OccupationalDepartment))}
    out = []
    for dept_id, rows in sorted(by_department.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        by_person: dict[int, list[DoseReading]] = defaultdict(list)
        for row in rows:
            by_person[row.person_id].append(row)
        summaries = [summarise(periods(person_rows), window, algorithm) for person_rows in by_person.values()]
        department = department_json(names.get(dept_id)) if dept_id is not None else None
        entry = {"department_id": dept_id, "department": department["name"] if department else None,
                 "site": department["site"] if department else None, "people": len(summaries)}
        entry.update(_window_columns(summaries[0]))
        entry.pop("periods")
        effective = [s.estimate(EFFECTIVE) for s in summaries if s.estimate(EFFECTIVE) is not None]
        entry["collective_effective_dose_person_mSv"] = round(sum(effective), 6) if effective else None
        entry["people_with_effective_dose_estimate"] = len(effective)
        for quantity in (EFFECTIVE, LENS, SKIN, EXTREMITY):
            found = [s.estimate(quantity) for s in summaries if s.estimate(quantity) is not None]
            entry[f"max_{quantity}"] = round(max(found), 6) if found else None
        totals: dict[str, float] = defaultdict(float)
        for summary in summaries:
            for position, by_quantity in summary.positions.items():
                for quantity, total in by_quantity.items():
                    totals[f"{position}_{quantity}"] += total.value
        entry.update({key: round(value, 6) for key, value in sorted(totals.items())})
        out.append(entry)
    return out
