"""REST: statistics per standard exam × device × period against DRLs, exceedances, trends, the ESR tables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import select, true
from sqlalchemy.orm import Session

from .. import quantities
from ..access import VIEWER
from ..correction_kinds import event_columns
from ..db.models import EVENT_FIELDS, DoseObject, IrradiationEvent, Study
from ..db.records import event as event_fields
from ..stats import compliance, pages, scatter, tables
from .export import ExportQuery, rows_answer
from .his import ordered, total
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import Day, Flag, Id, Offset, Order, Query, choices, column_text, query, sort_field, text
from .views import DEVICE_FIELDS


class FilterQuery(Query):
    date_from: Day | None = None
    date_to: Day | None = None
    modality: column_text(DoseObject.modality) | None = None
    device_id: Id | None = None
    standard_exam_id: Id | None = None
    period: Literal[tables.PERIODS] = "month"

    def filters(self) -> tables.Filters:
        return tables.Filters(self.date_from, self.date_to, (self.modality or "").upper() or None, self.device_id,
                              self.standard_exam_id)


class QuantityQuery(FilterQuery):
    quantity: text(64, nonempty=True)  # e.g. ctdivol_mGy, dap_Gycm2, total_dlp_mGycm
    by_device: Flag = True


def _quantity_query(request: Request) -> QuantityQuery:
    q = query(request, QuantityQuery)
    try:
        quantities.level_of(q.quantity)
    except quantities.UnknownQuantity as exc:
        raise ApiError(400, f"quantity: {exc}") from None
    return q


class PageQuery(Query):
    limit: Annotated[int, Field(ge=1, le=10000)] = 100
    offset: Offset = 0
    order: Order = "asc"

    def page(self, request: Request) -> pages.Page:
        """The page asked for; a CSV export is every row, in that order."""
        every = query(request, ExportQuery).format == "csv"
        return pages.Page(None if every else self.limit, 0 if every else self.offset, self.sort, self.order)


class StatisticsQuery(QuantityQuery, PageQuery):
    sort: sort_field(pages.STATISTICS_SORTS) = "standard_exam"
    above_drl: Flag = False  # only the rows whose median is above their DRL


@route("GET", r"statistics", role=VIEWER)
def statistics(ctx: Context, session: Session, request: Request):
    """The statistics table per standard exam × device × period a page at a time (``limit``, ``offset``, ``sort``,
    ``order``; ``total``: its rows), sorted by the database over the kept rows (kerma.stats.pages); as CSV every row."""
    _quantity_query(request)
    q = query(request, StatisticsQuery)
    page = q.page(request)
    rows, total = pages.statistics_page(session, q.quantity, q.filters(), q.period, q.by_device, page, q.above_drl)
    return rows_answer(ctx, request, "statistics", with_names(session, rows),
                       {"quantity": q.quantity, "level": quantities.level_of(q.quantity), "total": total,
                        "limit": page.limit, "offset": page.offset, "sort": page.sort, "order": page.order})


class ChartQuery(QuantityQuery):
    exams: Annotated[int, Field(ge=1, le=20)] = 4
    devices: Annotated[int, Field(ge=1, le=100)] = 8  # per exam, those with the most values


@route("GET", r"statistics/charts", role=VIEWER)
def statistics_charts(ctx: Context, session: Session, request: Request):
    """What the statistics page draws: the ``exams`` standard exams with the most values (or the one asked for), each
    with its median and spread per device and period and the DRL in force (kerma.stats.tables.charted)."""
    _quantity_query(request)
    q = query(request, ChartQuery)
    charts, exams = tables.charted(session, q.quantity, q.filters(), q.period, q.exams, q.devices)
    for chart in charts:
        with_names(session, chart["series"])
    return {"quantity": q.quantity, "period": q.period, "exams": exams, "charts": charts}


class AboveQuery(QuantityQuery):
    drl_value_id: Id | None = None  # only the values compared with this DRL (a row of statistics/compliance)
    limit: Annotated[int, Field(ge=1, le=100000)] = 1000
    offset: Offset = 0


@route("GET", r"statistics/above-drl", role=VIEWER, personal=True)
def above_drl(ctx: Context, session: Session, request: Request):
    """The values above their DRL, newest first, a page at a time (``limit``, ``offset``; ``more``: a next page)."""
    _quantity_query(request)
    q = query(request, AboveQuery)
    rows = tables.above_drl(session, q.quantity, q.filters(), limit=q.limit + 1, offset=q.offset,
                            drl_value_id=q.drl_value_id)
    return rows_answer(ctx, request, "above_drl", with_names(session, rows[:q.limit]),
                       {"quantity": q.quantity, "limit": q.limit, "offset": q.offset, "more": len(rows) > q.limit})


class ComplianceQuery(FilterQuery, PageQuery):
    period: Literal[tables.PERIODS] = "quarter"
    quantity: text(64, nonempty=True) | None = None
    status: choices(compliance.STATUSES) = ()
    sort: sort_field(pages.COMPLIANCE_SORTS) = "status"


@route("GET", r"statistics/compliance", role=VIEWER)
def drl_compliance(ctx: Context, session: Session, request: Request):
    """Per standard exam × device × period and quantity with a DRL: n, median, 75th percentile, the DRL in force,
    both ratios and the red/amber/green status (kerma.stats.compliance), a page at a time (worst first unless
    ``sort`` says otherwise; ``total``, and ``counts`` per status), read from the kept rows (kerma.stats.pages)."""
    q = query(request, ComplianceQuery)
    page = q.page(request)
    rows, total, counts = pages.compliance_page(session, q.filters(), q.period, {q.quantity} if q.quantity else None,
                                                q.status, page)
    return rows_answer(ctx, request, "compliance", with_names(session, rows),
                       {"period": q.period, "statuses": list(compliance.STATUSES), "counts": counts, "total": total,
                        "limit": page.limit, "offset": page.offset, "sort": page.sort, "order": page.order})


@route("GET", r"statistics/trend", role=VIEWER)
def trend(ctx: Context, session: Session, request: Request):
    q = _quantity_query(request)
    rows = tables.median_table(session, q.quantity, q.filters(), q.period, by_device=False)
    keep = ("standard_exam_id", "standard_exam", "period", "n", "median", "drl")
    return rows_answer(ctx, request, "trend", [{k: r[k] for k in keep} for r in rows], {"quantity": q.quantity})


class ScatterQuery(QuantityQuery):
    against: Literal[tuple(scatter.AGAINST)] = "weight"
    limit: Annotated[int, Field(ge=10, le=10000)] = 2000


@route("GET", r"statistics/scatter", role=VIEWER)
def statistics_scatter(ctx: Context, session: Session, request: Request):
    """The quantity against the patient's weight or age for the filters, sampled to ``limit`` points."""
    _quantity_query(request)
    q = query(request, ScatterQuery)
    return {"quantity": q.quantity, "against": q.against,
            **scatter.scatter(session, q.quantity, q.filters(), q.against, q.limit)}


@route("GET", r"devices", role=VIEWER)
def devices(ctx: Context, session: Session, request: Request):
    return rows_answer(ctx, request, "devices", tables.device_inventory(session))


@route("GET", r"statistics/examinations-per-device", role=VIEWER)
def examinations_per_device(ctx: Context, session: Session, request: Request):
    q = query(request, FilterQuery)
    return rows_answer(ctx, request, "examinations",
                       with_names(session, tables.examinations_per_device(session, q.filters(), q.period)))


# the event list sorts by any event column (a quantity's key), or by the study's date, patient or device
EVENT_SORTS = {"event_id": IrradiationEvent.id, "study_date": Study.study_date, "patient_id": Study.patient_id,
               "accession_number": Study.accession_number, "station_name": DoseObject.station_name,
               "modality": DoseObject.modality, **{name: getattr(IrradiationEvent, name) for name in EVENT_FIELDS}}


class EventQuery(FilterQuery):
    limit: Annotated[int, Field(ge=1, le=10000)] = 100
    offset: Offset = 0
    all: Flag = False
    sort: sort_field(EVENT_SORTS) = "event_id"
    order: Order = "asc"


@route("GET", r"events", role=VIEWER, personal=True)
def events(ctx: Context, session: Session, request: Request):
    """Exposure events with every parameter (the ESR's event list), counted ones only unless ?all=1.

    Every field the extractor gives an event is there: the scalar fields, and the repeating groups (``filters``,
    ``xray_sources``, ``organ_doses``...) and other details as they were extracted (nested values as JSON in a CSV).
    """
    q = query(request, EventQuery)
    limit, offset = q.limit, q.offset
    filters = q.filters()
    # what the join to the study keeps (a counted event always has its study); "= true": the partial index's own term
    scope = [IrradiationEvent.study_id.is_not(None) if q.all else IrradiationEvent.counted == true()]
    if filters.date_from:
        scope.append(IrradiationEvent.event_date >= filters.date_from)
    if filters.date_to:
        scope.append(IrradiationEvent.event_date <= filters.date_to)
    if filters.device_id is not None:
        scope.append(IrradiationEvent.device_id == filters.device_id)
    if filters.standard_exam_id is not None:
        scope.append(IrradiationEvent.standard_exam_id == filters.standard_exam_id)
    # the total counted over the events alone (an index-only scan of the counted events' date index, up to the bound of
    # his.total): the joins of the page add nothing to it but the modality
    counted = select(IrradiationEvent.id).where(*scope)
    stmt = (select(IrradiationEvent, Study, DoseObject).where(*scope)
            .join(Study, Study.id == IrradiationEvent.study_id)
            .join(DoseObject, DoseObject.id == IrradiationEvent.dose_object_id))
    if filters.modality:
        stmt = stmt.where(DoseObject.modality == filters.modality)
        counted = counted.join(DoseObject, DoseObject.id == IrradiationEvent.dose_object_id).where(
            DoseObject.modality == filters.modality)
    found = total(session, counted)
    stmt = ordered(stmt, EVENT_SORTS[q.sort], q.order, IrradiationEvent.id)
    rows = with_names(session, [event_row(event, study, obj)
                                for event, study, obj in session.execute(stmt.limit(limit).offset(offset))])
    return rows_answer(ctx, request, "events", rows, {**found, "limit": limit, "offset": offset, "sort": q.sort,
                                                      "order": q.order})


def event_row(row: IrradiationEvent, study: Study, obj: DoseObject) -> dict:
    """One line of the event list: the study and patient, the object and device it came from, every event field."""
    return {
        "event_id": row.id, "study_instance_uid": study.study_instance_uid,
        "study_date": study.study_date.isoformat() if study.study_date else None, "patient_id": study.patient_id,
        "accession_number": study.accession_number, "patient_age_years": study.patient_age_years,
        "patient_weight_kg": study.patient_weight_kg, "patient_height_m": study.patient_height_m,
        "modality": obj.modality, "source": obj.source, "sop_instance_uid": obj.sop_instance_uid,
        "event_index": row.event_index, "counted": row.counted, "folded_key": row.folded_key,
        "device_id": row.device_id, **{name: getattr(obj, name) for name in DEVICE_FIELDS},
        "standard_exam_id": row.standard_exam_id,
        **{k: v for k, v in event_fields(row).items() if k != "event_id"},
        # the device's correction factors on the event's date beside its values as reported (null: none)
        **{name: getattr(row, name) for name in event_columns()},
    }
