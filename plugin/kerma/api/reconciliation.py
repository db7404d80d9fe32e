"""/kerma/api/reconciliation/...: the worklists and the reassignment of a study (and its undo)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..access import RADIOGRAPHER, VIEWER
from ..db.models import Study, StudyReassignment
from ..reconcile import actions, lists
from .his import MAX_PAGE, order_view, page, patient_view, run_action, study_view
from .router import ApiError, Context, Request, date_param, int_param, route


@route("GET", r"reconciliation", role=VIEWER, personal=True)
def summary(ctx: Context, session: Session, request: Request) -> dict:
    """All four lists in one answer (one REST call for a dashboard: plugin 4.0 leaks a little per call)."""
    return {name: build(ctx, session, request.query) for name, build in LISTS.items()}


@route("GET", r"reconciliation/(?P<name>no-order|no-dose|mismatches|unknown-patients)", role=VIEWER, personal=True)
def one_list(ctx: Context, session: Session, request: Request) -> dict:
    return LISTS[request.param("name")](ctx, session, request.query)


def _no_order(ctx: Context, session: Session, query: dict) -> dict:
    return _paged(query, "studies", lists.studies_without_order(session, _window(query)), study_view)


def _no_dose(ctx: Context, session: Session, query: dict) -> dict:
    now = clock.now()
    delay = ctx.settings.no_dose_delay_hours
    found = lists.orders_without_dose(session, now, delay)
    return {**_paged(query, "orders", found, order_view), "delay_hours": delay}


def _mismatches(ctx: Context, session: Session, query: dict) -> dict:
    return _paged(query, "studies", lists.mismatches(session, _window(query)), _mismatch_view)


def _mismatch_view(mismatch: dict) -> dict:
    return {**study_view(mismatch["study"]), "order": order_view(mismatch["order"]) if mismatch["order"] else None,
            "his_patient": patient_view(mismatch["his_patient"]) if mismatch["his_patient"] else None,
            "differences": [{k: _jsonable(v) for k, v in d.items()} for d in mismatch["differences"]]}


def _unknown_patients(ctx: Context, session: Session, query: dict) -> dict:
    found = lists.placeholder_patients(session, ctx.settings.placeholder_patterns, _window(query))
    return _paged(query, "studies", found, study_view)


LISTS = {"no-order": _no_order, "no-dose": _no_dose, "mismatches": _mismatches, "unknown-patients": _unknown_patients}


@route("GET", r"reconciliation/studies/(?P<uid>[0-9.]+)/order", role=VIEWER, personal=True)
def study_order(ctx: Context, session: Session, request: Request) -> dict:
    """The order a study matches: its procedure code and clinical indication are inputs to exam classification."""
    study = session.scalars(select(Study).where(Study.study_instance_uid == request.param("uid"))).first()
    if study is None:
        raise ApiError(404, "no dose record for this Study Instance UID")
    order = lists.matched_orders(session, [study]).get(study.id)
    if order is None:
        raise ApiError(404, "no order matches this study")
    return order_view(order)


@route("POST", r"reconciliation/studies/(?P<uid>[0-9.]+)/reassign", role=RADIOGRAPHER)
def reassign(ctx: Context, session: Session, request: Request) -> dict:
    """Body: ``{"patient_id": ..., "order_id": ..., "note": ...}`` (a patient, an order, or both)."""
    body = request.body if isinstance(request.body, dict) else {}
    order_id = body.get("order_id")
    if order_id is not None and not isinstance(order_id, int):
        raise ApiError(400, "order_id must be an integer")
    done = run_action(lambda: actions.reassign_study(
        session, request.param("uid"), request.user, patient_id=body.get("patient_id"), order_id=order_id,
        note=body.get("note"), orthanc=_orthanc(ctx)))
    return reassignment_view(done)


@route("GET", r"reconciliation/reassignments", role=VIEWER, personal=True)
def list_reassignments(ctx: Context, session: Session, request: Request) -> dict:
    stmt = select(StudyReassignment)
    if request.query.get("study_instance_uid"):
        stmt = stmt.join(Study).where(Study.study_instance_uid == request.query["study_instance_uid"])
    return page(session, stmt.order_by(StudyReassignment.id.desc()), request.query, "reassignments", reassignment_view)


@route("POST", r"reconciliation/reassignments/(?P<id>[0-9]+)/undo", role=RADIOGRAPHER)
def undo_reassignment(ctx: Context, session: Session, request: Request) -> dict:
    body = request.body if isinstance(request.body, dict) else {}
    done = run_action(lambda: actions.undo_reassignment(session, int(request.param("id")), request.user,
                                                         body.get("note"), orthanc=_orthanc(ctx)))
    return reassignment_view(done)


def reassignment_view(reassignment: StudyReassignment) -> dict:
    return {"id": reassignment.id, "at": _jsonable(reassignment.at), "actor": reassignment.actor,
            "study_id": reassignment.study_id, "before": reassignment.before, "after": reassignment.after,
            "note": reassignment.note, "orthanc_result": reassignment.orthanc_result,
            "undone_at": _jsonable(reassignment.undone_at), "undone_by": reassignment.undone_by}


def _orthanc(ctx: Context):
    """Orthanc's REST API when the site lets Kerma correct studies there too."""
    return ctx.orthanc if ctx.settings.apply_corrections_to_orthanc else None


def _window(query: dict) -> lists.Window:
    return lists.Window(date_param(query, "date_from"), date_param(query, "date_to"))


def _paged(query: dict, key: str, items: list, view) -> dict:
    limit = int_param(query, "limit", 100, 1, MAX_PAGE)
    offset = int_param(query, "offset", 0, 0, None)
    return {"total": len(items), "limit": limit, "offset": offset, key: [view(i) for i in items[offset:offset + limit]]}


def _jsonable(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
