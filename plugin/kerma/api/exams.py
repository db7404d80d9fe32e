"""REST: the standard exam catalogue, mapping rules (versioned, audited) and the mapping assistant."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import audit
from ..access import PHYSICIST, VIEWER
from ..classify import assistant
from ..classify.apply import clear_rule, event_context, remap_history, study_context, to_rule
from ..classify.catalogue import add_site_exam, exam_json
from ..classify.rules import LEVELS, RuleError, matches, validate
from ..db.models import Device, DoseObject, MappingRule, StandardExam, Study
from .router import ApiError, Context, Request, int_param, route

RULE_FIELDS = ("name", "level", "priority", "modality", "device_id", "conditions", "standard_exam_id", "enabled")


@route("GET", r"exams", role=VIEWER)
def list_exams(ctx: Context, session: Session, request: Request):
    q = request.query
    stmt = select(StandardExam)
    if q.get("modality"):
        stmt = stmt.where(StandardExam.modality == q["modality"].upper())
    if q.get("scheme"):
        stmt = stmt.where(StandardExam.scheme == q["scheme"])
    if q.get("q"):
        stmt = stmt.where(StandardExam.name.ilike(f"%{q['q']}%"))
    limit = int_param(q, "limit", 100, 1, 1000)
    offset = int_param(q, "offset", 0, 0, None)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    exams = session.scalars(stmt.order_by(StandardExam.scheme, StandardExam.name).limit(limit).offset(offset))
    return {"total": total, "exams": [exam_json(e) for e in exams]}


@route("POST", r"exams", role=PHYSICIST)
def create_exam(ctx: Context, session: Session, request: Request):
    body = request.body or {}
    if not body.get("code") or not body.get("name"):
        raise ApiError(400, "a site exam needs a code and a name")
    if session.scalars(select(StandardExam).where(StandardExam.scheme == "site", StandardExam.code == body["code"])).first():
        raise ApiError(409, f"site exam {body['code']} exists")
    exam = add_site_exam(session, body["code"], body["name"], body.get("modality"), body.get("body_region"),
                         body.get("patient_group"), body.get("loinc"))
    audit.record(session, request.user, "standard_exam.create", "standard_exam", exam.id, after=exam_json(exam))
    return exam_json(exam)


def rule_json(rule: MappingRule) -> dict:
    return {"id": rule.id, **{name: getattr(rule, name) for name in RULE_FIELDS}, "version": rule.version,
            "updated_by": rule.updated_by, "updated_at": rule.updated_at.isoformat() if rule.updated_at else None}


def _checked(session: Session, body: dict, current: dict | None = None) -> dict:
    fields = {**(current or {}), **{k: body[k] for k in RULE_FIELDS if k in body}}
    if fields.get("level") not in LEVELS:
        raise ApiError(400, f"level must be one of {', '.join(LEVELS)}")
    try:
        validate(fields.get("conditions"))
    except RuleError as exc:
        raise ApiError(400, str(exc)) from None
    if session.get(StandardExam, fields.get("standard_exam_id") or 0) is None:
        raise ApiError(400, "standard_exam_id names no standard exam")
    if fields.get("device_id") is not None and session.get(Device, fields["device_id"]) is None:
        raise ApiError(400, "device_id names no device")
    fields.setdefault("priority", 100)
    fields.setdefault("enabled", True)
    return fields


@route("GET", r"mapping/rules", role=VIEWER)
def list_rules(ctx: Context, session: Session, request: Request):
    rules = session.scalars(select(MappingRule).order_by(MappingRule.level, MappingRule.priority, MappingRule.id))
    return {"rules": [rule_json(r) for r in rules]}


@route("POST", r"mapping/rules", role=PHYSICIST)
def create_rule(ctx: Context, session: Session, request: Request):
    rule = MappingRule(**_checked(session, request.body or {}), version=1, updated_by=request.user)
    session.add(rule)
    session.flush()
    audit.record(session, request.user, "mapping_rule.create", "mapping_rule", rule.id, after=rule_json(rule))
    return {"rule": rule_json(rule), "remapped_studies": remap_history(session)}


def _rule(session: Session, request: Request) -> MappingRule:
    rule = session.get(MappingRule, int(request.param("id")))
    if rule is None:
        raise ApiError(404, "no such rule")
    return rule


@route("PUT", r"mapping/rules/(?P<id>\d+)", role=PHYSICIST)
def update_rule(ctx: Context, session: Session, request: Request):
    rule = _rule(session, request)
    before = rule_json(rule)
    for name, value in _checked(session, request.body or {}, {k: before[k] for k in RULE_FIELDS}).items():
        setattr(rule, name, value)
    rule.version += 1
    rule.updated_by = request.user
    session.flush()
    audit.record(session, request.user, "mapping_rule.update", "mapping_rule", rule.id, before=before, after=rule_json(rule))
    return {"rule": rule_json(rule), "remapped_studies": remap_history(session)}


@route("DELETE", r"mapping/rules/(?P<id>\d+)", role=PHYSICIST)
def delete_rule(ctx: Context, session: Session, request: Request):
    rule = _rule(session, request)
    before = rule_json(rule)
    clear_rule(session, rule.id)
    session.delete(rule)
    session.flush()
    audit.record(session, request.user, "mapping_rule.delete", "mapping_rule", before["id"], before=before)
    return {"deleted": before["id"], "remapped_studies": remap_history(session)}


@route("POST", r"mapping/preview", role=PHYSICIST)
def preview_rule(ctx: Context, session: Session, request: Request):
    """What a rule would match, without saving it: counts and examples."""
    fields = _checked(session, request.body or {})
    rule = to_rule(MappingRule(id=0, **{k: fields.get(k) for k in ("level", "priority", "modality", "device_id", "conditions",
                                                                  "standard_exam_id")}))
    studies = session.scalars(select(Study).options(selectinload(Study.objects).selectinload(DoseObject.events))).all()
    matched, examples = 0, []
    for study in studies:
        context = study_context(study)
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
    count = remap_history(session)
    audit.record(session, request.user, "mapping.remap", "mapping", None, note=f"{count} studies")
    return {"remapped_studies": count}


@route("GET", r"mapping/unmapped", role=VIEWER)
def list_unmapped(ctx: Context, session: Session, request: Request):
    level = request.query.get("level", "exam")
    if level not in LEVELS:
        raise ApiError(400, f"level must be one of {', '.join(LEVELS)}")
    items = assistant.unmapped(session, level, int_param(request.query, "limit", 100, 1, 1000))
    if request.query.get("suggest") in ("1", "true", "yes"):
        for item in items:
            text = " ".join(str(item.get(k) or "") for k in ("study_description", "procedure_reported", "protocol",
                                                              "target_region", "body_part"))
            item["suggestions"] = assistant.suggestions(session, text, item.get("modality"))
    return {"level": level, "unmapped": items}


@route("GET", r"mapping/suggestions", role=VIEWER)
def suggest(ctx: Context, session: Session, request: Request):
    if not request.query.get("text"):
        raise ApiError(400, "text is required")
    return {"suggestions": assistant.suggestions(session, request.query["text"], request.query.get("modality"))}


@route("GET", r"mapping/duplicates", role=VIEWER)
def duplicates(ctx: Context, session: Session, request: Request):
    return {"duplicates": assistant.duplicate_protocols(session)}
