"""kill -9 of Orthanc in the middle of a C-STORE stream: after restart every stored object has exactly one record."""

import os
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from corpus import CORPUS
from dicom_factory import renamed_copy
from kerma.extract import extract
from support.orthanc import CALLING_AET, OrthancProcess, free_port
from test_orthanc_ingest import wait_until_ingested

TEMPLATES = [
    "openrem/CT-RDSR-Siemens-Multi-2.dcm",
    "openrem/RF-RDSR-Siemens-Zee.dcm",
    "openrem/MG-RDSR-Hologic_2D.dcm",
    "openrem/DX-RDSR-Canon_CXDI.dcm",
    "openrem/NM-RRDSR-Siemens.dcm",
]
COUNT = 260


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """260 dose reports with their own UIDs, and the number of events each must yield."""
    folder = tmp_path_factory.mktemp("reports")
    expected = {}
    for i in range(COUNT):
        name = TEMPLATES[i % len(TEMPLATES)]
        data = renamed_copy(CORPUS / name)
        path = folder / f"{i:04d}.dcm"
        path.write_bytes(data)
        record = extract(data)
        expected[record.sop_instance_uid] = len(record.events)
    return sorted(folder.iterdir()), expected


def _records(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT o.sop_instance_uid, COUNT(e.id) FROM dose_object o "
            "LEFT JOIN irradiation_event e ON e.dose_object_id = o.id GROUP BY o.id, o.sop_instance_uid"
        )).all()
        total = connection.execute(text("SELECT COUNT(*) FROM dose_object")).scalar()
    engine.dispose()
    return rows, total


def _stored_sop_uids(orthanc):
    session = orthanc.session()
    ids = session.get(orthanc.url + "/instances").json()
    return {session.get(f"{orthanc.url}/instances/{i}").json()["MainDicomTags"]["SOPInstanceUID"] for i in ids}


def test_kill9_mid_stream_loses_and_doubles_nothing(tmp_path, reports, database_url):
    """Runs on SQLite and on PostgreSQL (the conftest's database_url)."""
    paths, expected_events = reports
    orthanc = OrthancProcess(tmp_path / "orthanc", free_port(), free_port(), database_url)
    orthanc.start()
    try:
        sender = subprocess.Popen(
            ["storescu", "-R", "-aet", CALLING_AET, "-aec", "ORTHANC", "127.0.0.1", str(orthanc.dicom_port), *map(str, paths)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TCP_NODELAY": "1"},
        )
        session = orthanc.session()
        deadline = time.monotonic() + 60
        while session.get(orthanc.url + "/statistics").json()["CountInstances"] < COUNT // 3:
            assert time.monotonic() < deadline, "Orthanc is not receiving"
            time.sleep(0.02)
        orthanc.kill9()
        sender.wait(timeout=60)

        orthanc.start()
        wait_until_ingested(orthanc)
        stored = _stored_sop_uids(orthanc)
        rows, total = _records(database_url)
        assert COUNT // 3 <= len(stored) < COUNT, "the crash was not mid-stream"
        assert total == len(rows) == len(stored)  # one record per stored object
        assert {uid for uid, _ in rows} == stored
        assert all(events == expected_events[uid] for uid, events in rows)  # no half-written object

        # the modality sends everything again: the rest is ingested, nothing is doubled
        # (as a modality does, a broken association is retried with what was not acknowledged)
        pending = paths
        for _ in range(3):
            statuses = orthanc.store(pending)
            pending = [p for p, s in zip(pending, statuses) if s != 0]
            if not pending:
                break
        assert not pending
        wait_until_ingested(orthanc)
        rows, total = _records(database_url)
        assert total == len(rows) == COUNT
        assert all(events == expected_events[uid] for uid, events in rows)

        started = time.monotonic()
        assert orthanc.stop() == 0  # SIGTERM: daemon threads only, clean exit
        assert time.monotonic() - started < 15
    finally:
        if orthanc.process.poll() is None:  # a failed test leaves no Orthanc behind
            orthanc.kill9()
