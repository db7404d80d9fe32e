"""The lists the UI pages through: sorted by any column the route names (absent values last), names beside ids,
and the dose-against-weight points computed on the server for the filters; GET health's counts of large tables."""

import pytest
from sqlalchemy import text

from kerma import access
from kerma.api import Context, Request, handle
from kerma.ingest.store import Processed, store_batch
from records_factory import ct_study, dx_study

ADMIN = frozenset({access.ADMIN})


@pytest.fixture
def call(sessions):
    records = [ct_study(f"2026-0{1 + i % 6}-1{i % 9}", f"CT-{'AB'[i % 2]}", "Abdomen", [5.0 + i], [200.0 + 37 * (i % 7)],
                        weight=None if i % 4 == 0 else 50.0 + i) for i in range(24)]
    records += [dx_study(f"2026-03-0{1 + i}", "DX-1", "Chest PA", 0.1 * (i + 1)) for i in range(4)]
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
    ctx = Context(sessions)

    def call(method, path, query=None, body=None):
        status, answer = handle(ctx, Request(method, path, query or {}, body, "mpe", roles=ADMIN))
        assert status == 200, answer
        return answer

    call.records = records
    return call


def in_order(values, order):
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=order == "desc")
    assert values == present + [None] * (len(values) - len(present)), "absent values come last"


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_studies_sort_by_every_column_the_route_names(call, order):
    from kerma.api.core import STUDY_SORTS
    shown = {"study_date": lambda s: s["study_date"], "accession_number": lambda s: s["accession_number"],
             "patient_id": lambda s: s["patient"]["patient_id"], "total_dlp_mGycm": lambda s: s["totals"].get("ct_dlp_total_mGycm"),
             "total_dap_Gycm2": lambda s: s["totals"].get("dap_total_Gycm2"),
             "modality": lambda s: min(s["modalities"]) if s["modalities"] else None}
    for name in STUDY_SORTS:
        answer = call("GET", "studies", {"sort": name, "order": order, "limit": "500"})
        assert answer["total"] == 28 and answer["sort"] == name and answer["order"] == order
        if name in shown:
            in_order([shown[name](s) for s in answer["studies"]], order)
    # pages do not overlap or leave a study out
    pages = [call("GET", "studies", {"sort": "total_dlp_mGycm", "order": order, "limit": "5", "offset": str(o)})["studies"]
             for o in range(0, 28, 5)]
    uids = [s["study_instance_uid"] for p in pages for s in p]
    assert len(uids) == len(set(uids)) == 28


def test_an_unknown_sort_column_is_refused(sessions):
    ctx = Context(sessions)
    for path in ("studies", "alerts", "events", "audit", "mpps", "hl7/messages", "notifications/outbox", "reports",
                 "ingest-errors", "reconciliation/no-order"):
        status, answer = handle(ctx, Request("GET", path, {"sort": "password"}, None, "mpe", roles=ADMIN))
        assert status == 400 and answer["error"].startswith("sort:"), (path, answer)
        status, answer = handle(ctx, Request("GET", path, {"order": "sideways"}, None, "mpe", roles=ADMIN))
        assert status == 400 and answer["error"].startswith("order:"), (path, answer)


def test_events_sort_by_a_quantity_and_count_them_all(call):
    answer = call("GET", "events", {"sort": "ctdivol_mGy", "order": "desc", "limit": "10"})
    expected = sorted((e["ctdivol_mGy"] for r in call.records for e in r.events if e.get("ctdivol_mGy") is not None),
                      reverse=True)
    assert [e["ctdivol_mGy"] for e in answer["events"]] == expected[:10]
    assert answer["total"] == sum(len(r.events) for r in call.records)
    assert all(e["device_name"] == e["station_name"] for e in answer["events"])


def test_studies_and_rules_name_their_exam_and_device(call):
    exam = call("POST", "exams", body={"code": "CT-ABD", "name": "CT abdomen", "modality": "CT"})
    call("POST", "mapping/rules", body={"level": "exam", "standard_exam_id": exam["id"],
                                   "conditions": [{"field": "modality", "op": "equals", "value": "CT"}]})
    studies = call("GET", "studies", {"modality": "CT", "limit": "500"})["studies"]
    assert {s["standard_exam"] for s in studies} == {"CT abdomen"}
    rules = call("GET", "mapping/rules")["rules"]
    assert rules[0]["standard_exam"] == "CT abdomen"
    rows = call("GET", "statistics", {"quantity": "total_dlp_mGycm", "period": "all"})["statistics"]
    assert {r["device_name"] for r in rows} == {"CT-A", "CT-B"} and {r["standard_exam"] for r in rows} == {"CT abdomen"}


def test_dose_against_weight_is_computed_for_the_filters_and_sampled(call):
    def expected(date_from="2000-01-01", date_to="2999-12-31"):
        return sorted((r.patient.weight_kg, e["ctdivol_mGy"]) for r in call.records for e in r.events
                      if r.modality == "CT" and r.patient.weight_kg is not None
                      and date_from <= r.study.study_date <= date_to)

    values = [e["ctdivol_mGy"] for r in call.records for e in r.events if r.modality == "CT"]
    whole = call("GET", "statistics/scatter", {"quantity": "ctdivol_mGy", "against": "weight"})
    # n: every value (as the statistics table counts them), the points: those with a weight
    assert whole["n"] == len(values) > len(expected()) and sorted(map(tuple, whole["points"])) == expected()
    march = call("GET", "statistics/scatter", {"quantity": "ctdivol_mGy", "date_from": "2026-03-01", "date_to": "2026-03-31"})
    assert sorted(map(tuple, march["points"])) == expected("2026-03-01", "2026-03-31") and march["n"] < whole["n"]
    sampled = call("GET", "statistics/scatter", {"quantity": "ctdivol_mGy", "limit": "10"})
    assert sampled["n"] == whole["n"] and 5 <= sampled["shown"] <= 10
    assert set(map(tuple, sampled["points"])) <= set(expected())
    exam = call("GET", "statistics/scatter", {"quantity": "total_dlp_mGycm", "against": "age"})
    assert exam["n"] == 24 and all(x == 50.0 for x, _ in exam["points"])


def test_health_gives_postgresqls_estimate_for_a_large_table_and_says_so(call, sessions, monkeypatch):
    from kerma.api import core

    exact = call("GET", "health")["counts"]
    assert (exact["studies"], exact["irradiation_events"], exact["estimated"]) == (28, 28, [])
    monkeypatch.setattr(core, "ESTIMATED_FROM", 20)  # these 28 studies and events count as large
    with sessions() as session, session.begin():
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:  # the estimate ANALYZE keeps (every row of a small table read: the count itself)
            session.execute(text("ANALYZE study, irradiation_event"))
    counts = call("GET", "health")["counts"]
    assert (counts["studies"], counts["irradiation_events"]) == (28, 28)
    assert counts["estimated"] == (["studies", "irradiation_events"] if postgresql else [])  # SQLite keeps none: counted


def test_a_list_is_counted_up_to_a_bound_and_says_more_than_past_it(call, monkeypatch):
    from kerma.api import his

    assert call("GET", "studies", {"limit": "5"})["total"] == 28 and call("GET", "events", {"limit": "5"})["total"] == 28
    monkeypatch.setattr(his, "COUNTED_UP_TO", 27)  # these 28 studies and events are past it: "more than 27"
    for path in ("studies", "events", "reconciliation/no-order"):
        answer = call("GET", path, {"limit": "5"})
        assert (answer["total"], answer["counted_up_to"]) == (None, 27) and len(next(v for v in answer.values()
                                                                                   if isinstance(v, list))) == 5
    monkeypatch.setattr(his, "COUNTED_UP_TO", 28)  # exactly the bound: counted
    assert call("GET", "studies", {"limit": "5", "offset": "25"})["total"] == 28
    assert len(call("GET", "studies", {"limit": "5", "offset": "25"})["studies"]) == 3
