"""REST: alerts and their review, the daily digest, alert rules (versioned, audited) and the shipped criteria."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..access import PHYSICIST, RADIOGRAPHER, RADIOLOGIST, VIEWER
from ..db.models import Alert, AlertRule, Device, StandardExam, Study
from ..evaluate.review import ACTIONS, STATUSES, ReviewError, act, assign, comment_on
from ..evaluate.rules import KINDS, SEVERITIES, AlertRuleError, alert_rule_json, spec_of, validated
from ..evaluate.shipped import reference_criteria
from ..notify.digest import daily_digest
from ..notify.messages import alert_link
from ..pipeline import reevaluate
from ..rule_rows import refusal
from .his import page
from .names import with_names
from .router import ApiError, Context, Request, role_needed, route
from .schemas import (Body, Day, Id, JsonObject, Order, Page, Query, body, choices, column_text, path_row, query, sort_field,
                      text)
from .views import iso

RULE_FIELDS = ("name", "kind", "enabled", "severity", "modality", "device_id", "standard_exam_id", "patient_group",
               "quantity", "level", "parameters", "notify_roles", "source", "verification", "notes")
CommentText = text()


def alert_json(alert: Alert, base_url: str) -> dict:
    return {"id": alert.id, "created_at": iso(alert.created_at), "updated_at": iso(alert.updated_at),
            "status": alert.status, "severity": alert.severity, "kind": alert.kind,
            "rule": alert.rule.get("name"), "rule_id": alert.rule_id, "rule_version": alert.rule_version,
            "study_instance_uid": alert.study_instance_uid, "person_id": alert.person_id, "study_date": iso(alert.study_date),
            "device_id": alert.device_id, "standard_exam_id": alert.standard_exam_id, "subject": alert.subject,
            "quantity": alert.quantity, "value": alert.value, "threshold": alert.threshold, "unit": alert.unit,
            "reference": alert.reference, "reason": alert.reason, "message": alert.reason, "actions": alert.actions,
            "assignee": alert.assignee, "reportable": alert.reportable, "closed_at": iso(alert.closed_at),
            "link": alert_link(base_url, alert)}


SEVERITY_ORDER = case({name: rank for rank, name in enumerate(SEVERITIES)}, value=Alert.severity)
# "triage": most severe first, then the oldest (waiting longest) first
TRIAGE = (SEVERITY_ORDER.desc(), Alert.created_at.asc(), Alert.id.asc())
ALERT_SORTS = {"triage": None, "created_at": Alert.created_at, "study_date": Alert.study_date, "severity": SEVERITY_ORDER,
               "status": Alert.status, "kind": Alert.kind, "quantity": Alert.quantity, "value": Alert.value,
               "assignee": Alert.assignee, "device": Alert.device_id, "updated_at": Alert.updated_at}


class AlertQuery(Page):
    sort: sort_field(ALERT_SORTS) = "created_at"
    order: Order = "desc"
    status: choices(STATUSES) = ()
    severity: choices(SEVERITIES) = ()
    kind: choices(KINDS) = ()
    study: column_text(Alert.study_instance_uid) | None = None
    assignee: column_text(Alert.assignee) | None = None
    device_id: Id | None = None
    person_id: Id | None = None
    date_from: Day | None = None
    date_to: Day | None = None


@route("GET", r"alerts", role=VIEWER)
def list_alerts(ctx: Context, session: Session, request: Request):
    q = query(request, AlertQuery)
    stmt = select(Alert)
    for name in ("status", "severity", "kind"):
        if getattr(q, name):
            stmt = stmt.where(getattr(Alert, name).in_(getattr(q, name)))
    if q.study:
        stmt = stmt.where(Alert.study_instance_uid == q.study)
    if q.assignee:
        stmt = stmt.where(Alert.assignee == q.assignee)
    if q.device_id:
        stmt = stmt.where(Alert.device_id == q.device_id)
    if q.person_id:
        stmt = stmt.where(Alert.person_id == q.person_id)
    if q.date_from:
        stmt = stmt.where(Alert.study_date >= q.date_from)
    if q.date_to:
        stmt = stmt.where(Alert.study_date <= q.date_to)
    if q.sort == "triage":
        answer = page(session, stmt.order_by(*TRIAGE), q, "alerts", lambda a: alert_json(a, ctx.settings.base_url))
    else:
        answer = page(session, stmt, q, "alerts", lambda a: alert_json(a, ctx.settings.base_url), ALERT_SORTS, Alert.id)
    with_names(session, answer["alerts"])
    return answer


@route("GET", r"alerts/(?P<id>\d+)", role=VIEWER)
def get_alert(ctx: Context, session: Session, request: Request):
    alert = path_row(session, request, Alert, "alert")
    trail = session.scalars(audit.query(target_type="alert", target_id=str(alert.id))).all()
    return {**with_names(session, [alert_json(alert, ctx.settings.base_url)])[0], "rule_as_fired": alert.rule,
            "comments": [{"id": c.id, "at": iso(c.at), "author": c.author, "text": c.text} for c in alert.comments],
            "audit": [audit.as_json(e) for e in reversed(trail)]}


Assignee = column_text(Alert.assignee)


class ReviewBody(Body):
    comment: text() | None = None
    assignee: Assignee | None = None
    reportable: bool | None = None


@route("POST", r"alerts/(?P<id>\d+)/(?P<action>acknowledge|investigate)", role=RADIOGRAPHER)
@route("POST", r"alerts/(?P<id>\d+)/(?P<action>justify|close|reopen)", role=RADIOLOGIST)  # a clinical judgement
def review_alert(ctx: Context, session: Session, request: Request):
    step = body(request, ReviewBody)
    try:
        alert = act(session, path_row(session, request, Alert, "alert"), request.param("action"), request.user,
                    comment=step.comment, assignee=step.assignee, reportable=step.reportable)
    except ReviewError as exc:
        raise ApiError(409, str(exc)) from None
    return alert_json(alert, ctx.settings.base_url)


class AssignBody(Body):
    """Only the assignee is set this way; review steps are POST alerts/{id}/<action>."""

    assignee: Assignee | None


@route("PUT", r"alerts/(?P<id>\d+)", role=RADIOGRAPHER)
def assign_alert(ctx: Context, session: Session, request: Request):
    assignee = body(request, AssignBody).assignee
    alert = assign(session, path_row(session, request, Alert, "alert"), assignee, request.user)
    return alert_json(alert, ctx.settings.base_url)


class BulkBody(Body):
    ids: Annotated[list[Id], Field(min_length=1, max_length=500)]
    comment: text() | None = None
    assignee: Assignee | None = None


@route("POST", r"alerts/bulk/(?P<action>acknowledge|assign)", role=RADIOGRAPHER)
def bulk_review(ctx: Context, session: Session, request: Request):
    """Acknowledge, or assign to ``assignee`` (null: nobody), several alerts at once: each step audited as one alone
    would be. An alert no longer new is left as it is and named under ``skipped``; an unknown id refuses all (404)."""
    step, action = body(request, BulkBody), request.param("action")
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(step.ids)))}
    missing = sorted(set(step.ids) - set(alerts))
    if missing:
        raise ApiError(404, f"no alert {missing[0]}")
    done, skipped = [], []
    for alert_id in dict.fromkeys(step.ids):
        alert = alerts[alert_id]
        if action == "assign":
            assign(session, alert, step.assignee, request.user)
        elif alert.status == "new":
            act(session, alert, "acknowledge", request.user, comment=step.comment, assignee=step.assignee)
        else:
            skipped.append({"id": alert_id, "status": alert.status})
            continue
        done.append(alert_id)
    return {"action": action, "done": done, "skipped": skipped}


class CommentBody(Body):
    text: CommentText


@route("POST", r"alerts/(?P<id>\d+)/comments", role=RADIOGRAPHER)
def add_comment(ctx: Context, session: Session, request: Request):
    try:
        alert = path_row(session, request, Alert, "alert")
        entry = comment_on(session, alert, body(request, CommentBody).text, request.user)
    except ReviewError as exc:
        raise ApiError(400, str(exc)) from None
    return {"id": entry.id, "at": iso(entry.at), "author": entry.author, "text": entry.text}


class DigestQuery(Query):
    date: Day | None = None


@route("GET", r"alerts/digest", role=VIEWER)
def digest(ctx: Context, session: Session, request: Request):
    """What needs attention today (or on ``date``)."""
    return daily_digest(session, query(request, DigestQuery).date or clock.today())


@route("GET", r"alerts/workflow", role=VIEWER)
def workflow(ctx: Context, session: Session, request: Request):
    return {"statuses": list(STATUSES), "severities": list(reversed(SEVERITIES)), "kinds": list(KINDS),
            "actions": {a: {"to": t, "from": list(f), "role": role_needed("POST", f"alerts/1/{a}")}
                        for a, (t, f) in ACTIONS.items()}}


# --- rules ---------------------------------------------------------------------------------------


class AlertRuleBody(Body):
    name: column_text(AlertRule.name, nonempty=True)
    kind: column_text(AlertRule.kind)  # kinds, levels, quantities and parameters are checked by kerma.evaluate.rules
    enabled: bool = True
    severity: column_text(AlertRule.severity) = "warning"
    modality: column_text(AlertRule.modality) | None = None
    device_id: Id | None = None
    standard_exam_id: Id | None = None
    patient_group: column_text(AlertRule.patient_group) | None = None
    quantity: column_text(AlertRule.quantity) | None = None
    level: column_text(AlertRule.level) | None = None
    parameters: JsonObject = {}
    notify_roles: list[text(32)] = []
    source: text() | None = None
    verification: column_text(AlertRule.verification) | None = None
    notes: text() | None = None


def _checked_rule(session: Session, request: Request, current: dict | None = None) -> dict:
    try:
        fields = validated(body(request, AlertRuleBody, current).model_dump())
    except AlertRuleError as exc:
        raise ApiError(400, str(exc)) from None
    if fields["device_id"] is not None and session.get(Device, fields["device_id"]) is None:
        raise ApiError(400, "device_id names no device")
    if fields["standard_exam_id"] is not None and session.get(StandardExam, fields["standard_exam_id"]) is None:
        raise ApiError(400, "standard_exam_id names no standard exam")
    return {k: fields.get(k) for k in RULE_FIELDS}


@route("GET", r"alerts/rules", role=VIEWER)
def list_rules(ctx: Context, session: Session, request: Request):
    rules = session.scalars(select(AlertRule).order_by(AlertRule.kind, AlertRule.id))
    return {"rules": with_names(session, [{**alert_rule_json(r), "invalid": refusal(r, spec_of, AlertRuleError)}
                                          for r in rules])}


@route("POST", r"alerts/rules", role=PHYSICIST)
def create_rule(ctx: Context, session: Session, request: Request):
    rule = AlertRule(**_checked_rule(session, request), version=1, updated_by=request.user)
    session.add(rule)
    session.flush()
    audit.record(session, request.user, "alert_rule.create", "alert_rule", rule.id, after=alert_rule_json(rule))
    return alert_rule_json(rule)


@route("PUT", r"alerts/rules/(?P<id>\d+)", role=PHYSICIST)
def update_rule(ctx: Context, session: Session, request: Request):
    rule = path_row(session, request, AlertRule, "alert rule")
    before = alert_rule_json(rule)
    for name, value in _checked_rule(session, request, {k: before[k] for k in RULE_FIELDS}).items():
        setattr(rule, name, value)
    rule.version += 1  # alerts keep the version that fired them
    rule.updated_by = request.user
    session.flush()
    audit.record(session, request.user, "alert_rule.update", "alert_rule", rule.id, before=before, after=alert_rule_json(rule))
    return alert_rule_json(rule)


@route("GET", r"alerts/criteria", role=VIEWER)
def criteria(ctx: Context, session: Session, request: Request):
    """Every shipped trigger level and significant-event criterion, with its wording, verification and citation."""
    return {"criteria": reference_criteria()}


class EvaluateBody(Body):
    date_from: Day | None = None
    date_to: Day | None = None


@route("POST", r"alerts/evaluate", role=PHYSICIST)
def evaluate_history(ctx: Context, session: Session, request: Request):
    """Run the enabled rules over stored studies (e.g. after a new rule), optionally between two dates."""
    window = body(request, EvaluateBody)
    stmt = select(Study.id).order_by(Study.id)
    start, end = window.date_from, window.date_to
    if start:
        stmt = stmt.where(Study.study_date >= start)
    if end:
        stmt = stmt.where(Study.study_date <= end)
    ids = list(session.scalars(stmt))
    created = reevaluate(session, ids)
    audit.record(session, request.user, "alert.evaluate", "alert", None, note=f"{len(ids)} studies, {created} new alerts")
    return {"studies": len(ids), "new_alerts": created}
