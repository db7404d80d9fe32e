"""REST of standard exams, mapping rules, DRLs and statistics (handlers, no Orthanc): audit, CSV, pseudonyms."""

import csv
import io
from dataclasses import replace

import pytest
from sqlalchemy import select

from kerma.api import Answer, Context, Request, handle
from kerma.config import Settings
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import AuditEntry, Device
from kerma.db.schema import upgrade
from kerma.drl.sets import load_table
from kerma.ingest.store import Processed, store_batch
from records_factory import ct_study


@pytest.fixture
def api(database_url, tmp_path):
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    records = [ct_study("2026-03-0%d" % (i + 1), "CT-A", "Abdomen <img src=x onerror=alert(1)>", [10.0 + i], [400.0 + 50 * i])
               for i in range(4)]
    with sessions() as s, s.begin():
        store_batch(s, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=4)
        load_table(s)
    ctx = Context(sessions, settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(method, path, query=None, body=None, user="physicist"):
        return handle(ctx, Request(method, path, query or {}, body, user, roles=frozenset({"admin"})))

    yield call, sessions, records
    engine.dispose()


def test_rule_lifecycle_is_audited_and_remaps(api):
    call, sessions, records = api
    status, exam = call("POST", "exams", body={"code": "CT-ABD", "name": "CT Abdomen", "modality": "CT"})
    assert status == 200
    assert call("POST", "exams", body={"code": "CT-ABD", "name": "again"})[0] == 409
    rule = {"level": "exposure", "priority": 10, "modality": "CT", "standard_exam_id": exam["id"],
            "conditions": [{"field": "protocol", "op": "contains", "value": "abdomen"}]}
    status, preview = call("POST", "mapping/preview", body=rule)
    assert status == 200 and preview["matching_studies"] == 4
    status, created = call("POST", "mapping/rules", body=rule)
    assert status == 200 and created["remapped_studies"] == 4 and created["rule"]["version"] == 1
    assert call("GET", "mapping/unmapped", {"level": "exposure"})[1]["unmapped"] == []
    rule_id = created["rule"]["id"]
    status, updated = call("PUT", f"mapping/rules/{rule_id}", body={"conditions": [{"field": "protocol", "op": "equals", "value": "x"}]})
    assert status == 200 and updated["rule"]["version"] == 2
    unmapped = call("GET", "mapping/unmapped", {"level": "exposure"})[1]["unmapped"]
    assert unmapped[0]["count"] == 4  # history re-mapped: nothing matches the new condition
    assert call("DELETE", f"mapping/rules/{rule_id}")[0] == 200
    assert call("POST", "mapping/rules", body={**rule, "conditions": [{"field": "protocol", "op": "regex", "value": "("}]})[0] == 400
    status, answer = call("POST", "mapping/rules", body={**rule, "conditions": [{"field": "protocl", "op": "equals", "value": "x"}]})
    assert status == 400 and answer["error"].startswith("conditions[0].field: 'protocl' is no field of an exposure")
    fields = call("GET", "mapping/fields")[1]
    assert {"protocol", "acquisition_type", "study_description"} <= set(fields["exposure"]) and "event_count" in fields["exam"]
    assert "event_count" not in fields["exposure"]
    with sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["standard_exam.create", "mapping_rule.create", "mapping_rule.update", "mapping_rule.delete"]
        assert {e.actor for e in s.scalars(select(AuditEntry))} == {"physicist"}


def test_statistics_csv_and_pseudonymised_export(api):
    call, sessions, records = api
    _, exam = call("POST", "exams", body={"code": "CT-ABD", "name": "CT Abdomen", "modality": "CT"})
    call("POST", "mapping/rules", body={"level": "exam", "standard_exam_id": exam["id"],
                                        "conditions": [{"field": "protocol", "op": "contains", "value": "abdomen"}]})
    status, table = call("GET", "statistics", {"quantity": "total_dlp_mGycm", "period": "all"})
    assert status == 200
    (row,) = table["statistics"]
    assert row["n"] == 4 and row["median"] == pytest.approx((450 + 500) / 2)
    assert (table["total"], table["limit"], table["offset"]) == (1, 100, 0)  # a page, and how many rows in all
    assert call("GET", "statistics", {"quantity": "total_dlp_mGycm", "sort": "patient_id"})[0] == 400
    charts = call("GET", "statistics/charts", {"quantity": "total_dlp_mGycm", "period": "all"})[1]  # what the page draws
    (chart,) = charts["charts"]
    assert (charts["exams"], chart["standard_exam"], chart["n"]) == (1, "CT Abdomen", 4)
    assert [p["median"] for s in chart["series"] for p in s["points"]] == [pytest.approx(475.0)]
    assert chart["devices"] == len(chart["series"]) == 1
    status, answer = call("GET", "statistics", {"quantity": "total_dlp_mGycm", "period": "all", "format": "csv"})
    assert isinstance(answer, Answer) and answer.content_type.startswith("text/csv")
    (line,) = list(csv.DictReader(io.StringIO(answer.text)))
    assert float(line["median"]) == pytest.approx(475.0)
    events = call("GET", "events", {"pseudonymise": "1"})[1]["events"]
    real_ids = {r.patient.patient_id for r in records}
    assert len(events) == 4 and not ({e["patient_id"] for e in events} & real_ids)
    assert all(e["patient_id"].startswith("P-") for e in events)
    again = call("GET", "events", {"pseudonymise": "1"})[1]["events"]
    assert [e["patient_id"] for e in again] == [e["patient_id"] for e in events]  # stable pseudonyms
    assert call("GET", "statistics", {"quantity": "nonsense"})[0] == 400
    assert call("GET", "statistics", {"quantity": "ctdivol_mGy", "period": "week"})[0] == 400


def test_drl_sets_and_local_values(api):
    call, sessions, records = api
    sets = call("GET", "drl/sets")[1]["sets"]
    assert {s["kind"] for s in sets} == {"national"} and all(s["source"] for s in sets)
    _, exam = call("POST", "exams", body={"code": "CT-ABD", "name": "CT Abdomen", "modality": "CT"})
    status, local = call("POST", "drl/sets", body={"name": "Local 2026", "kind": "local", "valid_from": "2026-01-01"})
    assert status == 200
    status, value = call("POST", f"drl/sets/{local['id']}/values",
                         body={"standard_exam_id": exam["id"], "quantity": "total_dlp_mGycm", "value": 460})
    assert status == 200 and value["level"] == "exam"
    assert call("POST", "alerts/rules", body={"name": "DLP above the DRL", "kind": "drl", "quantity": "total_dlp_mGycm",
                                              "level": "exam", "parameters": {"k": 1.0}})[0] == 200
    status, mapped = call("POST", "mapping/rules", body={"level": "exam", "standard_exam_id": exam["id"],
                                                         "conditions": [{"field": "protocol", "op": "contains", "value": "abdomen"}]})
    # the four studies changed exam, and the DRL rule ran again over them: DLP 500 and 550 are above 460
    assert (status, mapped["changed_studies"], mapped["new_alerts"]) == (200, 4, 2)
    assert sorted(a["value"] for a in call("GET", "alerts")[1]["alerts"]) == [500.0, 550.0]
    answer = call("GET", "statistics/above-drl", {"quantity": "total_dlp_mGycm"})[1]
    above = answer["above_drl"]
    assert sorted(h["value"] for h in above) == [500.0, 550.0] and answer["more"] is False
    # a page at a time, newest first: the two pages together are the list
    first, second = (call("GET", "statistics/above-drl", {"quantity": "total_dlp_mGycm", "limit": "1", "offset": o})[1]
                     for o in ("0", "1"))
    assert first["more"] is True and second["more"] is False
    assert first["above_drl"] + second["above_drl"] == above and above[0]["date"] >= above[1]["date"]
    # compliance: DLP 400, 450, 500, 550 against 460: median 475 (red), 75th percentile 512.5; its drill-down
    (row,) = call("GET", "statistics/compliance", {"date_from": "2026-01-01", "date_to": "2026-12-31"})[1]["compliance"]
    assert (row["status"], row["n"], row["median"], row["p75"], row["period"]) == ("red", 4, 475.0, 512.5, "2026-Q1")
    assert (row["standard_exam"], row["device_name"], row["median_over_drl"]) == ("CT Abdomen", "CT-A", pytest.approx(475 / 460))
    assert call("GET", "statistics/compliance", {"date_from": "2026-01-01", "status": "green,amber"})[1]["compliance"] == []
    drill = call("GET", "statistics/above-drl", {"quantity": row["quantity"], "drl_value_id": row["drl_value_id"],
                                                 "date_from": row["period_from"], "date_to": row["period_to"]})[1]["above_drl"]
    assert sorted(h["ratio"] for h in drill) == pytest.approx([500 / 460, 550 / 460])
    assert call("GET", "statistics/above-drl", {"quantity": "total_dlp_mGycm", "drl_value_id": value["id"] + 1})[1]["above_drl"] == []
    studies = call("GET", "studies", {"above_drl": "1"})[1]["studies"]
    assert sorted((a["quantity"], a["value"], a["drl"]) for s in studies for a in s["above_drl"]) == [
        ("total_dlp_mGycm", 500.0, 460.0), ("total_dlp_mGycm", 550.0, 460.0)]
    national = call("GET", f"drl/sets/{sets[0]['id']}")[1]["values"][0]
    assert call("PUT", f"drl/values/{national['id']}", body={"value": 1})[0] == 400  # a published number stays
    status, answer = call("PUT", f"drl/values/{national['id']}", body={"enabled": False})
    assert status == 400 and answer["error"] == "reason: say why the value is disabled"
    reason = "Superseded by the 2026 survey for this examination"
    assert call("PUT", f"drl/values/{national['id']}", body={"enabled": False, "reason": reason})[0] == 200
    switched = next(v for v in call("GET", f"drl/sets/{sets[0]['id']}")[1]["values"] if v["id"] == national["id"])
    assert (switched["enabled"], switched["switched"]["enabled"], switched["switched"]["reason"], switched["switched"]["by"]) == (
        False, False, reason, "physicist")
    assert call("PUT", f"drl/values/{national['id']}", body={"enabled": False})[0] == 200  # no change: no reason needed
    devices = call("GET", "devices")[1]["devices"]
    with sessions() as s:
        assert [d["station_name"] for d in devices] == [d.station_name for d in s.scalars(select(Device))]
