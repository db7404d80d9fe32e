"""Through a real Orthanc on both databases: CT slices sent by C-STORE from a scanner without RDSR count like
RDSR events (statistics, above-DRL list, per-exposure DRL alert); the HIS's weight sent over the real MLLP
listener reaches the study; radiographs without dose attributes are exposures of unknown dose; the study's image links are found from its Study Instance UID after a reassignment
changed its patient."""

import pytest
from pydicom.uid import generate_uid

from dicom_factory import CR_IMAGE, radiograph
from dose_setup import api_poster, exam_with_drl_over_rest
from hl7_factory import adt_update, msa
from kerma.hl7.mllp import send
from support.orthanc import free_port, running_orthanc
from test_dose_counts import ct_series
from test_orthanc_alerts import wait_for
from test_orthanc_ingest import wait_until_ingested


@pytest.fixture
def orthanc(tmp_path, database_url):
    with running_orthanc(tmp_path / "orthanc", database_url, extra_config={"Kerma.Hl7Port": free_port()}) as process:
        yield process


def _write(folder, blobs):
    folder.mkdir()
    paths = [folder / f"{i:05d}.dcm" for i in range(len(blobs))]
    for path, blob in zip(paths, blobs):
        path.write_bytes(blob)
    return paths


def test_header_only_ct_study_is_counted_alerted_and_linked(orthanc, tmp_path):
    api = orthanc.session()
    url = orthanc.url + "/kerma/api/"
    post = api_poster(orthanc)
    exam = exam_with_drl_over_rest(post, "CT-ABD-H", "CT abdomen (header)", "CT",
                                   {"field": "protocol", "op": "contains", "value": "abdomen"}, quantity="ctdivol_mGy",
                                   value=5.0, level="exposure", set_name="Local CT per acquisition")

    study = generate_uid()
    assert all(s == 0 for s in orthanc.store(_write(tmp_path / "ct", ct_series(study, [20.0] * 30))))
    wait_until_ingested(orthanc)

    alerts = wait_for("the per-exposure DRL alert", lambda: [
        a for a in api.get(url + "alerts", params={"study": study}).json()["alerts"] if a["kind"] == "drl"],
        log=orthanc.log_tail)
    (alert,) = alerts
    assert alert["value"] == pytest.approx(20.0) and alert["reference"]["drl"] == 5.0
    rows = api.get(url + "statistics", params={"quantity": "ctdivol_mGy", "period": "all"}).json()["statistics"]
    (row,) = [r for r in rows if r["standard_exam_id"] == exam]
    assert row["n"] == 1 and row["median"] == pytest.approx(20.0)
    (hit,) = api.get(url + "statistics/above-drl", params={"quantity": "ctdivol_mGy"}).json()["above_drl"]
    assert hit["study_instance_uid"] == study and hit["ratio"] == pytest.approx(4.0)
    # the month statistics are kept by a child of Orthanc's (the statistics process), not in Orthanc's own threads
    kept = api.get(url + "health").json()["statistics"]
    assert kept["state"] == "running" and kept["error"] is None and kept["processes_started"] == 1
    assert kept["pid"] not in (None, orthanc.process.pid)

    # the HIS's weight and height over MLLP (the slices carry none): on the study, saying where they came from
    page = api.get(url + f"studies/{study}").json()
    assert page["patient"]["weight_kg"] is None
    weight = "OBX|1|NM|29463-7^Body weight^LN||71.5|kg|||||F"
    (answer,) = send("127.0.0.1", orthanc.extra_config["Kerma.Hl7Port"],
                     [adt_update("SYNTH-CT", "Synthetic^Series", "19800101", "O", weight)])
    assert msa(answer)[1] == "AA"
    patient = api.get(url + f"studies/{study}").json()["patient"]
    assert (patient["weight_kg"], patient["weight_source"]) == (71.5, "his")
    assert patient["age_years"] == 46.0  # from the HIS's birth date, at the study's date (2026-01-01)
    # the study list and the study page say the same of the study (one serialiser)
    (listed,) = api.get(url + "studies", params={"patient_id": "SYNTH-CT"}).json()["studies"]
    page = api.get(url + f"studies/{study}").json()
    listed.pop("privacy")  # how the list (an export) was protected: identified here
    assert listed == {k: page[k] for k in listed} and listed["patient"] == patient
    assert listed["sources"] == {"CT": "header"} and listed["totals"]["ct_dlp_total_mGycm"] == pytest.approx(20.0 * 30 / 10)

    # the links to the images: found from the Study Instance UID, also after the study changed patient in Kerma
    series_uid = page["events"][0]["image"]["series_instance_uid"]
    post(f"reconciliation/studies/{study}/reassign", {"patient_id": "HIS-MERGED-7", "note": "HIS merge"})
    assert api.get(url + f"studies/{study}").json()["patient"]["patient_id"] == "HIS-MERGED-7"
    images = api.get(url + f"studies/{study}/images").json()
    (found,) = [r for r in api.post(orthanc.url + "/tools/lookup", data=study).json() if r["Type"] == "Study"]
    assert images["orthanc_study_id"] == found["ID"]
    assert api.get(orthanc.url + f"/studies/{images['orthanc_study_id']}").status_code == 200
    (series,) = images["series"]
    assert series["series_instance_uid"] == series_uid and series["instances"] == 30
    assert api.get(orthanc.url + f"/series/{series['orthanc_series_id']}").json()["MainDicomTags"]["SeriesInstanceUID"] == series_uid

    # radiographs from an old CR reader (no dose attributes, the Fuji S value): exposures of unknown dose
    radiographs = generate_uid()
    assert all(s == 0 for s in orthanc.store(_write(tmp_path / "cr", [
        radiograph(radiographs, "FUJIFILM Corporation", Sensitivity=s, ViewPosition=v) for s, v in ((190, "PA"), (260, "LL"))])))
    wait_until_ingested(orthanc)
    events = api.get(url + f"studies/{radiographs}").json()["events"]
    assert [(e["dose_unknown"], e["vendor_exposure_indicator"], e["vendor_exposure_indicator_name"]) for e in events] == [
        (True, 190.0, "S value"), (True, 260.0, "S value")]
    ignored = api.get(url + "ingest-errors", params={"status": "ignored"}).json()["errors"]
    assert not [e for e in ignored if e["sop_class_uid"] == CR_IMAGE]

    assert api.delete(orthanc.url + f"/studies/{found['ID']}").status_code == 200
    missing = api.get(url + f"studies/{study}/images")
    assert missing.status_code == 404 and "Orthanc has no study" in missing.json()["error"]
