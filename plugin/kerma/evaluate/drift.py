"""Protocol-parameter drift: kVp, mAs, CTDIvol or exposure index moving away from its recent baseline.

Per device and protocol, each examination gives one value (the median of its events on that
protocol).  The median of the most recent ``recent_exams`` (this one included) is compared with the
median of the ``baseline_exams`` before them; it fires beyond ``tolerance_percent``.  Fewer than
``min_baseline_exams`` in the baseline: no judgement yet.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from ..numbers import show
from ..quantities import label_of
from .environment import Environment
from .facts import StudyFacts
from .findings import Finding
from .rules import RuleSpec

ADVICE = (
    "Ask the radiographers whether the protocol was changed on purpose (a new protocol version, a vendor visit, a software update).",
    "If not, have the device checked (a QA test, the AEC calibration) and compare images with the baseline.",
    "When the change is intended, justify it: the new value becomes the baseline as examinations accumulate.",
)
EVENTS_PER_EXAM = 8  # the history query reads this many events per examination wanted, at most


def event_value(values: dict, quantity: str) -> float | None:
    """The event's value; a CT RDSR gives kVp per X-ray source, so the highest source's kVp stands for the event."""
    value = values.get(quantity)
    if value is None and quantity == "kvp":
        sources = [s.get("kvp") for s in values.get("xray_sources") or [] if isinstance(s.get("kvp"), (int, float))]
        value = max(sources) if sources else None
    return float(value) if isinstance(value, (int, float)) else None


def find_drift(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires when a device's protocol parameter moved beyond the tolerance from its baseline (once per change).

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    if facts.device_id is None:
        return []
    tolerance = float(rule.param("tolerance_percent"))
    recent_n, baseline_n = int(rule.param("recent_exams")), int(rule.param("baseline_exams"))
    minimum = int(rule.param("min_baseline_exams"))
    mine: dict[str, list[float]] = defaultdict(list)
    exam_of: dict[str, int | None] = {}
    for event in facts.events:
        value = event_value(event.values, rule.quantity)
        protocol = event.values.get("protocol")
        if value is not None and protocol and rule.selects(event.standard_exam_id, facts.event_context(event)):
            mine[protocol].append(value)
            exam_of[protocol] = event.standard_exam_id
    findings = []
    for protocol, values in mine.items():
        exams = _per_exam(env.history.protocol_events(facts, protocol, rule.quantity,
                                                      (recent_n + baseline_n) * EVENTS_PER_EXAM), rule.quantity)
        earlier = list(exams.values())
        recent = [statistics.median(values), *earlier[:recent_n - 1]]
        baseline = earlier[recent_n - 1:recent_n - 1 + baseline_n]
        if len(baseline) < minimum:
            continue
        now, before = statistics.median(recent), statistics.median(baseline)
        change = (now - before) / before * 100 if before else float("inf")
        subject = f"drift:{rule.quantity}:{protocol}"
        if abs(change) <= tolerance or env.history.alerted(rule.id, subject, list(exams)):
            continue  # within tolerance, or this change was flagged on an exam the baseline has not absorbed yet
        findings.append(Finding(
            subject,
            f"{label_of(rule.quantity)} on protocol '{protocol}' of this device is {show(now, rule.quantity)} "
            f"(median of the last {len(recent)} examination(s)), {change:+.1f}% from its baseline of "
            f"{show(before, rule.quantity)} (median of the {len(baseline)} before); tolerance ±{tolerance:g}%.",
            rule.quantity, now, before, exam_of[protocol],
            {"baseline": before, "baseline_exams": len(baseline), "change_percent": round(change, 2),
             "protocol": protocol}))
    return findings


def _per_exam(rows: list[tuple], quantity: str) -> dict[int, float]:
    """Study id -> one value per examination (the median of its events), newest first."""
    by_study: dict[int, list[float]] = {}
    for study_id, column_value, details in rows:
        value = event_value({quantity: column_value, **(details or {})}, quantity)
        if value is not None:
            by_study.setdefault(study_id, []).append(value)
    return {study_id: statistics.median(v) for study_id, v in by_study.items()}  # in the query's newest-first order
