"""The ingest worker over a scripted change log (pure code: the Orthanc side is a stand-in)."""

import time

from sqlalchemy import func, select

from conftest import new_postgres_database
from corpus import CORPUS
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import DoseObject
from kerma.db.schema import upgrade
from kerma.ingest.store import read_cursor
from kerma.ingest.worker import IngestWorker

REPORTS = ["openrem/CT-RDSR-GEPixelMed.dcm", "openrem/NM-RRDSR-Siemens.dcm", "openrem/RF-RDSR-GE.dcm"]
IMAGE = "public/ct_image/fo-dicom__GH1308.dcm"  # a CT image without CTDIvol: ignored


class ScriptedOrthanc:
    """Stands in for Orthanc's /changes log and instance store."""

    def __init__(self):
        self.log: list[dict] = []
        self.files: dict[str, bytes] = {}

    def add(self, path, change_type="NewInstance"):
        orthanc_id = f"id-{len(self.log)}"
        self.log.append({"Seq": len(self.log) + 1, "ChangeType": change_type, "ID": orthanc_id})
        if path is not None:
            self.files[orthanc_id] = (CORPUS / path).read_bytes()
        return orthanc_id

    def changes(self, since, limit):
        page = [c for c in self.log if c["Seq"] > since][:limit]
        return {"Changes": page, "Done": len(page) < limit, "Last": page[-1]["Seq"] if page else since}

    def instance_summary(self, orthanc_id):
        if orthanc_id not in self.files:
            return None
        from kerma.extract.dicomfile import read

        obj = read(self.files[orthanc_id])
        return {"sop_instance_uid": obj.text(obj.elements, 0x00080018), "sop_class_uid": obj.text(obj.elements, 0x00080016)}

    def instance_file(self, orthanc_id):
        return self.files.get(orthanc_id)


def _count(sessions, status=None):
    with sessions() as s:
        stmt = select(func.count()).select_from(DoseObject)
        if status:
            stmt = stmt.where(DoseObject.status == status)
        return s.scalar(stmt)


def test_worker_follows_the_log_in_batches(sessions):
    orthanc = ScriptedOrthanc()
    for path in REPORTS:
        orthanc.add(path)
    orthanc.add(IMAGE)
    orthanc.add(None, "StableStudy")
    gone = orthanc.add(REPORTS[0])
    del orthanc.files[gone]  # deleted from Orthanc before Kerma read it
    worker = IngestWorker(orthanc, sessions, batch_size=2)
    while worker.ingest_batch():
        pass
    assert _count(sessions, "ok") == 3
    assert _count(sessions, "ignored") == 1
    with sessions() as s:
        assert read_cursor(s) == len(orthanc.log)


def test_worker_survives_a_database_outage(postgres):
    """A real PostgreSQL server stops under the worker, then comes back: the worker catches up."""
    database_url = new_postgres_database(postgres)
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    orthanc = ScriptedOrthanc()
    orthanc.add(REPORTS[0])
    worker = IngestWorker(orthanc, sessions, poll_seconds=0.2)
    worker.start()
    try:
        _wait(lambda: _count(sessions, "ok") == 1)
        postgres.stop()
        for path in REPORTS[1:]:
            orthanc.add(path)
        worker.wake()
        _wait(lambda: worker.last_error is not None)
        postgres.start()
        _wait(lambda: worker.last_error is None and worker.cursor == len(orthanc.log), timeout=60)
        assert _count(sessions, "ok") == 3
    finally:
        worker.stop()
        engine.dispose()


def _wait(condition, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:
            pass
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)
