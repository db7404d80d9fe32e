"""Two Orthanc nodes sharing one PostgreSQL index (Debian's orthanc-postgresql) and one dose database (kerma.lease).

C-STORE to both at once, ``kill -9`` of the node holding Kerma's lease while it ingests: the other node takes over
once the lease has expired (the time is measured and printed; the lease's length bounds it), and every instance in
Orthanc's shared index ends up recorded exactly once, with all its events.
"""

import os
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from conftest import new_postgres_database
from corpus import CORPUS
from dicom_factory import renamed_copy
from kerma.extract import extract
from support.orthanc import CALLING_AET, OrthancProcess, free_port
from test_orthanc_ingest import wait_until_ingested

INDEX_PLUGIN = "/usr/lib/orthanc/libOrthancPostgreSQLIndex.so.4.0"  # Debian's orthanc-postgresql (scripts/setup.sh --dev)
PLUGINS = ["/usr/share/orthanc/plugins/libOrthancPython.so", "/usr/share/orthanc/plugins/libServeFolders.so", INDEX_PLUGIN]
LEASE_SECONDS = 6.0  # renewed every 2 s: a take-over within 6 + 2 s of the holder's death, plus a poll
TEMPLATES = ["openrem/CT-RDSR-Siemens-Multi-2.dcm", "openrem/RF-RDSR-Siemens-Zee.dcm", "openrem/MG-RDSR-Hologic_2D.dcm",
             "openrem/DX-RDSR-Canon_CXDI.dcm"]
PER_NODE = 100


def _reports(folder, prefix):
    """Dose reports with their own UIDs; the events each must yield, by SOP Instance UID."""
    folder.mkdir()
    expected = {}
    for i in range(PER_NODE):
        data = renamed_copy(CORPUS / TEMPLATES[i % len(TEMPLATES)])
        (folder / f"{prefix}{i:04d}.dcm").write_bytes(data)
        record = extract(data)
        expected[record.sop_instance_uid] = len(record.events)
    return sorted(folder.iterdir()), expected


def _node(work, name, server, index_database, dose_url):
    return OrthancProcess(work / name, free_port(), free_port(), dose_url, extra_config={
        "Plugins": PLUGINS,
        "PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "Host": "127.0.0.1", "Port": server.port,
                       "Database": index_database, "Username": server.user, "Password": server.password,
                       "Lock": False},  # several writers
        "StorageDirectory": str(work / "storage"),  # shared too: each node reads the files the other stored
        "Kerma.NodeName": name, "Kerma.LeaseSeconds": LEASE_SECONDS, "Kerma.PollSeconds": 0.5})


def _lease(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT holder, expires_at, acquired_at FROM node_lease")).first()


def _count(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM dose_object")).scalar()


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


def _storescu(node, paths):
    return subprocess.Popen(["storescu", "-aet", CALLING_AET, "-aec", "ORTHANC", "127.0.0.1", str(node.dicom_port),
                             *map(str, paths)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TCP_NODELAY": "1"})


@pytest.mark.skipif(not os.path.exists(INDEX_PLUGIN), reason="orthanc-postgresql is not installed (scripts/setup.sh --dev)")
def test_kill9_of_the_lease_holder_mid_stream(tmp_path, postgres):
    dose_url = new_postgres_database(postgres)
    index_database = new_postgres_database(postgres).rsplit("/", 1)[1]
    engine = create_engine(dose_url)
    paths_a, expected = _reports(tmp_path / "to-a", "a")
    paths_b, expected_b = _reports(tmp_path / "to-b", "b")
    expected.update(expected_b)
    a = _node(tmp_path, "node-a", postgres, index_database, dose_url).start(timeout=120)
    b = None
    try:
        _wait(lambda: (_lease(engine) or [None])[0] == "node-a", 30, "node-a never took the lease")
        b = _node(tmp_path, "node-b", postgres, index_database, dose_url).start(timeout=120)
        senders = [_storescu(a, paths_a), _storescu(b, paths_b)]
        # mid-stream: node-a (the holder) has recorded some of what both nodes received, not all
        _wait(lambda: _count(engine) >= 20, 60, "node-a does not ingest")
        holder, expires_at, _ = _lease(engine)
        a.kill9()
        killed = time.monotonic()
        recorded_at_kill = _count(engine)
        taken = _wait(lambda: (row := _lease(engine)) and row[0] == "node-b" and row, 4 * LEASE_SECONDS,
                      "node-b did not take the lease over")
        take_over_s = time.monotonic() - killed
        print(f"\nnode-b took over {take_over_s:.1f} s after kill -9 of node-a (lease {LEASE_SECONDS:g} s, "
              f"renewed every {LEASE_SECONDS / 3:g} s; {recorded_at_kill} of {2 * PER_NODE} recorded at the kill)")
        assert holder == "node-a" and recorded_at_kill < 2 * PER_NODE, "the kill was not mid-stream"
        # only once node-a's lease had expired, not before (the database's record of both)
        assert taken[2] >= expires_at

        for sender in senders:
            sender.wait(timeout=120)
        # the modality whose node died sends again through the other node, as behind a load balancer
        assert set(b.store(paths_a)) == {0}
        wait_until_ingested(b, timeout=120)
        session = b.session()
        stored = {session.get(f"{b.url}/instances/{i}").json()["MainDicomTags"]["SOPInstanceUID"]
                  for i in session.get(b.url + "/instances").json()}
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT o.sop_instance_uid, COUNT(DISTINCT o.id), COUNT(e.id) FROM dose_object o "
                "LEFT JOIN irradiation_event e ON e.dose_object_id = o.id GROUP BY o.sop_instance_uid")).all()
        assert stored == set(expected)  # the shared index holds what both nodes received
        assert {uid for uid, _, _ in rows} == stored
        assert all(objects == 1 for _, objects, _ in rows)  # exactly once
        assert all(events == expected[uid] for uid, _, events in rows)  # no half-written object
        assert b.stop() == 0
    finally:
        for node in (a, b):
            if node is not None and node.process is not None and node.process.poll() is None:
                node.kill9()
        engine.dispose()
