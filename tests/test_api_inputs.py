"""The inputs that answered 500 (issue 15 §9), each answered 400, 404 or 409 naming the field and the reason."""

import math

import pytest
from sqlalchemy import func, select

from kerma import access
from kerma.api import Context, Request, handle
from kerma.db.models import DrlSet, DrlValue
from kerma.drl.sets import load_table
from kerma.ingest.store import Processed, store_batch
from records_factory import ct_study


@pytest.fixture
def call(sessions):
    records = [ct_study(f"2026-03-0{i + 1}", "CT-A", "Abdomen", [10.0 + i], [400.0 + 50 * i]) for i in range(3)]
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=3)
        load_table(session)
    ctx = Context(sessions)

    def call(method, path, query=None, body=None):
        return handle(ctx, Request(method, path, query or {}, body, "mpe", roles=frozenset({access.ADMIN})))

    call.sessions = sessions
    return call


def exam_id(call) -> int:
    return call("POST", "exams", body={"code": "CT-ABD", "name": "CT Abdomen", "modality": "CT"})[1]["id"]


def test_a_body_that_is_not_an_object_is_refused(call):
    for body in ([], [{"name": "x"}], 42, 1.5, "text", True):
        for method, path in (("POST", "drl/sets"), ("POST", "mapping/rules"), ("POST", "alerts/rules"),
                             ("POST", "notifications/recipients"), ("POST", "reports"), ("PUT", "alerts/1")):
            status, answer = call(method, path, body=body)
            assert status == 400 and answer["error"].startswith("the body must be a JSON object"), (path, answer)


def test_huge_integers_in_the_query_and_in_ids(call):
    status, answer = call("GET", "studies", {"offset": "9" * 30})
    assert status == 400 and answer["error"].startswith("offset:")
    status, answer = call("GET", "events", {"limit": str(2**63)})
    assert status == 400 and answer["error"].startswith("limit:")
    status, answer = call("GET", "studies", {"standard_exam_id": "99999999999999999999"})
    assert status == 400 and answer["error"].startswith("standard_exam_id:")
    for path in ("drl/sets/99999999999999999999", "alerts/2147483648", "hl7/messages/" + "9" * 400,
                 "reports/99999999999999999999/pdf"):
        status, answer = call("GET", path)
        assert status == 404, (path, answer)
    assert call("PUT", "drl/values/2147483648", body={"value": 1.0})[0] == 404
    assert call("POST", "mapping/rules", body={"level": "exam", "standard_exam_id": 2**40,
                                               "conditions": [{"field": "protocol", "op": "contains", "value": "x"}]})[0] == 400


def test_an_empty_date_is_no_filter(call):
    everything = call("GET", "studies")[1]
    assert everything["total"] == 3
    status, answer = call("GET", "studies", {"date_from": "", "date_to": ""})
    assert status == 200 and answer["total"] == 3
    assert call("GET", "alerts", {"date_from": ""})[0] == 200


def test_dates_out_of_range_or_malformed_are_refused(call):
    for day in ("9999-12-31", "0001-01-01", "2026-02-30", "20260301", "2026-3-1", "yesterday"):
        for path, name in (("studies", "date_from"), ("audit", "date_to"), ("alerts", "date_from"), ("events", "date_to"),
                           ("reconciliation", "date_from"), ("alerts/digest", "date")):
            status, answer = call("GET", path, {name: day})
            assert status == 400 and answer["error"].startswith(f"{name}:"), (path, answer)
        status, answer = call("POST", "reports", body={"date_from": "2026-01-01", "date_to": day})
        assert status == 400 and answer["error"].startswith("date_to:")


def test_lone_surrogates_and_nul_are_refused(call):
    status, answer = call("POST", "drl/sets", body={"name": "Local \ud800", "kind": "local"})
    assert status == 400 and answer["error"].startswith("name:") and "unicode" in answer["error"].lower()
    status, answer = call("POST", "drl/sets", body={"name": "Local\x00", "kind": "local"})
    assert status == 400 and answer["error"] == "name: text must not contain NUL"
    status, answer = call("GET", "studies", {"patient_id": "\udfff"})
    assert status == 400 and answer["error"].startswith("patient_id:")
    status, answer = call("POST", "alerts/rules", body={"name": "x", "kind": "absolute", "quantity": "ctdivol_mGy",
                                                        "parameters": {"threshold": 1, "conditions": [
                                                            {"field": "protocol", "op": "contains", "value": "a\ud800"}]}})
    assert status == 400 and "parameters" in answer["error"] and "surrogate" in answer["error"]
    assert call("GET", "hl7/patients/P\ud800")[0] == 404
    with call.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DrlSet).where(DrlSet.kind == "local")) == 0


def test_a_duplicate_drl_set_name_is_a_conflict(call):
    assert call("POST", "drl/sets", body={"name": "Local CT 2026", "kind": "local"})[0] == 200
    status, answer = call("POST", "drl/sets", body={"name": "Local CT 2026", "kind": "achievable"})
    assert status == 409 and "exists" in answer["error"]
    with call.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DrlSet).where(DrlSet.name == "Local CT 2026")) == 1


def test_drl_values_must_be_positive_finite_numbers(call):
    exam = exam_id(call)
    drl_set = call("POST", "drl/sets", body={"name": "Local", "kind": "local"})[1]
    for bad in (math.nan, math.inf, -math.inf, 1e308, "NaN", "Infinity", True, 0, -5):
        status, answer = call("POST", f"drl/sets/{drl_set['id']}/values",
                              body={"standard_exam_id": exam, "quantity": "ctdivol_mGy", "value": bad})
        assert status == 400 and answer["error"].startswith("value:"), answer
        if bad != 0:  # an age band may start at 0
            status, answer = call("POST", f"drl/sets/{drl_set['id']}/values", body={
                "standard_exam_id": exam, "quantity": "ctdivol_mGy", "value": 12.0, "age_min_years": bad})
            assert status == 400 and answer["error"].startswith("age_min_years:"), answer
    with call.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DrlValue).where(DrlValue.drl_set_id == drl_set["id"])) == 0


def test_drl_set_names_are_text(call):
    for name in (math.nan, math.inf, 12, None, "", "   ", "x" * 257):
        status, answer = call("POST", "drl/sets", body={"name": name, "kind": "local"})
        assert status == 400 and answer["error"].startswith("name:"), answer


def test_unknown_fields_and_wrong_types_name_the_field(call):
    status, answer = call("POST", "drl/sets", body={"name": "Local", "kind": "local", "colour": "red"})
    assert status == 400 and answer["error"] == "colour: unknown field"
    status, answer = call("POST", "notifications/recipients", body={"name": "MPE", "role": "mpe", "email": "no-at-sign"})
    assert status == 400 and answer["error"].startswith("email:")
    status, answer = call("POST", "alerts/1/close", body={"reportable": "yes"})
    assert status == 400 and answer["error"] == "reportable: Input should be a valid boolean"
    status, answer = call("GET", "alerts", {"status": "new,lost"})
    assert status == 400 and answer["error"].startswith("status: unknown value 'lost'")
    status, answer = call("GET", "statistics", {"quantity": "ctdivol_mGy", "period": "fortnight"})
    assert status == 400 and answer["error"].startswith("period:")
    status, answer = call("GET", "statistics", {"quantity": "ctdivol_mGy", "format": "xlsx"})
    assert status == 400 and answer["error"].startswith("format:")


def test_valid_input_still_works_and_is_stored_as_given(call):
    exam = exam_id(call)
    status, drl_set = call("POST", "drl/sets", body={"name": "Local CT", "kind": "local", "year": 2026,
                                                    "valid_from": "2026-01-01"})
    assert status == 200 and drl_set["valid_from"] == "2026-01-01" and drl_set["year"] == 2026
    status, value = call("POST", f"drl/sets/{drl_set['id']}/values",
                         body={"standard_exam_id": exam, "quantity": "total_dlp_mGycm", "value": 700})
    assert status == 200 and value["value"] == 700 and value["level"] == "exam" and value["patient_group"] == "adult"
    status, value = call("PUT", f"drl/values/{value['id']}", body={"value": 650.5})
    assert status == 200 and value["value"] == 650.5 and value["quantity"] == "total_dlp_mGycm"
    assert call("GET", "studies", {"limit": "2", "offset": "1", "date_from": "2026-03-02"})[1]["total"] == 2
