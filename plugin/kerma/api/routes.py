"""Routing and handlers of /kerma/api/.  No Orthanc here: the edge passes requests in and answers out."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from .. import __version__
from ..db.models import DoseObject, IrradiationEvent, Study
from ..ingest.store import read_cursor
from . import views

MAX_PAGE = 500


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Context:
    """What handlers may use besides the request: the database and the ingest state."""

    sessions: sessionmaker
    orthanc_last_seq: Callable[[], int | None] = lambda: None
    worker_error: Callable[[], str | None] = lambda: None


def health(ctx: Context, session: Session, query: dict, match: re.Match) -> dict:
    cursor = read_cursor(session)
    last = ctx.orthanc_last_seq()
    by_status = dict(session.execute(select(DoseObject.status, func.count()).group_by(DoseObject.status)).all())
    return {
        "service": "kerma",
        "version": __version__,
        "status": "error" if ctx.worker_error() else "ok",
        "ingest_error": ctx.worker_error(),
        "cursor": cursor,
        "orthanc_last_seq": last,
        "lag": (last - cursor) if last is not None else None,
        "counts": {
            "studies": session.scalar(select(func.count()).select_from(Study)),
            "dose_objects": by_status,
            "irradiation_events": session.scalar(select(func.count()).select_from(IrradiationEvent)),
        },
    }


def list_studies(ctx: Context, session: Session, query: dict, match: re.Match) -> dict:
    limit = _int(query, "limit", 50, 1, MAX_PAGE)
    offset = _int(query, "offset", 0, 0, None)
    stmt = select(Study)
    if "date_from" in query:
        stmt = stmt.where(Study.study_date >= _date(query, "date_from"))
    if "date_to" in query:
        stmt = stmt.where(Study.study_date <= _date(query, "date_to"))
    if query.get("patient_id"):
        stmt = stmt.where(Study.patient_id == query["patient_id"])
    if query.get("accession"):
        stmt = stmt.where(Study.accession_number == query["accession"])
    object_filters = []
    if query.get("modality"):
        object_filters.append(DoseObject.modality == query["modality"].upper())
    if query.get("device"):
        like = f"%{query['device']}%"
        object_filters.append(
            DoseObject.station_name.ilike(like) | DoseObject.model.ilike(like)
            | DoseObject.manufacturer.ilike(like) | (DoseObject.device_observer_uid == query["device"])
        )
    if object_filters:
        matching = select(DoseObject.study_id).where(DoseObject.status == "ok", *object_filters)
        stmt = stmt.where(Study.id.in_(matching))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = session.scalars(
        stmt.options(selectinload(Study.objects).selectinload(DoseObject.events))
        .order_by(Study.study_date.desc(), Study.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return {"total": total, "limit": limit, "offset": offset, "studies": [views.study_summary(s) for s in page]}


def get_study(ctx: Context, session: Session, query: dict, match: re.Match) -> dict:
    study = session.scalars(
        select(Study)
        .where(Study.study_instance_uid == match.group("uid"))
        .options(selectinload(Study.objects).selectinload(DoseObject.events))
    ).first()
    if study is None:
        raise ApiError(404, "no dose record for this Study Instance UID")
    return views.study_detail(study)


def list_ingest_errors(ctx: Context, session: Session, query: dict, match: re.Match) -> dict:
    statuses = query.get("status", "error").split(",")
    if not set(statuses) <= {"error", "ignored"}:
        raise ApiError(400, "status must be error, ignored or both")
    limit = _int(query, "limit", 100, 1, MAX_PAGE)
    offset = _int(query, "offset", 0, 0, None)
    stmt = select(DoseObject).where(DoseObject.status.in_(statuses))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(DoseObject.id.desc()).limit(limit).offset(offset)).all()
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "errors": [
            {"orthanc_id": r.orthanc_id, "sop_instance_uid": r.sop_instance_uid, "sop_class_uid": r.sop_class_uid,
             "status": r.status, "reason": r.reason, "change_seq": r.change_seq, "processed_at": views.iso(r.processed_at)}
            for r in rows
        ],
    }


ROUTES: list[tuple[str, re.Pattern, Callable]] = [
    ("GET", re.compile(r"health"), health),
    ("GET", re.compile(r"studies"), list_studies),
    ("GET", re.compile(r"studies/(?P<uid>[0-9.]+)"), get_study),
    ("GET", re.compile(r"ingest-errors"), list_ingest_errors),
]


def handle(ctx: Context, method: str, path: str, query: dict) -> tuple[int, dict]:
    """Answer a request for ``/kerma/api/<path>``: (HTTP status, JSON body)."""
    path = path.strip("/")
    allowed = []
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if route_method != method:
            allowed.append(route_method)
            continue
        try:
            with ctx.sessions() as session:
                return 200, handler(ctx, session, query, match)
        except ApiError as exc:
            return exc.status, {"error": str(exc)}
    if allowed:
        return 405, {"error": f"method {method} not allowed", "allowed": allowed}
    return 404, {"error": f"no such API route: /kerma/api/{path}"}


def _int(query: dict, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, f"{name} must be between {low} and {high if high is not None else 'any'}")
    return value


def _date(query: dict, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(query[name])
    except ValueError:
        raise ApiError(400, f"{name} must be a date as YYYY-MM-DD") from None
