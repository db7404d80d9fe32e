"""A real Orthanc with the Kerma plugin and its MLLP listener: corpus HL7 and RDSRs in, reconciliation over REST,
a reassignment applied in Orthanc too, and its undo."""

import time

import pytest
from pydicom.uid import generate_uid

from conftest import CORPUS
from dicom_factory import copy_with
from hl7_factory import adt_update, control_id_of, corpus_messages, msa, orm
from kerma.hl7.mllp import send
from support.orthanc import free_port, running_orthanc
from test_orthanc_ingest import wait_until_ingested

REPORT = CORPUS / "openrem" / "CT-RDSR-GEPixelMed.dcm"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-hl7"),
                         extra_config={"Kerma.Hl7Port": free_port(), "Kerma.NoDoseDelayHours": 0,
                                       "Kerma.ApplyCorrectionsToOrthanc": True,
                                       "OverwriteInstances": True}) as process:  # a correction keeps every UID
        yield process


def hl7(orthanc, *messages):
    return send("127.0.0.1", orthanc.extra_config["Kerma.Hl7Port"], list(messages))


def test_corpus_messages_are_acked_by_the_listener_inside_orthanc(orthanc):
    raws = [p.read_bytes() for p in corpus_messages()]
    answers = hl7(orthanc, *raws)
    assert [msa(a)[1:3] for a in answers] == [["AA", control_id_of(r)] for r in raws]
    messages = orthanc.session().get(orthanc.url + "/kerma/api/hl7/messages", params={"limit": 500}).json()
    assert messages["total"] >= len(raws)
    assert "PATID1234" not in orthanc.log_tail(400)  # no patient identifier in Orthanc's log


def test_reconciliation_and_a_reassignment_applied_in_orthanc(orthanc):
    session = orthanc.session()
    api = orthanc.url + "/kerma/api/"
    ordered, emergency = generate_uid(), generate_uid()
    for study_uid, attributes in ((ordered, {"AccessionNumber": "INT-ACC-1", "PatientID": "INT-P1", "PatientName": "INT^ONE"}),
                                  (emergency, {"AccessionNumber": "", "PatientID": "EMERGENCY-1",
                                               "PatientName": "Motorbike^accident 18:10"})):
        data = copy_with(REPORT, StudyInstanceUID=study_uid, SeriesInstanceUID=generate_uid(), **attributes)
        assert session.post(orthanc.url + "/instances", data=data).status_code == 200
    wait_until_ingested(orthanc)
    answers = hl7(orthanc, adt_update("INT-P2", "INT^TWO", "19750505", "M"),
                  orm("INT-O1", "INT-P1", accession="INT-ACC-1", result_status="F"),
                  orm("INT-O2", "INT-P2", accession="INT-ACC-2"),
                  orm("INT-O2", "INT-P2", control="SC", order_status="CM"))
    assert [msa(a)[1] for a in answers] == ["AA"] * 4

    lists = session.get(api + "reconciliation").json()
    no_order = {s["study_instance_uid"] for s in lists["no-order"]["studies"]}
    assert emergency in no_order and ordered not in no_order
    assert "INT-O2" in [o["placer_order_number"] for o in lists["no-dose"]["orders"]]
    assert "INT-O1" not in [o["placer_order_number"] for o in lists["no-dose"]["orders"]]
    assert emergency in {s["study_instance_uid"] for s in lists["unknown-patients"]["studies"]}

    order_id = next(o["id"] for o in lists["no-dose"]["orders"] if o["placer_order_number"] == "INT-O2")
    done = session.post(api + f"reconciliation/studies/{emergency}/reassign",
                        json={"order_id": order_id, "note": "identified"})
    assert done.status_code == 200, done.text
    assert done.json()["orthanc_result"] == "not applied in Orthanc: Orthanc does not change the PatientID of a study"
    study = session.get(api + f"studies/{emergency}").json()
    assert (study["patient"]["patient_id"], study["patient"]["name"], study["accession_number"]) == ("INT-P2", "INT^TWO", "INT-ACC-2")
    audit = session.get(api + "audit", params={"target_id": emergency}).json()["entries"]
    assert [(e["action"], e["actor"]) for e in audit] == [("study.reassign", "kerma")]
    assert in_orthanc(session, orthanc, emergency) == ("EMERGENCY-1", "")

    undone = session.post(api + f"reconciliation/reassignments/{done.json()['id']}/undo", json={})
    assert undone.status_code == 200, undone.text
    study = session.get(api + f"studies/{emergency}").json()
    assert study["patient"]["patient_id"] == "EMERGENCY-1"
    assert [e["action"] for e in session.get(api + "audit", params={"target_id": emergency}).json()["entries"]] == [
        "study.reassign.undo", "study.reassign"]

    # the same patient, another of their orders: Orthanc rewrites the study with the order's accession number
    assert [msa(a)[1] for a in hl7(orthanc, orm("INT-O3", "INT-P1", accession="INT-ACC-3"))] == ["AA"]
    order_3 = session.get(api + "hl7/orders", params={"placer_order_number": "INT-O3"}).json()["orders"][0]["id"]
    done = session.post(api + f"reconciliation/studies/{ordered}/reassign", json={"order_id": order_3})
    assert done.status_code == 200 and done.json()["orthanc_result"].startswith("Orthanc job"), done.text
    assert in_orthanc(session, orthanc, ordered) == ("INT-P1", "INT-ACC-3")
    health = wait_until_ingested(orthanc)  # Orthanc's rewritten copy (same SOP Instance UID) adds no record
    assert health["counts"]["dose_objects"].get("ok") == 2
    assert session.get(api + f"studies/{ordered}").json()["accession_number"] == "INT-ACC-3"


def in_orthanc(session, orthanc, study_uid, timeout=30.0):
    """(PatientID, AccessionNumber) of the study in Orthanc once its modification job is done."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = [session.get(f"{orthanc.url}/jobs/{j}").json() for j in session.get(orthanc.url + "/jobs").json()]
        if all(j["State"] in ("Success", "Failure") for j in jobs):
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.1)
    assert all(j["State"] == "Success" for j in jobs), jobs
    (found,) = [r for r in session.post(orthanc.url + "/tools/lookup", data=study_uid).json() if r["Type"] == "Study"]
    study = session.get(f"{orthanc.url}/studies/{found['ID']}").json()
    return study["PatientMainDicomTags"]["PatientID"], study["MainDicomTags"].get("AccessionNumber", "")
