"""REST: the standard exam catalogue, mapping rules (versioned, audited) and the mapping assistant."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import audit
from ..access import PHYSICIST, VIEWER
from ..classify import assistant
from ..classify.apply import clear_rule, context_fields, event_context, remap_history, study_context, to_rule
from ..classify.catalogue import add_site_exam, exam_json
from ..classify.rules import LEVELS, RuleError, conditions_of, matches
from ..db.models import Device, DoseObject, MappingRule, StandardExam, Study
from ..pipeline import reevaluate
from ..reconcile.lists import matched_orders
from ..rule_rows import refusal
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import MAX_ID, Body, Flag, Id, Json, Page, Query, body, column_text, path_row, query, text

RULE_FIELDS = ("name", "level", "priority", "modality", "device_id", "conditions", "standard_exam_id", "enabled")


class ExamQuery(Page):
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    modality: column_text(StandardExam.modality) | None = None
    scheme: column_text(StandardExam.scheme) | None = None
    q: text(256) | None = None


@route("GET", r"exams", role=VIEWER)
def list_exams(ctx: Context, session: Session, request: Request):
    q = query(request, ExamQuery)
    stmt = select(StandardExam)
    if q.modality:
        stmt = stmt.where(StandardExam.modality == q.modality.upper())
    if q.scheme:
        stmt = stmt.where(StandardExam.scheme == q.scheme)
    if q.q:
        stmt = stmt.where(StandardExam.name.ilike(f"%{q.q}%"))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    exams = session.scalars(stmt.order_by(StandardExam.scheme, StandardExam.name).limit(q.limit).offset(q.offset))
    return {"total": total, "exams": [exam_json(e) for e in exams]}


class ExamBody(Body):
    code: column_text(StandardExam.code, nonempty=True)
    name: column_text(StandardExam.name, nonempty=True)
    modality: column_text(StandardExam.modality) | None = None
    body_region: column_text(StandardExam.body_region) | None = None
    patient_group: column_text(StandardExam.patient_group) | None = None
    loinc: column_text(StandardExam.loinc) | None = None


@route("POST", r"exams", role=PHYSICIST)
def create_exam(ctx: Context, session: Session, request: Request):
    new = body(request, ExamBody)
    if session.scalars(select(StandardExam).where(StandardExam.scheme == "site", StandardExam.code == new.code)).first():
        raise ApiError(409, f"site exam {new.code} exists")
    exam = add_site_exam(session, **new.model_dump())
    audit.record(session, request.user, "standard_exam.create", "standard_exam", exam.id, after=exam_json(exam))
    return exam_json(exam)


def mapping_rule_json(rule: MappingRule) -> dict:
    """The rule, and ``invalid``: why it cannot be evaluated (left out of classification), when it cannot."""
    return {"id": rule.id, **{name: getattr(rule, name) for name in RULE_FIELDS}, "version": rule.version,
            "updated_by": rule.updated_by, "updated_at": rule.updated_at.isoformat() if rule.updated_at else None,
            "invalid": refusal(rule, to_rule, RuleError)}


class RuleBody(Body):
    name: column_text(MappingRule.name) | None = None
    level: Literal[LEVELS]
    priority: Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)] = 100
    modality: column_text(MappingRule.modality) | None = None
    device_id: Id | None = None
    conditions: Json  # checked in full by kerma.classify.rules
    standard_exam_id: Id
    enabled: bool = True


def _checked(session: Session, request: Request, current: dict | None = None) -> dict:
    fields = body(request, RuleBody, current).model_dump()
    try:
        fields["conditions"] = [c.as_json() for c in conditions_of(fields["conditions"])]
    except RuleError as exc:
        raise ApiError(400, str(exc)) from None
    known = context_fields(fields["level"])
    for i, condition in enumerate(fields["conditions"]):
        if condition["field"] not in known:
            raise ApiError(400, f"conditions[{i}].field: {condition['field'][:64]!r} is no field of "
                                f"{'a study' if fields['level'] == 'exam' else 'an exposure'} (GET mapping/fields lists them)")
    if session.get(StandardExam, fields["standard_exam_id"]) is None:
        raise ApiError(400, "standard_exam_id names no standard exam")
    if fields["device_id"] is not None and session.get(Device, fields["device_id"]) is None:
        raise ApiError(400, "device_id names no device")
    return fields


def _remapped(session: Session) -> dict:
    """The history mapped again after a rule changed, and the alert rules run again over the studies whose standard
    exam changed (a DRL alert follows its exam): counts of each."""
    changed: list[int] = []
    count = remap_history(session, changed=changed)
    return {"remapped_studies": count, "changed_studies": len(changed), "new_alerts": reevaluate(session, changed)}


@route("GET", r"mapping/fields", role=VIEWER)
def rule_fields(ctx: Context, session: Session, request: Request):
    """The field names a rule of each level can test."""
    return {level: list(context_fields(level)) for level in LEVELS}


@route("GET", r"mapping/rules", role=VIEWER)
def list_rules(ctx: Context, session: Session, request: Request):
    rules = session.scalars(select(MappingRule).order_by(MappingRule.level, MappingRule.priority, MappingRule.id))
    return {"rules": with_names(session, [mapping_rule_json(r) for r in rules])}


@route("POST", r"mapping/rules", role=PHYSICIST)
def create_rule(ctx: Context, session: Session, request: Request):
    rule = MappingRule(**_checked(session, request), version=1, updated_by=request.user)
    session.add(rule)
    session.flush()
    audit.record(session, request.user, "mapping_rule.create", "mapping_rule", rule.id, after=mapping_rule_json(rule))
    return {"rule": mapping_rule_json(rule), **_remapped(session)}


@route("PUT", r"mapping/rules/(?P<id>\d+)", role=PHYSICIST)
def update_rule(ctx: Context, session: Session, request: Request):
    rule = path_row(session, request, MappingRule, "rule")
    before = mapping_rule_json(rule)
    for name, value in _checked(session, request, {k: before[k] for k in RULE_FIELDS}).items():
        setattr(rule, name, value)
    rule.version += 1
    rule.updated_by = request.user
    session.flush()
    audit.record(session, request.user, "mapping_rule.update", "mapping_rule", rule.id, before=before, after=mapping_rule_json(rule))
    return {"rule": mapping_rule_json(rule), **_remapped(session)}


@route("DELETE", r"mapping/rules/(?P<id>\d+)", role=PHYSICIST)
def delete_rule(ctx: Context, session: Session, request: Request):
    rule = path_row(session, request, MappingRule, "rule")
    before = mapping_rule_json(rule)
    clear_rule(session, rule.id)
    session.delete(rule)
    session.flush()
    audit.record(session, request.user, "mapping_rule.delete", "mapping_rule", before["id"], before=before)
    return {"deleted": before["id"], **_remapped(session)}


@route("POST", r"mapping/preview", role=PHYSICIST)
def preview_rule(ctx: Context, session: Session, request: Request):
    """What a rule would match, without saving it: counts and examples."""
    fields = _checked(session, request)
    rule = to_rule(MappingRule(id=0, **{k: fields.get(k) for k in ("level", "priority", "modality", "device_id", "conditions",
                                                                  "standard_exam_id")}))
    studies = session.scalars(select(Study).options(selectinload(Study.objects).selectinload(DoseObject.events))).all()
    matched, examples = 0, []
    orders = matched_orders(session, studies)
    for study in studies:
        context = study_context(study, orders.get(study.id))
        if rule.level == "exam":
            hit = matches(rule, context)
        else:
            fields_of_study = {k: context[k] for k in context if k not in ("modality", "device_id")}
            hit = any(matches(rule, event_context(fields_of_study, o, e)) for o in study.objects for e in o.events if e.counted)
        if hit:
            matched += 1
            if len(examples) < 10:
                examples.append({"study_instance_uid": study.study_instance_uid, "study_description": study.study_description,
                                 "current_standard_exam_id": study.standard_exam_id})
    return {"matching_studies": matched, "examples": examples}


@route("POST", r"mapping/remap", role=PHYSICIST)
def remap(ctx: Context, session: Session, request: Request):
    done = _remapped(session)
    audit.record(session, request.user, "mapping.remap", "mapping", None,
                 note=f"{done['remapped_studies']} studies, {done['changed_studies']} changed, {done['new_alerts']} new alerts")
    return done


class UnmappedQuery(Query):
    level: Literal[LEVELS] = "exam"
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    suggest: Flag = False


@route("GET", r"mapping/unmapped", role=VIEWER)
def list_unmapped(ctx: Context, session: Session, request: Request):
    q = query(request, UnmappedQuery)
    level = q.level
    items = assistant.unmapped(session, level, q.limit)
    if q.suggest:
        for item in items:
            text = " ".join(str(item.get(k) or "") for k in ("study_description", "procedure_reported", "protocol",
                                                              "target_region", "body_part"))
            item["suggestions"] = assistant.suggestions(session, text, item.get("modality"))
    with_names(session, [device for item in items for device in item["devices"]])
    return {"level": level, "unmapped": items}


SearchText = text(1000)


class SuggestionQuery(Query):
    text: SearchText
    modality: column_text(StandardExam.modality) | None = None


@route("GET", r"mapping/suggestions", role=VIEWER)
def suggest(ctx: Context, session: Session, request: Request):
    q = query(request, SuggestionQuery)
    return {"suggestions": assistant.suggestions(session, q.text, q.modality)}


@route("GET", r"mapping/duplicates", role=VIEWER)
def duplicates(ctx: Context, session: Session, request: Request):
    return {"duplicates": with_names(session, assistant.duplicate_protocols(session))}
