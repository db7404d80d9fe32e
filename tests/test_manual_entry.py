"""Doses entered by hand (issue 12 §3): POST/PUT/DELETE studies/{uid}/manual on both engines.

A manual entry is a record with source ``manual`` at the lowest precedence, in the quantity's unit (converted
from the unit typed), audited with before and after; impossible values are refused, unusual ones need a
confirmation; corrections and deletions need a reason.
"""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from corpus import CORPUS, EXPECTED
from kerma import access, clock
from kerma.api import Context
from kerma.api.http import serve
from kerma.db.models import AuditEntry, DoseObject, ManualEntry, Study
from kerma.extract import extract, plausible
from kerma.ingest.store import Processed, store_batch
from kerma.manual.quantities import table
from kerma.pipeline import refresh_due

WRITE = {"Content-Type": "application/json", "X-Requested-With": "kerma"}
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)
NEW_UID = "1.2.826.0.1.3680043.8.498.1234567890"
RF_REPORT = "openrem/RF-RDSR-Siemens-Zee.dcm"
C_ARM = {"manufacturer": "Ziehm", "model": "Vision RFD", "station_name": "MOBILE-CARM-2"}


def entry(**changes) -> dict:
    body = {"quantity": "dap_total_Gycm2", "value": 1.5, "unit": "Gy.cm2", "modality": "RF",
            "performed_at": "2026-11-20T09:15:00+01:00", "performed_by": "J. Radiographer", "device": C_ARM,
            "study_date": "2026-11-20"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def api(sessions):
    ctx = Context(sessions)

    def call(method, path, body=None, roles=(access.RADIOGRAPHER,), query=None, key=None, raw=None):
        headers = {**WRITE, **({"Idempotency-Key": key} if key else {})}
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        with clock.use(clock.starting_at(NOW)):
            response = serve(ctx, method, path, query or {}, headers, data, "alice", frozenset(roles))
        with sessions() as session, session.begin():
            refresh_due(session)  # what the ingest worker does between batches
        return response.status, json.loads(response.body)

    call.sessions = sessions
    return call


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def audit_rows(sessions, uid) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.target_id == uid,
                                                             AuditEntry.action.startswith("manual_entry"))
                                    .order_by(AuditEntry.id)))


def study(api, uid=NEW_UID) -> dict:
    status, answer = api("GET", f"studies/{uid}", roles=(access.VIEWER,))
    assert status == 200, answer
    return answer


def store_report(sessions, path) -> dict:
    record = extract((CORPUS / path).read_bytes())
    with sessions() as session, session.begin():
        store_batch(session, [Processed(1, "orthanc-rf", record)], 1)
    return record


def test_an_entry_for_a_study_kerma_does_not_know_creates_it_with_a_manual_record(api):
    status, answer = api("POST", f"studies/{NEW_UID}/manual", entry())
    assert status == 200, answer
    assert (answer["quantity"], answer["value"], answer["unit"], answer["modality"]) == ("dap_total_Gycm2", 1.5, "Gy.cm2", "RF")
    assert answer["performed_at"] == "2026-11-20T08:15:00+00:00" and answer["performed_by"] == "J. Radiographer"
    assert answer["created_by"] == "alice" and answer["record"]["source"] == "manual"
    shown = study(api)
    assert shown["study_date"] == "2026-11-20"
    assert shown["source"] == "manual" and shown["sources"] == {"RF": "manual"}
    assert shown["totals"]["dap_total_Gycm2"] == 1.5
    assert [o["source"] for o in shown["dose_objects"]] == ["manual"]
    assert shown["dose_objects"][0]["device"]["station_name"] == "MOBILE-CARM-2"
    [created] = audit_rows(api.sessions, NEW_UID)
    assert (created.actor, created.action, created.before) == ("alice", "manual_entry.create", None)
    assert created.after["value"] == 1.5 and created.after["device"]["model"] == "Vision RFD"
    _, listed = api("GET", f"studies/{NEW_UID}/manual", roles=(access.VIEWER,))
    assert [e["id"] for e in listed["entries"]] == [answer["id"]]
    assert [h["action"] for h in listed["history"]] == ["manual_entry.create"]


UNITS_TYPED = [  # value, UCUM unit, the same in Gy.cm2
    (150, "cGy.cm2", 1.5),  # 1 cGy = 0.01 Gy
    (1500, "mGy.cm2", 1.5),
    (150, "uGy.m2", 1.5),  # 1 uGy.m2 = 1e-6 Gy x 1e4 cm2 = 0.01 Gy.cm2: what many C-arm displays show
    (15, "dGy.cm2", 1.5),
]


def test_the_unit_typed_is_converted_once_and_kept_beside_the_value(api):
    for index, (value, unit, in_Gycm2) in enumerate(UNITS_TYPED):
        uid = f"{NEW_UID}.{index + 1}"
        status, answer = api("POST", f"studies/{uid}/manual", entry(value=value, unit=unit))
        assert status == 200, answer
        assert answer["value"] == pytest.approx(in_Gycm2, rel=1e-12)
        assert (answer["entered_value"], answer["entered_unit"]) == (value, unit)
        assert study(api, uid)["totals"]["dap_total_Gycm2"] == pytest.approx(in_Gycm2, rel=1e-12)


def test_a_value_outside_the_usual_range_needs_a_confirmation_and_says_so_on_the_record(api):
    usual = table()["dap_total_Gycm2"]
    status, answer = api("POST", f"studies/{NEW_UID}/manual", entry(value=720.0))
    assert status == 409, answer
    assert answer["confirm_outlier"] == "needed" and answer["usual"]["max"] == usual.usual_max == 500
    assert "above the usual range" in answer["error"]
    assert count(api.sessions, ManualEntry) == count(api.sessions, DoseObject) == count(api.sessions, Study) == 0
    assert audit_rows(api.sessions, NEW_UID) == []
    status, answer = api("POST", f"studies/{NEW_UID}/manual", entry(value=720.0, confirm_outlier=True))
    assert status == 200, answer
    assert answer["outlier_confirmed"] is True
    assert any("confirmed by the person entering it" in w for w in answer["record"]["warnings"])
    assert study(api)["totals"]["dap_total_Gycm2"] == 720.0
    [created] = audit_rows(api.sessions, NEW_UID)
    assert created.note.startswith("confirmed: DAP 720 Gy.cm2 is above the usual range")
    # too small is unusual too: 1.5 typed in Gy.cm2 where the display said uGy.m2 is caught the other way round
    assert api("POST", f"studies/{NEW_UID}/manual", entry(quantity="fluoro_time_total_s", value=0.05, unit="s"))[0] == 409


REFUSED = [  # what the body changes, what the answer says
    ({"value": 2e6}, "above the plausible maximum"),  # beyond any device, confirmed or not
    ({"value": -1.0}, "below the plausible minimum"),
    ({"value": "1.5"}, "value"),
    ({"unit": "mGy"}, "is not a unit of DAP"),
    ({"unit": "furlong"}, "is not a unit of DAP"),
    ({"quantity": "kvp"}, "quantity"),
    ({"quantity": "ctdivol_mGy"}, "is a dose of CT, not of modality RF"),
    ({"modality": "US"}, "modality"),
    ({"performed_at": "2026-11-20T09:15:00"}, "offset"),
    ({"performed_at": "2026-11-21T09:15:00+00:00"}, "between 1900 and now"),
    ({"device": None}, "give the device"),
    ({"device": {"model": " "}}, "name the device"),
    ({"study_date": None}, "give its study_date"),
    ({"colour": "red"}, "unknown field"),
]


def test_impossible_or_malformed_entries_are_refused_with_the_field_and_the_reason(api):
    for changes, why in REFUSED:
        status, answer = api("POST", f"studies/{NEW_UID}/manual", entry(confirm_outlier=True, **changes))
        assert status == 400, (changes, answer)
        assert why in answer["error"], (changes, answer)
    assert count(api.sessions, ManualEntry) == count(api.sessions, Study) == 0


def test_non_finite_numbers_and_a_new_study_without_a_dicom_uid_are_refused(api):
    raw = json.dumps(entry()).replace("1.5", "NaN").encode()
    assert api("POST", f"studies/{NEW_UID}/manual", raw=raw)[0] == 400
    status, answer = api("POST", "studies/not-a-uid/manual", entry())
    assert status == 400 and "valid DICOM Study Instance UID" in answer["error"]
    assert count(api.sessions, Study) == 0


def test_any_other_source_of_the_study_wins_and_the_manual_record_stays_as_evidence(api):
    expected = next(e for e in EXPECTED if e["path"] == RF_REPORT)["totals"]  # as OpenREM read the report
    record = store_report(api.sessions, RF_REPORT)
    uid = record.study_instance_uid
    with api.sessions() as session, session.begin():
        refresh_due(session)
    status, answer = api("POST", f"studies/{uid}/manual", entry(quantity="fluoro_time_total_s", value=45, unit="s",
                                                                 study_date=None))
    assert status == 200, answer
    shown = study(api, uid)
    assert shown["sources"] == {"RF": "rdsr"}
    assert shown["totals"]["fluoro_time_total_s"] == expected["fluoro_time_total_s"] == 28.0
    assert shown["totals"]["dap_total_Gycm2"] == expected["dap_total_Gycm2"]
    assert sorted(o["source"] for o in shown["dose_objects"]) == ["manual", "rdsr"]
    assert "manual" in shown["records_by_source"]
    # a study date that is not the study's: the UID was mistyped
    status, answer = api("POST", f"studies/{uid}/manual", entry(study_date="2001-01-01"))
    assert status == 409 and "check the Study Instance UID" in answer["error"]


def test_a_report_arriving_after_the_manual_entry_takes_over(api, corpus):
    record = extract((CORPUS / RF_REPORT).read_bytes())
    uid = record.study_instance_uid
    assert api("POST", f"studies/{uid}/manual", entry(value=3.0))[0] == 200
    assert study(api, uid)["sources"] == {"RF": "manual"}
    with api.sessions() as session, session.begin():
        store_batch(session, [Processed(1, "orthanc-rf", record)], 1)
    shown = study(api, uid)
    assert shown["sources"] == {"RF": "rdsr"}
    assert shown["totals"]["dap_total_Gycm2"] == next(e for e in EXPECTED if e["path"] == RF_REPORT)["totals"]["dap_total_Gycm2"]


def test_one_total_per_quantity_and_never_a_total_with_the_exposures_that_add_up_to_it(api):
    first = api("POST", f"studies/{NEW_UID}/manual", entry())[1]
    status, answer = api("POST", f"studies/{NEW_UID}/manual", entry(value=2.0))
    assert status == 409 and f"entry {first['id']}" in answer["error"]
    status, answer = api("POST", f"studies/{NEW_UID}/manual", entry(quantity="dap_Gycm2", value=0.5))
    assert status == 409 and "count it twice" in answer["error"]
    # exposures of another quantity add up beside it
    for value in (0.4, 0.6):
        assert api("POST", f"studies/{NEW_UID}/manual", entry(quantity="ka_r_mGy", value=value, unit="mGy"))[0] == 200
    totals = study(api)["totals"]
    assert (totals["dap_total_Gycm2"], totals["ka_r_total_mGy"]) == (1.5, 1.0)


def test_a_correction_needs_a_reason_and_is_audited_with_before_and_after(api):
    created = api("POST", f"studies/{NEW_UID}/manual", entry())[1]
    path = f"studies/{NEW_UID}/manual/{created['id']}"
    status, answer = api("PUT", path, {"value": 2.5})
    assert status == 400 and "reason" in answer["error"]
    status, answer = api("PUT", path, {"value": 250, "unit": "cGy.cm2", "reason": "misread the display"})
    assert status == 200, answer
    assert (answer["value"], answer["updated_by"], answer["performed_by"]) == (2.5, "alice", "J. Radiographer")
    assert answer["record"]["sop_instance_uid"] == created["record"]["sop_instance_uid"]
    assert study(api)["totals"]["dap_total_Gycm2"] == 2.5
    update = audit_rows(api.sessions, NEW_UID)[-1]
    assert (update.action, update.note) == ("manual_entry.update", "misread the display")
    assert (update.before["value"], update.after["value"]) == (1.5, 2.5)
    assert update.after["entered_unit"] == "cGy.cm2"
    # an unusual value confirmed once stays confirmed while it stays; a new one needs its own confirmation
    assert api("PUT", path, {"value": 80000, "reason": "the display showed 800 Gy.cm2"})[0] == 409
    assert api("PUT", path, {"value": 80000, "reason": "the display showed 800 Gy.cm2", "confirm_outlier": True})[0] == 200
    status, answer = api("PUT", path, {"note": "second look", "reason": "note"})
    assert status == 200 and answer["outlier_confirmed"] is True and answer["value"] == 800
    assert api("PUT", path, {"value": 90000, "reason": "again"})[0] == 409


def test_a_deletion_needs_a_reason_removes_the_record_and_keeps_the_study_and_the_history(api):
    created = api("POST", f"studies/{NEW_UID}/manual", entry())[1]
    path = f"studies/{NEW_UID}/manual/{created['id']}"
    status, answer = api("DELETE", path)
    assert status == 400 and "reason" in answer["error"]
    status, answer = api("DELETE", path, query={"reason": "entered on the wrong study"})
    assert status == 200 and answer["deleted"]["value"] == 1.5
    assert count(api.sessions, ManualEntry) == count(api.sessions, DoseObject) == 0
    shown = study(api)
    assert shown["source"] is None and "dap_total_Gycm2" not in shown["totals"]
    deletion = audit_rows(api.sessions, NEW_UID)[-1]
    assert (deletion.action, deletion.note, deletion.after) == ("manual_entry.delete", "entered on the wrong study", None)
    assert deletion.before["value"] == 1.5
    assert api("DELETE", path, query={"reason": "again"})[0] == 404
    assert api("PUT", f"studies/1.2.3/manual/{created['id']}", {"reason": "x"})[0] == 404


def test_writes_need_the_radiographer_role_and_a_repeated_post_with_its_key_is_done_once(api):
    status, answer = api("POST", f"studies/{NEW_UID}/manual", entry(), roles=(access.VIEWER,))
    assert status == 403 and answer["role_needed"] == "radiographer"
    first = api("POST", f"studies/{NEW_UID}/manual", entry(), key="form-1")
    again = api("POST", f"studies/{NEW_UID}/manual", entry(), key="form-1")
    assert first == again and first[0] == 200
    assert count(api.sessions, ManualEntry) == 1


def test_the_quantities_that_may_be_entered_have_their_units_and_ranges(api):
    status, answer = api("GET", "manual/quantities", roles=(access.VIEWER,))
    assert status == 200
    by_key = {q["key"]: q for q in answer["quantities"]}
    assert by_key["dap_total_Gycm2"]["unit"] == "Gy.cm2" and "uGy.m2" in by_key["dap_total_Gycm2"]["units"]
    for q in by_key.values():
        assert q["usual"]["min"] < q["usual"]["max"] and q["usual"]["reason"], q["key"]
        for end in ("min", "max"):  # a usual value is never one the extractor would refuse
            assert plausible.screen({q["key"]: q["usual"][end]}, []) == [], q["key"]
