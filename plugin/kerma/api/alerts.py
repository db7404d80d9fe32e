"""REST: alerts and their review, the daily digest, alert rules (versioned, audited) and the shipped criteria."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import audit, clock
from ..access import PHYSICIST, RADIOGRAPHER, RADIOLOGIST, VIEWER
from ..db.models import Alert, AlertRule, Device, DoseObject, StandardExam, Study
from ..evaluate.evaluator import evaluate_studies
from ..evaluate.review import ACTIONS, STATUSES, ReviewError, act, assign, comment_on
from ..evaluate.rules import AlertRuleError, check, rule_json
from ..evaluate.shipped import reference_criteria
from ..notify.digest import daily_digest
from ..notify.messages import study_link
from .his import page
from .router import ApiError, Context, Request, date_param, int_param, role_needed, route
from .views import iso

RULE_FIELDS = ("name", "kind", "enabled", "severity", "modality", "device_id", "standard_exam_id", "patient_group",
               "quantity", "level", "parameters", "notify_roles", "source", "verification", "notes")
EVALUATE_BATCH = 200


def alert_json(alert: Alert, base_url: str) -> dict:
    return {"id": alert.id, "created_at": iso(alert.created_at), "updated_at": iso(alert.updated_at),
            "status": alert.status, "severity": alert.severity, "kind": alert.kind,
            "rule": alert.rule.get("name"), "rule_id": alert.rule_id, "rule_version": alert.rule_version,
            "study_instance_uid": alert.study_instance_uid, "study_date": iso(alert.study_date),
            "device_id": alert.device_id, "standard_exam_id": alert.standard_exam_id, "subject": alert.subject,
            "quantity": alert.quantity, "value": alert.value, "threshold": alert.threshold, "unit": alert.unit,
            "reference": alert.reference, "reason": alert.reason, "message": alert.reason, "actions": alert.actions,
            "assignee": alert.assignee, "reportable": alert.reportable, "closed_at": iso(alert.closed_at),
            "link": study_link(base_url, alert.study_instance_uid)}


def _alert(session: Session, request: Request) -> Alert:
    alert = session.get(Alert, int(request.param("id")))
    if alert is None:
        raise ApiError(404, "no such alert")
    return alert


@route("GET", r"alerts", role=VIEWER)
def list_alerts(ctx: Context, session: Session, request: Request):
    q = request.query
    stmt = select(Alert)
    for name in ("status", "severity", "kind"):
        if q.get(name):
            stmt = stmt.where(getattr(Alert, name).in_(q[name].split(",")))
    if q.get("study"):
        stmt = stmt.where(Alert.study_instance_uid == q["study"])
    if q.get("assignee"):
        stmt = stmt.where(Alert.assignee == q["assignee"])
    if q.get("device_id"):
        stmt = stmt.where(Alert.device_id == int_param(q, "device_id", 0, 1, None))
    if date_param(q, "date_from"):
        stmt = stmt.where(Alert.study_date >= date_param(q, "date_from"))
    if date_param(q, "date_to"):
        stmt = stmt.where(Alert.study_date <= date_param(q, "date_to"))
    return page(session, stmt.order_by(Alert.id.desc()), q, "alerts", lambda a: alert_json(a, ctx.settings.base_url))


@route("GET", r"alerts/(?P<id>\d+)", role=VIEWER)
def get_alert(ctx: Context, session: Session, request: Request):
    alert = _alert(session, request)
    trail = session.scalars(audit.query(target_type="alert", target_id=str(alert.id))).all()
    return {**alert_json(alert, ctx.settings.base_url), "rule_as_fired": alert.rule,
            "comments": [{"id": c.id, "at": iso(c.at), "author": c.author, "text": c.text} for c in alert.comments],
            "audit": [audit.as_json(e) for e in reversed(trail)]}


@route("POST", r"alerts/(?P<id>\d+)/(?P<action>acknowledge|investigate)", role=RADIOGRAPHER)
@route("POST", r"alerts/(?P<id>\d+)/(?P<action>justify|close|reopen)", role=RADIOLOGIST)  # a clinical judgement
def review_alert(ctx: Context, session: Session, request: Request):
    body = request.body or {}
    reportable = body.get("reportable")
    if reportable is not None and not isinstance(reportable, bool):
        raise ApiError(400, "reportable must be true or false")
    try:
        alert = act(session, _alert(session, request), request.param("action"), request.user,
                    comment=body.get("comment"), assignee=body.get("assignee"), reportable=reportable)
    except ReviewError as exc:
        raise ApiError(409, str(exc)) from None
    return alert_json(alert, ctx.settings.base_url)


@route("PUT", r"alerts/(?P<id>\d+)", role=RADIOGRAPHER)
def assign_alert(ctx: Context, session: Session, request: Request):
    body = request.body or {}
    if "assignee" not in body:
        raise ApiError(400, "only the assignee is set this way; review steps are POST alerts/{id}/<action>")
    return alert_json(assign(session, _alert(session, request), body["assignee"], request.user), ctx.settings.base_url)


@route("POST", r"alerts/(?P<id>\d+)/comments", role=RADIOGRAPHER)
def add_comment(ctx: Context, session: Session, request: Request):
    try:
        entry = comment_on(session, _alert(session, request), (request.body or {}).get("text"), request.user)
    except ReviewError as exc:
        raise ApiError(400, str(exc)) from None
    return {"id": entry.id, "at": iso(entry.at), "author": entry.author, "text": entry.text}


@route("GET", r"alerts/digest", role=VIEWER)
def digest(ctx: Context, session: Session, request: Request):
    """What needs attention today (or on ``date``)."""
    return daily_digest(session, date_param(request.query, "date") or clock.today())


@route("GET", r"alerts/workflow", role=VIEWER)
def workflow(ctx: Context, session: Session, request: Request):
    return {"statuses": list(STATUSES),
            "actions": {a: {"to": t, "from": list(f), "role": role_needed("POST", f"alerts/1/{a}")}
                        for a, (t, f) in ACTIONS.items()}}


# --- rules ---------------------------------------------------------------------------------------


def _checked_rule(session: Session, body: dict, current: dict | None = None) -> dict:
    fields = {**(current or {}), **{k: body[k] for k in RULE_FIELDS if k in body}}
    try:
        fields = check(fields)
    except AlertRuleError as exc:
        raise ApiError(400, str(exc)) from None
    if fields.get("device_id") is not None and session.get(Device, fields["device_id"]) is None:
        raise ApiError(400, "device_id names no device")
    if fields.get("standard_exam_id") is not None and session.get(StandardExam, fields["standard_exam_id"]) is None:
        raise ApiError(400, "standard_exam_id names no standard exam")
    return {k: fields.get(k) for k in RULE_FIELDS}


@route("GET", r"alerts/rules", role=VIEWER)
def list_rules(ctx: Context, session: Session, request: Request):
    return {"rules": [rule_json(r) for r in session.scalars(select(AlertRule).order_by(AlertRule.kind, AlertRule.id))]}


@route("POST", r"alerts/rules", role=PHYSICIST)
def create_rule(ctx: Context, session: Session, request: Request):
    rule = AlertRule(**_checked_rule(session, request.body or {}), version=1, updated_by=request.user)
    session.add(rule)
    session.flush()
    audit.record(session, request.user, "alert_rule.create", "alert_rule", rule.id, after=rule_json(rule))
    return rule_json(rule)


@route("PUT", r"alerts/rules/(?P<id>\d+)", role=PHYSICIST)
def update_rule(ctx: Context, session: Session, request: Request):
    rule = session.get(AlertRule, int(request.param("id")))
    if rule is None:
        raise ApiError(404, "no such alert rule")
    before = rule_json(rule)
    for name, value in _checked_rule(session, request.body or {}, {k: before[k] for k in RULE_FIELDS}).items():
        setattr(rule, name, value)
    rule.version += 1  # alerts keep the version that fired them
    rule.updated_by = request.user
    session.flush()
    audit.record(session, request.user, "alert_rule.update", "alert_rule", rule.id, before=before, after=rule_json(rule))
    return rule_json(rule)


@route("GET", r"alerts/criteria", role=VIEWER)
def criteria(ctx: Context, session: Session, request: Request):
    """Every shipped trigger level and significant-event criterion, with its wording, verification and citation."""
    return {"criteria": reference_criteria()}


@route("POST", r"alerts/evaluate", role=PHYSICIST)
def evaluate_history(ctx: Context, session: Session, request: Request):
    """Run the enabled rules over stored studies (e.g. after a new rule), optionally between two dates."""
    body = request.body or {}
    stmt = select(Study.id).order_by(Study.id)
    start, end = date_param(body, "date_from"), date_param(body, "date_to")
    if start:
        stmt = stmt.where(Study.study_date >= start)
    if end:
        stmt = stmt.where(Study.study_date <= end)
    ids = list(session.scalars(stmt))
    created = 0
    for chunk in range(0, len(ids), EVALUATE_BATCH):
        studies = session.scalars(select(Study).where(Study.id.in_(ids[chunk:chunk + EVALUATE_BATCH])).order_by(Study.id)
                                  .options(selectinload(Study.objects).selectinload(DoseObject.events))).all()
        created += len(evaluate_studies(session, studies))
    audit.record(session, request.user, "alert.evaluate", "alert", None, note=f"{len(ids)} studies, {created} new alerts")
    return {"studies": len(ids), "new_alerts": created}
