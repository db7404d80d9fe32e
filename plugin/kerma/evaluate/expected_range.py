"""An expected range per CT protocol: a dose far above it is an optimisation problem, far below it a quality one."""

from __future__ import annotations

from ..numbers import show
from .environment import Environment
from .facts import StudyFacts, measured
from .findings import Finding, measured_text
from .rules import RuleSpec

ADVICE = (
    "Above the range: check that the right protocol was chosen, the patient's size and centring, and repeated series.",
    "Below the range: check the image quality with the radiologist (noise, a wrong protocol, a scan cut short) before justifying it.",
    "If the range itself is out of date (a new protocol version), ask the MPE to change the rule.",
)


def find_outside_range(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires on values above the upper or below the lower bound of the expected range.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    lower, upper = rule.param("lower"), rule.param("upper")
    findings = []
    for m in measured(facts, rule.quantity, rule.level):
        if not rule.selects(m.standard_exam_id, m.context):
            continue
        if upper is not None and m.value > upper:
            side, bound = "above", upper
        elif lower is not None and m.value < lower:
            side, bound = "below", lower
        else:
            continue
        expected = " – ".join(show(b, rule.quantity) if b is not None else "…" for b in (lower, upper))
        findings.append(Finding(
            f"{m.subject}:{rule.quantity}:{side}",
            f"{measured_text(m)} is {side} the expected range {expected} of '{rule.name}'.",
            rule.quantity, m.value, float(bound), m.standard_exam_id,
            {"lower": lower, "upper": upper, "side": side}))
    return findings
