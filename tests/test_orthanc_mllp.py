"""The HL7 listener process under a real Orthanc: it survives running out of file descriptors, cuts idle connections,
is started again after a kill -9 or a failure to listen, ends with Orthanc, and `health` says what state it is in."""

import datetime as dt
import os
import resource
import signal
import socket
import time

import pytest

from hl7_factory import adt_update, msa
from kerma.hl7.mllp import send
from support.orthanc import free_port, running_orthanc


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-mllp"),
                         extra_config={"Kerma.Hl7Port": free_port(), "Kerma.Hl7MaxConnections": 200,
                                       "Kerma.Hl7IdleTimeoutSeconds": 3}) as process:
        yield process


def hl7_state(orthanc) -> dict:
    return orthanc.session().get(orthanc.url + "/kerma/api/health").json()["hl7"]


def acked(orthanc, patient_id: str) -> str:
    answer = send("127.0.0.1", orthanc.extra_config["Kerma.Hl7Port"], [adt_update(patient_id, "A^B", "19800101", "F")],
                  timeout=10)[0]
    return msa(answer)[1]


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_health_reports_the_listener(orthanc):
    state = hl7_state(orthanc)
    assert (state["state"], state["restarts"], state["port"]) == ("listening", 0, orthanc.extra_config["Kerma.Hl7Port"])
    assert state["pid"] != orthanc.process.pid and os.path.exists(f"/proc/{state['pid']}")
    assert dt.datetime.fromisoformat(state["since"]).tzinfo is not None


def test_the_listener_keeps_accepting_after_running_out_of_file_descriptors(orthanc):
    pid = hl7_state(orthanc)["pid"]
    port = orthanc.extra_config["Kerma.Hl7Port"]
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_descriptors(pid) + 5, hard))  # as if 1,024 were all in use
    try:
        hogs = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(40)]
        last = hogs[-1]  # in the kernel's queue, never accepted while the listener has no descriptor left
        last.sendall(b"\x0b" + adt_update("FD0", "A^B", "19800101", "F") + b"\x1c\r")
        last.settimeout(2)
        with pytest.raises(socket.timeout):
            last.recv(100)
        assert "EMFILE" in orthanc.log_tail(2000)
        for hog in hogs:
            hog.close()
        # the descriptors come back as the queued connections are accepted and closed; meanwhile a message may get
        # "send it again" (the database needs a descriptor too), and the sender does so, as HL7 senders do
        answers, deadline = [], time.monotonic() + 20
        while not answers or answers[-1][1] != "AA":
            assert time.monotonic() < deadline, answers
            answers.append(msa(send("127.0.0.1", port, [adt_update("FD1", "A^B", "19800101", "F")], timeout=10)[0]))
        assert all(a[1] == "AE" and "send it again" in a[3] for a in answers[:-1]), answers
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert "accepting again" in orthanc.log_tail(2000)
    assert hl7_state(orthanc)["pid"] == pid  # the same process: it survived, it was not restarted


def test_an_idle_connection_is_closed_and_other_senders_are_served(orthanc):
    with socket.create_connection(("127.0.0.1", orthanc.extra_config["Kerma.Hl7Port"]), timeout=10) as idle:
        started = time.monotonic()
        assert acked(orthanc, "IDLE1") == "AA"
        assert idle.recv(100) == b""  # Kerma.Hl7IdleTimeoutSeconds: 3
        assert 3 <= time.monotonic() - started < 6


def wait_for_state(orthanc, done, timeout=30.0) -> tuple[dict, set]:
    """Poll health until ``done(hl7 state)``; return that state and every state seen meanwhile."""
    seen, deadline = set(), time.monotonic() + timeout
    while True:
        state = hl7_state(orthanc)
        seen.add(state["state"])
        if done(state):
            return state, seen
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def test_a_listener_that_cannot_listen_is_tried_again_and_health_says_why(orthanc):
    before = hl7_state(orthanc)
    os.kill(before["pid"], signal.SIGKILL)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 2
    while True:  # the port is free once the killed process is gone; take it before the next listener does
        try:
            squatter.bind(("127.0.0.1", before["port"]))
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    squatter.listen()
    try:
        state, _ = wait_for_state(orthanc, lambda s: "Address already in use" in (s["error"] or ""))
        assert state["state"] == "restarting" and state["pid"] is None
    finally:
        squatter.close()
    state, _ = wait_for_state(orthanc, lambda s: s["state"] == "listening")
    assert state["restarts"] == before["restarts"] + 2 and state["error"] is None
    assert state["last_exit"] == "exit code 1"
    assert acked(orthanc, "AFTER-SQUAT") == "AA"


def test_the_listener_is_started_again_after_kill_9_and_ends_with_orthanc(orthanc):
    before = hl7_state(orthanc)
    killed_at = dt.datetime.now(dt.timezone.utc)
    os.kill(before["pid"], signal.SIGKILL)
    state, seen = wait_for_state(orthanc, lambda s: s["state"] == "listening" and s["pid"] != before["pid"])
    assert "restarting" in seen
    assert state["restarts"] == before["restarts"] + 1 and state["last_exit"] == "killed by SIGKILL"
    assert dt.datetime.fromisoformat(state["since"]) >= killed_at
    assert acked(orthanc, "AFTER-KILL") == "AA"
    orthanc.stop()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{state['pid']}") and _not_zombie(state["pid"]):
        assert time.monotonic() < deadline, "the listener outlived Orthanc"
        time.sleep(0.1)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
