"""Fluoroscopy and interventional substantial radiation dose levels (SRDL) and follow-up notification steps.

A level fires when the study's total reaches it (≥, as the SRDL is written); with an ``increment`` each
further step (e.g. 3 Gy, then every 1 Gy) is a new alert, so a study that grows gives one alert per step.
"""

from __future__ import annotations

import math

from ..numbers import show
from .environment import Environment
from .facts import StudyFacts, measured
from .findings import Finding, measured_text
from .rules import RuleSpec

ADVICE = (
    "Tell the patient and the referring physician; record the dose in the patient's record and the procedure report.",
    "Arrange the skin follow-up (a check at 2–4 weeks) and tell the patient what to look for.",
    "Justify with the clinical reason when the procedure required it; put it under investigation if the dose was unexpected.",
)


def find_level_reached(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires when a study total reaches the level, and again at each further step.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    threshold, increment = float(rule.param("threshold")), rule.param("increment")
    findings = []
    for m in measured(facts, rule.quantity, rule.level):
        if not rule.selects(m.standard_exam_id, m.context) or m.value < threshold:
            continue
        step = threshold + (math.floor((m.value - threshold) / increment) * increment if increment else 0.0)
        steps = f" ({show(threshold, rule.quantity)}, then every {show(increment, rule.quantity)})" if increment else ""
        findings.append(Finding(
            f"{m.subject}:{rule.quantity}:{step:g}",
            f"{measured_text(m)} reached the level {show(step, rule.quantity)}{steps} of '{rule.name}'.",
            rule.quantity, m.value, step, m.standard_exam_id, {"level": step, "first_level": threshold, "increment": increment}))
    return findings
