"""Core handlers of /kerma/api/: ingest health, studies, ingest errors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import false, func, select, text, true
from sqlalchemy.orm import Session, selectinload

from .. import __version__, access
from ..access import VIEWER
from ..db.models import Device, DoseObject, IrradiationEvent, PerformedProcedureStep, StandardExam, Study
from ..classify.apply import invalid_rules as invalid_mapping_rules
from ..evaluate.evaluator import invalid_rules as invalid_alert_rules
from ..stats.above_drl import studies_above
from ..images import locate_study
from ..ingest.store import read_cursor
from ..stats.tables import ACHIEVABLE, Filters, ReferenceLevels, study_reference_levels
from . import views
from .derived import study_derived
from .export import rows_answer
from .his import ordered, page, total
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import Day, Flag, Id, Order, Page, Query, column_text, path_text, query, sort_field


ESTIMATED_FROM = 100_000  # rows: from there on GET health gives PostgreSQL's estimate of a table's rows, not a count


def table_rows(session: Session, model) -> tuple[int, bool]:
    """The rows of ``model``'s table, and whether that is PostgreSQL's estimate (``pg_class.reltuples``, which ANALYZE
    and autovacuum keep within a few per cent) rather than a count: counting reads every row or a whole index of them
    (1,000,000 events: 0.2 s; 10,000,000: 2 s), for a figure the Today screen shows rounded."""
    if session.get_bind().dialect.name == "postgresql":
        estimate = session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                                  {"t": model.__tablename__})  # -1 when never analysed
        if estimate is not None and estimate >= ESTIMATED_FROM:
            return int(estimate), True
    return session.scalar(select(func.count()).select_from(model)), False


@route("GET", r"health", role=VIEWER)
def health(ctx: Context, session: Session, request: Request) -> dict:
    cursor = read_cursor(session)
    studies, events = table_rows(session, Study), table_rows(session, IrradiationEvent)
    last = ctx.orthanc_last_seq()
    # the ledger of Orthanc's instances (an MPPS record has no instance: it is counted with its step)
    by_status = dict(session.execute(select(DoseObject.status, func.count()).where(DoseObject.orthanc_id.is_not(None))
                                     .group_by(DoseObject.status)).all())
    steps = dict(session.execute(select(PerformedProcedureStep.state, func.count())
                                 .group_by(PerformedProcedureStep.state)).all())
    screens = dict(session.execute(select(DoseObject.ocr_state, func.count()).where(DoseObject.ocr_state.is_not(None))
                                   .group_by(DoseObject.ocr_state)).all())
    return {
        "service": "kerma",
        "version": __version__,
        "status": "error" if ctx.worker_error() else "ok",
        "ingest_error": ctx.worker_error(),
        "cursor": cursor,
        "orthanc_last_seq": last,
        "lag": (last - cursor) if last is not None else None,
        # studies a later change (HL7, a dose screen read, their derived doses) left to resolve, classify and evaluate
        # again: the ingest worker takes them between batches (partial index ix_study_refresh_due; "= true" its own
        # term: for "IS TRUE" PostgreSQL read every study, 0.3 s at 333,000)
        "refresh_due": session.scalar(select(func.count()).select_from(Study).where(Study.refresh_due == true())),
        "hl7": ctx.hl7_state(),
        "mpps": ctx.mpps_state(),
        "ocr": ctx.ocr_state(),
        "dosimetry": ctx.dosimetry_state(),
        "statistics": ctx.statistics_state(),
        "counts": {
            "studies": studies[0],
            "dose_objects": by_status,  # every instance Kerma has seen: Orthanc's count plus those deleted in PACS
            "deleted_in_pacs": session.scalar(select(func.count()).select_from(DoseObject)
                                              .where(DoseObject.deleted_in_pacs_at.is_not(None))),
            "irradiation_events": events[0],
            # which of these counts are PostgreSQL's estimates (tables of ESTIMATED_FROM rows or more)
            "estimated": [name for name, (_, guessed) in (("studies", studies), ("irradiation_events", events)) if guessed],
            "performed_procedure_steps": steps,
            "dose_screens": screens,  # by OCR state: queued, recorded, needs_review, ignored, error
        },
        # enabled rules that cannot be evaluated and are left out (kerma.rule_rows), each with the reason
        "invalid_rules": {"mapping": invalid_mapping_rules(session), "alert": invalid_alert_rules(session)},
    }


@route("GET", r"me", role=VIEWER)
def me(ctx: Context, session: Session, request: Request) -> dict:
    """Who asks, with which roles, and every role whose permissions those include (the UI hides the rest)."""
    return {"user": request.user, "roles": [r for r in access.ROLES if r in request.roles],
            "may": access.may(request.roles)}


# the study list's sortable columns (a page at a time: the database sorts)
STUDY_SORTS = {
    "study_date": Study.study_date, "patient_id": Study.patient_id, "patient_name": Study.patient_name,
    "accession_number": Study.accession_number, "study_description": Study.study_description,
    "standard_exam": select(StandardExam.name).where(StandardExam.id == Study.standard_exam_id).scalar_subquery(),
    "device": select(func.coalesce(Device.station_name, Device.model, Device.manufacturer))
    .where(Device.id == Study.device_id).scalar_subquery(),
    "modality": select(func.min(DoseObject.modality)).where(DoseObject.study_id == Study.id, DoseObject.status == "ok")
    .scalar_subquery(),
    "source": Study.dose_source, "event_count": Study.event_count,
    **{name: getattr(Study, name) for name in views.EXAM_TOTALS},  # every total the list shows as a column
}


class StudyQuery(Page):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    sort: sort_field(STUDY_SORTS) = "study_date"
    order: Order = "desc"
    date_from: Day | None = None
    date_to: Day | None = None
    modality: column_text(DoseObject.modality) | None = None
    device: column_text(DoseObject.station_name) | None = None
    patient_id: column_text(Study.patient_id) | None = None
    accession: column_text(Study.accession_number) | None = None
    standard_exam_id: Id | None = None
    above_drl: Flag = False


@route("GET", r"studies", role=VIEWER, personal=True)
def list_studies(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, StudyQuery)
    stmt = select(Study)
    if q.date_from:
        stmt = stmt.where(Study.study_date >= q.date_from)
    if q.date_to:
        stmt = stmt.where(Study.study_date <= q.date_to)
    if q.patient_id:
        stmt = stmt.where(Study.patient_id == q.patient_id)
    if q.accession:
        stmt = stmt.where(Study.accession_number == q.accession)
    object_filters = []
    if q.modality:
        object_filters.append(DoseObject.modality == q.modality.upper())
    if q.device:
        like = f"%{q.device}%"
        object_filters.append(
            DoseObject.station_name.ilike(like) | DoseObject.model.ilike(like)
            | DoseObject.manufacturer.ilike(like) | (DoseObject.device_observer_uid == q.device)
        )
    if object_filters:
        # EXISTS lets the database walk the study-date index and stop at a page (IN built the whole list first)
        stmt = stmt.where(select(DoseObject.id).where(DoseObject.study_id == Study.id, DoseObject.status == "ok",
                                                      *object_filters).exists())
    if q.standard_exam_id:
        stmt = stmt.where(Study.standard_exam_id == q.standard_exam_id)
    if q.above_drl:
        above = studies_above(session, Filters(q.date_from, q.date_to))
        stmt = stmt.where(Study.id.in_(above) if above is not None else false())
    counted = total(session, stmt)
    objects = selectinload(Study.objects)
    if q.above_drl:  # their events compared below: loaded in one query, not one per record
        objects = objects.selectinload(DoseObject.events)
    page = session.scalars(
        ordered(stmt.options(objects), STUDY_SORTS[q.sort], q.order, Study.id)
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    # with the filter, each study says which quantity is above its DRL and by how much
    levels = (ReferenceLevels(session), ReferenceLevels(session, ACHIEVABLE)) if q.above_drl else None  # once a page
    rows = with_names(session, [{**views.study_summary(s), **({"above_drl": _above_drl(session, s, levels)} if q.above_drl else {})}
                                for s in page])
    return rows_answer(ctx, request, "studies", rows,
                       {**counted, "limit": q.limit, "offset": q.offset, "sort": q.sort, "order": q.order})


class StudyDetailQuery(Query):
    compact: Flag = False  # each event once (the study page): see views.study_detail


@route("GET", r"studies/(?P<uid>[^/]+)", role=VIEWER, personal=True)
def get_study(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, StudyDetailQuery)
    study = session.scalars(
        select(Study)
        .where(Study.study_instance_uid == path_text(request, "uid"))
        .options(selectinload(Study.objects).selectinload(DoseObject.events))
    ).first()
    if study is None:
        raise ApiError(404, "no dose record for this Study Instance UID")
    detail = with_names(session, [views.study_detail(study, q.compact)])[0]
    return {**detail, "reference_levels": study_reference_levels(session, study),
            "derived_doses": study_derived(session, study)}


@route("GET", r"studies/(?P<uid>[^/]+)/images", role=VIEWER)
def study_images(ctx: Context, session: Session, request: Request) -> dict:
    """Where the study's images are in Orthanc now (looked up by Study Instance UID: merges change Orthanc's ids)."""
    uid = path_text(request, "uid")
    if session.scalar(select(Study.id).where(Study.study_instance_uid == uid)) is None:
        raise ApiError(404, "no dose record for this Study Instance UID")
    if ctx.orthanc is None:
        raise ApiError(503, "Orthanc's REST API is not available here")
    try:
        located = locate_study(ctx.orthanc, uid)
    except Exception:  # Orthanc answers errors by raising (e.g. while the study is being deleted)
        located = None
    if located is None:
        raise ApiError(404, "Orthanc has no study with this Study Instance UID (deleted from PACS?)")
    return {"study_instance_uid": uid, **located}


ERROR_SORTS = {"processed_at": DoseObject.processed_at, "status": DoseObject.status, "sop_class_uid": DoseObject.sop_class_uid,
               "reason": DoseObject.reason, "change_seq": DoseObject.change_seq}


class IngestErrorQuery(Page):
    status: Literal["error", "ignored", "error,ignored", "ignored,error"] = "error"
    sort: sort_field(ERROR_SORTS) = "processed_at"
    order: Order = "desc"


@route("GET", r"ingest-errors", role=VIEWER)
def list_ingest_errors(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, IngestErrorQuery)
    stmt = select(DoseObject).where(DoseObject.status.in_(q.status.split(",")))
    return page(session, stmt, q, "errors", _ingest_error, ERROR_SORTS, DoseObject.id)


def _ingest_error(r: DoseObject) -> dict:
    return {"orthanc_id": r.orthanc_id, "sop_instance_uid": r.sop_instance_uid, "sop_class_uid": r.sop_class_uid,
            "status": r.status, "reason": r.reason, "change_seq": r.change_seq, "processed_at": views.iso(r.processed_at),
            "warnings": r.warnings or [], "deleted_in_pacs_at": views.iso(r.deleted_in_pacs_at),
            "ocr_state": r.ocr_state}


def _above_drl(session: Session, study: Study, levels) -> list[dict]:
    """Each quantity of ``study`` above the DRL in force on its date, with its highest value, that DRL and their
    ratio, highest ratio first (as the study page compares them: exam totals and counted events)."""
    highest: dict[str, dict] = {}
    for level in study_reference_levels(session, study, levels):
        if level["value_above_drl"] and (level["quantity"] not in highest
                                         or level["value_over_drl"] > highest[level["quantity"]]["ratio"]):
            highest[level["quantity"]] = {"quantity": level["quantity"], "value": level["value"], "drl": level["drl"]["value"],
                                          "ratio": level["value_over_drl"], "drl_set": level["drl"]["set"]}
    return sorted(highest.values(), key=lambda f: -f["ratio"])
