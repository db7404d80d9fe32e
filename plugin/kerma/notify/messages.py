"""What an outbox message says: composed when it is sent, from the alert, digest or report it names.

E-mails name the study by its Study Instance UID, date, accession number, exam and device and link
to it in Kerma; they carry no patient name or ID.  An occupational dose alert names the person by their
number in Kerma's register and their department, never by name or staff identifier.
"""

from __future__ import annotations

import urllib.parse
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..db.models import Alert, Device, OccupationalPerson, OutboxMessage, ReportRun, StandardExam, Study
from ..numbers import show
from .digest import daily_digest


@dataclass
class Email:
    """An e-mail to send: subject, plain text, attachments."""

    subject: str
    text: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (file name, MIME type, content)


def study_link(base_url: str, study_instance_uid: str) -> str:
    """Where the study is in Kerma's UI."""
    return f"{base_url.rstrip('/')}/kerma/ui/#/studies/{urllib.parse.quote(study_instance_uid, safe='')}"


def person_link(base_url: str, person_id: int) -> str:
    """Where a monitored person's doses are in Kerma's UI."""
    return f"{base_url.rstrip('/')}/kerma/ui/#/occupational/people/{person_id}"


def alert_link(base_url: str, alert: Alert | dict) -> str:
    """The page an alert is about: its study, or its person (occupational dose)."""
    get = alert.get if isinstance(alert, dict) else lambda name: getattr(alert, name)
    if get("person_id") is not None:
        return person_link(base_url, get("person_id"))
    return study_link(base_url, get("study_instance_uid"))


def alert_facts(session: Session, alert: Alert, base_url: str) -> dict:
    """The alert with what a reader needs around it: exam and device names, the link; no patient identifiers."""
    person = session.get(OccupationalPerson, alert.person_id) if alert.person_id is not None else None
    study = session.get(Study, alert.study_id) if alert.study_id is not None else None
    device = session.get(Device, alert.device_id) if alert.device_id else None
    exam = session.get(StandardExam, alert.standard_exam_id) if alert.standard_exam_id else None
    value = show(alert.value, alert.quantity) if alert.value is not None and alert.quantity else None
    threshold = show(alert.threshold, alert.quantity) if alert.threshold is not None and alert.quantity else None
    drl = (alert.reference or {}).get("drl")
    return {
        "alert_id": alert.id, "rule": alert.rule.get("name"), "rule_id": alert.rule_id, "rule_version": alert.rule_version,
        "kind": alert.kind, "severity": alert.severity, "status": alert.status,
        "study_instance_uid": alert.study_instance_uid,
        "study_date": alert.study_date.isoformat() if alert.study_date else None,
        "accession_number": study.accession_number if study else None,
        "standard_exam": exam.name if exam else None,
        "device": " ".join(filter(None, [device.manufacturer, device.model, device.station_name])) if device else None,
        "quantity": alert.quantity, "value": alert.value, "threshold": alert.threshold, "unit": alert.unit,
        "value_text": value, "threshold_text": threshold,
        "drl": drl, "drl_text": show(drl, alert.quantity) if drl is not None and alert.quantity else None,
        "reference": alert.reference, "reason": alert.reason, "actions": alert.actions,
        "person_id": alert.person_id,
        "person_department": person.department.name if person and person.department else None,
        "link": alert_link(base_url, alert),
    }


def alert_email(facts: dict) -> Email:
    """The e-mail of an alert: what fired and why, the study, value, DRL, what to do, the link."""
    headline = f"{facts['rule']}: {facts['value_text']}" if facts["value_text"] else facts["rule"]
    lines = [f"Kerma alert #{facts['alert_id']} ({facts['severity']}): {headline}", "",
             "Why it fired:", f"  {facts['reason']}", ""]
    if facts["person_id"] is not None:
        lines += [f"Person:         #{facts['person_id']} in Kerma's register (occupational dose)",
                  f"Department:     {facts['person_department'] or '?'}"]
    else:
        lines += [f"Study:          {facts['study_instance_uid']}",
                  f"Date:           {facts['study_date'] or '?'}",
                  f"Accession:      {facts['accession_number'] or '?'}",
                  f"Standard exam:  {facts['standard_exam'] or '(not mapped)'}",
                  f"Device:         {facts['device'] or '?'}"]
    if facts["value_text"]:
        lines.append(f"Value:          {facts['value_text']}")
    if facts["drl_text"]:
        lines.append(f"DRL:            {facts['drl_text']}")
    if facts["threshold_text"]:
        lines.append(f"Trigger level:  {facts['threshold_text']}")
    lines += [f"Rule:           {facts['rule']} (version {facts['rule_version']})", "",
              "What you can do:", *(f"  - {a}" for a in facts["actions"]), "",
              f"Review it in Kerma: {facts['link']}"]
    return Email(f"[Kerma] {facts['severity']}: {headline} ({facts['standard_exam'] or facts['kind']})", "\n".join(lines))


def digest_email(session: Session, day: dt.date, base_url: str) -> Email:
    """The daily digest of ``day`` as an e-mail."""
    digest = daily_digest(session, day)
    lines = [f"Kerma daily digest for {digest['date']}: {digest['open']} open alert(s).", ""]
    for title, items in (("New since " + digest["since"], digest["new_since"]),
                         ("Acknowledged but not assigned", digest["unassigned"]), ("Open for more than a week", digest["overdue"])):
        lines.append(f"{title}: {len(items)}")
        lines += [f"  #{a['id']} {a['severity']} {a['kind']} {a['study_date'] or ''}: {a['reason']}\n"
                  f"      {alert_link(base_url, a)}" for a in items[:50]]
        lines.append("")
    lines.append(f"All alerts: {base_url.rstrip('/')}/kerma/ui/#/alerts")
    return Email(f"[Kerma] Daily digest {digest['date']}: {digest['open']} open, {len(digest['new_since'])} new",
                 "\n".join(lines))


def report_email(run: ReportRun, base_url: str) -> Email:
    """A finished report's e-mail, its PDF attached."""
    summary = run.summary or {}
    title = summary.get("title") or f"Dose report {run.period_start} – {run.period_end}"
    lines = [title, "", f"Examinations: {summary.get('examinations', '?')}", f"Alerts: {summary.get('alerts', '?')}",
             f"Exams above DRL: {summary.get('above_drl', '?')}", "",
             f"The report is attached; also at {base_url.rstrip('/')}/kerma/api/reports/{run.id}/html"]
    name = f"kerma-report-{run.period_start.isoformat()}-{run.period_end.isoformat()}.pdf"
    return Email(f"[Kerma] {title}", "\n".join(lines), [(name, "application/pdf", run.pdf or b"")])


def compose(session: Session, message: OutboxMessage, base_url: str) -> tuple[Email | None, dict | None]:
    """(e-mail, webhook JSON) for a message: one of them, by its channel."""
    if message.kind == "alert":
        facts = alert_facts(session, session.get(Alert, message.alert_id), base_url)
        return (alert_email(facts), None) if message.channel == "email" else (None, {"event": "kerma.alert", **facts})
    if message.kind == "digest":
        return digest_email(session, message.digest_date, base_url), None
    return report_email(session.get(ReportRun, message.report_id), base_url), None
