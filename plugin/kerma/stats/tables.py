"""Statistics tables over the dose database.

Rows are fetched once per request (one query, only the needed columns) and
grouped in Python, so SQLite and PostgreSQL give the same numbers.  Each row
is matched to the DRL that applies to it (standard exam, quantity, patient
band), so a group never mixes adults with a paediatric band.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy import Integer, String, case, cast, false, func, literal, nulls_last, select, text, true, union
from sqlalchemy.orm import Session

from .. import quantities
from ..db import values
from ..db.models import Device, DoseObject, IrradiationEvent, StandardExam, Study
from ..drl.sets import DRL_KINDS, Level, LevelIndex, active_levels
from . import monthly
from .summary import summarize

PERIODS = ("month", "quarter", "year", "all")


class StatisticsError(ValueError):
    pass


@dataclass(frozen=True)
class Filters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modality: str | None = None
    device_id: int | None = None
    standard_exam_id: int | None = None
    undated: bool = False  # only studies without a date


@dataclass(frozen=True)
class Row:
    exam_id: int | None
    device_id: int | None
    day: dt.date | None
    value: float
    age: float | None
    weight: float | None
    study_id: int
    event_id: int | None
    study_uid: str | None = None


def fetch(session: Session, quantity: str, filters: Filters, with_uid: bool = False) -> list[Row]:
    """The values of ``quantity`` with what groups them, for counted events or for studies."""
    return [Row(*r) for r in session.execute(rows_statement(quantity, filters, with_uid))]


def rows_statement(quantity: str, filters: Filters, with_uid: bool = False):
    """The select of :func:`fetch`: its columns are the fields of :class:`Row`, in order."""
    uid = (Study.study_instance_uid,) if with_uid else ()
    known = quantities.statistic(quantity)
    value = values.expression(known)
    if known.level == quantities.EXAM:
        stmt = select(Study.standard_exam_id, Study.device_id, Study.study_date, value, Study.patient_age_years,
                      Study.patient_weight_kg, Study.id, literal(None), *uid).where(value.is_not(None))
        date_column, exam_column, device_column = Study.study_date, Study.standard_exam_id, Study.device_id
        if filters.modality:
            stmt = stmt.where(Study.id.in_(select(DoseObject.study_id).where(DoseObject.modality == filters.modality)))
    else:
        stmt = (select(IrradiationEvent.standard_exam_id, IrradiationEvent.device_id, IrradiationEvent.event_date, value,
                       Study.patient_age_years, Study.patient_weight_kg, Study.id, IrradiationEvent.id, *uid)
                .join(Study, Study.id == IrradiationEvent.study_id)
                .where(IrradiationEvent.counted == true(), value.is_not(None)))  # "= 1": the partial index's own term
        date_column, exam_column = IrradiationEvent.event_date, IrradiationEvent.standard_exam_id
        device_column = IrradiationEvent.device_id
        if filters.modality:
            stmt = stmt.join(DoseObject, DoseObject.id == IrradiationEvent.dose_object_id).where(DoseObject.modality == filters.modality)
    if filters.undated:
        stmt = stmt.where(date_column.is_(None))
    if filters.date_from:
        stmt = stmt.where(date_column >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(date_column <= filters.date_to)
    if filters.device_id is not None:
        stmt = stmt.where(device_column == filters.device_id)
    if filters.standard_exam_id is not None:
        stmt = stmt.where(exam_column == filters.standard_exam_id)
    return stmt


def period_of(day: dt.date | None, period: str) -> str | None:
    if period not in PERIODS:
        raise StatisticsError(f"period must be one of {', '.join(PERIODS)}")
    if day is None:
        return None
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    return "all"


def median_table(session: Session, quantity: str, filters: Filters, period: str = "month",
                 by_device: bool = True) -> list[dict]:
    """Statistics per standard exam × device × period (× applicable DRL × achievable dose), with the comparisons.

    Each value is matched to the DRL and the achievable dose in force on its date for its patient band, so a
    period that spans a change of DRL gives one row under each.  The table per month, quarter or year comes from
    :mod:`kerma.stats.monthly` when it is fresh for the request; otherwise (and for the period "all" or dates that
    are not whole periods) it is computed from the rows (:func:`computed_table`).
    """
    drls, achievables = ReferenceLevels(session), ReferenceLevels(session, ACHIEVABLE)
    return table_of(session, quantity, table_groups(session, quantity, filters, period, by_device, drls, achievables),
                    drls, achievables)


def table_groups(session: Session, quantity: str, filters: Filters, period: str, by_device: bool,
                 drls: ReferenceLevels, achievables: ReferenceLevels) -> list[tuple[tuple, dict]]:
    """The groups of :func:`median_table`, ((exam, device, period, DRL id, achievable id), figures): kept, with the
    stale periods from the rows, or all from the rows."""
    kept = monthly.read(session, quantity, filters, period, by_device)
    if kept is None:
        return groups_from_rows(session, quantity, filters, period, by_device, drls, achievables)
    groups, stale = kept
    for key in sorted(stale):  # changed since the last round of the refresher: these periods alone from the rows
        groups += groups_from_rows(session, quantity, monthly.within(filters, key), period, by_device, drls, achievables)
    return groups


def computed_table(session: Session, quantity: str, filters: Filters, period: str = "month",
                   by_device: bool = True) -> list[dict]:
    """:func:`median_table` computed from the rows (what the kept tables keep, and every other period)."""
    drls, achievables = ReferenceLevels(session), ReferenceLevels(session, ACHIEVABLE)
    return table_of(session, quantity, groups_from_rows(session, quantity, filters, period, by_device, drls, achievables), drls,
                  achievables)


def groups_from_rows(session: Session, quantity: str, filters: Filters, period: str, by_device: bool, drls: ReferenceLevels,
            achievables: ReferenceLevels) -> list[tuple[tuple, dict]]:
    """The groups of a table computed from the rows, ((exam, device, period, DRL id, achievable id), figures).

    PostgreSQL groups and summarises in the database (``percentile_cont``, the same linear interpolation as
    :func:`kerma.stats.summary.percentile`; the DRL and achievable dose of each row by
    :meth:`kerma.drl.sets.LevelIndex.level_sql`): only the groups leave it.  SQLite has no percentile aggregate: the
    values are grouped and summarised here.
    """
    if session.get_bind().dialect.name == "postgresql":
        return _summarised_in_database(session, quantity, filters, period, by_device, drls, achievables)
    grouped: dict[tuple, list[float]] = defaultdict(list)
    for row in fetch(session, quantity, filters):
        key = (row.exam_id, row.device_id if by_device else None, period_of(row.day, period),
               drls.id_for(row, quantity), achievables.id_for(row, quantity))
        grouped[key].append(row.value)
    return [(key, summarize(v)) for key, v in grouped.items()]


def _summarised_in_database(session: Session, quantity: str, filters: Filters, period: str, by_device: bool,
                            drls: ReferenceLevels, achievables: ReferenceLevels) -> list[tuple[tuple, dict]]:
    """The groups of :func:`computed_table` and their :func:`~kerma.stats.summary.summarize` figures, by the database."""
    period_of(None, period)  # refuses an unknown period
    stmt = rows_statement(quantity, filters)
    exam, device, day, value, age, weight, *_ = stmt.selected_columns
    rows = stmt.with_only_columns(
        exam.label("exam"), (device if by_device else literal(None)).label("device"),
        period_sql(session, day, period).label("period"), drls.index.level_sql(quantity, exam, age, weight, day, "id").label("drl"),
        achievables.index.level_sql(quantity, exam, age, weight, day, "id").label("achievable"), value.label("value")).subquery()
    keys = (rows.c.exam, rows.c.device, rows.c.period, rows.c.drl, rows.c.achievable)
    figures = (func.count(), func.percentile_cont(0.5).within_group(rows.c.value), func.avg(rows.c.value),
               func.min(rows.c.value), func.max(rows.c.value), func.stddev_samp(rows.c.value),
               func.percentile_cont(0.25).within_group(rows.c.value), func.percentile_cont(0.75).within_group(rows.c.value))
    return [(tuple(r[:5]), dict(zip(("n", "median", "mean", "min", "max", "sd", "p25", "p75"), r[5:])))
            for r in session.execute(select(*keys, *figures).group_by(*keys))]


def table_of(session: Session, quantity: str, groups: list[tuple[tuple, dict]], drls: ReferenceLevels,
           achievables: ReferenceLevels, ordered: bool = True) -> list[dict]:
    """The rows of a statistics table from its groups ((exam, device, period, DRL id, achievable id), figures), by
    exam name, device and period (``ordered``), else in the groups' order (a page, sorted by the database)."""
    names = _exam_names(session, {key[0] for key, _ in groups})
    described: dict = {}  # each level described once (a two-year table has tens of thousands of rows, few levels)
    out = []
    if ordered:
        groups = sorted(groups, key=lambda g: (names.get(g[0][0]) or "", g[0][1] or 0, g[0][2] or "", g[0][3] or 0,
                                               g[0][4] or 0))
    for (exam_id, device_id, period_key, drl_id, achievable_id), stats in groups:
        out.append({
            "standard_exam_id": exam_id, "standard_exam": names.get(exam_id), "device_id": device_id,
            "period": period_key, "quantity": quantity, **stats, "drl_value_id": drl_id,
            "achievable_value_id": achievable_id,
            **compare(stats["median"], drls.by_id.get(drl_id), achievables.by_id.get(achievable_id), "median", described),
        })
    return out


def charted(session: Session, quantity: str, filters: Filters, period: str = "month", exams: int = 4,
            devices: int = 8) -> tuple[list[dict], int]:
    """What a chart of the statistics draws: the ``exams`` standard exams with the most values for ``filters`` (the
    one of ``filters.standard_exam_id`` when given), each with its total ``n``, the DRL and achievable dose of its
    first row, and per device its points (period, n, median, 25th and 75th percentile, min, max) in period order,
    for its ``devices`` devices with the most values (a chart tells eight lines apart, not sixty; ``devices``: how
    many have values).
    The groups of :func:`median_table` (:func:`table_groups`: kept, stale periods from the rows) without its rows'
    descriptions: the table of every device together ranks the exams, then each exam's groups alone.  Also: how
    many standard exams have values."""
    drls, achievables = ReferenceLevels(session), ReferenceLevels(session, ACHIEVABLE)
    totals: dict[int, int] = defaultdict(int)
    for (exam_id, *_), figures in table_groups(session, quantity, filters, period, False, drls, achievables):
        if exam_id is not None:  # no standard exam: nothing to chart against a DRL
            totals[exam_id] += figures["n"]
    names = _exam_names(session, set(totals))
    out = []
    for exam_id, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:exams]:
        groups = sorted(table_groups(session, quantity, replace(filters, standard_exam_id=exam_id), period, True, drls,
                                     achievables), key=lambda g: (g[0][2] or "", g[0][1] or 0, g[0][3] or 0))
        series: dict = {}
        for (_, device_id, key, _drl, _achievable), figures in groups:
            series.setdefault(device_id, []).append({"period": key, **{k: figures[k] for k in CHARTED}})
        first = lambda index, levels: next((levels.by_id[g[0][index]] for g in groups  # noqa: E731
                                            if g[0][index] in levels.by_id), None)
        drl, achievable = first(3, drls), first(4, achievables)
        most = sorted(series, key=lambda d: (-sum(p["n"] for p in series[d]), d or 0))[:devices]
        out.append({"standard_exam_id": exam_id, "standard_exam": names.get(exam_id), "n": n,
                    "drl": drl and drl.describe(), "achievable": achievable and achievable.describe(),
                    "devices": len(series), "series": [{"device_id": d, "points": series[d]} for d in most]})
    return out, len(totals)


ACHIEVABLE = ("achievable",)
CHARTED = ("n", "median", "p25", "p75", "min", "max")  # a chart's point: the line's median, the box's spread


class ReferenceLevels:
    """The DRLs (or achievable doses) of a request: by id, and found for a row's exam, patient band and date."""

    def __init__(self, session: Session, kinds=DRL_KINDS):
        levels = active_levels(session, kinds)
        self.by_id = {level.id: level for level in levels}
        self.index = LevelIndex(levels)

    def find(self, row: Row, quantity: str) -> Level | None:
        return self.index.find(row.exam_id, quantity, row.age, row.weight, row.day)

    def quantities(self, exam_id: int | None) -> set[str]:
        """The quantities that have a level for ``exam_id`` (in any band or period)."""
        return {quantity for exam, quantity in self.index.by_key if exam == exam_id}

    def id_for(self, row: Row, quantity: str) -> int | None:
        level = self.find(row, quantity)
        return level.id if level else None


def compare(value: float | None, drl: Level | None, achievable: Level | None, name: str = "value",
            described: dict | None = None) -> dict:
    """``value`` beside its DRL and its achievable dose: both levels, the ratios, above the DRL, below the achievable
    dose.  ``described``: the levels' descriptions by id, filled as they are met (rows of one answer share them)."""
    def describe(level):
        if level is None or described is None:
            return level and level.describe()
        if level.id not in described:
            described[level.id] = level.describe()
        return described[level.id]

    over_drl = None if drl is None or value is None else value / drl.value
    over_achievable = None if achievable is None or value is None else value / achievable.value
    return {"drl": describe(drl), f"{name}_over_drl": over_drl,
            f"{name}_above_drl": None if over_drl is None else value > drl.value,
            "achievable": describe(achievable), f"{name}_over_achievable": over_achievable,
            f"{name}_below_achievable": None if over_achievable is None else value < achievable.value}


def study_reference_levels(session: Session, study: Study, levels: "tuple[ReferenceLevels, ReferenceLevels] | None" = None
                           ) -> list[dict]:
    """Each counted value of a study that has a DRL or an achievable dose, beside both (those in force on its date).

    The study's totals (exam level, its standard exam) and its counted events (exposure level, each event's
    standard exam), as the statistics and the alerts compare them.  ``levels``: the DRLs and achievable doses when
    the caller has them (a page of studies reads them once).
    """
    drls, achievables = levels or (ReferenceLevels(session), ReferenceLevels(session, ACHIEVABLE))
    levelled: dict[tuple[bool, int | None], list] = {}  # per level and standard exam, the quantities with a DRL or
    # an achievable dose (once per exam: a fluoroscopy study has hundreds of events)

    def levelled_quantities(exam_level: bool, exam_id) -> list:
        if (exam_level, exam_id) not in levelled:
            keys = drls.quantities(exam_id) | achievables.quantities(exam_id)
            every = quantities.exam_quantities() if exam_level else quantities.exposure_quantities()
            levelled[exam_level, exam_id] = [q for q in every if q.key in keys]
        return levelled[exam_level, exam_id]
    found = [(None, study.standard_exam_id, q, values.value(study, q)) for q in levelled_quantities(True, study.standard_exam_id)]
    found += [(e.id, e.standard_exam_id, q, values.value(e, q)) for o in study.objects for e in o.events if e.counted
              for q in levelled_quantities(False, e.standard_exam_id)]
    out = []
    for event_id, exam_id, quantity, value in found:
        if value is None:
            continue
        row = Row(exam_id, None, study.study_date, value, study.patient_age_years, study.patient_weight_kg, study.id, event_id)
        out.append({"level": quantity.level, "event_id": event_id, "standard_exam_id": exam_id, "quantity": quantity.key,
                    "value": value, **compare(value, drls.find(row, quantity.key), achievables.find(row, quantity.key))})
    return out


def exceedance_statement(session: Session, quantity: str, filters: Filters, drls: "ReferenceLevels | None" = None,
                         drl_value_id: int | None = None):
    """The select of every study (exam level) or event (exposure level) above the DRL in force on its date, in the
    list's order (newest first, undated last; then study, then event): the columns of :class:`Row` and the DRL's id.

    The DRL that applies to each row is found by the database (:meth:`kerma.drl.sets.LevelIndex.level_sql`, the same
    levels and bands as :meth:`ReferenceLevels.find`): the rows below their DRL never leave it, and a page of the
    list walks the date index (``ix_event_counted_date_desc``, ``ix_study_date_desc`` on PostgreSQL) until it is full.
    """
    drls = drls or ReferenceLevels(session)
    stmt = rows_statement(quantity, filters, with_uid=True)
    exam, _device, day, value, age, weight, study_id, event_id, _uid = stmt.selected_columns
    level_of = partial(drls.index.level_sql, quantity, exam, age, weight, day)
    above = value > level_of("value") if quantity in {q for _, q in drls.index.by_key} else false()  # no DRL: none
    if drl_value_id is not None:  # only the values compared with this DRL (a row of kerma.stats.compliance)
        above = above & (level_of("id") == drl_value_id)
    return (stmt.add_columns(level_of("id")).where(above)
            .order_by(nulls_last(day.desc()), study_id.desc(), event_id))


def exceedances(session: Session, quantity: str, filters: Filters) -> list[tuple[Row, Level]]:
    """(row, DRL) for every study (exam level) or event (exposure level) above the DRL in force on its date."""
    drls = ReferenceLevels(session)
    return [(Row(*r[:-1]), drls.by_id[r[-1]]) for r in session.execute(exceedance_statement(session, quantity, filters, drls))]


def studies_above_drl(session: Session, filters: Filters):
    """The ids of the studies with a value above the DRL in force on its date, for every quantity an active DRL
    covers (as :func:`exceedances` finds them): a select, so that the database compares and a list pages it; None
    when no DRL is active."""
    drls = ReferenceLevels(session)
    selects = [exceedance_statement(session, quantity, filters, drls).order_by(None).with_only_columns(Study.id)
               for quantity in sorted({q for _, q in drls.index.by_key})]
    return union(*selects) if selects else None


def above_drl(session: Session, quantity: str, filters: Filters, limit: int | None = None, offset: int = 0,
              drl_value_id: int | None = None) -> list[dict]:
    """Every study (exam level) or event (exposure level) whose value exceeds the DRL in force on its date, newest
    first; ``limit`` and ``offset`` for a page, ``drl_value_id`` for those compared with that DRL only."""
    drls = ReferenceLevels(session)
    stmt = exceedance_statement(session, quantity, filters, drls, drl_value_id).limit(limit).offset(offset or None)
    hits = [(Row(*r[:-1]), drls.by_id[r[-1]]) for r in session.execute(stmt)]
    achievables = ReferenceLevels(session, ACHIEVABLE)
    names = _exam_names(session, {r.exam_id for r, _ in hits})
    out = []
    for row, level in hits:
        achievable = achievables.find(row, quantity)
        out.append({
            "study_instance_uid": row.study_uid, "event_id": row.event_id, "date": row.day.isoformat() if row.day else None,
            "standard_exam": names.get(row.exam_id), "device_id": row.device_id, "quantity": quantity, "value": row.value,
            "drl": level.value, "drl_set": level.set_name, "drl_valid_from": level.describe()["valid_from"],
            "drl_valid_to": level.describe()["valid_to"], "drl_value_id": level.id, "patient_group": level.patient_group,
            "ratio": row.value / level.value,
            "achievable": achievable.value if achievable else None,
            "achievable_set": achievable.set_name if achievable else None,
        })
    return out


def _exam_names(session: Session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(StandardExam.id, StandardExam.name).where(StandardExam.id.in_(ids))).all())


def device_inventory(session: Session) -> list[dict]:
    devices = session.scalars(select(Device).order_by(Device.modality, Device.manufacturer, Device.model)).all()
    counts = {device_id: (objects, studies) for device_id, objects, studies in session.execute(
        select(DoseObject.device_id, func.count(), func.count(DoseObject.study_id.distinct()))
        .where(DoseObject.device_id.is_not(None)).group_by(DoseObject.device_id))}
    return [{
        "device_id": d.id, "modality": d.modality, "manufacturer": d.manufacturer, "model": d.model,
        "station_name": d.station_name, "serial_number": d.serial_number, "software_versions": d.software_versions,
        "device_observer_uid": d.device_observer_uid, "first_seen": d.first_seen.isoformat() if d.first_seen else None,
        "last_seen": d.last_seen.isoformat() if d.last_seen else None,
        "studies": counts.get(d.id, (0, 0))[1], "dose_objects": counts.get(d.id, (0, 0))[0],
    } for d in devices]


def examinations_per_device(session: Session, filters: Filters, period: str = "month") -> list[dict]:
    """Per device and period: examinations, and how often each protocol, procedure, series and body region occurs.

    From the counts kept per device and month (:func:`kerma.stats.monthly.read_counts`, summed into the period) when
    the request's months are fresh, else counted by the database (:func:`counts`).
    """
    period_of(None, period)  # refuses an unknown period
    kept = monthly.read_counts(session, filters)
    if kept is None:
        found = counts(session, filters, period)
    else:
        found, stale = kept
        for key in sorted(stale):  # changed since the refresher's last round: counted from the rows
            found += counts(session, monthly.within(filters, key), "month")
        # each month's period looked up once (a year of kept counts: tens of thousands of rows)
        periods = {month: month and period_of(monthly.key_range(month)[0], period) for month in {r[1] for r in found}}
    table: dict = {}
    for device_id, key, field, name, n in found:
        if kept is not None:
            key = periods[key]
        row = table.get((device_id, key))
        if row is None:
            row = table[(device_id, key)] = {"device_id": device_id, "period": key, "examinations": 0, "series": 0,
                                             "protocols": {}, "procedures": {}, "body_regions": {}}
        if name is None:
            row[field] += n
        else:
            counted = row[field]
            counted[name] = counted.get(name, 0) + n
            if field == "procedures":  # one procedure per study: the examinations are their sum
                row["examinations"] += n
    return [r for _, r in sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]


def counts(session: Session, filters: Filters, period: str) -> list[tuple[int, str | None, str, str | None, int]]:
    """(device, period, field, name, n) of :func:`examinations_per_device`, counted by the database from the rows:
    procedures per study (their sum: the examinations), protocols and body regions per study that has them among its
    counted events, series as the dose objects those events come from.  Each is a count of studies (or of dose objects,
    each of one study) in the study's period, so the counts of months add up to those of a quarter or a year.
    """
    when = period_sql(session, Study.study_date, period)
    scope = [Study.device_id.is_not(None)]
    if filters.undated:
        scope.append(Study.study_date.is_(None))
    if filters.date_from:
        scope.append(Study.study_date >= filters.date_from)
    if filters.date_to:
        scope.append(Study.study_date <= filters.date_to)
    if filters.device_id is not None:
        scope.append(Study.device_id == filters.device_id)
    procedure = func.coalesce(func.nullif(Study.procedure_reported, ""), func.nullif(Study.study_description, ""), "(none)")
    out = []
    for device_id, key, name, n in session.execute(
            select(Study.device_id, when, procedure, func.count()).where(*scope).group_by(*BY[:3])):
        out.append((device_id, key, "procedures", name, n))
    events = (select(Study.device_id, when).join(IrradiationEvent, IrradiationEvent.study_id == Study.id)
              .where(*scope, IrradiationEvent.counted.is_(True)))
    out += [(device_id, key, "series", None, n) for device_id, key, n in session.execute(
            events.add_columns(func.count(IrradiationEvent.dose_object_id.distinct())).group_by(*BY[:2]))]
    region = func.coalesce(func.nullif(IrradiationEvent.target_region, ""), func.nullif(IrradiationEvent.body_part, ""))
    for field, column in (("protocols", func.nullif(IrradiationEvent.protocol, "")), ("body_regions", region)):
        out += [(device_id, key, field, name, n) for device_id, key, name, n in session.execute(
                events.add_columns(column, func.count(Study.id.distinct())).where(column.is_not(None)).group_by(*BY[:3]))]
    return out


BY = (text("1"), text("2"), text("3"))  # GROUP BY the select's columns by position: the same expression twice, with its
# parameters bound twice, is not the same expression to PostgreSQL


def period_sql(session: Session, day, period: str):
    """:func:`period_of` in SQL ("2026-03", "2026-Q1", "2026", "all"; NULL without a date)."""
    if period == "all":
        return case((day.is_(None), None), else_=literal("all"))
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(day, {"month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}[period])
    if period == "quarter":
        quarter = cast((cast(func.strftime("%m", day), Integer) + 2).self_group().op("/")(3), String)  # integer division
        return func.strftime("%Y", day).op("||")("-Q").op("||")(quarter)
    return func.strftime({"month": "%Y-%m", "year": "%Y"}[period], day)
