"""The numbers of a report, from the dose database: plain JSON-able values, no rendering.

* ``trends``: median per standard exam and month over the trailing year, with the DRL that applies;
* ``distributions``: per standard exam, quantity and device in the period (the values, for box plots);
* ``alerts``: alerts on studies of the period, by kind, severity and status;
* ``above_drl``: every examination or exposure of the period above its DRL;
* ``load``: examinations by weekday × hour, and per procedure;
* ``skin_doses``: every peak skin dose estimated for a study of the period (:mod:`kerma.derived`), highest first;
* ``contrast``: every study of the period with contrast media counted: its agents and contrast totals (the
  vocabulary's contrast quantities), in date order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import quantities
from ..db.models import Alert, DoseObject, Study
from ..derived import derived_doses
from ..stats import tables
from ..stats.summary import summarize
from .periods import months_back

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TREND_MONTHS = 12


def report_data(session: Session, start: dt.date, end: dt.date, filters: dict | None = None) -> dict:
    """Everything a report shows for the days ``start`` to ``end`` (inclusive), optionally one modality or device."""
    filters = filters or {}
    period = tables.Filters(date_from=start, date_to=end, modality=filters.get("modality"), device_id=filters.get("device_id"))
    trailing = tables.Filters(date_from=months_back(end, TREND_MONTHS - 1), date_to=end, modality=period.modality,
                              device_id=period.device_id)
    studies = _studies(session, period)
    data = {
        "title": f"Dose report {start.isoformat()} – {end.isoformat()}", "start": start.isoformat(), "end": end.isoformat(),
        "filters": filters, "examinations": len(studies), "trends": [], "distributions": [], "above_drl": [],
        "alerts": _alerts(session, start, end, {s.id for s in studies}), "load": _load(studies),
        "skin_doses": _skin_doses(session, studies), "contrast": _contrast(session, period),
    }
    for quantity in (q.key for q in quantities.reported()):  # each at its own level (exam totals, per exposure)
        data["trends"] += [r for r in tables.median_table(session, quantity, trailing, "month", by_device=False)
                           if r["standard_exam_id"] is not None]
        data["distributions"] += _distributions(session, quantity, period)
        data["above_drl"] += tables.above_drl(session, quantity, period)
    return data


def _studies(session: Session, filters: tables.Filters, *columns) -> list:
    """The period's studies with a dose record (their id, date, time and procedure, then ``columns``)."""
    stmt = select(Study.id, Study.study_date, Study.study_time, Study.procedure_reported, Study.study_description,
                  *columns).where(Study.study_date >= filters.date_from, Study.study_date <= filters.date_to,
                                  Study.dose_source.is_not(None))
    if filters.device_id is not None:
        stmt = stmt.where(Study.device_id == filters.device_id)
    if filters.modality:
        stmt = stmt.where(Study.id.in_(select(DoseObject.study_id).where(DoseObject.modality == filters.modality)))
    return session.execute(stmt).all()


def _contrast(session: Session, filters: tables.Filters) -> list[dict]:
    """The period's studies with contrast media counted (from the headers, else the HIS): date, study, the agents of
    the counted administrations, and each contrast total (None where not stated, never 0)."""
    keys = [q.key for q in quantities.contrast_quantities()]
    out = []
    for study in sorted(_studies(session, filters, Study.contrast, *(getattr(Study, k) for k in keys)),
                        key=lambda s: (s.study_date, s.id)):
        counted = [a for a in study.contrast or [] if a.get("counted")]
        if counted:
            out.append({"date": study.study_date.isoformat(), "study": study.procedure_reported or study.study_description,
                        "agents": list(dict.fromkeys(a["contrast_agent"] for a in counted if a.get("contrast_agent"))),
                        "source": counted[0]["source"], **{k: getattr(study, k) for k in keys}})
    return out


def _skin_doses(session: Session, studies: list) -> list[dict]:
    """The period's peak skin dose estimates (one per fluoroscopy report), highest first, with their band and method."""
    by_id = {s.id: s for s in studies}
    rows = [(study_id, r) for study_id, entry in derived_doses(session, by_id, with_result=False).items()
            for r in entry["skin_dose"] if r["psd_mGy"] is not None]
    return [{"date": by_id[i].study_date.isoformat() if by_id[i].study_date else None,
             "study": by_id[i].procedure_reported or by_id[i].study_description, "psd_mGy": r["psd_mGy"],
             "psd_mGy_low": r["psd_mGy_low"], "psd_mGy_high": r["psd_mGy_high"], "kar_total_mGy": r["kar_total_mGy"],
             "method": r["method"]} for i, r in sorted(rows, key=lambda item: -item[1]["psd_mGy"])]


def _alerts(session: Session, start: dt.date, end: dt.date, study_ids: set[int]) -> dict:
    rows = [a for a in session.scalars(select(Alert).where(Alert.study_date >= start, Alert.study_date <= end)
                                       .order_by(Alert.study_date, Alert.id)) if a.study_id in study_ids]
    counts: dict = {"kind": defaultdict(int), "severity": defaultdict(int), "status": defaultdict(int)}
    for alert in rows:
        for name, table in counts.items():
            table[getattr(alert, name)] += 1
    return {"total": len(rows), **{k: dict(v) for k, v in counts.items()},
            "list": [{"id": a.id, "date": a.study_date.isoformat() if a.study_date else None, "kind": a.kind,
                      "severity": a.severity, "status": a.status, "reason": a.reason} for a in rows]}


def _distributions(session: Session, quantity: str, filters: tables.Filters) -> list[dict]:
    groups: dict[tuple, list[float]] = defaultdict(list)
    for row in tables.fetch(session, quantity, filters):
        if row.exam_id is not None:
            groups[(row.exam_id, row.device_id)].append(row.value)
    names = tables._exam_names(session, {exam for exam, _ in groups})
    return [{"standard_exam_id": exam, "standard_exam": names.get(exam), "device_id": device, "quantity": quantity,
             "values": sorted(values), **summarize(values)}
            for (exam, device), values in sorted(groups.items(), key=lambda kv: (names.get(kv[0][0]) or "", kv[0][1] or 0))]


def _load(studies: list) -> dict:
    grid = [[0] * 24 for _ in WEEKDAYS]
    procedures: dict[str, dict] = {}
    for s in studies:
        hour = int(s.study_time[:2]) if s.study_time and s.study_time[:2].isdigit() else None
        name = s.procedure_reported or s.study_description or "(none)"
        entry = procedures.setdefault(name, {"total": 0, "by_weekday": [0] * 7, "by_hour": [0] * 24})
        entry["total"] += 1
        if s.study_date is not None:
            entry["by_weekday"][s.study_date.weekday()] += 1
            if hour is not None:
                grid[s.study_date.weekday()][hour] += 1
        if hour is not None:
            entry["by_hour"][hour] += 1
    return {"weekdays": list(WEEKDAYS), "by_weekday_hour": grid,
            "by_procedure": dict(sorted(procedures.items(), key=lambda kv: -kv[1]["total"]))}
