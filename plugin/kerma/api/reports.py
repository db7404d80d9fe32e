"""REST: reports on demand and their schedules; a report is made in a separate process and kept as PDF and HTML."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from .. import audit
from ..access import PHYSICIST, VIEWER
from ..db.models import DoseObject, ReportRun, ReportSchedule
from ..evaluate.rules import NOTIFY_ROLES
from ..reports.periods import PERIODS
from .his import page
from .router import Answer, ApiError, Context, Request, route
from .schemas import Body, Day, Id, Order, Page, body, column_text, path_row, query, sort_field
from .views import iso

SCHEDULE_FIELDS = ("name", "period", "roles", "filters", "enabled")


def run_json(run: ReportRun) -> dict:
    return {"id": run.id, "schedule_id": run.schedule_id, "period": run.period, "period_start": iso(run.period_start),
            "period_end": iso(run.period_end), "filters": run.filters, "roles": run.roles, "status": run.status,
            "requested_by": run.requested_by, "created_at": iso(run.created_at), "finished_at": iso(run.finished_at),
            "error": run.error, "summary": run.summary}


def schedule_json(schedule: ReportSchedule) -> dict:
    return {"id": schedule.id, **{k: getattr(schedule, k) for k in SCHEDULE_FIELDS}, "updated_by": schedule.updated_by}


class ReportFilters(Body):
    modality: column_text(DoseObject.modality) | None = None
    device_id: Id | None = None


Roles = list[Literal[NOTIFY_ROLES]]


REPORT_SORTS = {"created_at": ReportRun.created_at, "period_start": ReportRun.period_start, "status": ReportRun.status,
                "period": ReportRun.period, "requested_by": ReportRun.requested_by}


class ReportQuery(Page):
    sort: sort_field(REPORT_SORTS) = "created_at"
    order: Order = "desc"


@route("GET", r"reports", role=VIEWER)
def list_reports(ctx: Context, session: Session, request: Request):
    stmt = select(ReportRun).options(defer(ReportRun.pdf), defer(ReportRun.html))
    return page(session, stmt, query(request, ReportQuery), "reports", run_json, REPORT_SORTS, ReportRun.id)


class ReportBody(Body):
    date_from: Day
    date_to: Day
    period: column_text(ReportRun.period, nonempty=True) = "custom"
    roles: Roles = []
    filters: ReportFilters | None = None


@route("POST", r"reports", role=PHYSICIST)
def request_report(ctx: Context, session: Session, request: Request):
    """A report for ``date_from``–``date_to``; the background jobs make it within seconds (poll ``reports/{id}``)."""
    wanted = body(request, ReportBody)
    if wanted.date_to < wanted.date_from:
        raise ApiError(400, "date_to: before date_from")
    run = ReportRun(period=wanted.period, period_start=wanted.date_from, period_end=wanted.date_to,
                    filters=_filters(wanted.filters), roles=wanted.roles, status="pending", requested_by=request.user)
    session.add(run)
    session.flush()
    audit.record(session, request.user, "report.request", "report_run", run.id, after=run_json(run))
    return run_json(run)


@route("GET", r"reports/(?P<id>\d+)", role=VIEWER)
def get_report(ctx: Context, session: Session, request: Request):
    return run_json(path_row(session, request, ReportRun, "report"))


@route("GET", r"reports/(?P<id>\d+)/(?P<format>pdf|html)", role=VIEWER, personal=True)
def report_file(ctx: Context, session: Session, request: Request):
    run = path_row(session, request, ReportRun, "report")
    if run.status != "done":
        raise ApiError(409, f"the report is {run.status}")
    name = f"kerma-report-{run.period_start.isoformat()}-{run.period_end.isoformat()}"
    if request.param("format") == "pdf":
        return Answer(run.pdf, "application/pdf", f"{name}.pdf")
    return Answer(run.html, "text/html; charset=utf-8")


@route("GET", r"reports/schedules", role=VIEWER)
def list_schedules(ctx: Context, session: Session, request: Request):
    return {"schedules": [schedule_json(s) for s in session.scalars(select(ReportSchedule).order_by(ReportSchedule.id))]}


class ScheduleBody(Body):
    name: column_text(ReportSchedule.name, nonempty=True)
    period: Literal[PERIODS]
    roles: Roles = []
    filters: ReportFilters | None = None
    enabled: bool = True


def _checked(request: Request, current: dict | None = None) -> dict:
    schedule = body(request, ScheduleBody, current)
    return {**schedule.model_dump(), "filters": _filters(schedule.filters)}


def _filters(filters: ReportFilters | None) -> dict | None:
    """The filters as stored: only those given, None for none."""
    return filters.model_dump(exclude_none=True) or None if filters else None


@route("POST", r"reports/schedules", role=PHYSICIST)
def create_schedule(ctx: Context, session: Session, request: Request):
    schedule = ReportSchedule(**_checked(request), updated_by=request.user)
    session.add(schedule)
    session.flush()
    audit.record(session, request.user, "report_schedule.create", "report_schedule", schedule.id, after=schedule_json(schedule))
    return schedule_json(schedule)


@route("PUT", r"reports/schedules/(?P<id>\d+)", role=PHYSICIST)
def update_schedule(ctx: Context, session: Session, request: Request):
    schedule = path_row(session, request, ReportSchedule, "schedule")
    before = schedule_json(schedule)
    for name, value in _checked(request, {k: before[k] for k in SCHEDULE_FIELDS}).items():
        setattr(schedule, name, value)
    schedule.updated_by = request.user
    session.flush()
    audit.record(session, request.user, "report_schedule.update", "report_schedule", schedule.id, before=before,
                 after=schedule_json(schedule))
    return schedule_json(schedule)
