"""/kerma/api/screens...: dose screens read by OCR, their state, and the confirmation of values needing review."""

from __future__ import annotations

from typing import Union

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import RADIOGRAPHER, VIEWER
from ..db.models import DoseObject
from ..ingest.screen_review import ReviewError, open_items, resolve
from ..ingest.screens import STATES
from .his import page
from .router import ApiError, Context, Request, route
from .schemas import Body, Number, Order, Page, body, choices, path_id, query, sort_field, text
from .views import dose_object

SCREEN_SORTS = {"processed_at": DoseObject.processed_at, "ocr_state": DoseObject.ocr_state, "id": DoseObject.id}


class ScreenQuery(Page):
    state: choices(STATES) | None = None
    sort: sort_field(SCREEN_SORTS) = "processed_at"
    order: Order = "desc"


@route("GET", r"screens", role=VIEWER)
def list_screens(ctx: Context, session: Session, request: Request) -> dict:
    """Dose screens in the ledger with their OCR state (``state=needs_review``: the values waiting for a person)."""
    q = query(request, ScreenQuery)
    stmt = select(DoseObject).where(DoseObject.ocr_state.is_not(None))
    if q.state:
        stmt = stmt.where(DoseObject.ocr_state.in_(q.state))
    return page(session, stmt, q, "screens", screen_json, SCREEN_SORTS, DoseObject.id)


@route("GET", r"screens/(?P<id>\d+)", role=VIEWER, personal=True)
def get_screen(ctx: Context, session: Session, request: Request) -> dict:
    """One screen, with the text read from it (consoles print the patient's name: a read of patient data)."""
    obj = _screen(session, request)
    return {**screen_json(obj), "lines": (obj.ocr or {}).get("lines") or [],
            "events": dose_object(obj, with_events=True)["events"]}


class ReviewBody(Body):
    value: Union[Number, text(256)]  # the value read (confirmed) or the right one (corrected), in the field's unit
    note: text() | None = None


@route("POST", r"screens/(?P<id>\d+)/review/(?P<item>\d+)", role=RADIOGRAPHER)
def review_value(ctx: Context, session: Session, request: Request) -> dict:
    """Confirm or correct one value needing review: it then counts in statistics and alerts (audited)."""
    given = body(request, ReviewBody)
    obj = _screen(session, request)
    try:
        item = resolve(session, obj, path_id(request, "item"), given.value, request.user, given.note)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from None
    except ReviewError as exc:
        raise ApiError(409 if "already" in str(exc) else 400, str(exc)) from None
    return {"item": item, "screen": screen_json(obj)}


def _screen(session: Session, request: Request) -> DoseObject:
    obj = session.get(DoseObject, path_id(request))
    if obj is None or obj.ocr_state is None:
        raise ApiError(404, "no dose screen with this id")
    return obj


def screen_json(obj: DoseObject) -> dict:
    ocr = obj.ocr or {}
    return {"id": obj.id, "orthanc_id": obj.orthanc_id, "sop_instance_uid": obj.sop_instance_uid,
            "study_instance_uid": obj.study.study_instance_uid if obj.study is not None else None,
            "state": obj.ocr_state, "status": obj.status, "reason": obj.reason, "source": obj.source,
            "engine": ocr.get("engine"), "font": ocr.get("font"), "vendor": ocr.get("vendor"), "layout": ocr.get("layout"),
            "totals": obj.totals, "review": ocr.get("review") or [], "open_review": len(open_items(obj)),
            "processed_at": obj.processed_at.isoformat() if obj.processed_at else None}
