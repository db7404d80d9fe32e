"""Evaluating the enabled alert rules over the studies an ingest batch touched.

The ``alerts`` stage of :mod:`kerma.pipeline`, after each study is resolved and classified, inside the
ingest transaction; its ``notification`` stage then puts the new alerts in the outbox: an alert and its
outbox messages commit with the records that caused them, or not at all.  Re-evaluating a study finds its alerts again by (rule, study, subject) and adds
nothing; a value that changed (an RDSR replacing a header estimate) is updated with a comment.  An alert of a kind
that compares the study's own values with a fixed threshold (:data:`VALUE_KINDS`) that its rule no longer finds is
returned as cleared, with the value its subject now has: what to do with it is the caller's (a correction factor
closes it, :mod:`kerma.evaluate.settle`).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..db.models import Alert, AlertComment, AlertRule, Study
from ..numbers import show
from ..rule_rows import evaluable
from . import achievable, cumulative, device_changes, dose_check, drift, expected_range, fluoro, significant_events, thresholds
from .environment import Environment
from .facts import LEVELS, StudyFacts, measured, study_facts
from .findings import Cleared, Evaluation, Finding, Raised
from .rules import AlertRuleError, RuleSpec, spec_of

log = logging.getLogger("kerma.evaluate")

# kind -> (finder, what the reviewer can do)
FINDERS = {
    "drl": (thresholds.find_above_drl, thresholds.DRL_ADVICE),
    "absolute": (thresholds.find_above_absolute, thresholds.ABSOLUTE_ADVICE),
    "expected_range": (expected_range.find_outside_range, expected_range.ADVICE),
    "fluoro_level": (fluoro.find_level_reached, fluoro.ADVICE),
    "dose_check": (dose_check.find_dose_check, dose_check.ADVICE),
    "cumulative": (cumulative.find_cumulative, cumulative.ADVICE),
    "drift": (drift.find_drift, drift.ADVICE),
    "new_device": (device_changes.find_new_device, device_changes.NEW_DEVICE_ADVICE),
    "new_software_version": (device_changes.find_new_software_version, device_changes.NEW_SOFTWARE_ADVICE),
    "group_drl": (significant_events.find_group_exceedance, significant_events.ADVICE),
    "achievable": (achievable.find_against_achievable, achievable.ADVICE),
}
REEVALUATED_BY = "kerma"  # the author of the comment saying a re-evaluation changed an alert's value
# kinds whose finding depends only on the study's values and the rule's threshold: not found again means below it
# (not so a new device, a drift or a cumulative dose, which depend on the history at the time they fired)
VALUE_KINDS = ("drl", "absolute", "expected_range", "fluoro_level")


def enabled_rules(session: Session) -> list[RuleSpec]:
    """The enabled alert rules that can be evaluated, flattened for one batch (see :mod:`kerma.rule_rows`)."""
    return _enabled(session)[0]


def invalid_rules(session: Session) -> list[dict]:
    """The enabled alert rules left out, each with the reason."""
    return _enabled(session)[1]


def _enabled(session: Session) -> tuple[list[RuleSpec], list[dict]]:
    rows = session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id))
    return evaluable(rows, spec_of, AlertRuleError, "alert rule")


def evaluate_studies(session: Session, studies: list[Study]) -> Evaluation:
    """Run every enabled rule over ``studies`` (resolved, classified, objects and events loaded).

    Returns
    -------
    Evaluation
        The alerts that are new (added to the session and flushed), each with its rule's roles to tell; the known
        alerts found again; the known alerts of :data:`VALUE_KINDS` whose rule ran and no longer found them.
    """
    rules = [rule for rule in enabled_rules(session) if rule.kind in FINDERS] if studies else []  # not people's rules
    out = Evaluation()
    if not rules:
        return out
    env = Environment(session)
    known = {(a.rule_id, a.study_id, a.subject): a
             for a in session.scalars(select(Alert).where(Alert.study_id.in_([s.id for s in studies])))}
    found, facts_of = set(), {}
    for study in studies:
        facts = facts_of[study.id] = study_facts(study)
        for rule in rules:
            if not rule.applies_to(facts):
                continue
            findings = _findings(rule, facts, env)
            if findings is None:
                continue
            found.add((rule.id, facts.id))
            for finding in findings:
                key = (rule.id, facts.id, finding.subject)
                alert = known.get(key)
                found.add(key)
                if alert is None:
                    alert = _alert(rule, facts, finding)
                    session.add(alert)
                    known[key] = alert
                    out.raised.append(Raised(alert, rule.notify_roles))
                    continue
                if finding.value is not None and alert.value != finding.value:
                    _revalue(alert, finding)
                out.again.append(alert)
    out.cleared = [Cleared(alert, now_value(facts_of[alert.study_id], alert)) for key, alert in known.items()
                   if alert.kind in VALUE_KINDS and key not in found and key[:2] in found]
    session.flush()
    return out


def now_value(facts: StudyFacts, alert: Alert) -> float | None:
    """The value the alert's subject (``exam:<quantity>``, ``event:<key>:<quantity>...``) has in the study now."""
    level = {"exam": "exam", "event": "exposure", "series": "series"}.get(alert.subject.split(":", 1)[0])
    if level not in LEVELS or not alert.quantity:
        return None
    return next((m.value for m in measured(facts, alert.quantity, level)
                 if alert.subject.startswith(f"{m.subject}:{alert.quantity}")), None)


def _findings(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding] | None:
    """The rule's findings on the study; None when the rule failed (then nothing is known about it)."""
    find, _ = FINDERS[rule.kind]
    try:
        return find(rule, facts, env)
    except SQLAlchemyError:
        raise  # the database is in trouble: the ingest batch is retried as a whole
    except Exception as exc:  # a rule that cannot be evaluated must not stop dose ingestion
        log.error("alert rule %d (%s) failed on study %d: %s: %s", rule.id, rule.kind, facts.id, type(exc).__name__, exc)
        return None


def _alert(rule: RuleSpec, facts: StudyFacts, finding: Finding) -> Alert:
    return Alert(
        rule_id=rule.id, rule_version=rule.version, rule=rule.snapshot, kind=rule.kind, severity=rule.severity,
        study_id=facts.id, study_instance_uid=facts.study_instance_uid, study_date=facts.study_date,
        device_id=facts.device_id, standard_exam_id=finding.standard_exam_id, subject=finding.subject[:160],
        quantity=finding.quantity, value=finding.value, threshold=finding.threshold, unit=finding.unit,
        reference=finding.reference or None, reason=finding.reason, actions=list(FINDERS[rule.kind][1]), status="new",
    )


def _revalue(alert: Alert, finding: Finding) -> None:
    before = show(alert.value, alert.quantity) if alert.quantity and alert.value is not None else alert.value
    alert.comments.append(AlertComment(author=REEVALUATED_BY, text=(
        f"Re-evaluated after the study's records changed: {before} → {show(finding.value, finding.quantity)}.")))
    alert.value, alert.threshold, alert.reason = finding.value, finding.threshold, finding.reason
    alert.reference = finding.reference or None
