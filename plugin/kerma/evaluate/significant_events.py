"""The German StrlSchV Anlage 14 I.1 group rule for significant events.

Once a single examination exceeds the DRL by more than ``trigger_factor`` (200 %: 3 × DRL), the mean of
the last ``exam_count`` (20) consecutive examinations of the same kind on the same device is compared
with ``mean_factor`` (2) × DRL.  The individual criteria of Anlage 14 (CTDIvol, DAP) are plain
``absolute`` rules and the UK multiples ``drl`` rules, shipped as data.
"""

from __future__ import annotations

import statistics

from ..numbers import show
from ..quantities import label_of
from .environment import Environment
from .facts import StudyFacts
from .findings import Finding
from .rules import RuleSpec
from .thresholds import drl_reference

ADVICE = (
    "This is a significant event under StrlSchV § 108: the RPO reports it to the authority without delay once confirmed.",
    "Put it under investigation: find the cause (protocol, device, patient mix) and document the corrective action.",
    "If the data are wrong (a mis-mapped exam, wrong units), correct the mapping and close as not reportable with the reason.",
)


def find_group_exceedance(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """StrlSchV Anlage 14 I.1: fires when a triggering exam's last 20 of its kind average above 2 × DRL.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    if facts.standard_exam_id is None or facts.device_id is None:
        return []
    index = env.drls(rule.param("drl_kind"))
    count, mean_factor = int(rule.param("exam_count")), float(rule.param("mean_factor"))
    trigger_factor = float(rule.param("trigger_factor"))
    quantities = [rule.quantity] if rule.quantity else sorted(env.drl_quantities("exam"))
    findings = []
    for quantity in quantities:
        value = facts.totals.get(quantity)
        level = index.find(facts.standard_exam_id, quantity, facts.age, facts.weight, facts.study_date)
        if value is None or level is None or value <= trigger_factor * level.value:
            continue
        if not rule.selects(facts.standard_exam_id, facts.exam_context()):
            continue
        last = [value for _, value in env.history.recent_exams(facts, quantity, count)]
        if len(last) < count:
            continue
        mean = statistics.fmean(last)
        if mean <= mean_factor * level.value:
            continue
        exam = env.history.exam_name(facts.standard_exam_id)
        findings.append(Finding(
            f"group:{quantity}",
            f"This examination's {label_of(quantity)} {show(value, quantity)} exceeds {trigger_factor:g} × the DRL "
            f"({show(level.value, quantity)}, {level.set_name}), and the mean of the last {count} '{exam}' examinations "
            f"on this device, {show(mean, quantity)}, exceeds {mean_factor:g} × DRL = {show(mean_factor * level.value, quantity)}.",
            quantity, mean, mean_factor * level.value, facts.standard_exam_id,
            {**drl_reference(level), "exam_count": count, "mean": mean, "trigger_value": value}))
    return findings
