"""MPPS through a real Orthanc that starts Kerma's MPPS listener from its configuration: the record reaches the study
page, an RDSR stored later by C-STORE takes over, undeclared modalities are refused, and a kill -9 of the listener is
repaired by its supervisor."""

import datetime as dt
import os
import signal
import time

import pytest

from corpus import CORPUS, EXPECTED
from dicom_factory import renamed_copy
from mpps_factory import completed_ct, completed_fluoroscopy, created, new_uid, scu
from support.orthanc import free_port, running_orthanc
from test_orthanc_ingest import wait_until_ingested

RDSR = CORPUS / "openrem" / "CT-RDSR-GEPixelMed.dcm"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-mpps"), extra_config={"Kerma.MppsPort": free_port()}) as process:
        yield process


def api(orthanc, path, **query):
    answer = orthanc.session().get(f"{orthanc.url}/kerma/api/{path}", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def mpps_port(orthanc) -> int:
    return orthanc.extra_config["Kerma.MppsPort"]


def study_page(orthanc, uid: str, source: str, timeout: float = 30) -> dict:
    """The study page once the ingest worker has refreshed the study to ``source``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = orthanc.session().get(f"{orthanc.url}/kerma/api/studies/{uid}")
        if answer.status_code == 200 and answer.json()["source"] == source:
            return answer.json()
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)


def test_a_completed_step_is_the_study_dose_on_the_study_page(orthanc):
    study, uid = new_uid(), new_uid()
    with scu(mpps_port(orthanc)) as modality:  # the modality Orthanc's configuration declares (make_config --modality)
        assert modality.create(created(study), uid)[0][0] == 0
        assert modality.set(completed_fluoroscopy(), uid)[0] == 0
    page = study_page(orthanc, study, "mpps")
    assert (page["source"], page["totals"]["dap_total_Gycm2"], page["totals"]["fluoro_time_total_s"]) == ("mpps", 12.34, 300)
    assert [(e["kvp"], e["tube_current_mA"], e["exposure_time_s"]) for e in page["events"]] == [(80, 12, 5), (70, 3.5, 240)]
    (step,) = api(orthanc, "mpps", study=study)["steps"]
    assert (step["state"], step["calling_ae"], step["dose_record"]["totals"]["dap_total_Gycm2"]) == \
        ("completed", "KERMA-TEST", 12.34)
    health = api(orthanc, "health")
    assert health["mpps"]["state"] == "listening" and health["counts"]["performed_procedure_steps"]["completed"] >= 1


def test_an_rdsr_stored_later_for_the_same_study_takes_over(orthanc, tmp_path):
    study, uid = new_uid(), new_uid()
    with scu(mpps_port(orthanc)) as modality:
        modality.create(created(study, modality="CT"), uid)
        assert modality.set(completed_ct(), uid)[0] == 0
    before = study_page(orthanc, study, "mpps")
    assert (before["source"], before["totals"]["ct_dlp_total_mGycm"]) == ("mpps", pytest.approx(460.75))
    path = tmp_path / "rdsr.dcm"
    path.write_bytes(renamed_copy(RDSR, study))
    assert orthanc.store([path]) == [0]
    wait_until_ingested(orthanc)
    after = study_page(orthanc, study, "rdsr")
    (expected,) = [e for e in EXPECTED if e["path"] == "openrem/CT-RDSR-GEPixelMed.dcm"]  # OpenREM's reading
    assert (after["source"], after["sources"]) == ("rdsr", {"CT": "rdsr"})
    assert after["totals"]["ct_dlp_total_mGycm"] == pytest.approx(expected["totals"]["ct_dlp_total_mGycm"])
    assert sorted(e["ctdivol_mGy"] for e in after["events"]) == sorted(e["ctdivol_mGy"] for e in expected["events"])
    assert after["records_by_source"]["mpps"]["totals"]["ct_dlp_total_mGycm"] == pytest.approx(460.75)  # kept as evidence
    assert sorted(o["source"] for o in after["dose_objects"]) == ["mpps", "rdsr"]


def test_a_modality_orthanc_does_not_declare_is_refused(orthanc):
    with scu(mpps_port(orthanc), calling="UNDECLARED") as stranger:
        assert stranger is None
    assert "UNDECLARED" in orthanc.log_tail(200) and "rejected" in orthanc.log_tail(200)


def test_the_listener_is_started_again_after_kill_9_and_ends_with_orthanc(orthanc):
    before = api(orthanc, "health")["mpps"]
    killed_at = dt.datetime.now(dt.timezone.utc)
    os.kill(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        state = api(orthanc, "health")["mpps"]
        if state["state"] == "listening" and state["pid"] != before["pid"]:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    assert (state["restarts"], state["last_exit"]) == (before["restarts"] + 1, "killed by SIGKILL")
    assert dt.datetime.fromisoformat(state["since"]) >= killed_at
    study, uid = new_uid(), new_uid()
    with scu(mpps_port(orthanc)) as modality:
        assert modality.create(created(study), uid)[0][0] == 0
    orthanc.stop()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{state['pid']}") and "Z" not in _process_state(state["pid"]):
        assert time.monotonic() < deadline, "the MPPS listener outlived Orthanc"
        time.sleep(0.1)


def _process_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
