"""One bad object never blocks ingestion (both engines): over-long text is stored, identifiers shortened with a
warning, and a batch the database refuses is split until the one object it refuses has its error row."""

import random
import string
from dataclasses import replace

from sqlalchemy import select

from kerma import clock
from kerma.api import Context, Request, handle
from kerma.db.models import AuditEntry, DoseObject, IrradiationEvent, Study
from kerma.db.received import shorten
from kerma.ingest.store import Deletion, Processed, read_cursor, store_batch
from kerma.ingest.worker import IngestWorker
from kerma.record import DoseRecord
from records_factory import ct_study, typed, uid
from test_worker import ScriptedOrthanc

LONG = 3000  # beyond every limit a column had, and beyond what a PostgreSQL index entry may hold
_random = random.Random(10)
TEXT_FIELDS = {
    "patient": ("patient_id", "name", "sex"),
    "study": ("accession_number", "study_id", "study_time", "study_description", "requested_procedure",
              "performed_procedure", "procedure_reported", "institution_name", "department"),
    "device": ("manufacturer", "model", "station_name", "serial_number", "software_versions", "device_observer_uid"),
}


def noise(length: int = LONG) -> str:
    """Text that does not compress (an index entry cannot shrink it below PostgreSQL's limit)."""
    return "".join(_random.choice(string.ascii_letters + string.digits + " ^") for _ in range(length))


def over_long_record() -> DoseRecord:
    """A CT record with an over-long value in every text field Kerma stores, NUL and a lone surrogate included."""
    record = ct_study("2026-05-04", "CT-LONG", "Abdomen", [10.0], [300.0]).as_dict()
    record["sop_instance_uid"] = uid("2.25." + "7" * 90)
    record["study_instance_uid"] = uid("2.25." + "8" * 90)
    record["series_instance_uid"] = uid("2.25." + "9" * 90)
    record["modality"] = "CT"
    for part, keys in TEXT_FIELDS.items():
        record[part].update({key: noise() for key in keys})
    record["study"]["study_description"] = noise() + "\x00" + "\udc80"  # NUL padding and an undecodable byte
    record["device"]["software_versions"] = noise(925)  # the Software Versions that stopped ingestion on PostgreSQL
    for event in record["events"]:
        event.update(protocol=noise(), comment=noise(), target_region=noise(), irradiation_event_uid=uid("2.25." + "6" * 90))
    return typed(record)


def run(sessions, records: list[dict]) -> IngestWorker:
    worker = IngestWorker(ScriptedOrthanc(), sessions)
    worker.store([Processed(seq, f"orthanc-{seq}", record) for seq, record in enumerate(records, 1)], len(records))
    return worker


def rows(sessions) -> dict[str, DoseObject]:
    with sessions() as s:
        return {row.orthanc_id: row for row in s.scalars(select(DoseObject))}


def test_over_long_text_in_every_field_is_stored_or_shortened_with_a_warning(sessions):
    good = [ct_study("2026-05-04", "CT-A", "Head", [50.0], [800.0]) for _ in range(5)]
    long = [over_long_record() for _ in range(3)]
    records = [good[0], long[0], good[1], good[2], long[1], good[3], long[2], good[4]]
    run(sessions, records)
    stored = rows(sessions)
    assert [stored[f"orthanc-{seq}"].status for seq in range(1, 9)] == ["ok"] * 8
    with sessions() as s:
        assert read_cursor(s) == 8
        for record in long:
            study = s.scalars(select(Study).where(Study.study_instance_uid == record.study_instance_uid)).one()
            assert study.study_instance_uid == shorten(record.study_instance_uid, 64)
            assert study.study_description == record.study.study_description[:LONG] + "\ufffd"  # whole, NUL dropped
            assert study.patient_name == record.patient.name and study.department == record.study.department
            assert study.patient_id == shorten(record.patient.patient_id, 64)
            obj = s.scalars(select(DoseObject).where(DoseObject.sop_instance_uid == record.sop_instance_uid)).one()
            assert obj.software_versions == record.device.software_versions
            assert obj.station_name == shorten(record.device.station_name, 128)
            warned = " ".join(obj.warnings)
            for field in ("sop_instance_uid", "study_instance_uid", "patient_id", "accession_number", "station_name",
                          "manufacturer", "model", "serial_number", "protocol", "irradiation_event_uid"):
                assert f"{field} has " in warned, field
            (event,) = s.scalars(select(IrradiationEvent).where(IrradiationEvent.dose_object_id == obj.id)).all()
            assert event.comment == record.events[0]["comment"] and event.target_region == record.events[0]["target_region"]
            assert event.protocol == shorten(record.events[0]["protocol"], 256)
    context = Context(sessions)
    for record in long:  # reachable by the UID as sent and as stored
        for key in (record.study_instance_uid, shorten(record.study_instance_uid, 64)):
            status, answer = handle(context, Request("GET", f"studies/{key}"))
            assert status == 200 and answer["study_instance_uid"] == shorten(record.study_instance_uid, 64)


def test_a_batch_the_database_refuses_is_split_and_only_the_bad_objects_get_error_rows(sessions):
    records = [ct_study("2026-05-04", "CT-A", "Head", [50.0], [800.0 + i]) for i in range(20)]
    bad_date = ct_study("2026-05-04", "CT-A", "Head", [50.0], [800.0])
    bad_date = replace(bad_date, study=replace(bad_date.study, study_date="2026-02-30"))  # an extractor bug: no such
    # day (Python refuses it while storing)
    huge = ct_study("2026-05-04", "CT-A", "Head", [50.0], [800.0])
    huge = replace(huge, totals=huge.totals.changed(event_count=2 ** 70))  # no integer column of either database holds it
    records[3], records[15] = bad_date, huge
    worker = run(sessions, records)
    stored = rows(sessions)
    assert len(stored) == 20
    errors = {seq for seq in range(1, 21) if stored[f"orthanc-{seq}"].status == "error"}
    assert errors == {4, 16}
    assert "day is out of range for month" in stored["orthanc-4"].reason
    assert stored["orthanc-16"].reason.startswith("its records could not be stored: ")
    assert stored["orthanc-4"].sop_instance_uid == bad_date.sop_instance_uid
    assert all(row.status == "ok" for key, row in stored.items() if key not in ("orthanc-4", "orthanc-16"))
    with sessions() as s:
        assert read_cursor(s) == 20
        assert s.scalar(select(Study.id).where(Study.study_instance_uid == huge.study_instance_uid)) is None
    assert worker.last_error is None


class OrthancException(Exception):
    """What Orthanc's Python SDK raises when it cannot resolve a resource (the edge lets it through)."""


class FailingOrthanc(ScriptedOrthanc):
    """Orthanc cannot resolve one instance's metadata, and cannot read another's file."""

    def __init__(self):
        super().__init__()
        self.unresolved: set[str] = set()
        self.unreadable: set[str] = set()

    def instance_summary(self, orthanc_id):
        if orthanc_id in self.unresolved:
            raise OrthancException(17, "Unknown resource")
        return super().instance_summary(orthanc_id)

    def instance_file(self, orthanc_id):
        if orthanc_id in self.unreadable:
            raise OrthancException(9, "Bad file format")
        return super().instance_file(orthanc_id)


def test_orthanc_lookups_that_raise_give_that_object_its_error_row(sessions):
    orthanc = FailingOrthanc()
    ids = [orthanc.add(path) for path in ("openrem/CT-RDSR-GEPixelMed.dcm", "openrem/NM-RRDSR-Siemens.dcm",
                                           "openrem/RF-RDSR-GE.dcm", "openrem/CT-RDSR-Siemens-Multi-2.dcm")]
    orthanc.unresolved.add(ids[1])
    orthanc.unreadable.add(ids[2])
    worker = IngestWorker(orthanc, sessions)
    while worker.ingest_batch():
        pass
    stored = rows(sessions)
    assert [stored[i].status for i in ids] == ["ok", "error", "error", "ok"]
    assert "OrthancException: (17, 'Unknown resource')" in stored[ids[1]].reason
    assert "Bad file format" in stored[ids[2]].reason
    assert stored[ids[2]].sop_instance_uid.startswith("1.")  # the summary Orthanc gave is kept
    with sessions() as s:
        assert read_cursor(s) == 4


def test_deletions_in_pacs_mark_the_records_or_purge_them_audited(sessions):
    kept, purged = ct_study("2026-05-04", "CT-A", "Head", [50.0], [800.0]), ct_study("2026-05-04", "CT-A", "Head", [50.0], [900.0])
    moment = clock.now()
    with sessions() as s, s.begin():
        store_batch(s, [Processed(1, "orthanc-1", kept), Processed(2, "orthanc-2", purged)], last_seq=2)
    with sessions() as s, s.begin():
        store_batch(s, [], last_seq=3, deleted=[Deletion("orthanc-1", moment)])
    with sessions() as s, s.begin():
        store_batch(s, [], last_seq=4, deleted=[Deletion("orthanc-2", moment)], purge_deleted=True)
    stored = rows(sessions)
    assert set(stored) == {"orthanc-1"} and stored["orthanc-1"].deleted_in_pacs_at is not None
    with sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "dose_object.purge")).all()
        assert entry.target_id == purged.sop_instance_uid and entry.before["orthanc_id"] == "orthanc-2"
        status, answer = handle(Context(sessions), Request("GET", f"studies/{kept.study_instance_uid}"))
        assert status == 200 and answer["deleted_in_pacs_at"] and answer["dose_objects"][0]["deleted_in_pacs_at"]
    with sessions() as s, s.begin():  # Orthanc stores the same instance again: it is back in PACS
        store_batch(s, [Processed(5, "orthanc-1", kept)], last_seq=5)
    assert rows(sessions)["orthanc-1"].deleted_in_pacs_at is None
