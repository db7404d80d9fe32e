"""Occupational dose rules (kind ``occupational``) over monitored people: the annual dose limits of Council Directive
2013/59/Euratom, Art. 9, and a site's investigation levels, as alert rules (``data/occupational_levels.csv``).

A rule watches one person quantity (``kerma.occupational.vocabulary.person_quantities``: the effective dose estimate,
the lens, skin or extremity dose) over a window: each calendar year, or the 12 months to each monitoring period's end
(``parameters.window``), reached when the estimate is at or above ``parameters.threshold`` (mSv).  It may be limited to
the people of one site or department.  Rules run after each dosimetry import or undo (and on ``POST
occupational/evaluate``) over the people whose readings changed; alerts go through the same review, digest and outbox
as every other alert, with the person instead of a study.  An alert whose window's value changes later (an import
undone, a reading replaced) is updated with a comment, also when it falls below the level.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import Alert, AlertComment, DoseReading, OccupationalPerson
from ..numbers import show
from ..occupational import vocabulary
from ..occupational.estimates import Summary, Window, methods_used, summarise
from ..occupational.summaries import active_readings, periods
from .evaluator import enabled_rules
from .findings import Finding, Raised
from .rules import RuleSpec

KIND = "occupational"
ADVICE = (
    "Check the readings with the dosimetry service and the person: a dosimeter left in a room, worn over the apron "
    "instead of under it, or swapped with a colleague's gives a reading the person did not receive.",
    "Investigate the working practice with the person and the department (shielding, distance, time, protective "
    "eyewear) and record what was found and done.",
    "A dose limit reached: report it as national legislation requires (Directive 2013/59/Euratom, Art. 9 and 68).",
)
ESTIMATE_NOTE = "An estimate for a reference person from the dosimeters' readings, not a measurement of organ doses."


def evaluate_people(session: Session, person_ids=None) -> list[Raised]:
    """Run the enabled occupational rules over the people ``person_ids`` (None: everyone with readings).

    Returns
    -------
    list of Raised
        The new alerts (added to the session and flushed), each with its rule's roles and the person's site.
    """
    rules = occupational_rules(session)
    if not rules:
        return []
    readings: dict[int, list[DoseReading]] = defaultdict(list)
    for row in active_readings(session, person_ids=person_ids):
        readings[row.person_id].append(row)
    ids = set(readings) if person_ids is None else set(person_ids)
    people = {p.id: p for p in session.scalars(select(OccupationalPerson).where(OccupationalPerson.id.in_(list(ids)))
                                              .options(selectinload(OccupationalPerson.department)))}
    known = {(a.rule_id, a.person_id, a.subject): a for a in session.scalars(
        select(Alert).where(Alert.person_id.in_(list(ids)), Alert.rule_id.in_([r.id for r in rules])))}
    new = []
    for person_id in sorted(ids):
        person = people.get(person_id)
        if person is None:
            continue
        history = periods(readings.get(person_id, []))
        for rule in rules:
            if not _in_scope(rule, person):
                continue
            found = set()
            for finding in _findings(rule, history):
                found.add(finding.subject)
                alert = known.get((rule.id, person.id, finding.subject))
                if alert is None:
                    alert = _alert(rule, person, finding)
                    session.add(alert)
                    known[(rule.id, person.id, finding.subject)] = alert
                    new.append(Raised(alert, rule.notify_roles, person.department.site if person.department else None))
                elif alert.value != finding.value:
                    _revalue(alert, finding.value, finding.reason, finding.reference)
            for (rule_id, pid, subject), alert in known.items():
                if rule_id == rule.id and pid == person.id and subject not in found and alert.id is not None:
                    _recheck(alert, rule, history)
    session.flush()
    return new


def occupational_rules(session: Session) -> list[RuleSpec]:
    """The enabled occupational rules that can be evaluated."""
    return [rule for rule in enabled_rules(session) if rule.kind == KIND]


def reached(rule: RuleSpec, person: OccupationalPerson, summary: Summary) -> bool:
    """Whether ``summary`` (of ``person``, over a window of the rule's kind) reaches the rule's level."""
    value = summary.estimate(rule.quantity)
    return _in_scope(rule, person) and rule.param("window") == summary.window.kind and value is not None \
        and value >= float(rule.param("threshold"))


def _in_scope(rule: RuleSpec, person: OccupationalPerson) -> bool:
    site, department_id = rule.param("site"), rule.param("department_id")
    if department_id is not None and person.department_id != department_id:
        return False
    if site is not None:
        own = person.department.site if person.department else None
        return own is not None and own.casefold() == site.strip().casefold()
    return True


def _algorithm(rule: RuleSpec) -> str:
    return rule.param("algorithm") or vocabulary.two_dosimeter_methods()[0]


def _windows(rule: RuleSpec, history) -> list[Window]:
    if rule.param("window") == "calendar_year":
        return [Window.calendar_year(year) for year in sorted({p.end.year for p in history})]
    return [Window.rolling_12_months(end) for end in sorted({p.end for p in history})]


def _findings(rule: RuleSpec, history) -> list[Finding]:
    """Calendar years: each year at or above the threshold.  Rolling 12 months: each period end at which the sum
    reaches the threshold after being below it (one alert per crossing, not one per month above it)."""
    threshold, found, above = float(rule.param("threshold")), [], False
    for window in _windows(rule, history):
        summary = summarise(history, window, _algorithm(rule))
        value = summary.estimate(rule.quantity)
        at_level = value is not None and value >= threshold
        if at_level and (window.kind == "calendar_year" or not above):
            found.append(_finding(rule, window, summary, value, threshold))
        above = at_level
    return found


def _finding(rule: RuleSpec, window: Window, summary: Summary, value: float, threshold: float) -> Finding:
    quantity = vocabulary.quantities()[rule.quantity]
    methods = methods_used(summary).get(rule.quantity) or []
    how = "; ".join(f"{m['name']} ({m['source']})" for m in methods)
    source = rule.snapshot.get("source")
    reason = (f"The {quantity.label} over the {window.label} is {show(value, rule.quantity)}, at or above "
              f"{show(threshold, rule.quantity)} ({rule.name}{f'; {source}' if source else ''}), from "
              f"{summary.periods} monitoring period(s).{f' Estimated by {how}.' if how else ''} {ESTIMATE_NOTE}")
    reference = {"window": window.as_json(), "threshold_mSv": threshold, "source": source,
                 "effective_dose_algorithm": summary.algorithm, "methods": methods, "periods": summary.periods,
                 "summary": summary.as_json()["estimates"].get(rule.quantity)}
    return Finding(f"{rule.quantity}:{window.kind}:{window.end.year if window.kind == 'calendar_year' else window.end}",
                   reason, rule.quantity, value, threshold, None, reference)


def _alert(rule: RuleSpec, person: OccupationalPerson, finding: Finding) -> Alert:
    return Alert(rule_id=rule.id, rule_version=rule.version, rule=rule.snapshot, kind=rule.kind, severity=rule.severity,
                 study_id=None, study_instance_uid=None, study_date=None, device_id=None, standard_exam_id=None,
                 person_id=person.id, subject=finding.subject[:160], quantity=finding.quantity, value=finding.value,
                 threshold=finding.threshold, unit=finding.unit, reference=finding.reference, reason=finding.reason,
                 actions=list(ADVICE), status="new")


def _recheck(alert: Alert, rule: RuleSpec, history) -> None:
    """An alert whose window no longer reaches the level: its value follows the readings, with a comment."""
    window = (alert.reference or {}).get("window") or {}
    if not window:
        return
    summary = summarise(history, Window(window["kind"], dt.date.fromisoformat(window["start"]),
                                        dt.date.fromisoformat(window["end"])), _algorithm(rule))
    value = summary.estimate(rule.quantity)
    if value != alert.value:
        _revalue(alert, value, alert.reason, alert.reference, below=True)


def _revalue(alert: Alert, value: float | None, reason: str, reference: dict | None, below: bool = False) -> None:
    before = show(alert.value, alert.quantity) if alert.value is not None else "no estimate"
    after = show(value, alert.quantity) if value is not None else "no estimate"
    alert.comments.append(AlertComment(author="kerma", text=(
        f"Re-evaluated after the readings changed: {before} → {after}"
        + (", below the level now." if below else "."))))
    alert.value, alert.reason, alert.reference = value, reason, reference
