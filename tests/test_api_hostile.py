"""Hostile input on every REST route (issue 15 §9): never a 5xx, always strict JSON.

The property test walks the router's whole route table, so a route added later is attacked too: each
example calls every route once, with a path drawn from the route's own pattern (huge ids, unknown
UIDs, any text), a query of hostile strings and a body of hostile JSON (lists, numbers, NaN, lone
surrogates, NUL, huge integers, extreme dates, deep nesting), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kerma import access, jsonout
from kerma.api import Answer, Context, Request, handle
from kerma.api.router import ROUTES
from kerma.config import Settings
from kerma.drl.sets import load_table
from kerma.evaluate.shipped import load_shipped_rules
from kerma.hl7.receiver import Hl7Receiver
from kerma.ingest.store import Processed, store_batch
from hl7_factory import adt_merge, adt_update, orm
from records_factory import ct_study, dx_study

HOSTILE_TEXT = ["", " ", "\ud800", "a\udfffb", "\x00", "nul\x00byte", "x" * 5000, "1e309", "NaN", "Infinity", "-Infinity",
                "-1", "0", "1", "2147483648", "9" * 40, "9999-12-31", "0001-01-01", "2026-02-30", "2026-03-01",
                "20260301", "true", "null", "[]", "{}", "1,2,3", "exam", "exposure", "CT", "csv", "all", "year",
                "ctdivol_mGy", "total_dlp_mGycm", "'; DROP TABLE study; --", "<script>alert(1)</script>", "%00", "☢ é ß"]
HOSTILE_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 2**31, 2**63, 10**40, -1, 0, 0.5, True, False]
FIELDS = ["name", "kind", "level", "priority", "modality", "device_id", "standard_exam_id", "conditions", "field", "op",
          "value", "min", "max", "enabled", "quantity", "patient_group", "age_min_years", "weight_max_kg", "valid_from",
          "valid_to", "year", "parameters", "threshold", "k", "notify_roles", "severity", "comment", "assignee",
          "reportable", "text", "note", "order_id", "patient_id", "email", "role", "site", "min_severity",
          "daily_digest", "period", "roles", "filters", "date_from", "date_to", "code", "scheme", "q", "limit",
          "offset", "status", "format", "pseudonymise", "anonymise", "export", "raw", "by_device", "suggest", "all",
          "above_drl", "accession", "device", "action", "actor", "target_type", "target_id", "date", "study",
          "control_id", "ack_code", "message_type", "exclude", "lower", "upper", "body_region", "loinc",
          "content", "content_base64", "mapping", "columns", "doses", "on_duplicate", "staff_id", "service",
          "window", "by", "algorithm", "save_mapping", "filename", "department_id", "person_id"]

def nested(depth: int):
    value = []
    for _ in range(depth):
        value = [value]
    return value


scalars = st.one_of(st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_NUMBERS), st.none(), st.text(max_size=20),
                    st.integers(), st.floats())
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4), max_leaves=12)
bodies = st.one_of(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6), json_values,
                   st.just(nested(60)), st.just({"parameters": nested(60)}))
queries = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8),
                          st.sampled_from(HOSTILE_TEXT) | st.text(max_size=20), max_size=6)
GROUP = re.compile(r"\(\?P<(\w+)>([^()]*)\)")


def paths(pattern: re.Pattern) -> st.SearchStrategy[str]:
    """Paths the route answers: each named group an existing row ("1"), a value of its own pattern, or a huge id."""
    def group(match: re.Match) -> st.SearchStrategy[str]:
        fixed = [v for v in ("1", "9" * 30, "2147483648") if re.fullmatch(match.group(2), v)]
        return st.one_of(*map(st.just, fixed), st.from_regex(f"(?:{match.group(2)})", fullmatch=True))

    parts = GROUP.split(pattern.pattern)  # text, name, group pattern, text, ...
    texts = parts[0::3]
    groups = [group(m) for m in GROUP.finditer(pattern.pattern)]
    if not groups:
        return st.just(pattern.pattern)
    return st.tuples(*groups).map(lambda values: "".join(t + v for t, v in zip(texts, [*values, ""])))


def strict_json(value) -> None:
    """What the edge sends is standard JSON in UTF-8: no NaN or Infinity, no lone surrogate, no type the API's
    encoder refuses (kerma.jsonout: never a value sent as its Python text)."""
    jsonout.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def api(sessions, tmp_path):
    records = [ct_study(f"2026-03-0{i + 1}", "CT-A", "Abdomen", [10.0 + i], [400.0 + 50 * i]) for i in range(3)]
    records.append(dx_study("2026-03-05", "DX-A", "Chest PA", 0.12))
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"orthanc-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
        load_table(session)
        load_shipped_rules(session)
    receiver = Hl7Receiver(sessions)
    patient = records[0].patient.patient_id
    for message in (adt_update(patient, "Doe^Jane", "19700101", "F"), orm("PL1", patient, accession="ACC1"),
                    adt_merge(patient, "OLD-1")):
        receiver(message)
    ctx = Context(sessions, settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(method, path, query=None, body=None):
        return handle(ctx, Request(method, path, query or {}, body, "admin", roles=frozenset({access.ADMIN})))

    exam = call("POST", "exams", body={"code": "CT-ABD", "name": "CT Abdomen", "modality": "CT"})[1]
    seeds = [("POST", "mapping/rules", {"level": "exam", "standard_exam_id": exam["id"],
                                        "conditions": [{"field": "protocol", "op": "contains", "value": "abdomen"}]}),
             ("POST", "drl/sets", {"name": "Local CT", "kind": "local"}),
             ("POST", "notifications/recipients", {"name": "MPE", "role": "mpe", "email": "mpe@example.org"}),
             ("POST", "reports/schedules", {"name": "Monthly", "period": "monthly"}),
             ("POST", "reports", {"date_from": "2026-03-01", "date_to": "2026-03-31"}),
             ("POST", "alerts/evaluate", {}),
             ("POST", f"reconciliation/studies/{records[1].study_instance_uid}/reassign", {"patient_id": "P-NEW"}),
             ("POST", "occupational/imports", {"content": "Staff ID,Department,Period,Position,Hp(10) (mSv)\n"
                                                          "S1,Angiography,2026-01,Collar,0.5\n", "service": "Service A",
                                                          "save_mapping": True})]
    for method, path, body in seeds:
        status, answer = call(method, path, body=body)
        assert status == 200, (path, answer)
    return call


@settings(max_examples=30, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_route_answers_hostile_input_without_a_server_error(api, data):
    for entry in ROUTES:
        method, pattern = entry.method, entry.pattern
        path = data.draw(paths(pattern), label="path")
        query = data.draw(queries, label="query")
        body = data.draw(bodies, label="body") if method != "GET" else None
        status, answer = api(method, path, query, body)
        assert status < 500, (method, path, query, body, answer)
        if isinstance(answer, Answer):
            assert status == 200
        else:
            strict_json(answer)
            assert status == 200 or isinstance(answer.get("error"), str), answer
