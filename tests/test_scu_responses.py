"""The tests' SCU associations get every answer even when pynetdicom's reactor thread runs at the worst moment
(support/dimse.py): C-STOREs into DCMTK's storescp, the reactor held after each pause until the next answer lands."""

import socket
import subprocess
import threading
import time

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, build_context

from support.dimse import release, responses_to_sender
from support.orthanc import free_port, wait_for_port

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


@pytest.fixture
def storescp(tmp_path):
    port = free_port()
    process = subprocess.Popen(["storescp", "--ignore", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={"TCP_NODELAY": "1"})
    wait_for_port(port)
    yield port
    process.terminate()
    process.wait()


class LateReactor(threading.Event):
    """The reactor's checkpoint: once released, the reactor thread stays off until an answer is queued (as when
    the OS gives it the CPU only then), so that its next poll of the DIMSE queue meets the answer."""

    def __init__(self, assoc):
        super().__init__()
        self.assoc = assoc
        self.set()

    def wait(self, timeout=None):
        released = super().wait(timeout)
        if threading.current_thread() is self.assoc:  # the reactor
            until = time.monotonic() + 0.05
            while self.assoc.dimse.msg_queue.empty() and time.monotonic() < until:
                pass
        return released


def test_every_c_store_is_answered_to_its_sender_with_the_reactor_at_its_worst(storescp, caplog):
    ae = AE(ae_title="KERMA-TEST")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 5
    assoc = ae.associate("127.0.0.1", storescp, contexts=[build_context(SECONDARY_CAPTURE, ExplicitVRLittleEndian)])
    assert assoc.is_established
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    responses_to_sender(assoc)
    assoc._reactor_checkpoint = LateReactor(assoc)  # without responses_to_sender a store hangs within the first ten or so
    ds = Dataset()
    ds.SOPClassUID, ds.PatientID = SECONDARY_CAPTURE, "RACE"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    statuses = []
    try:
        for _ in range(40):
            ds.SOPInstanceUID = generate_uid()
            status = assoc.send_c_store(ds)
            statuses.append(int(status.Status) if "Status" in status else None)
            if statuses[-1] is None:
                break
    finally:
        release(assoc)
    assert statuses == [0x0000] * 40
    assert "unexpected C-STORE" not in caplog.text
