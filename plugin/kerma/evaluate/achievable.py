"""The median of a device's recent examinations against the achievable dose (NCRP Report 172's "achievable dose").

An achievable dose is the median of a dose distribution that good practice reaches with adequate image quality,
set below the DRL.  ``direction = "above"``: the median of the last ``exam_count`` examinations of the study's
standard exam on its device (this one included) is above the achievable dose in force on the study's date, a
trigger to review the protocol.  ``direction = "below"``: that median is below it, a positive signal to record
(the protocol is a candidate for the site's good practice).  Each state is flagged once per change, not on every
examination while it lasts.
"""

from __future__ import annotations

import statistics

from ..numbers import show
from ..quantities import label_of
from .environment import Environment
from .facts import StudyFacts
from .findings import Finding
from .rules import RuleSpec

ADVICE = (
    "Above: compare the protocol with the site's achievable practice for this examination (other devices, the "
    "national survey), and review image quality before lowering the dose.",
    "Below: a positive signal; record the protocol and device as good practice, after checking that image quality "
    "is adequate.",
)


def find_against_achievable(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires when the recent median crosses the achievable dose in the rule's direction (once per change).

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    if facts.standard_exam_id is None or facts.device_id is None:
        return []
    above = rule.param("direction") == "above"
    count, minimum = int(rule.param("exam_count")), int(rule.param("min_exams"))
    index = env.achievable()
    quantities = [rule.quantity] if rule.quantity else sorted(env.achievable_quantities())
    findings = []
    for quantity in quantities:
        if quantity not in facts.totals or not rule.selects(facts.standard_exam_id, facts.exam_context()):
            continue
        level = index.find(facts.standard_exam_id, quantity, facts.age, facts.weight, facts.study_date)
        if level is None:
            continue
        recent = env.history.recent_exams(facts, quantity, count)
        if len(recent) < minimum:
            continue
        median = statistics.median(value for _, value in recent)
        subject = f"achievable:{rule.param('direction')}:{quantity}"
        crossed = median > level.value if above else median < level.value
        if not crossed or env.history.alerted(rule.id, subject, [study for study, _ in recent if study != facts.id]):
            continue
        exam = env.history.exam_name(facts.standard_exam_id)
        findings.append(Finding(
            subject,
            f"The median {label_of(quantity)} of the last {len(recent)} '{exam}' examinations on this device, "
            f"{show(median, quantity)}, is {'above' if above else 'below'} the achievable dose of "
            f"{show(level.value, quantity)} ({level.set_name}, {level.patient_group}).",
            quantity, median, level.value, facts.standard_exam_id,
            {"achievable": level.value, "achievable_set": level.set_name, "patient_group": level.patient_group,
             "exam_count": len(recent), "median": median}))
    return findings
