"""End to end through a real Orthanc: an RDSR above 2 × a local DRL gives an alert, an e-mail and a webhook call;
a report asked over REST is rendered by a process the plugin spawns."""

import time

import pytest
from pydicom.uid import generate_uid

from corpus import CORPUS
from dicom_factory import copy_with
from dose_setup import api_poster, exam_with_drl_over_rest
from support.mailbox import Mailbox, WebhookReceiver
from support.orthanc import free_port, running_orthanc

BASE_URL = "https://kerma.hospital.example"


def wait_for(what, condition, timeout=60.0, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def servers():
    mailbox = Mailbox(free_port()).start()
    receiver = WebhookReceiver(free_port()).start()
    yield mailbox, receiver
    mailbox.stop()
    receiver.stop()


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, servers):
    mailbox, receiver = servers
    with running_orthanc(tmp_path_factory.mktemp("orthanc-alerts"), extra_config={
            "Kerma.Smtp": {"Host": "127.0.0.1", "Port": mailbox.port, "From": "kerma@hospital.example"},
            "Kerma.BaseUrl": BASE_URL, "Kerma.Webhooks": [{"Url": receiver.url}], "Kerma.OutboxPollSeconds": 0.5,
            "Kerma.NotifyWithinDays": 0}) as process:  # the corpus report is from 2013: tell every alert
        yield process


def test_an_rdsr_above_the_drl_alerts_by_email_and_webhook(orthanc, servers, tmp_path):
    mailbox, receiver = servers
    api = orthanc.session()
    url = orthanc.url + "/kerma/api/"
    post = api_poster(orthanc)
    exam_with_drl_over_rest(post, "CT-RT-QA", "CT radiotherapy planning", "CT",
                            {"field": "procedure_reported", "op": "equals", "value": "Computed Tomography X-Ray"},
                            quantity="total_dlp_mGycm", value=250.0, set_name="Local CT 2026")
    post("notifications/recipients", {"name": "Medical physics", "role": "mpe", "email": "mpe@hospital.example"})
    study_uid = generate_uid()
    path = tmp_path / "rdsr.dcm"  # DLP 586.34 mGy·cm: 2.35 × the local DRL
    path.write_bytes(copy_with(CORPUS / "openrem/CT-RDSR-GEPixelMed.dcm", StudyInstanceUID=study_uid,
                               AccessionNumber="ACC-E2E-1"))
    assert orthanc.store([path]) == [0]

    alerts = wait_for("the alert", lambda: [a for a in api.get(url + "alerts", params={"study": study_uid}).json()["alerts"]
                                            if a["kind"] == "drl"], log=orthanc.log_tail)
    (alert,) = alerts
    assert alert["value"] == pytest.approx(586.34) and alert["reference"]["drl"] == 250.0
    assert alert["rule"] == "Examination above 2 × DRL" and alert["status"] == "new"

    def the_email():
        return [m for m in mailbox.messages if f"#{alert['id']} " in m.get_content()]

    (message,) = wait_for("the e-mail", the_email, log=orthanc.log_tail)
    body = message.get_content()
    assert message["To"] == "mpe@hospital.example" and "Examination above 2 × DRL" in message["Subject"]
    for expected in (study_uid, "ACC-E2E-1", "586.3 mGy·cm", "DRL:            250 mGy·cm", "CT radiotherapy planning",
                     "2.35 × the local DRL", f"{BASE_URL}/kerma/ui/#/studies/{study_uid}", "What you can do:"):
        assert expected in body, expected
    calls = wait_for("the webhook call", lambda: [c for c in receiver.calls if c["json"]["alert_id"] == alert["id"]])
    assert calls[0]["json"]["study_instance_uid"] == study_uid and calls[0]["json"]["drl"] == 250.0
    assert calls[0]["json"]["link"] == f"{BASE_URL}/kerma/ui/#/studies/{study_uid}"

    acknowledged = post(f"alerts/{alert['id']}/acknowledge", {"comment": "Looking into it"})
    assert acknowledged["status"] == "acknowledged"
    entry = api.get(url + "audit", params={"target_type": "alert", "target_id": str(alert["id"])}).json()["entries"][0]
    assert entry["actor"] == "kerma" and entry["action"] == "alert.acknowledge"  # the Orthanc user


def test_a_report_asked_over_rest_is_made_by_a_spawned_process(orthanc):
    api = orthanc.session()
    url = orthanc.url + "/kerma/api/"
    run = api.post(url + "reports", json={"date_from": "2013-03-01", "date_to": "2013-03-31", "period": "monthly"}).json()
    done = wait_for("the report", lambda: (r := api.get(url + f"reports/{run['id']}").json())["status"] in ("done", "failed") and r,
                    timeout=120, log=orthanc.log_tail)
    assert done["status"] == "done", done["error"]
    pdf = api.get(url + f"reports/{run['id']}/pdf")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert done["summary"]["examinations"] >= 1


def test_orthanc_stops_promptly_with_the_outbox_and_background_threads(orthanc):
    started = time.monotonic()
    assert orthanc.stop() == 0  # SIGTERM: the outbox poller and the scheduler are daemon threads
    assert time.monotonic() - started < 15
