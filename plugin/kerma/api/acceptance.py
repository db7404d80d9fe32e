"""REST: the acceptance kit (issue 16 §3): each device's acceptance report, as JSON and as a PDF."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..access import VIEWER
from ..acceptance.report import device_report
from ..reconcile.lists import Window
from ..reports.acceptance import render_pdf, title_of
from ..stats.tables import device_inventory
from .names import device_names
from .router import Answer, ApiError, Context, Request, route
from .schemas import Day, Query, path_id, query


class WindowQuery(Query):
    date_from: Day | None = None
    date_to: Day | None = None


@route("GET", r"acceptance/devices", role=VIEWER)
def list_devices(ctx: Context, session: Session, request: Request):
    """Every device of the inventory, named, with its studies: the acceptance reports there are."""
    devices = device_inventory(session)
    names = device_names(session, [d["device_id"] for d in devices])
    return {"devices": [{**d, "device_name": names.get(d["device_id"])} for d in devices]}


def _report(session: Session, request: Request) -> dict:
    q = query(request, WindowQuery)
    report = device_report(session, path_id(request), Window(q.date_from, q.date_to))
    if report is None:
        raise ApiError(404, "no such device")
    return report


@route("GET", r"acceptance/devices/(?P<id>\d+)", role=VIEWER, personal=True)
def get_report(ctx: Context, session: Session, request: Request):
    report = _report(session, request)
    report["device"]["device_name"] = device_names(session, [report["device"]["device_id"]]).get(report["device"]["device_id"])
    return report


@route("GET", r"acceptance/devices/(?P<id>\d+)/pdf", role=VIEWER, personal=True)
def get_pdf(ctx: Context, session: Session, request: Request):
    report = _report(session, request)
    try:
        pdf = render_pdf(report)
    except RuntimeError as exc:
        raise ApiError(503, str(exc)) from None
    return Answer(pdf, "application/pdf", f"acceptance-device-{report['device']['device_id']}.pdf")
