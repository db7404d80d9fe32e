"""The registry outbox without Orthanc (both engines): a report that cannot be sent (no longer in Orthanc, not
readable) is ``failed`` with its reason and holds up no other; a registry that refuses leaves the rest pending;
each report is sent once however often the sender runs."""

import datetime as dt

import pytest
from sqlalchemy import select

from kerma import clock
from kerma.config import RegistrySettings
from kerma.db.models import DoseObject, RegistrySubmission
from kerma.ingest.worker import IngestWorker
from kerma.output.registry import NotSent, RegistrySender
from test_worker import ScriptedOrthanc

REPORTS = ["openrem/CT-RDSR-GEPixelMed.dcm", "openrem/DX-RDSR-Canon_CXDI.dcm", "openrem/MG-RDSR-Hologic_2D.dcm"]


class FakeRegistry:
    def __init__(self, files):
        self.files, self.stored, self.down = files, [], False

    def instance_file(self, orthanc_id):
        return self.files.get(orthanc_id)

    def store(self, modality, data):
        if self.down:
            raise ConnectionRefusedError("registry down")
        self.stored.append((modality, data))


def rows(sessions):
    with sessions() as s:
        return {r.dose_object_id: (r.status, r.attempts, r.last_error)
                for r in s.scalars(select(RegistrySubmission))}


def test_a_report_that_cannot_be_sent_fails_alone_and_the_rest_is_sent_once(sessions):
    orthanc = ScriptedOrthanc()
    ids = [orthanc.add(p) for p in REPORTS]
    worker = IngestWorker(orthanc, sessions, batch_size=10)
    while worker.ingest_batch():
        pass
    registry = FakeRegistry(dict(orthanc.files))
    del registry.files[ids[0]]                               # deleted from Orthanc before it was sent
    sender = RegistrySender(sessions, registry, RegistrySettings("registry"), lambda: bytes(32))
    try:
        with clock.use(clock.starting_at(dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc))):
            registry.down = True
            with pytest.raises(NotSent):
                sender.tick()
            state = rows(sessions)
            assert sorted(s for s, _, _ in state.values()) == ["failed", "pending", "pending"]
            assert [e for s, _, e in state.values() if s == "failed"][0].startswith("LookupError")
            assert sum(a for s, a, _ in state.values() if s == "pending") == 1  # the second waits for the first
            registry.down = False
            sender.tick()
            sender.tick()
    finally:
        sender.stop()
    state = rows(sessions)
    assert sorted(s for s, _, _ in state.values()) == ["failed", "sent", "sent"]
    assert len(registry.stored) == 2 and {m for m, _ in registry.stored} == {"registry"}
    with sessions() as s:
        assert s.scalar(select(DoseObject.orthanc_id).join(RegistrySubmission).where(
            RegistrySubmission.status == "failed")) == ids[0]
