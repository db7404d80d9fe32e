"""Every instance a real Orthanc stores has its ledger row (PostgreSQL behind Kerma): the whole corpus, objects with
over-long values in every text field, a SOP Instance UID sent again into another study, a Study Instance UID that is
not a dotted number, an object whose SOP Class UID Orthanc cannot resolve; every recorded study answers on its route;
instances Orthanc deletes keep their dose records, marked."""

import random
import time
import urllib.parse

import pydicom
import pytest
from pydicom import config as pydicom_config
from pydicom.uid import generate_uid

from conftest import new_postgres_database
from corpus import CORPUS, manifest
from dicom_factory import copy_with, renamed_copy, to_bytes
from support.orthanc import running_orthanc

REPORT = CORPUS / "openrem/CT-RDSR-GEPixelMed.dcm"
LONG = 3000
TEXT_KEYWORDS = ("PatientName", "PatientID", "AccessionNumber", "StudyID", "StudyDescription", "InstitutionName",
                 "InstitutionalDepartmentName", "Manufacturer", "ManufacturerModelName", "StationName",
                 "DeviceSerialNumber", "SoftwareVersions", "PerformedProcedureStepDescription")
_random = random.Random(15)


def noise(length: int = LONG) -> str:
    return "".join(_random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ") for _ in range(length)).strip() + "Z"


def long_uid() -> str:
    return "2.25." + "".join(_random.choice("0123456789") for _ in range(120))


def over_long_copy() -> bytes:
    """The CT report with an over-long value in every text attribute Kerma reads and in every TEXT content item."""
    ds = pydicom.dcmread(REPORT)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = long_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = long_uid(), generate_uid()
    for keyword in TEXT_KEYWORDS:
        setattr(ds, keyword, noise(200 if keyword == "PatientID" else LONG))  # Orthanc refuses a longer Patient ID
    items = list(ds.ContentSequence)
    while items:
        item = items.pop()
        if item.get("ValueType") in ("TEXT", "UIDREF"):
            if item.ValueType == "TEXT":
                item.TextValue = noise()
            else:
                item.UID = long_uid()
        items.extend(item.get("ContentSequence", []))
    previous = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE  # a sender that ignores the VR's limits
    try:
        return to_bytes(ds)
    finally:
        pydicom_config.settings.writing_validation_mode = previous


def without_sop_class() -> bytes:
    """A report under a new SOP Instance UID whose SOP Class UID is not in its data set (only in the file meta)."""
    ds = pydicom.dcmread(CORPUS / "openrem/RF-RDSR-GE.dcm")
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    del ds.SOPClassUID
    return to_bytes(ds)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, postgres):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-ledger"), new_postgres_database(postgres)) as process:
        yield process


def health_when_caught_up(orthanc, timeout=120.0) -> dict:
    session = orthanc.session()
    deadline = time.monotonic() + timeout
    while True:
        health = session.get(orthanc.url + "/kerma/api/health").json()
        if health["lag"] == 0 and health["status"] == "ok":
            return health
        assert time.monotonic() < deadline, f"ingestion stalled: {health}\n{orthanc.log_tail()}"
        time.sleep(0.2)


def study_uid(orthanc, instance: str) -> str:
    """The Study Instance UID (URL-encoded) of an Orthanc instance, as Orthanc read it."""
    study = orthanc.session().get(f"{orthanc.url}/instances/{instance}/study").json()
    return urllib.parse.quote(study["MainDicomTags"]["StudyInstanceUID"], safe="")


@pytest.fixture(scope="module")
def sent(orthanc):
    """The whole corpus and the generated objects, posted to Orthanc; Orthanc's answer to each."""
    session = orthanc.session()
    first = renamed_copy(REPORT)
    shared_sop = pydicom.dcmread(pydicom.filebase.DicomBytesIO(first)).SOPInstanceUID
    generated = {
        "long": [over_long_copy() for _ in range(3)],
        "first": [first],
        "resent": [copy_with(REPORT, StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid())],
        "non_numeric": [copy_with(REPORT, StudyInstanceUID="Kerma-Study_ABC 42", SeriesInstanceUID=generate_uid())],
        "no_sop_class": [without_sop_class()],
    }
    resent = pydicom.dcmread(pydicom.filebase.DicomBytesIO(generated["resent"][0]))
    resent.SOPInstanceUID = resent.file_meta.MediaStorageSOPInstanceUID = shared_sop  # a corrected re-send elsewhere
    generated["resent"] = [to_bytes(resent)]
    answers = {}
    for row in manifest():
        answers[row["path"]] = session.post(orthanc.url + "/instances", data=(CORPUS / row["path"]).read_bytes())
    for name, blobs in generated.items():
        for index, blob in enumerate(blobs):
            answers[f"{name}-{index}"] = session.post(orthanc.url + "/instances", data=blob)
    return answers


def test_orthanc_instances_equal_the_ledger_and_every_study_answers(orthanc, sent):
    session = orthanc.session()
    for name in ("long-0", "long-1", "long-2", "first-0", "resent-0", "non_numeric-0", "no_sop_class-0"):
        assert sent[name].status_code == 200, (name, sent[name].text)
    health = health_when_caught_up(orthanc)
    instances = session.get(orthanc.url + "/statistics").json()["CountInstances"]
    assert sum(health["counts"]["dose_objects"].values()) == instances
    rows = session.get(orthanc.url + "/kerma/api/ingest-errors?status=error,ignored&limit=500").json()["errors"]
    by_id = {row["orthanc_id"]: row for row in rows}

    resent = by_id[sent["resent-0"].json()["ID"]]
    assert resent["status"] == "ignored" and resent["reason"].startswith("SOP Instance UID already recorded for study ")
    # Orthanc cannot resolve this one's SOP Class UID (its SDK raises OrthancException 17): the file says what it is
    no_sop_class = sent["no_sop_class-0"].json()["ID"]
    assert session.get(f"{orthanc.url}/instances/{no_sop_class}/metadata/SopClassUid").status_code == 404
    study = session.get(f"{orthanc.url}/kerma/api/studies/{study_uid(orthanc, no_sop_class)}").json()
    assert [o["status"] for o in study["dose_objects"] if o["orthanc_id"] == no_sop_class] == ["ok"]

    studies = session.get(orthanc.url + "/kerma/api/studies?limit=500").json()
    assert studies["total"] == len(studies["studies"]) > 0
    for study in studies["studies"]:
        uid = urllib.parse.quote(study["study_instance_uid"], safe="")
        answer = session.get(f"{orthanc.url}/kerma/api/studies/{uid}")
        assert answer.status_code == 200, (study["study_instance_uid"], answer.text)
    non_numeric = session.get(orthanc.url + "/kerma/api/studies/" + urllib.parse.quote("Kerma-Study_ABC 42", safe=""))
    assert non_numeric.status_code == 200 and non_numeric.json()["study_instance_uid"] == "Kerma-Study_ABC 42"


def test_over_long_values_are_recorded_with_warnings(orthanc, sent):
    session = orthanc.session()
    health_when_caught_up(orthanc)
    for index in range(3):
        orthanc_id = sent[f"long-{index}"].json()["ID"]
        study = session.get(f"{orthanc.url}/kerma/api/studies/{study_uid(orthanc, orthanc_id)}").json()
        assert "dose_objects" in study, study
        (obj,) = study["dose_objects"]
        assert obj["status"] == "ok" and obj["events"], obj["reason"]
        assert obj["device"]["software_versions"] is None or len(obj["device"]["software_versions"]) >= LONG - 1
        warned = " ".join(obj["warnings"])
        for field in ("sop_instance_uid", "study_instance_uid", "patient_id", "station_name"):
            assert f"{field} has " in warned, (field, obj["warnings"])
        assert len(study["study_description"]) >= LONG - 1 and len(study["study_instance_uid"]) == 64


def test_an_instance_deleted_in_orthanc_keeps_its_records_marked(orthanc, sent):
    session = orthanc.session()
    before = health_when_caught_up(orthanc)
    answer = sent["first-0"].json()
    assert session.delete(f"{orthanc.url}/studies/{answer['ParentStudy']}").status_code == 200
    deadline = time.monotonic() + 30
    while True:
        rows = session.get(orthanc.url + "/kerma/api/studies?limit=500").json()["studies"]
        deleted = [s for s in rows if s["deleted_in_pacs_at"]]
        if deleted or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    (study,) = deleted
    detail = session.get(f"{orthanc.url}/kerma/api/studies/" + urllib.parse.quote(study["study_instance_uid"], safe="")).json()
    assert detail["deleted_in_pacs_at"] and detail["dose_objects"][0]["deleted_in_pacs_at"] and detail["events"]
    after = health_when_caught_up(orthanc)
    assert after["counts"]["dose_objects"] == before["counts"]["dose_objects"]  # the records stay
    instances = session.get(orthanc.url + "/statistics").json()["CountInstances"]
    assert sum(after["counts"]["dose_objects"].values()) - after["counts"]["deleted_in_pacs"] == instances
