"""Cumulative dose indicator per patient over a window (off by default).

A sum of DLP, DAP or Ka,r over several examinations is a prompt to look at a patient's imaging
history, not a measure of risk: the alert says so.
"""

from __future__ import annotations

from ..numbers import show
from ..quantities import label_of
from .environment import Environment
from .facts import StudyFacts
from .findings import Finding
from .rules import RuleSpec

NOT_A_RISK_MEASURE = ("A sum of dose indicators over several examinations is not a measure of risk "
                      "(different body regions, different patients' sizes); it is a prompt to review the imaging history.")
ADVICE = (
    "Review the patient's imaging history with the referring physician: are further examinations justified, could another modality do?",
    "Close as not reportable when the examinations were each justified; the MPE may estimate organ doses if needed.",
)


def find_cumulative(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires when the patient's sum of ``rule.quantity`` over the window exceeds the threshold.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    if not facts.patient_id or facts.study_date is None or rule.quantity not in facts.totals:
        return []
    threshold, days = float(rule.param("threshold")), int(rule.param("window_days"))
    total, count = env.history.patient_sum(facts, rule.quantity, days)
    if total <= threshold:
        return []
    return [Finding(
        f"cumulative:{rule.quantity}:{days}",
        f"The patient's {label_of(rule.quantity)} over the last {days} days is {show(total, rule.quantity)} from {count} "
        f"examination(s), above {show(threshold, rule.quantity)}. {NOT_A_RISK_MEASURE}",
        rule.quantity, total, threshold, facts.standard_exam_id, {"window_days": days, "examinations": count})]
