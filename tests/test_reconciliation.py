"""Reconciliation over corpus RDSR studies and HL7 orders: the four worklists, reassignment and its undo."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from hl7_factory import adt_update, orm, store_reports
from kerma.api import Context, handle
from kerma.api import Request as ApiRequest
from kerma.config import Settings
from kerma.db.models import ImagingOrder
from kerma.hl7.receiver import Hl7Receiver
from kerma.reconcile import lists


def Request(*args, **kwargs):  # these tests act as an admin; who may call what is tested in test_access.py
    return ApiRequest(*args, roles=frozenset({"admin"}), **kwargs)


DAY = "20260110"


@pytest.fixture
def site(sessions):
    """Dose studies and HIS messages with known matches and mismatches; returns {key: Study Instance UID}."""
    uids = store_reports(sessions, [
        {"key": "A", "AccessionNumber": "ACC-A", "PatientID": "P-A", "PatientName": "ALPHA^ANNA", "PatientSex": "F",
         "PatientBirthDate": "19700101", "StudyDate": DAY},  # matches order A by accession, agrees with the HIS
        {"key": "B", "AccessionNumber": "", "PatientID": "P-B", "PatientName": "BRAVO^BEN", "StudyDate": DAY},  # by patient + day
        {"key": "C", "AccessionNumber": "ACC-C", "PatientID": "P-WRONG", "PatientName": "CHARLIE^CAROL", "StudyDate": DAY},
        {"key": "D", "AccessionNumber": "ACC-D", "PatientID": "P-D", "PatientName": "DELTA^DORA", "PatientSex": "F",
         "PatientBirthDate": "19800101",
         "StudyDate": DAY},  # the HIS says DELTA^DORIS, M
        {"key": "E", "AccessionNumber": "ACC-E", "PatientID": "P-E", "PatientName": "ECHO^ED", "StudyDate": DAY},  # no order
        {"key": "F", "AccessionNumber": "", "PatientID": "UNKNOWN-0815", "PatientName": "Motorbike^accident 18:10",
         "StudyDate": DAY},  # emergency: no order, placeholder patient
    ])
    receive = Hl7Receiver(sessions)
    messages = [
        adt_update("P-A", "ALPHA^ANNA", "19700101", "F"), adt_update("P-D", "DELTA^DORIS", "19800101", "M"),
        orm("ORD-A", "P-A", accession="ACC-A", result_status="F"),
        orm("ORD-B", "P-B", accession="ACC-B", scheduled=DAY + "0800"),
        orm("ORD-C", "P-C", accession="ACC-C"), orm("ORD-D", "P-D", accession="ACC-D"),
        orm("ORD-G", "P-G", accession="ACC-G", name="GOLF^GINA", birth_date="19900101", sex="F"),
        orm("ORD-G", "P-G", control="SC", order_status="CM"),  # completed, no dose: "no dose"
        orm("ORD-I", "P-I", accession="ACC-I"),  # scheduled, no dose: not yet expected
        orm("ORD-X", "P-E", accession="ACC-X", control="CA", order_status="CA", scheduled=DAY + "1000"),  # cancelled
    ]
    for raw in messages:
        assert b"|AA|" in receive(raw)
    return uids


def worklists(sessions, delay_hours=0.0):
    ctx = Context(sessions, settings=dataclasses.replace(Settings.defaults(), no_dose_delay_hours=delay_hours))
    status, answer = handle(ctx, Request("GET", "reconciliation", {}))
    assert status == 200
    return answer


def keys(uids, studies):
    by_uid = {uid: key for key, uid in uids.items()}
    return sorted(by_uid[s["study_instance_uid"]] for s in studies)


def test_worklists_name_exactly_the_expected_studies_and_orders(sessions, site):
    answer = worklists(sessions)
    assert keys(site, answer["no-order"]["studies"]) == ["E", "F"]
    assert [o["placer_order_number"] for o in answer["no-dose"]["orders"]] == ["ORD-G"]
    assert keys(site, answer["unknown-patients"]["studies"]) == ["F"]
    mismatches = {next(k for k, u in site.items() if u == m["study_instance_uid"]): m for m in answer["mismatches"]["studies"]}
    assert sorted(mismatches) == ["C", "D"]
    assert mismatches["C"]["differences"] == [{"field": "patient_id", "study": "P-WRONG", "his": "P-C"}]
    assert mismatches["D"]["differences"] == [{"field": "name", "study": "DELTA^DORA", "his": "DELTA^DORIS"},
                                              {"field": "sex", "study": "F", "his": "M"}]
    assert mismatches["D"]["order"]["placer_order_number"] == "ORD-D"


def test_orders_count_as_without_dose_only_after_the_delay(sessions, site):
    with sessions() as session:
        completed_at = session.scalars(select(ImagingOrder.completed_at).where(ImagingOrder.placer_order_number == "ORD-G")).one()
        completed_at = completed_at.replace(tzinfo=completed_at.tzinfo or dt.timezone.utc)
        assert lists.orders_without_dose(session, completed_at + dt.timedelta(hours=23), 24) == []
        late = lists.orders_without_dose(session, completed_at + dt.timedelta(hours=25), 24)
        assert [o.placer_order_number for o in late] == ["ORD-G"]
    assert worklists(sessions, delay_hours=24)["no-dose"]["orders"] == []


def test_reassigning_a_study_moves_its_records_and_undo_puts_them_back(sessions, site):
    ctx = Context(sessions)
    with sessions() as session:
        order_g = session.scalars(select(ImagingOrder.id).where(ImagingOrder.placer_order_number == "ORD-G")).one()
    before = handle(ctx, Request("GET", f"studies/{site['F']}", {}))[1]
    status, done = handle(ctx, Request("POST", f"reconciliation/studies/{site['F']}/reassign",
                                       body={"order_id": order_g, "note": "motorbike accident was Gina Golf"},
                                       user="physicist"))
    assert status == 200, done
    after = handle(ctx, Request("GET", f"studies/{site['F']}", {}))[1]
    assert after["patient"]["patient_id"] == "P-G" and after["patient"]["name"] == "GOLF^GINA"
    assert after["accession_number"] == "ACC-G"
    assert after["totals"] == before["totals"] and after["dose_object_count"] == before["dose_object_count"]
    status, found = handle(ctx, Request("GET", "studies", {"patient_id": "P-G"}))
    assert [s["study_instance_uid"] for s in found["studies"]] == [site["F"]]
    answer = worklists(sessions)
    assert keys(site, answer["no-order"]["studies"]) == ["E"]
    assert answer["no-dose"]["orders"] == [] and answer["unknown-patients"]["studies"] == []
    assert handle(ctx, Request("GET", f"reconciliation/studies/{site['F']}/order", {}))[1]["placer_order_number"] == "ORD-G"

    trail = handle(ctx, Request("GET", "audit", {"target_type": "study", "target_id": site["F"]}))[1]["entries"]
    assert [(e["action"], e["actor"]) for e in trail] == [("study.reassign", "physicist")]
    assert trail[0]["before"]["patient_id"] == "UNKNOWN-0815" and trail[0]["after"]["patient_id"] == "P-G"
    assert trail[0]["note"] == "motorbike accident was Gina Golf"

    status, undone = handle(ctx, Request("POST", f"reconciliation/reassignments/{done['id']}/undo", user="physicist"))
    assert status == 200 and undone["undone_by"] == "physicist"
    restored = handle(ctx, Request("GET", f"studies/{site['F']}", {}))[1]
    assert restored["patient"] == before["patient"] and restored["accession_number"] == before["accession_number"]
    answer = worklists(sessions)
    assert keys(site, answer["no-order"]["studies"]) == ["E", "F"]
    assert [o["placer_order_number"] for o in answer["no-dose"]["orders"]] == ["ORD-G"]
    assert handle(ctx, Request("POST", f"reconciliation/reassignments/{done['id']}/undo", user="physicist"))[0] == 409
    actions = [e["action"] for e in handle(ctx, Request("GET", "audit", {"action": "study"}))[1]["entries"]]
    assert actions == ["study.reassign.undo", "study.reassign"]


def test_reassignment_is_applied_in_orthanc_only_when_the_site_enables_it(sessions, site):
    class RecordingOrthanc:
        def __init__(self):
            self.calls = []

        def post(self, uri, body):
            self.calls.append((uri, body))
            return [{"Type": "Study", "ID": "orthanc-study"}] if uri == "/tools/lookup" else {"ID": "job-1"}

    orthanc = RecordingOrthanc()
    off = Context(sessions, orthanc=orthanc)
    assert handle(off, Request("POST", f"reconciliation/studies/{site['E']}/reassign", body={"patient_id": "P-A"}))[0] == 200
    assert orthanc.calls == []
    on = Context(sessions, orthanc=orthanc,
                 settings=dataclasses.replace(Settings.defaults(), apply_corrections_to_orthanc=True))
    status, done = handle(on, Request("POST", f"reconciliation/studies/{site['C']}/reassign", body={"patient_id": "P-C"}))
    assert status == 200 and "not applied in Orthanc" in done["orthanc_result"]  # Orthanc keeps a study's PatientID
    assert orthanc.calls == []
    with sessions() as session:
        order_a = session.scalars(select(ImagingOrder.id).where(ImagingOrder.placer_order_number == "ORD-A")).one()
    status, done = handle(on, Request("POST", f"reconciliation/studies/{site['C']}/reassign",
                                      body={"patient_id": "P-C", "order_id": order_a}))
    assert status == 409 and "P-A" not in done["error"]  # order A is another patient's
    status, done = handle(on, Request("POST", f"reconciliation/studies/{site['A']}/reassign",
                                      body={"patient_id": "P-A", "order_id": order_a}))
    assert status == 200 and done["orthanc_result"] == "nothing to change in Orthanc"
    assert orthanc.calls == []
    status, done = handle(on, Request("POST", f"reconciliation/studies/{site['D']}/reassign", body={"patient_id": "P-D"}))
    assert status == 200 and done["orthanc_result"] == "Orthanc job job-1 started"
    assert orthanc.calls[0] == ("/tools/lookup", site["D"])
    uri, body = orthanc.calls[1]
    assert uri == "/studies/orthanc-study/modify"
    # the HIS's name, sex and birth date; the accession number stays
    assert body["Replace"] == {"PatientName": "DELTA^DORIS", "PatientSex": "M"}
    assert set(body["Keep"]) == {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"}
    assert body["Asynchronous"] is True and body["KeepSource"] is True


def test_reassignment_refuses_unknown_targets(sessions, site):
    ctx = Context(sessions)
    assert handle(ctx, Request("POST", "reconciliation/studies/1.2.3/reassign", body={"patient_id": "P-A"}))[0] == 404
    assert handle(ctx, Request("POST", f"reconciliation/studies/{site['E']}/reassign", body={"order_id": 99999}))[0] == 404
    assert handle(ctx, Request("POST", f"reconciliation/studies/{site['E']}/reassign", body={}))[0] == 409
