"""REST: DRL sets (national ones with their sources, local ones and achievable doses edited by the physicist)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import PHYSICIST, VIEWER
from ..db.models import DrlSet, DrlValue, StandardExam
from ..stats.monthly import mark_all_stale
from ..stats.tables import level_of, StatisticsError
from .router import ApiError, Context, Request, route

SET_FIELDS = ("name", "kind", "country_body", "year", "status", "source", "valid_from", "valid_to", "enabled")
VALUE_FIELDS = ("standard_exam_id", "patient_group", "age_min_years", "age_max_years", "weight_min_kg", "weight_max_kg",
                "quantity", "level", "value", "notes", "source", "verification", "enabled")
KINDS = ("national", "local", "achievable")


def set_json(drl_set: DrlSet, with_values: bool = False) -> dict:
    out = {"id": drl_set.id, **{k: getattr(drl_set, k) for k in SET_FIELDS}}
    for k in ("valid_from", "valid_to"):
        out[k] = out[k].isoformat() if out[k] else None
    if with_values:
        out["values"] = [value_json(v) for v in drl_set.values]
    return out


def value_json(value: DrlValue) -> dict:
    return {"id": value.id, "drl_set_id": value.drl_set_id, **{k: getattr(value, k) for k in VALUE_FIELDS}}


@route("GET", r"drl/sets", role=VIEWER)
def list_sets(ctx: Context, session: Session, request: Request):
    return {"sets": [set_json(s) for s in session.scalars(select(DrlSet).order_by(DrlSet.kind, DrlSet.name))]}


@route("GET", r"drl/sets/(?P<id>\d+)", role=VIEWER)
def get_set(ctx: Context, session: Session, request: Request):
    drl_set = session.get(DrlSet, int(request.param("id")))
    if drl_set is None:
        raise ApiError(404, "no such DRL set")
    return set_json(drl_set, with_values=True)


@route("POST", r"drl/sets", role=PHYSICIST)
def create_set(ctx: Context, session: Session, request: Request):
    body = request.body or {}
    if not body.get("name") or body.get("kind") not in ("local", "achievable"):
        raise ApiError(400, "a new set needs a name and kind local or achievable (national sets are loaded as data)")
    fields = {k: body.get(k) for k in SET_FIELDS if k in body}
    for k in ("valid_from", "valid_to"):
        if fields.get(k):
            fields[k] = _date(fields[k], k)
    drl_set = DrlSet(**fields)
    session.add(drl_set)
    session.flush()
    audit.record(session, request.user, "drl_set.create", "drl_set", drl_set.id, after=set_json(drl_set))
    return set_json(drl_set, with_values=True)


@route("POST", r"drl/sets/(?P<id>\d+)/values", role=PHYSICIST)
def add_value(ctx: Context, session: Session, request: Request):
    drl_set = session.get(DrlSet, int(request.param("id")))
    if drl_set is None:
        raise ApiError(404, "no such DRL set")
    value = DrlValue(drl_set=drl_set, **_checked_value(session, request.body or {}))
    session.add(value)
    session.flush()
    audit.record(session, request.user, "drl_value.create", "drl_value", value.id, after=value_json(value))
    mark_all_stale(session)  # the DRL a value falls under may have changed
    return value_json(value)


@route("PUT", r"drl/values/(?P<id>\d+)", role=PHYSICIST)
def update_value(ctx: Context, session: Session, request: Request):
    value = session.get(DrlValue, int(request.param("id")))
    if value is None:
        raise ApiError(404, "no such DRL value")
    before = value_json(value)
    if value.drl_set.kind == "national" and set(request.body or {}) - {"enabled"}:
        raise ApiError(400, "national values keep their published number; only 'enabled' can change")
    for name, new in _checked_value(session, {**before, **(request.body or {})}).items():
        setattr(value, name, new)
    session.flush()
    audit.record(session, request.user, "drl_value.update", "drl_value", value.id, before=before, after=value_json(value))
    mark_all_stale(session)
    return value_json(value)


def _checked_value(session: Session, body: dict) -> dict:
    fields = {k: body.get(k) for k in VALUE_FIELDS if k in body}
    if session.get(StandardExam, fields.get("standard_exam_id") or 0) is None:
        raise ApiError(400, "standard_exam_id names no standard exam")
    try:
        fields["level"] = level_of(fields.get("quantity") or "")
    except StatisticsError as exc:
        raise ApiError(400, str(exc)) from None
    if not isinstance(fields.get("value"), (int, float)) or fields["value"] <= 0:
        raise ApiError(400, "value must be a positive number")
    fields.setdefault("patient_group", "adult")
    if fields["patient_group"] not in ("adult", "paediatric", "any"):
        raise ApiError(400, "patient_group must be adult, paediatric or any")
    fields.setdefault("enabled", True)
    return fields


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name} must be a date as YYYY-MM-DD") from None
