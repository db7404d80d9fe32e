"""CT Dose Check (NEMA XR 25) alerts and notifications that the scanner recorded in the RDSR.

The scanner records a forward estimate when an operator proceeded past a configured alert or
notification value; the check fires when the estimate reaches the value (or a reason for proceeding
was recorded without one).
"""

from __future__ import annotations

from ..numbers import show
from .environment import Environment
from .facts import StudyFacts
from .findings import Finding
from .rules import RuleSpec

ADVICE = (
    "Read the reason for proceeding the operator gave on the scanner; ask the radiographer if it is missing.",
    "Check whether the configured Dose Check values still fit the protocol (the MPE sets them).",
    "Justify when the reason is clinical; investigate a repeat or a wrong protocol.",
)
# (value configured, forward estimate, quantity of both) per watched value
WATCHED = {
    "alert": (("dose_check_dlp_alert_mGycm", "dose_check_alert_dlp_forward_estimate_mGycm", "dlp_mGycm"),
              ("dose_check_ctdivol_alert_mGy", "dose_check_alert_ctdivol_forward_estimate_mGy", "ctdivol_mGy")),
    "notification": (("dose_check_dlp_notification_mGycm", "dose_check_notification_dlp_forward_estimate_mGycm", "dlp_mGycm"),
                     ("dose_check_ctdivol_notification_mGy", "dose_check_notification_ctdivol_forward_estimate_mGy",
                      "ctdivol_mGy")),
}


def find_dose_check(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires on each Dose Check alert or notification the scanner recorded in an event.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    which = rule.param("which")
    findings = []
    for event in facts.events:
        values = event.values
        context = facts.event_context(event)
        if not rule.selects(event.standard_exam_id, context):
            continue
        reason = values.get("dose_check_alert_reason_for_proceeding") if which == "alert" else None
        estimates = [values.get(estimate_field) for _, estimate_field, _ in WATCHED[which]]
        for configured_field, estimate_field, quantity in WATCHED[which]:
            configured, estimate = values.get(configured_field), values.get(estimate_field)
            if estimate is None or (configured is not None and estimate < configured):
                continue
            name = "DLP" if quantity == "dlp_mGycm" else "CTDIvol"
            against = f" the configured {which} value {show(configured, quantity)}" if configured is not None else " a configured value"
            findings.append(Finding(
                f"event:{event.key}:{estimate_field}",
                f"The scanner's Dose Check {which}: the accumulated {name} forward estimate {show(estimate, quantity)} "
                f"reached{against} in the acquisition '{values.get('protocol') or '?'}'"
                + (f"; reason for proceeding: '{reason}'." if reason else "; no reason for proceeding was recorded."),
                estimate_field, estimate, configured, event.standard_exam_id,
                {"configured": configured, "reason_for_proceeding": reason}))
        if reason and all(e is None for e in estimates):  # a reason recorded without an estimate
            findings.append(Finding(f"event:{event.key}:reason", f"The scanner recorded a Dose Check alert in '"
                                    f"{values.get('protocol') or '?'}' with the reason for proceeding '{reason}'.",
                                    standard_exam_id=event.standard_exam_id, reference={"reason_for_proceeding": reason}))
    return findings
