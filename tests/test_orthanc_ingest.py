"""A real Orthanc with the Kerma plugin: C-STORE in, records out over Orthanc-authenticated REST."""

import io
import json
import subprocess
import time
from pathlib import Path

import pydicom
import pytest
import requests

from corpus import CORPUS, dose_reports
from dicom_factory import broken_dose_sr, renamed_copy
from support.orthanc import OrthancProcess, free_port, running_orthanc

ROOT = Path(__file__).resolve().parents[1]
KERMA_CLI = [str(ROOT / ".venv" / "bin" / "kerma")]


def wait_until_ingested(orthanc: OrthancProcess, timeout: float = 300.0) -> dict:
    """Health once Kerma's cursor has caught up with Orthanc's change log (polled every 0.1 s; the timeout only bounds
    a failure: at load 20 on 2 cores the 32 corpus reports took over 60 s)."""
    session = orthanc.session()
    deadline = time.monotonic() + timeout
    while True:
        health = session.get(orthanc.url + "/kerma/api/health").json()
        if health["lag"] == 0:
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"Kerma did not catch up: {health}\n{orthanc.log_tail()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as process:
        yield process


@pytest.fixture(scope="module")
def ingested(orthanc):
    paths = dose_reports()
    statuses = orthanc.store(paths)
    assert all(s == 0 for s in statuses), statuses
    health = wait_until_ingested(orthanc)
    return paths, health


def test_every_route_requires_authentication(orthanc):
    for route in ("health", "studies", "ingest-errors", "studies/1.2.3"):
        assert requests.get(f"{orthanc.url}/kerma/api/{route}").status_code == 401
        assert requests.get(f"{orthanc.url}/kerma/api/{route}", auth=("kerma", "wrong")).status_code == 401


def test_rest_totals_equal_the_cli(orthanc, ingested):
    paths, health = ingested
    cli = json.loads(subprocess.run(KERMA_CLI + ["extract", "--json", *map(str, paths)],
                                    check=True, capture_output=True).stdout)
    session = orthanc.session()
    unique = {}
    for record in cli:  # the two Siemens Zee files share a SOP Instance UID: Orthanc keeps the first
        unique.setdefault(record["sop_instance_uid"], record)
    assert health["counts"]["dose_objects"].get("ok") == len(unique)
    for record in unique.values():
        answer = session.get(f"{orthanc.url}/kerma/api/studies/{record['study_instance_uid']}")
        assert answer.status_code == 200, (record["file"], answer.text)
        study = answer.json()
        (obj,) = [o for o in study["dose_objects"] if o["sop_instance_uid"] == record["sop_instance_uid"]]
        assert obj["totals"] == record["totals"], record["file"]
        assert [{k: v for k, v in e.items() if k != "event_id"} for e in obj["events"]] == record["events"], record["file"]


def settled_studies(orthanc: OrthancProcess, timeout: float = 300.0) -> dict:
    """The studies list once ingestion and the dosimetry process are done with them: the derived doses (a peak skin
    dose is a study total, taken by the refresh after them) come after the records, in a process of their own: the
    same answer twice in a row, 2 s apart (longer than the refresher's poll), with nothing due: no change to ingest,
    no study for the dosimetry process, and no study for the refresh that takes its peak skin dose into the totals."""
    session = orthanc.session()
    deadline = time.monotonic() + timeout
    last = None
    while True:
        health = session.get(orthanc.url + "/kerma/api/health").json()
        studies = session.get(orthanc.url + "/kerma/api/studies?limit=500").json()
        if health["lag"] == 0 and health["dosimetry"].get("studies_due") == 0 and health["refresh_due"] == 0 and studies == last:
            return studies
        if time.monotonic() > deadline:
            raise AssertionError(f"Kerma did not settle: {health}")
        last = studies
        time.sleep(2.0)


def test_a_second_send_changes_nothing(orthanc, ingested):
    paths, first = ingested
    before = settled_studies(orthanc)
    assert all(s == 0 for s in orthanc.store(paths))
    after_health = wait_until_ingested(orthanc)
    after = settled_studies(orthanc)
    assert after_health["counts"] == first["counts"]
    assert after == before


def test_bad_input_is_recorded_and_ingestion_goes_on(orthanc, ingested):
    session = orthanc.session()
    report = (CORPUS / "openrem/CT-RDSR-Siemens-Multi-2.dcm").read_bytes()
    non_dose_sr = CORPUS / "public/sr_non_dose/fo-dicom__test_SR.dcm"
    image = CORPUS / "public/ct_image/fo-dicom__GH1308.dcm"  # a CT image without CTDIvol
    broken = broken_dose_sr()
    # a truncated object: Orthanc's own parser decides whether it is stored at all
    truncated = session.post(orthanc.url + "/instances", data=report[: len(report) * 2 // 3])
    assert all(s == 0 for s in orthanc.store([non_dose_sr, image]))
    assert session.post(orthanc.url + "/instances", data=broken).status_code == 200
    good = renamed_copy(CORPUS / "openrem/CT-RDSR-GEPixelMed.dcm")
    assert session.post(orthanc.url + "/instances", data=good).status_code == 200
    wait_until_ingested(orthanc)

    problems = session.get(orthanc.url + "/kerma/api/ingest-errors?status=error,ignored&limit=500").json()["errors"]
    by_class = {}
    for p in problems:
        by_class.setdefault(p["sop_class_uid"], []).append(p)
    assert any(p["status"] == "ignored" and "not a dose report" in p["reason"]
               for p in by_class["1.2.840.10008.5.1.4.1.1.88.33"])
    assert any(p["status"] == "ignored" and "without CTDIvol" in p["reason"]
               for p in by_class["1.2.840.10008.5.1.4.1.1.2"])
    assert any(p["status"] == "error" and "without irradiation events" in p["reason"]
               for p in by_class["1.2.840.10008.5.1.4.1.1.88.67"])
    if truncated.status_code == 200:  # stored by Orthanc: Kerma must say what is wrong with it
        orthanc_id = truncated.json()["ID"]
        assert any(p["orthanc_id"] == orthanc_id and p["status"] == "error" for p in problems)
    else:
        assert truncated.status_code == 400
    assert session.get(orthanc.url + "/system").status_code == 200
    # the valid report sent after the bad ones has its record

    study_uid = pydicom.dcmread(io.BytesIO(good)).StudyInstanceUID
    study = session.get(f"{orthanc.url}/kerma/api/studies/{study_uid}").json()
    assert study["totals"]["ct_dlp_total_mGycm"] == pytest.approx(586.34)


def test_placeholder_ui_is_served_behind_authentication(orthanc):
    assert requests.get(orthanc.url + "/kerma/ui/index.html").status_code == 401
    page = orthanc.session().get(orthanc.url + "/kerma/ui/index.html")
    assert page.status_code == 200 and "Kerma" in page.text


def test_objects_stored_before_kerma_was_enabled_are_back_filled(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'kerma.sqlite'}"
    reports = [CORPUS / "openrem/CT-RDSR-ToshibaPixelMed.dcm", CORPUS / "openrem/MG-RDSR-Hologic_2D.dcm"]
    ports = free_port(), free_port()
    disabled = OrthancProcess(tmp_path / "o", *ports, database_url, extra_config={"Kerma.Enabled": False})
    disabled.start()
    assert all(s == 0 for s in disabled.store(reports))
    assert disabled.session().get(disabled.url + "/kerma/api/health").status_code == 404  # Kerma is off
    disabled.stop()

    enabled = OrthancProcess(tmp_path / "o", *ports, database_url)
    enabled.start()
    try:
        health = wait_until_ingested(enabled)
        assert health["counts"]["dose_objects"] == {"ok": 2}
        toshiba = enabled.session().get(
            enabled.url + "/kerma/api/studies?accession=" + pydicom.dcmread(reports[0]).AccessionNumber).json()
        assert toshiba["studies"][0]["totals"]["ct_dlp_total_mGycm"] == pytest.approx(349.7)
    finally:
        enabled.stop()


def test_writes_through_orthanc_carry_the_user_and_csv_exports(orthanc, ingested):
    session = orthanc.session()
    created = session.post(orthanc.url + "/kerma/api/exams", json={"code": "CT-CHEST-OR", "name": "CT Chest", "modality": "CT"})
    assert created.status_code == 200, created.text
    rule = {"level": "exposure", "modality": "CT", "standard_exam_id": created.json()["id"],
            "conditions": [{"field": "target_region", "op": "equals", "value": "Chest"}]}
    answer = session.post(orthanc.url + "/kerma/api/mapping/rules", json=rule)
    assert answer.status_code == 200 and answer.json()["remapped_studies"] > 0
    audit = session.get(orthanc.url + "/kerma/api/audit").json()
    entries = audit["entries"]
    assert {"standard_exam.create", "mapping_rule.create"} <= {e["action"] for e in entries}
    assert {e["actor"] for e in entries if e["action"].startswith(("standard_exam", "mapping_rule"))} == {"kerma"}
    csv_answer = session.get(orthanc.url + "/kerma/api/statistics?quantity=ctdivol_mGy&period=all&format=csv")
    assert csv_answer.status_code == 200 and csv_answer.headers["Content-Type"].startswith("text/csv")
    assert csv_answer.text.splitlines()[0].startswith("standard_exam_id,")
    assert session.post(orthanc.url + "/kerma/api/exams", data="not json",
                        headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.post(orthanc.url + "/kerma/api/exams", json={"code": "X", "name": "Y"}).status_code == 401


def test_query_arguments_arrive_decoded(orthanc, ingested):
    # Orthanc 1.10 passes GET arguments to plugins still percent-encoded; Kerma decodes them once
    session = orthanc.session()
    both = session.get(orthanc.url + "/kerma/api/ingest-errors", params={"status": "error,ignored"})
    assert both.status_code == 200, both.text
    single = [session.get(orthanc.url + "/kerma/api/ingest-errors", params={"status": s}).json()["total"] for s in ("error", "ignored")]
    assert both.json()["total"] == sum(single)
