"""Privacy (issue 15 §8): anonymised exports hold nothing of the source, the key lives outside the database,
HL7 data is shown redacted, and database errors carry no patient data."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kerma import access, clock
from kerma.api import Answer, Context, Request, handle
from kerma.config import Settings
from kerma.db.engine import make_engine
from kerma.db.errors import describe
from kerma.db.models import AuditEntry, PatientRecord, Setting
from kerma.hl7.receiver import Hl7Receiver
from kerma.ingest.store import Processed, store_batch
from kerma.privacy import hashed_uid, protect, pseudonym
from kerma.privacy.key import DATABASE_KEY, key, move_out_of_database, rotate
from dose_setup import exam_with_drl
from hl7_factory import message
from records_factory import ct_study, dx_study, typed
from support.orthanc import OrthancProcess

EXPORTS = [("studies", {}), ("events", {"all": "1"}), ("statistics", {"quantity": "ctdivol_mGy", "period": "all"}),
           ("statistics/above-drl", {"quantity": "ctdivol_mGy"}), ("statistics/trend", {"quantity": "ctdivol_mGy"}),
           ("devices", {}), ("statistics/examinations-per-device", {})]


def source_data_set() -> list[dict]:
    """Studies whose every identifying value is distinct and recognisable, free text with names included."""
    records = []
    for i in range(4):
        record = ct_study(f"2026-03-1{i}", "CT-A", "Abdomen", [30.0 + i, 12.0], [900.0 + i, 300.0],
                          age=37.25 + i, weight=81.5 + i, description=f"CT abdomen for Zebedee^Quimby{i}").as_dict()
        record["patient"].update(name=f"Quimby^Zebedee{i}", birth_date=f"1988-0{i + 1}-2{i}", height_m=1.783 + i / 100)
        record["study"].update(study_id=f"SID-77{i}", study_time=f"13452{i}", requested_procedure=f"Dr Xavier Ortolan {i}",
                               institution_name="St Quimby Hospital", irradiation_start=f"2026-03-1{i}T13:45:2{i}")
        record["device"]["device_observer_uid"] = f"1.2.826.0.1.3680043.2.9999.{i}"
        for event in record["events"]:
            event.update(comment=f"operator Yolanda Prewitt{i}", datetime_started=f"2026-03-1{i}T13:46:0{i}",
                         dose_check_alert_reason_for_proceeding=f"per Dr Xavier Ortolan {i}")
        records.append(typed(record))
    child = dx_study("2026-03-15", "DX-A", "Chest PA", 0.12, age=8.5, weight=27.0)
    child = replace(child, patient=replace(child.patient, name="Quimby^Ebenezer", birth_date="2017-09-09"))
    return [*records, child]


def identifying_values(records: list[dict]) -> set[str]:
    """Every value an anonymised export must not contain: identifiers, UIDs, names (and their parts), free text,
    exact dates (ISO and DICOM), times, ages, weights and heights of the source."""
    found = set()
    for r in records:
        patient, study = r.patient, r.study
        found |= {patient.patient_id, study.accession_number, r.study_instance_uid, r.sop_instance_uid,
                  r.series_instance_uid, r.device.device_observer_uid, study.study_id,
                  study.study_time, study.irradiation_start, study.requested_procedure,
                  study.study_description, study.institution_name}
        if r.modality == "CT":  # exact age, weight and height (distinctive numbers here) appear only as bands
            found |= {str(patient.age_years), str(patient.weight_kg), str(patient.height_m)}
        for name in filter(None, (patient.name,)):
            found |= {name, *name.split("^")}
        for day in filter(None, (study.study_date, patient.birth_date)):
            found |= {day, day.replace("-", "")}
        for event in r.events:
            found |= {event["irradiation_event_uid"], event.get("comment"), event.get("datetime_started"),
                      event.get("dose_check_alert_reason_for_proceeding")}
    return {v for v in found if v and v not in ("CT", "XR")}


def cells(answer) -> list[str]:
    """Every cell of an export, as text: CSV cells, or every key and value of the JSON."""
    if isinstance(answer, Answer):
        return [cell for row in csv.reader(io.StringIO(answer.text)) for cell in row]
    out = []

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                out.append(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif value is not None:
            out.append(str(value))

    walk(answer)
    return out


@pytest.fixture
def exporter(sessions, tmp_path):
    records = source_data_set()
    with sessions() as session, session.begin():
        exam_with_drl(session, "CT-ABD", "CT abdomen", "CT", {"field": "protocol", "op": "contains", "value": "abdomen"},
                      quantity="ctdivol_mGy", value=20.0, level="exposure")
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"orthanc-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
    settings = replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "keys" / "kerma.key"))
    ctx = Context(sessions, settings=settings)

    def call(path, query=None, roles=(access.ADMIN,)):
        return handle(ctx, Request("GET", path, query or {}, None, "mpe", roles=frozenset(roles)))

    call.records, call.sessions, call.settings = records, sessions, settings
    return call


def test_anonymised_exports_hold_no_identifier_uid_exact_date_or_name_of_the_source(exporter):
    forbidden = identifying_values(exporter.records)
    for path, query in EXPORTS:
        for fmt in ("json", "csv"):
            status, answer = exporter(path, {**query, "anonymise": "1", "format": fmt})
            assert status == 200, (path, answer)
            leaked = sorted({(cell, value) for cell in cells(answer) for value in forbidden if value in cell})
            assert leaked == [], (path, fmt, leaked[:5])
            if fmt == "csv":
                assert answer.filename.endswith("-anonymised.csv")
                rows = list(csv.DictReader(io.StringIO(answer.text)))
            else:
                assert answer["privacy"] == "anonymised"
                rows = next(v for v in answer.values() if isinstance(v, list))
            assert rows and all(row["privacy"] == "anonymised" for row in rows), path
    with exporter.sessions() as session:  # every file is audited as anonymised
        files = [e.after.get("privacy") for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "data.export"))]
    assert files == ["anonymised"] * len(EXPORTS)
    events = exporter("events", {"anonymise": "1"})[1]["events"]
    # what stays useful: doses, months, bands, UIDs hashed consistently (an event's study is still its study)
    assert sorted(e["ctdivol_mGy"] for e in events if e["ctdivol_mGy"] in (30.0, 31.0, 32.0, 33.0)) == [30.0, 31.0, 32.0, 33.0]
    assert {e["study_date"] for e in events} == {"2026-03"}
    assert {e["patient_age_band_years"] for e in events} == {"30-<40", "40-<50", "5-<10"}
    assert "patient_age_years" not in events[0] and "patient_weight_kg" not in events[0]
    studies = exporter("studies", {"anonymise": "1"})[1]["studies"]
    by_hash = {s["study_instance_uid"] for s in studies}
    assert {e["study_instance_uid"] for e in events} == by_hash and all(u.startswith("2.25.") for u in by_hash)
    patient = set(studies[0]["patient"])
    assert {"sex", "age_band_years", "height_band_m", "weight_band_kg"} <= patient
    assert not patient & {"patient_id", "name", "birth_date", "age_years", "weight_kg", "height_m"}


def test_pseudonymised_exports_and_the_study_list_honour_the_flag(exporter):
    records = exporter.records
    ids = {r.patient.patient_id for r in records}
    status, answer = exporter("studies", {"pseudonymise": "1"})
    assert status == 200 and answer["privacy"] == "pseudonymised"
    secret = key(exporter.settings)
    assert {s["patient"]["patient_id"] for s in answer["studies"]} == {pseudonym(secret, i) for i in ids}
    assert all(s["patient"].get("name") is None and "birth_date" not in s["patient"] for s in answer["studies"])
    assert exporter("studies")[1]["privacy"] == "identified"
    assert exporter("studies", {"pseudonymise": "1", "anonymise": "1"})[0] == 400
    with exporter.sessions() as session:  # each read of patient data is audited with how it was protected
        audited = [(e.action, e.after["privacy"]) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == "studies").order_by(AuditEntry.id))]
    assert audited == [("data.read", "pseudonymised"), ("data.read", "identified")]


def test_the_key_is_a_file_of_mode_0600_outside_the_database_and_rotation_keeps_old_exports(exporter, database_url):
    path = exporter.settings.pseudonymisation_key_file
    assert not os.path.exists(path)
    first = exporter("events", {"pseudonymise": "1", "format": "csv"})[1].text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret = open(path).read().strip()
    assert exporter("events", {"pseudonymise": "1", "format": "csv"})[1].text == first  # stable pseudonyms
    engine = make_engine(database_url)
    with engine.connect() as connection:  # the key in no table, nor in any text of the database
        assert connection.execute(select(Setting).where(Setting.name == DATABASE_KEY)).first() is None
        for table in ("kerma_setting", "audit_entry"):
            assert secret not in json.dumps([list(map(str, r)) for r in connection.execute(text(f"SELECT * FROM {table}"))])
    engine.dispose()
    retired = rotate(Path(path), clock.now())
    assert stat.S_IMODE(os.stat(retired).st_mode) == 0o600 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert open(retired).read().strip() == secret and open(path).read().strip() != secret
    second = exporter("events", {"pseudonymise": "1", "format": "csv"})[1].text
    assert second != first  # new pseudonyms after rotation ...
    # ... and the earlier export is still what the retired key gives
    ids = {r.patient.patient_id for r in exporter.records}
    assert {r["patient_id"] for r in csv.DictReader(io.StringIO(first))} == {pseudonym(bytes.fromhex(secret), i) for i in ids}


def test_a_key_file_readable_by_others_is_closed(tmp_path):
    path = tmp_path / "kerma.key"
    path.write_text("ab" * 32)
    path.chmod(0o644)
    assert key(replace(Settings.defaults(), pseudonymisation_key_file=str(path))) == bytes.fromhex("ab" * 32)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_earlier_versions_kept_in_the_database_moves_to_the_key_file(sessions, tmp_path):
    old = "cd" * 32
    settings = replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key"))
    with sessions() as session, session.begin():
        session.add(Setting(name=DATABASE_KEY, value=old))
    with sessions() as session, session.begin():
        assert "moved from the database" in move_out_of_database(session, settings)
    with sessions() as session:
        assert session.get(Setting, DATABASE_KEY) is None
        assert move_out_of_database(session, settings) is None
    assert key(settings) == bytes.fromhex(old)  # earlier pseudonyms stay valid
    assert stat.S_IMODE((tmp_path / "kerma.key").stat().st_mode) == 0o600
    # a site that already has another key keeps the database's one beside it
    with sessions() as session, session.begin():
        session.add(Setting(name=DATABASE_KEY, value="ef" * 32))
    with sessions() as session, session.begin():
        assert "kept in" in move_out_of_database(session, settings)
    assert (tmp_path / "kerma.key.from-database").read_text().strip() == "ef" * 32 and key(settings) == bytes.fromhex(old)


def test_uid_hashes_are_valid_uids_and_found_within_any_text():
    secret, source = b"k" * 32, "1.2.840.113619.2.55.3.2831178355.1"
    uid = hashed_uid(secret, source)
    assert uid.startswith("2.25.") and len(uid) <= 64 and all(part.isdigit() for part in uid.split("."))
    row = {"folded_key": f"acquisition:{source}:1:images", "note": "uuid 2.25.329800735698586629295641978511506172918",
           "software_versions": "VB20A 1.2.3.4", "anything": {"deep": [source]}}
    protected = protect("anonymised", secret, row)
    assert protected["folded_key"] == f"acquisition:{uid}:1:images" and protected["anything"] == {"deep": [uid]}
    assert "329800735698586629295641978511506172918" not in protected["note"]
    assert protected["software_versions"] == "VB20A 1.2.3.4"  # a version number is no UID


HIS_MESSAGE = message(
    "EVN|A08",
    "PID|1||NID-123-45-6789^^^NATIONAL^NI~MRN-4711^^^HOSP^MR~INS-99^^^INSURER^MB||Plumtree^Wilhelmina||19610704|F|||"
    "12 Larkspur Lane^^Quimbyville^^99999||555-0101|555-0199||||ACC-NOT-HERE|SSN-000-11-2222",
    "NK1|1|Plumtree^Bartholomew|SPO|12 Larkspur Lane^^Quimbyville|555-0102",
    "PV1|1|O|RAD^101",
    "DG1|1||C34.1^Malignant neoplasm of upper lobe^I10",
    "OBX|1|NM|29463-7^Body weight^LN||71|kg",
    "OBX|2|ST|11450-4^Problem list^LN||HIV positive")
WITHHELD_VALUES = ["NID-123-45-6789", "INS-99", "Larkspur", "555-0101", "555-0199", "Bartholomew", "C34.1", "neoplasm",
                   "SSN-000-11-2222", "HIV"]


def test_hl7_messages_and_patients_are_shown_redacted_unless_an_admin_asks(sessions):
    assert Hl7Receiver(sessions)(HIS_MESSAGE).split(b"MSA|")[1][:2] == b"AA"
    ctx = Context(sessions)

    def call(path, query=None, roles=(access.ADMIN,)):
        return handle(ctx, Request("GET", path, query or {}, None, "admin", roles=frozenset(roles)))

    (listed,) = call("hl7/messages")[1]["messages"]
    status, shown = call(f"hl7/messages/{listed['id']}")
    assert status == 200 and shown["redacted"] is True and "MRN-4711" in shown["message"]
    assert [v for v in WITHHELD_VALUES if v in shown["message"]] == []
    assert {"NK1", "DG1", "PID-11", "PID-13", "PID-14", "PID-19", "PID-3 (2 of 3 identifiers)"} <= set(shown["withheld"])
    assert "29463-7" in shown["message"] and "11450-4" not in shown["message"]  # weight kept, other observations not
    status, raw = call(f"hl7/messages/{listed['id']}", {"raw": "1"})
    assert status == 200 and raw["redacted"] is False and all(v in raw["message"] for v in WITHHELD_VALUES)
    status, patient = call("hl7/patients/MRN-4711")
    assert status == 200 and patient["identifiers"] == [{"id": "MRN-4711", "authority": "HOSP", "type": "MR"}]
    assert patient["identifiers_withheld"] == 2 and "NID-123-45-6789" not in json.dumps(patient)
    every = call("hl7/patients/MRN-4711", {"raw": "true"})[1]["identifiers"]
    assert {i["id"] for i in every} == {"NID-123-45-6789", "MRN-4711", "INS-99"}
    assert call("hl7/patients/MRN-4711", roles=(access.PHYSICIST,))[0] == 403
    with sessions() as session:
        raw_reads = [(e.action, e.actor) for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("%read_raw")))]
        assert session.scalars(select(PatientRecord)).one().identifiers[0]["id"] == "NID-123-45-6789"  # kept as received
    assert raw_reads == [("hl7_message.read_raw", "admin"), ("patient_record.read_raw", "admin")]


def test_database_errors_carry_no_statement_parameters(sessions):
    with sessions() as session, session.begin():
        session.add(PatientRecord(patient_id="PID-SECRET-1", name="Quackenbush^Ottoline"))
    with pytest.raises(IntegrityError) as failure:
        with sessions() as session, session.begin():  # the same patient ID again: PostgreSQL's DETAIL quotes it
            session.add(PatientRecord(patient_id="PID-SECRET-1", name="Quackenbush^Ottoline"))
    assert "Quackenbush" not in str(failure.value) and "parameters hidden" in str(failure.value)
    described = describe(failure.value)  # what the log and health show
    assert "PID-SECRET-1" not in described and "Quackenbush" not in described
    assert described.startswith("IntegrityError: ") and "patient_id" in described  # which constraint, still
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":  # SQLite converts without complaint
            with pytest.raises(DBAPIError) as failure:
                session.execute(text("SELECT CAST(:v AS integer)"), {"v": "Quackenbush"})
            assert "Quackenbush" in str(failure.value.orig)  # the server quotes the value it could not convert ...
            assert "Quackenbush" not in describe(failure.value)  # ... what is logged does not


def test_a_patient_name_in_orthancs_log_is_caught(tmp_path, sessions, database_url):
    record = ct_study("2026-03-01", "CT-A", "Head", [50.0], [800.0])
    record = replace(record, patient=replace(record.patient, name="Featherstonehaugh^Perpetua"))
    with sessions() as session, session.begin():
        store_batch(session, [Processed(1, "orthanc-1", record)], last_seq=1)
    orthanc = OrthancProcess(tmp_path, 1, 2, database_url)
    (tmp_path / "orthanc.log").write_text("W Kerma: something about Featherstonehaugh Perpetua\nI fine\n")
    assert orthanc.patient_names_in_log() == ["W Kerma: something about Featherstonehaugh Perpetua"]
    (tmp_path / "orthanc.log").write_text("I fine\n")
    assert orthanc.patient_names_in_log() == []
