"""REST: statistics per standard exam × device × period against DRLs, exceedances, trends, the ESR tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import VIEWER
from ..db.models import EVENT_FIELDS, DoseObject, IrradiationEvent, Study
from ..stats import tables
from .export import rows_answer
from .router import ApiError, Context, Request, int_param, route


def _filters(query: dict) -> tables.Filters:
    def day(name):
        try:
            return dt.date.fromisoformat(query[name]) if query.get(name) else None
        except ValueError:
            raise ApiError(400, f"{name} must be a date as YYYY-MM-DD") from None

    def number(name):
        try:
            return int(query[name]) if query.get(name) else None
        except ValueError:
            raise ApiError(400, f"{name} must be an integer") from None

    return tables.Filters(day("date_from"), day("date_to"), (query.get("modality") or "").upper() or None,
                          number("device_id"), number("standard_exam_id"))


def _quantity(query: dict) -> str:
    quantity = query.get("quantity")
    if not quantity:
        raise ApiError(400, "quantity is required, e.g. ctdivol_mGy, dap_Gycm2, total_dlp_mGycm")
    try:
        tables.level_of(quantity)
    except tables.StatisticsError as exc:
        raise ApiError(400, str(exc)) from None
    return quantity


@route("GET", r"statistics", role=VIEWER)
def statistics(ctx: Context, session: Session, request: Request):
    q = request.query
    quantity = _quantity(q)
    try:
        rows = tables.median_table(session, quantity, _filters(q), q.get("period", "month"),
                                   by_device=q.get("by_device", "1") not in ("0", "false", "no"))
    except tables.StatisticsError as exc:
        raise ApiError(400, str(exc)) from None
    return rows_answer(session, request, "statistics", rows, {"quantity": quantity, "level": tables.level_of(quantity)})


@route("GET", r"statistics/above-drl", role=VIEWER, personal=True)
def above_drl(ctx: Context, session: Session, request: Request):
    quantity = _quantity(request.query)
    return rows_answer(session, request, "above_drl", tables.above_drl(session, quantity, _filters(request.query)),
                       {"quantity": quantity})


@route("GET", r"statistics/trend", role=VIEWER)
def trend(ctx: Context, session: Session, request: Request):
    q = request.query
    quantity = _quantity(q)
    try:
        rows = tables.median_table(session, quantity, _filters(q), q.get("period", "month"), by_device=False)
    except tables.StatisticsError as exc:
        raise ApiError(400, str(exc)) from None
    keep = ("standard_exam_id", "standard_exam", "period", "n", "median", "drl")
    return rows_answer(session, request, "trend", [{k: r[k] for k in keep} for r in rows], {"quantity": quantity})


@route("GET", r"devices", role=VIEWER)
def devices(ctx: Context, session: Session, request: Request):
    return rows_answer(session, request, "devices", tables.device_inventory(session))


@route("GET", r"statistics/examinations-per-device", role=VIEWER)
def examinations_per_device(ctx: Context, session: Session, request: Request):
    try:
        rows = tables.examinations_per_device(session, _filters(request.query), request.query.get("period", "month"))
    except tables.StatisticsError as exc:
        raise ApiError(400, str(exc)) from None
    return rows_answer(session, request, "examinations", rows)


@route("GET", r"events", role=VIEWER, personal=True)
def events(ctx: Context, session: Session, request: Request):
    """Exposure events with every parameter (the ESR's event list), counted ones only unless ?all=1."""
    q = request.query
    limit = int_param(q, "limit", 100, 1, 10000)
    offset = int_param(q, "offset", 0, 0, None)
    filters = _filters(q)
    stmt = (select(IrradiationEvent, Study, DoseObject.modality)
            .join(Study, Study.id == IrradiationEvent.study_id)
            .join(DoseObject, DoseObject.id == IrradiationEvent.dose_object_id))
    if q.get("all") not in ("1", "true", "yes"):
        stmt = stmt.where(IrradiationEvent.counted.is_(True))
    if filters.date_from:
        stmt = stmt.where(IrradiationEvent.event_date >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(IrradiationEvent.event_date <= filters.date_to)
    if filters.modality:
        stmt = stmt.where(DoseObject.modality == filters.modality)
    if filters.device_id is not None:
        stmt = stmt.where(IrradiationEvent.device_id == filters.device_id)
    if filters.standard_exam_id is not None:
        stmt = stmt.where(IrradiationEvent.standard_exam_id == filters.standard_exam_id)
    rows = []
    for event, study, modality in session.execute(stmt.order_by(IrradiationEvent.id).limit(limit).offset(offset)):
        rows.append({
            "event_id": event.id, "study_instance_uid": study.study_instance_uid, "study_date": study.study_date.isoformat()
            if study.study_date else None, "patient_id": study.patient_id, "accession_number": study.accession_number,
            "patient_age_years": study.patient_age_years, "patient_weight_kg": study.patient_weight_kg,
            "modality": modality, "device_id": event.device_id, "standard_exam_id": event.standard_exam_id,
            **{name: getattr(event, name) for name in EVENT_FIELDS},
        })
    return rows_answer(session, request, "events", rows, {"limit": limit, "offset": offset})
