"""REST: DRL sets (national ones with their sources, local ones and achievable doses edited by the physicist)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, quantities
from ..access import PHYSICIST, VIEWER
from ..db.models import AuditEntry, DrlSet, DrlValue, StandardExam
from ..db.states import mark_months_stale
from ..quantities import UnknownQuantity, level_of
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import Body, Day, Id, body, column_text, path_row, text

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
    drl_set = path_row(session, request, DrlSet, "DRL set")
    answer = set_json(drl_set, with_values=True)
    with_names(session, answer["values"])
    reasons = _switch_reasons(session, [v["id"] for v in answer["values"]])
    for value in answer["values"]:
        value["switched"] = reasons.get(value["id"])
    return answer


def _switch_reasons(session: Session, ids: list[int]) -> dict[int, dict]:
    """Per value, its last enabling or disabling: who, when and why (from the audit trail)."""
    if not ids:
        return {}
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == SWITCH, AuditEntry.target_type == "drl_value",
                                                       AuditEntry.target_id.in_([str(i) for i in ids]))
                              .order_by(AuditEntry.id))
    return {int(e.target_id): {"enabled": (e.after or {}).get("enabled"), "reason": e.note, "by": e.actor,
                               "at": e.at.isoformat() if e.at else None} for e in entries}


class SetBody(Body):
    name: column_text(DrlSet.name, nonempty=True)
    kind: Literal["local", "achievable"]  # national sets are loaded as data
    country_body: column_text(DrlSet.country_body) | None = None
    year: Annotated[int, Field(ge=1900, le=2999)] | None = None
    status: column_text(DrlSet.status) | None = None
    source: text() | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None
    enabled: bool = True


@route("POST", r"drl/sets", role=PHYSICIST)
def create_set(ctx: Context, session: Session, request: Request):
    drl_set = DrlSet(**body(request, SetBody).model_dump())
    session.add(drl_set)
    try:
        session.flush()
    except IntegrityError:  # the request's transaction is rolled back as a whole
        raise ApiError(409, f"a DRL set named {drl_set.name!r} exists") from None
    audit.record(session, request.user, "drl_set.create", "drl_set", drl_set.id, after=set_json(drl_set))
    return set_json(drl_set, with_values=True)


Age = Annotated[float, Field(ge=0, le=150)]
Weight = Annotated[float, Field(ge=0, le=1000)]


class ValueBody(Body):
    standard_exam_id: Id
    quantity: column_text(DrlValue.quantity)
    value: Annotated[float, Field(gt=0, le=1e15)]
    patient_group: Literal["adult", "paediatric", "any"] = "adult"
    age_min_years: Age | None = None
    age_max_years: Age | None = None
    weight_min_kg: Weight | None = None
    weight_max_kg: Weight | None = None
    notes: text() | None = None
    source: text() | None = None
    verification: column_text(DrlValue.verification) | None = None
    enabled: bool = True


@route("POST", r"drl/sets/(?P<id>\d+)/values", role=PHYSICIST)
def add_value(ctx: Context, session: Session, request: Request):
    drl_set = path_row(session, request, DrlSet, "DRL set")
    value = DrlValue(drl_set=drl_set, **_checked_value(session, body(request, ValueBody)))
    session.add(value)
    session.flush()
    audit.record(session, request.user, "drl_value.create", "drl_value", value.id, after=value_json(value))
    mark_months_stale(session)  # the DRL a value falls under may have changed
    return value_json(value)


class UpdateBody(ValueBody):
    reason: text(1000) | None = None  # why a value is enabled or disabled: required for that change


SWITCH = "drl_value.switch"  # the audit action of an enabling or disabling, with its reason as the note


@route("PUT", r"drl/values/(?P<id>\d+)", role=PHYSICIST)
def update_value(ctx: Context, session: Session, request: Request):
    value = path_row(session, request, DrlValue, "DRL value")
    before = value_json(value)
    if value.drl_set.kind == "national" and isinstance(request.body, dict) and set(request.body) - {"enabled", "reason"}:
        raise ApiError(400, "national values keep their published number; only 'enabled' can change")
    current = {k: before[k] for k in ValueBody.model_fields}
    update = body(request, UpdateBody, current)
    reason = (update.reason or "").strip() or None
    switched = update.enabled != before["enabled"]
    if switched and reason is None:
        raise ApiError(400, f"reason: say why the value is {'enabled' if update.enabled else 'disabled'}")
    for name, new in _checked_value(session, ValueBody(**update.model_dump(exclude={"reason"}))).items():
        setattr(value, name, new)
    session.flush()
    audit.record(session, request.user, SWITCH if switched else "drl_value.update", "drl_value", value.id, before=before,
                 after=value_json(value), note=reason)
    mark_months_stale(session)
    return value_json(value)


def _checked_value(session: Session, value: ValueBody) -> dict:
    if session.get(StandardExam, value.standard_exam_id) is None:
        raise ApiError(400, "standard_exam_id names no standard exam")
    try:
        level = level_of(value.quantity)
    except UnknownQuantity as exc:
        raise ApiError(400, f"quantity: {exc}") from None
    if not quantities.get(value.quantity).is_radiation:
        raise ApiError(400, f"quantity: {value.quantity} is no radiation dose (contrast media): no DRL compares it")
    for low, high in (("age_min_years", "age_max_years"), ("weight_min_kg", "weight_max_kg")):
        if None not in (getattr(value, low), getattr(value, high)) and getattr(value, low) > getattr(value, high):
            raise ApiError(400, f"{low}: must not be above {high}")
    return {**value.model_dump(), "level": level}
