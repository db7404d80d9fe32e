"""Occupational dose (issue 13 §6) through the API, on both engines: dosimetry reports of several services' formats
previewed, imported and their mapping reused; duplicates refused or replaced; imports audited and undone; summaries
per person and department against hand computation; alerts at an investigation level and at the annual limit
through the alert machinery (review, outbox); exports pseudonymised or anonymised; roles, audit and strict JSON on
every route.  The clock is pinned (``NOON``).  Reading the formats and the estimates alone: test_occupational_reports."""

import base64
import csv
import datetime as dt
import io
import json
import threading

import pytest
from sqlalchemy import select

from dosimetry_reports import FORMATS, US_EDITS, assert_same, key, truth_of
from kerma import clock
from kerma import access
from kerma.api import Context, Request, handle
from kerma.api.router import ROUTES
from kerma.config import Settings, SmtpSettings
from kerma.db.models import AlertRule, AuditEntry, DoseReading, OutboxMessage, Recipient
from kerma.evaluate.shipped import load_shipped_rules
from kerma.notify.poller import deliver_due
from kerma.occupational import vocabulary
from support.mailbox import Mailbox
from support.orthanc import free_port

NOON = dt.datetime(2027, 2, 15, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def pinned():
    with clock.use(clock.starting_at(NOON)):
        yield


@pytest.fixture
def ctx(sessions, pinned):
    with sessions() as s, s.begin():
        load_shipped_rules(s)
    return Context(sessions, settings=Settings.defaults())


def call(ctx, method, path, body=None, role="physicist", **q):
    return handle(ctx, Request(method, path, q, body, user=f"a-{role}", roles=frozenset({role})))


def ok(ctx, method, path, body=None, **q):
    """The answer of a request that must succeed, checked to be strict JSON (no NaN or Infinity) as the edge sends it."""
    status, answer = call(ctx, method, path, body, **q)
    assert status == 200, answer
    if isinstance(answer, dict):
        json.loads(json.dumps(answer, allow_nan=False))
    return answer


# --- import, duplicates, undo, audit (both engines) -----------------------------------------------------------------


def stored(ctx) -> dict:
    with ctx.sessions() as s:
        rows = s.scalars(select(DoseReading).where(DoseReading.status == "active")).all()
        return {key(r.person.staff_id, r.period_start, r.period_end, r.position):
                ({q: getattr(r, q) for q in vocabulary.READING_QUANTITIES}, set(r.below_level or {})) for r in rows}


def test_reports_of_every_format_are_previewed_imported_and_their_mapping_reused(ctx):
    for seed, name in enumerate(FORMATS, start=1):
        truth, raw = truth_of(name, seed)
        service = f"Service {name}"
        preview = ok(ctx, "POST", "occupational/imports/preview",
                     {"content_base64": base64.b64encode(raw).decode(), "service": service, "filename": f"{name}.csv"})
        assert preview["mapping_source"] == "proposed" and preview["rows"]["refused"] == 0
        mapping = preview["mapping"]
        if name == "us":
            mapping["positions"].update(US_EDITS)
        done = ok(ctx, "POST", "occupational/imports", {"content_base64": base64.b64encode(raw).decode(),
                                                        "service": service, "mapping": mapping, "save_mapping": True,
                                                        "filename": f"{name}.csv"})
        assert done["refused"] == [] and done["readings"] == len(truth) and done["new_people"] == 3
        # the service's next report (the next half year) is read with the saved mapping, edits included
        later, raw = truth_of(name, seed, [(2026, m) for m in range(7, 13)])
        preview = ok(ctx, "POST", "occupational/imports/preview", {"content_base64": base64.b64encode(raw).decode(),
                                                                   "service": service})
        assert preview["mapping_source"] == "saved" and preview["rows"]["refused"] == 0
        assert preview["new_people"] == [] and preview["duplicates"] == []
        assert ok(ctx, "POST", "occupational/imports", {"content_base64": base64.b64encode(raw).decode(),
                                                        "service": service})["readings"] == len(later)
    everything = []
    for seed, name in enumerate(FORMATS, start=1):
        everything += truth_of(name, seed)[0] + truth_of(name, seed, [(2026, m) for m in range(7, 13)])[0]
    assert_same(stored(ctx), everything)
    services = ok(ctx, "GET", "occupational/services")["services"]
    assert [s["name"] for s in services] == sorted(f"Service {n}" for n in FORMATS)
    # a report whose columns changed falls back to a proposal, and says why
    changed = "Staff ID;Period;Hp(10) [mSv]\n1;2026-01;0,1\n"
    preview = ok(ctx, "POST", "occupational/imports/preview", {"content": changed, "service": "Service german"})
    assert preview["mapping_source"] == "proposed"
    assert any("saved mapping of 'Service german' does not fit" in n for n in preview["notes"])


DUPLICATED = """Staff ID,Period,Position,Hp(10) (mSv),Hp(0.07) (mSv)
S1,2026-01,Under apron,0.10,0.11
S1,2026-02,Under apron,0.20,0.21
S2,2026-01,Collar,1.00,1.10
"""
CORRECTED = """Staff ID,Period,Position,Hp(10) (mSv),Hp(0.07) (mSv)
S1,2026-Q1,Under apron,0.50,0.51
S2,2026-01,Collar,0.90,1.00
S3,2026-01,Collar,0.30,0.30
"""


def test_duplicates_are_refused_or_replaced_and_every_import_is_audited_and_undone(ctx):
    first = ok(ctx, "POST", "occupational/imports", {"content": DUPLICATED, "filename": "january.csv"})
    assert first["readings"] == 3
    preview = ok(ctx, "POST", "occupational/imports/preview", {"content": CORRECTED})
    assert [(d["row"], d["staff_id"], len(d["stored"])) for d in preview["duplicates"]] == [(2, "S1", 2), (3, "S2", 1)]
    assert preview["new_people"] == [{"staff_id": "S3", "name": None, "department": None}]
    refused = ok(ctx, "POST", "occupational/imports", {"content": CORRECTED})
    assert refused["readings"] == 1 and [r["row"] for r in refused["refused"]] == [2, 3]
    assert refused["refused"][0]["reason"].startswith("already recorded: reading #1 of import #")
    assert "on_duplicate 'replace'" in refused["refused"][0]["reason"]
    # the same file again: told it was imported before; S3 is now a duplicate too
    again = ok(ctx, "POST", "occupational/imports/preview", {"content": CORRECTED})
    assert again["imported_before"] == [refused["id"]] and len(again["duplicates"]) == 3
    ok(ctx, "POST", f"occupational/imports/{refused['id']}/undo", {"note": "to import with replace"})
    replaced = ok(ctx, "POST", "occupational/imports", {"content": CORRECTED, "on_duplicate": "replace"})
    assert (replaced["readings"], replaced["replaced"], replaced["refused"]) == (3, 3, [])
    assert stored(ctx) == {
        key("S1", "2026-01-01", "2026-03-31", "trunk_under_apron"): (
            {"hp10_mSv": 0.5, "hp007_mSv": 0.51, "hp3_mSv": None}, set()),
        key("S2", "2026-01-01", "2026-01-31", "collar_over_apron"): (
            {"hp10_mSv": 0.9, "hp007_mSv": 1.0, "hp3_mSv": None}, set()),
        key("S3", "2026-01-01", "2026-01-31", "collar_over_apron"): (
            {"hp10_mSv": 0.3, "hp007_mSv": 0.3, "hp3_mSv": None}, set())}
    # the first import cannot be undone while its readings stand replaced; undoing the correction brings them back
    status, answer = call(ctx, "POST", f"occupational/imports/{first['id']}/undo", {})
    assert status == 409 and f"replaced by import #{replaced['id']}" in answer["error"]
    ok(ctx, "POST", f"occupational/imports/{replaced['id']}/undo", {"note": "wrong file"})
    assert {k[0] for k in stored(ctx)} == {"S1", "S2"} and len(stored(ctx)) == 3
    status, answer = call(ctx, "POST", f"occupational/imports/{replaced['id']}/undo", {})
    assert status == 409 and "undone already" in answer["error"]
    ok(ctx, "POST", f"occupational/imports/{first['id']}/undo", {})
    assert stored(ctx) == {}
    detail = ok(ctx, "GET", f"occupational/imports/{replaced['id']}")
    assert [(e["action"], e["actor"]) for e in detail["audit"]] == [("occupational.import", "a-physicist"),
                                                                     ("occupational.import.undo", "a-physicist")]
    assert detail["audit"][0]["after"]["replaced"] == 3 and detail["audit"][1]["note"] == "wrong file"
    with ctx.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        people = s.scalars(select(AuditEntry).where(AuditEntry.action == "occupational_person.create")).all()
    assert actions.count("occupational.import") == 3 and actions.count("occupational.import.undo") == 3
    assert len(people) == 3 and all("S1" not in str(e.after) and "S2" not in str(e.after) for e in people)
    listed = ok(ctx, "GET", "occupational/imports")["imports"]
    assert [(i["id"], i["undone_by"]) for i in listed][0] == (replaced["id"], "a-physicist")


def test_the_same_report_imported_twice_at_once_is_stored_once(ctx):
    """Two physicists import one file at the same moment: the second waits for the first and finds its readings as
    duplicates (without the imports' lock both found nothing stored and the doses counted twice)."""
    start = threading.Barrier(2)
    answers = []

    def send():
        start.wait()
        answers.append(call(ctx, "POST", "occupational/imports", {"content": DUPLICATED}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted((status, a["readings"], len(a["refused"])) for status, a in answers) == [(200, 0, 3), (200, 3, 0)]
    assert len(stored(ctx)) == 3


# --- summaries -----------------------------------------------------------------------------------------------------

SUMMARY_REPORT = """Staff ID,Name,Department,Period,Position,Hp(10) (mSv),Hp(0.07) (mSv),Hp(3) (mSv)
P,Pat One,Cardiology,2025-12,Under apron,0.10,,
P,Pat One,Cardiology,2025-12,Collar,2.00,2.20,
P,Pat One,Cardiology,2025-12,Eye,,,1.50
P,Pat One,Cardiology,2025-12,Ring left,,10.0,
P,Pat One,Cardiology,2026-01,Under apron,0.20,,
P,Pat One,Cardiology,2026-01,Collar,4.00,4.40,
P,Pat One,Cardiology,2026-01,Eye,,,3.00
P,Pat One,Cardiology,2026-01,Ring left,,20.0,
P,Pat One,Cardiology,2026-02,Under apron,M,,
P,Pat One,Cardiology,2026-02,Collar,1.00,1.10,
P,Pat One,Cardiology,2026-02,Ring left,,5.0,
P,Pat One,Cardiology,2026-03,Under apron,0.30,,
P,Pat One,Cardiology,2026-03,Eye,,,0.50
P,Pat One,Cardiology,2026-03,Ring left,,M,
Q,Quinn Two,Cardiology,2026-01,Whole body,1.00,1.00,
R,Rae Three,Radiology,2026-05,Whole body,0.40,0.40,
"""


def test_summaries_per_person_and_department_from_imported_readings(ctx):
    ok(ctx, "POST", "occupational/imports", {"content": SUMMARY_REPORT})
    people = {r["staff_id"]: r for r in ok(ctx, "GET", "occupational/summary", year="2026")["summary"]}
    assert people["P"]["occupational_effective_dose_mSv"] == pytest.approx(0.525)
    assert people["P"]["lens_equivalent_dose_mSv"] == pytest.approx(4.6)
    assert people["P"]["extremity_left_hp007_mSv"] == pytest.approx(25.0)
    assert people["P"]["effective_dose_methods"] == {"ncrp122": 2, "hp10_under_apron": 1}
    assert people["Q"]["occupational_effective_dose_mSv"] == pytest.approx(1.0)
    niklason = ok(ctx, "GET", "occupational/summary", year="2026", algorithm="niklason1993", person_id="1")["summary"]
    assert [r["occupational_effective_dose_mSv"] for r in niklason] == [pytest.approx(0.788)]
    departments = {r["department"]: r for r in ok(ctx, "GET", "occupational/summary", by="department", year="2026")["summary"]}
    cardiology = departments["Cardiology"]
    assert cardiology["people"] == 2
    assert cardiology["collective_effective_dose_person_mSv"] == pytest.approx(1.525)
    assert cardiology["max_occupational_effective_dose_mSv"] == pytest.approx(1.0)
    assert cardiology["trunk_hp10_mSv"] == pytest.approx(1.0) and cardiology["collar_over_apron_hp10_mSv"] == pytest.approx(5.0)
    assert departments["Radiology"]["collective_effective_dose_person_mSv"] == pytest.approx(0.4)
    rolling = ok(ctx, "GET", "occupational/summary", window="rolling_12_months", end="2026-02-28")
    assert rolling["window"] == {"kind": "rolling_12_months", "start": "2025-03-01", "end": "2026-02-28",
                                 "label": "12 months from 2025-03-01 to 2026-02-28"}
    assert {r["staff_id"]: r["occupational_effective_dose_mSv"] for r in rolling["summary"]} == {
        "P": pytest.approx(0.325), "Q": pytest.approx(1.0)}
    person = ok(ctx, "GET", "occupational/people/1")
    assert person["staff_id"] == "P" and len(person["readings"]) == 14
    assert person["summaries"]["calendar_year"]["periods"] == 0  # the pinned clock's year, 2027: no reading yet
    rolling = person["summaries"]["rolling_12_months"]  # 2026-02-16 to 2027-02-15: February and March 2026
    assert rolling["periods"] == 2 and rolling["estimates"]["occupational_effective_dose_mSv"]["value_mSv"] == 0.325


# --- alerts --------------------------------------------------------------------------------------------------------

def report_for(month, under, collar):
    return ("Staff ID,Name,Department,Period,Position,Hp(10) (mSv)\n"
            f"X7,Alex Seven,Angiography,2026-{month:02d},Under apron,{under}\n"
            f"X7,Alex Seven,Angiography,2026-{month:02d},Collar,{collar}\n")


def test_an_investigation_level_then_the_annual_limit_alert_and_an_undo_updates_them(ctx):
    with ctx.sessions() as s, s.begin():
        s.add(Recipient(name="RPO", role="rpo", email="rpo@hospital.example"))
        s.add(Recipient(name="MPE", role="mpe", email="mpe@hospital.example"))
    # NCRP 122: January 0.5 x 1.0 + 0.025 x 50 = 1.75 mSv, below the 2 mSv investigation level
    assert ok(ctx, "POST", "occupational/imports", {"content": report_for(1, 1.0, 50)})["new_alerts"] == []
    # February adds 0.25 + 1.0: 3.0 mSv in 2026, the investigation level reached (not the limit)
    february = ok(ctx, "POST", "occupational/imports", {"content": report_for(2, 0.5, 40)})
    (investigation,) = february["new_alerts"]
    alert = ok(ctx, "GET", f"alerts/{investigation}")
    assert alert["kind"] == "occupational" and alert["severity"] == "warning" and alert["study_instance_uid"] is None
    assert alert["value"] == pytest.approx(3.0) and alert["threshold"] == 2.0 and alert["unit"] == "mSv"
    assert alert["rule"] == "Investigation level: effective dose 2 mSv in a year"
    assert "calendar year 2026" in alert["reason"] and "NCRP Report 122" in alert["reason"]
    assert "estimate for a reference person" in alert["reason"]
    assert alert["link"].endswith(f"/kerma/ui/#/occupational/people/{alert['person_id']}")
    # March: 0.5 x 40 + 0.025 x 10 = 20.25: 23.25 mSv, above the annual limit of Art. 9(2)
    march = ok(ctx, "POST", "occupational/imports", {"content": report_for(3, 40, 10)})
    (limit,) = march["new_alerts"]
    alert = ok(ctx, "GET", f"alerts/{limit}")
    assert alert["severity"] == "high" and alert["value"] == pytest.approx(23.25) and alert["threshold"] == 20.0
    assert "Council Directive 2013/59/Euratom, Art. 9(2)" in alert["reason"]
    assert ok(ctx, "GET", f"alerts/{investigation}")["value"] == pytest.approx(23.25)  # the same year's alert, updated
    assert ok(ctx, "GET", "alerts", person_id=str(alert["person_id"]))["total"] == 2
    # the review is the same as for every alert
    assert ok(ctx, "POST", f"alerts/{limit}/acknowledge", {"assignee": "rpo"})["status"] == "acknowledged"
    # e-mails through the outbox: the RPO hears of both, the MPE of the limit; neither names the person
    port = free_port()
    mailbox = Mailbox(port).start()
    try:
        settings = Settings(database_url="unused", base_url="https://kerma.example",
                            smtp=SmtpSettings(host="127.0.0.1", port=port, sender="kerma@hospital.example"))
        assert deliver_due(ctx.sessions, settings)["sent"] == 3
    finally:
        mailbox.stop()
    sent = sorted((m["To"], m["Subject"]) for m in mailbox.messages)
    assert [to for to, _ in sent] == ["mpe@hospital.example", "rpo@hospital.example", "rpo@hospital.example"]
    bodies = "\n".join(m.get_content() for m in mailbox.messages)
    assert "X7" not in bodies and "Alex" not in bodies and "Seven" not in bodies
    assert f"#{alert['person_id']} in Kerma's register" in bodies and "Department:     Angiography" in bodies
    # the March report was the wrong file: undone, the alerts follow the readings, with a comment
    ok(ctx, "POST", f"occupational/imports/{march['id']}/undo", {"note": "wrong service file"})
    after = ok(ctx, "GET", f"alerts/{limit}")
    assert after["value"] == pytest.approx(3.0) and after["status"] == "acknowledged"
    assert after["comments"][-1]["text"] == "Re-evaluated after the readings changed: 23.25 mSv → 3 mSv, below the level now."
    assert ok(ctx, "GET", f"alerts/{investigation}")["value"] == pytest.approx(3.0)


def test_a_site_level_over_rolling_12_months_fires_once_per_crossing_and_only_for_its_site(ctx):
    ok(ctx, "POST", "alerts/rules", {"name": "Site A: 1 mSv in any 12 months", "kind": "occupational",
                                     "quantity": "occupational_effective_dose_mSv", "severity": "info",
                                     "parameters": {"threshold": 1.0, "window": "rolling_12_months", "site": "site a"}})
    status, answer = call(ctx, "POST", "alerts/rules", {"name": "x", "kind": "occupational", "modality": "CT",
                                                        "quantity": "lens_equivalent_dose_mSv",
                                                        "parameters": {"threshold": 1.0}})
    assert status == 400 and "scoped by parameters.site" in answer["error"]
    ok(ctx, "POST", "occupational/departments", {"name": "Angiography", "site": "Site A"})
    ok(ctx, "POST", "occupational/departments", {"name": "Theatre", "site": "Site B"})
    rows = ["Staff ID,Department,Period,Position,Hp(10) (mSv)"]
    for staff, department in (("A", "Angiography"), ("B", "Theatre")):
        for number, value in ((1, 0.6), (2, 0.6), (3, 0.1), (4, 0.1)):  # 1.2 by February: reached once, stays above
            rows.append(f"{staff},{department},2026-{number:02d},Whole body,{value}")
    ok(ctx, "POST", "occupational/imports", {"content": "\n".join(rows) + "\n"})
    fired = [a for a in ok(ctx, "GET", "alerts", kind="occupational")["alerts"] if a["rule"].startswith("Site A")]
    assert [(a["subject"], a["value"]) for a in fired] == [
        ("occupational_effective_dose_mSv:rolling_12_months:2026-02-28", pytest.approx(1.2))]


# --- exports and reads --------------------------------------------------------------------------------------------


def test_exports_are_pseudonymised_or_anonymised_and_say_so_and_reads_are_audited(ctx):
    ok(ctx, "POST", "occupational/imports", {"content": SUMMARY_REPORT})
    identified = ok(ctx, "GET", "occupational/summary", year="2026")
    assert identified["privacy"] == "identified" and {r["name"] for r in identified["summary"]} == {"Pat One", "Quinn Two", "Rae Three"}
    status, pseudonymised = call(ctx, "GET", "occupational/summary", year="2026", format="csv", pseudonymise="1")
    assert status == 200 and pseudonymised.filename == "kerma-summary-pseudonymised.csv"
    rows = list(csv.DictReader(io.StringIO(pseudonymised.text)))
    assert {r["privacy"] for r in rows} == {"pseudonymised"} and "name" not in rows[0]
    assert all(r["staff_id"].startswith("S-") and len(r["staff_id"]) == 22 for r in rows)
    again = list(csv.DictReader(io.StringIO(call(ctx, "GET", "occupational/readings", format="csv",
                                                 pseudonymise="1")[1].text)))
    assert {r["staff_id"] for r in again} == {r["staff_id"] for r in rows}  # one person, one pseudonym across exports
    status, anonymised = call(ctx, "GET", "occupational/readings", format="csv", anonymise="1")
    text = anonymised.text
    for secret in ("Pat One", "Quinn", "Rae", "Cardiology", "Radiology", ",P,", ",Q,"):
        assert secret not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"staff_id", "name", "person_id", "department_id", "dosimeter_id"}.isdisjoint(rows[0])
    assert {r["period_end"] for r in rows} >= {"2026-01", "2025-12"}  # dates reduced to their month
    with ctx.sessions() as s:
        entries = [(e.action, e.target_id, (e.after or {}).get("privacy")) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith("data.")).order_by(AuditEntry.id))]
    assert entries == [("data.read", "occupational/imports", None),
                       ("data.read", "occupational/summary", "identified"),
                       ("data.export", "occupational/summary", "pseudonymised"),
                       ("data.export", "occupational/readings", "pseudonymised"),
                       ("data.export", "occupational/readings", "anonymised")]


def test_roles_and_hostile_inputs(ctx):
    for role in ("viewer", "radiographer", "radiologist"):
        status, answer = call(ctx, "POST", "occupational/imports", {"content": DUPLICATED}, role=role)
        assert status == 403 and answer["role_needed"] == "physicist"
        assert call(ctx, "GET", "occupational/people", role=role)[0] == 403
    assert call(ctx, "GET", "occupational/vocabulary", role="viewer")[0] == 200
    for bad, reason in (({}, "give the report as content"),
                        ({"content": "a", "content_base64": "YQ=="}, "give the report as content"),
                        ({"content_base64": "!!!"}, "content_base64: not base64"),
                        ({"content": DUPLICATED, "mapping": {"columns": {"salary": ["Staff ID"]}}}, "mapping.columns"),
                        ({"content": DUPLICATED, "on_duplicate": "merge"}, "on_duplicate"),
                        ({"content": "\x00\x00"}, "NUL"),
                        ({"content": "just one line"}, "no column separator")):
        status, answer = call(ctx, "POST", "occupational/imports", bad)
        assert status == 400 and reason in answer["error"], (bad, answer)
    status, answer = call(ctx, "POST", "occupational/imports", {"content": "Name,Comment\nA,B\n"})
    assert status == 400 and "staff_id: which column identifies the person?" in answer["error"]
    with ctx.sessions() as s:
        assert s.scalars(select(DoseReading)).all() == [] and s.scalars(select(OutboxMessage)).all() == []
        assert s.scalar(select(AlertRule).where(AlertRule.code == "euratom:art9-2-effective")).enabled


def test_every_occupational_route_needs_the_physicist_role_and_reads_of_people_are_audited():
    routes = {(r.method, r.pattern.pattern): r for r in ROUTES if r.pattern.pattern.startswith("occupational/")}
    assert len(routes) == 19
    assert {key for key, r in routes.items() if r.role != access.PHYSICIST} == {("GET", "occupational/vocabulary")}
    assert routes[("GET", "occupational/vocabulary")].role == access.VIEWER  # words and methods, no person
    # every route whose answer can name a person (staff id, name, a refused row's cells) audits the read
    personal = {key for key, r in routes.items() if r.personal}
    assert personal == {("GET", "occupational/people"), ("GET", r"occupational/people/(?P<id>\d+)"),
                        ("GET", "occupational/readings"), ("GET", "occupational/summary"),
                        ("POST", "occupational/imports/preview"), ("POST", "occupational/imports"),
                        ("GET", r"occupational/imports/(?P<id>\d+)")}


def test_register_changes_are_audited_without_personal_values_and_conflicts_are_409(ctx):
    cardiology = ok(ctx, "POST", "occupational/departments", {"name": "Cardiology", "site": "North"})
    status, answer = call(ctx, "POST", "occupational/departments", {"name": "cardiology"})
    assert status == 409 and "exists" in answer["error"]
    person = ok(ctx, "POST", "occupational/people", {"staff_id": "77-A", "name": "Dana Example",
                                                    "department_id": cardiology["id"]})
    assert call(ctx, "POST", "occupational/people", {"staff_id": "77-A"})[0] == 409
    assert call(ctx, "POST", "occupational/people", {"staff_id": "78", "department_id": 999})[0] == 400
    changed = ok(ctx, "PUT", f"occupational/people/{person['person_id']}", {"name": "Dana Renamed", "active": False})
    assert (changed["name"], changed["active"], changed["department"]) == ("Dana Renamed", False, "Cardiology")
    with ctx.sessions() as s:
        trail = [(e.action, e.before, e.after) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.target_type.startswith("occupational")).order_by(AuditEntry.id))]
    assert [a for a, _, _ in trail] == ["occupational_department.create", "occupational_person.create",
                                        "occupational_person.update"]
    assert trail[2][2] == {"department_id": cardiology["id"], "active": False, "changed": ["active", "name"]}
    assert "Dana" not in str(trail) and "77-A" not in str(trail)
    listed = ok(ctx, "GET", "occupational/people", sort="name", order="desc")
    assert [p["name"] for p in listed["people"]] == ["Dana Renamed"] and listed["total"] == 1
    assert call(ctx, "GET", "occupational/people", sort="salary")[0] == 400
    mapping = {"columns": {"staff_id": ["ID"], "period": ["Month"]},
               "doses": [{"column": "Hp(10)", "quantity": "hp10_mSv", "unit": "mSv", "position": "trunk"}]}
    first = ok(ctx, "POST", "occupational/services", {"name": "Service A", "mapping": mapping})
    ok(ctx, "POST", "occupational/services", {"name": "Service B", "mapping": mapping})
    assert call(ctx, "POST", "occupational/services", {"name": "Service A", "mapping": mapping})[0] == 409
    status, answer = call(ctx, "PUT", f"occupational/services/{first['id']}", {"name": "Service B"})
    assert status == 409 and "exists" in answer["error"]
    renamed = ok(ctx, "PUT", f"occupational/services/{first['id']}", {"name": "Service A2"})
    assert (renamed["name"], renamed["version"], renamed["mapping"]["columns"]) == ("Service A2", 2, mapping["columns"])

