"""Above k × DRL (local or national), or above an absolute trigger level, per quantity and level."""

from __future__ import annotations

from ..drl.sets import Level
from ..numbers import show
from .environment import Environment
from .facts import StudyFacts, measured
from .findings import Finding, measured_text
from .rules import RuleSpec

DRL_ADVICE = (
    "Compare the protocol used with the standard protocol for this examination, and the patient's size with the DRL's reference patient.",
    "Justify it when clinically explained (large patient, repeated or extra series, complex case) and say why in a comment.",
    "Put it under investigation when unexplained: the MPE reviews the protocol and the device's settings.",
)
ABSOLUTE_ADVICE = (
    "Check the value against the examination's records and the device's display; a wrong value is a data problem to report to the vendor.",
    "If the value is real, put it under investigation and decide with the MPE and RPO whether it is reportable.",
)


def drl_reference(level: Level) -> dict:
    """The DRL a value was compared with (the one in force on the study's date), as an alert's ``reference`` keeps it."""
    return {"drl": level.value, "drl_set": level.set_name, "drl_kind": level.kind, "patient_group": level.patient_group,
            "drl_valid_from": level.describe()["valid_from"], "drl_valid_to": level.describe()["valid_to"]}


def find_above_drl(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Values above k × the DRL that applies to them (their exam, quantity and patient band).

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    k = float(rule.param("k"))
    index = env.drls(rule.param("drl_kind"))
    quantities = [rule.quantity] if rule.quantity else sorted(env.drl_quantities(rule.level))
    findings = []
    for quantity in quantities:
        for m in measured(facts, quantity, rule.level):
            if not rule.selects(m.standard_exam_id, m.context):
                continue
            level = index.find(m.standard_exam_id, quantity, facts.age, facts.weight, facts.study_date)
            if level is None or m.value <= k * level.value:
                continue
            exam = env.history.exam_name(m.standard_exam_id) or "this examination"
            findings.append(Finding(
                f"{m.subject}:{quantity}",
                f"{measured_text(m)} is {m.value / level.value:.2f} × the {level.kind} DRL of "
                f"{show(level.value, quantity)} for '{exam}' ({level.set_name}, {level.patient_group}); "
                f"this rule fires above {k:g} × DRL = {show(k * level.value, quantity)}.",
                quantity, m.value, k * level.value, m.standard_exam_id, {**drl_reference(level), "k": k}))
    return findings


def find_above_absolute(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Values above the rule's fixed trigger level (e.g. a national significant-event criterion).

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    threshold = float(rule.param("threshold"))
    return [Finding(f"{m.subject}:{m.quantity}",
                    f"{measured_text(m)} exceeds the trigger level of {show(threshold, m.quantity)} ({rule.name}).",
                    m.quantity, m.value, threshold, m.standard_exam_id, {"trigger_level": threshold})
            for m in measured(facts, rule.quantity, rule.level)
            if rule.selects(m.standard_exam_id, m.context) and m.value > threshold]

