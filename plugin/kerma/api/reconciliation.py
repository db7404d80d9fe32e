"""/kerma/api/reconciliation/...: the worklists and the reassignment of a study (and its undo)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..access import RADIOGRAPHER, VIEWER
from ..db.models import Study, StudyReassignment
from ..reconcile import actions, lists
from .his import order_json, page, patient_json, run_action, sorted_items, study_json
from .router import ApiError, Context, Request, route
from .schemas import Day, Id, NoteBody, Order, Page, body, column_text, path_id, path_text, query, sort_field


# the worklists computed whole (mismatches, orders without dose, unknown patients) are sorted and cut into pages
# here (by a field of each item's view); the lists of studies without order or without dose values by the database
LIST_SORTS = ("study_date", "accession_number", "patient_id", "study_description", "completed_at", "scheduled_at")


class ListQuery(Page):
    date_from: Day | None = None
    date_to: Day | None = None
    sort: sort_field(LIST_SORTS) | None = None  # None: the list's own order (newest first)
    order: Order = "desc"

    def window(self) -> lists.Window:
        return lists.Window(self.date_from, self.date_to)


@route("GET", r"reconciliation", role=VIEWER, personal=True)
def summary(ctx: Context, session: Session, request: Request) -> dict:
    """All the lists in one answer (one REST call for a dashboard: plugin 4.0 leaks a little per call)."""
    q = query(request, ListQuery)
    return {name: build(ctx, session, q) for name, build in LISTS.items()}


@route("GET", r"reconciliation/(?P<name>no-order|no-dose|no-dose-values|mismatches|unknown-patients)", role=VIEWER,
       personal=True)
def one_list(ctx: Context, session: Session, request: Request) -> dict:
    return LISTS[request.param("name")](ctx, session, query(request, ListQuery))


def _no_order(ctx: Context, session: Session, q: ListQuery) -> dict:
    return _study_page(session, q, lists.studies_without_order(q.window()), lambda studies: [study_json(s) for s in studies])


# the study lists' sorts that are columns of the study: the database sorts and pages them
STUDY_SORTS = {"study_date": Study.study_date, "accession_number": Study.accession_number, "patient_id": Study.patient_id,
               "study_description": Study.study_description}


def _study_page(session: Session, q: ListQuery, stmt, view) -> dict:
    """A worklist of studies (a statement) counted and cut into a page by the database, in its own order (newest
    first) unless sorted by a column of the study; ``view(studies)`` gives the page's views."""
    sort = STUDY_SORTS if q.sort in STUDY_SORTS else None
    found = page(session, stmt, q, "studies", lambda study: study, sort, Study.id)
    return {**found, "studies": view(found["studies"])}


def _no_dose(ctx: Context, session: Session, q: ListQuery) -> dict:
    now = clock.now()
    delay = ctx.settings.no_dose_delay_hours
    found = lists.orders_without_dose(session, now, delay)
    steps = lists.performed_steps(session, found)
    return {**_paged(q, "orders", found, lambda o: _no_dose_json(o, steps.get(o.id))), "delay_hours": delay}


def _no_dose_json(order, step) -> dict:
    """The order, and whether the modality said it performed it (MPPS) though no dose was received."""
    if step is None:
        reason = "completed, no dose received"
    else:
        reason = "performed, no dose received" if step.state == "completed" else "discontinued, no dose received"
    performed = None if step is None else {"sop_instance_uid": step.sop_instance_uid, "state": step.state,
                                           "ended_at": step.ended_at.isoformat(), "modality": step.modality}
    return {**order_json(order), "reason": reason, "performed": performed}


def _no_dose_values(ctx: Context, session: Session, q: ListQuery) -> dict:
    def rows(studies):
        orders = lists.matched_orders(session, studies)
        return [{**study_json(s), "order": order_json(orders[s.id]) if s.id in orders else None} for s in studies]
    return _study_page(session, q, lists.studies_without_dose_values(q.window()), rows)


def _mismatches(ctx: Context, session: Session, q: ListQuery) -> dict:
    return _paged(q, "studies", lists.mismatches(session, q.window()), _mismatch_json)


def _mismatch_json(mismatch: dict) -> dict:
    return {**study_json(mismatch["study"]), "order": order_json(mismatch["order"]) if mismatch["order"] else None,
            "his_patient": patient_json(mismatch["his_patient"]) if mismatch["his_patient"] else None,
            "differences": [{k: _jsonable(v) for k, v in d.items()} for d in mismatch["differences"]]}


def _unknown_patients(ctx: Context, session: Session, q: ListQuery) -> dict:
    found = lists.placeholder_patients(session, ctx.settings.placeholder_patterns, q.window())
    return _paged(q, "studies", found, study_json)


LISTS = {"no-order": _no_order, "no-dose": _no_dose, "no-dose-values": _no_dose_values, "mismatches": _mismatches,
         "unknown-patients": _unknown_patients}


@route("GET", r"reconciliation/studies/(?P<uid>[^/]+)/order", role=VIEWER, personal=True)
def study_order(ctx: Context, session: Session, request: Request) -> dict:
    """The order a study matches: its procedure code and clinical indication are inputs to exam classification."""
    study = session.scalars(select(Study).where(Study.study_instance_uid == path_text(request, "uid"))).first()
    if study is None:
        raise ApiError(404, "no dose record for this Study Instance UID")
    order = lists.matched_orders(session, [study]).get(study.id)
    if order is None:
        raise ApiError(404, "no order matches this study")
    return order_json(order)


class ReassignBody(NoteBody):
    """A patient, an order, or both."""

    patient_id: column_text(Study.patient_id, nonempty=True) | None = None
    order_id: Id | None = None


@route("POST", r"reconciliation/studies/(?P<uid>[^/]+)/reassign", role=RADIOGRAPHER)
def reassign(ctx: Context, session: Session, request: Request) -> dict:
    uid, target = path_text(request, "uid"), body(request, ReassignBody)
    done = run_action(lambda: actions.reassign_study(
        session, uid, request.user, patient_id=target.patient_id, order_id=target.order_id,
        note=target.note, orthanc=_orthanc(ctx)))
    return reassignment_json(done)


class ReassignmentQuery(Page):
    study_instance_uid: column_text(Study.study_instance_uid) | None = None


@route("GET", r"reconciliation/reassignments", role=VIEWER, personal=True)
def list_reassignments(ctx: Context, session: Session, request: Request) -> dict:
    q = query(request, ReassignmentQuery)
    stmt = select(StudyReassignment)
    if q.study_instance_uid:
        stmt = stmt.join(Study).where(Study.study_instance_uid == q.study_instance_uid)
    return page(session, stmt.order_by(StudyReassignment.id.desc()), q, "reassignments", reassignment_json)


@route("POST", r"reconciliation/reassignments/(?P<id>[0-9]+)/undo", role=RADIOGRAPHER)
def undo_reassignment(ctx: Context, session: Session, request: Request) -> dict:
    note = body(request, NoteBody).note
    done = run_action(lambda: actions.undo_reassignment(session, path_id(request), request.user, note,
                                                         orthanc=_orthanc(ctx)))
    return reassignment_json(done)


def reassignment_json(reassignment: StudyReassignment) -> dict:
    return {"id": reassignment.id, "at": _jsonable(reassignment.at), "actor": reassignment.actor,
            "study_id": reassignment.study_id, "before": reassignment.before, "after": reassignment.after,
            "note": reassignment.note, "orthanc_result": reassignment.orthanc_result,
            "undone_at": _jsonable(reassignment.undone_at), "undone_by": reassignment.undone_by}


def _orthanc(ctx: Context):
    """Orthanc's REST API when the site lets Kerma correct studies there too."""
    return ctx.orthanc if ctx.settings.apply_corrections_to_orthanc else None


def _paged(window: ListQuery, key: str, items: list, view) -> dict:
    limit, offset = window.limit, window.offset
    if window.sort is None:
        return {"total": len(items), "limit": limit, "offset": offset, key: [view(i) for i in items[offset:offset + limit]]}
    views = sorted_items([view(i) for i in items], lambda v: _sort_value(v, window.sort), window.order)
    return {"total": len(items), "limit": limit, "offset": offset, key: views[offset:offset + limit]}


def _sort_value(view: dict, name: str):
    """The item's value to sort by: its own field, or its patient's (patient_id)."""
    value = view.get(name, (view.get("patient") or {}).get(name))
    return None if value is None else str(value)


def _jsonable(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
