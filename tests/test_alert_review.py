"""The review of an alert over REST: lifecycle, assignee, comments, the audit trail, rules versioned."""

import itertools

import pytest
from sqlalchemy import select

from kerma.api import Context, Request, handle
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import Alert
from kerma.db.schema import upgrade
from kerma.ingest.store import Processed, store_batch
from records_factory import ct_study

_seq = itertools.count(1)


@pytest.fixture
def ctx(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield Context(make_sessionmaker(engine))
    engine.dispose()


def call(ctx, method, path, body=None, user="physicist", **query):
    return handle(ctx, Request(method, path, query, body, user, roles=frozenset({"admin"})))


def ok(ctx, method, path, body=None, **query):
    status, answer = call(ctx, method, path, body, **query)
    assert status == 200, answer
    return answer


def store(ctx, *records):
    with ctx.sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in records], last_seq=next(_seq))


@pytest.fixture
def alert_id(ctx):
    rule = ok(ctx, "POST", "alerts/rules", {"name": "CTDIvol over 30", "kind": "absolute", "quantity": "ctdivol_mGy",
                                            "level": "exposure", "parameters": {"threshold": 30.0}, "notify_roles": ["mpe"]})
    assert rule["version"] == 1 and rule["parameters"]["threshold"] == 30.0
    store(ctx, ct_study("2026-03-02", "CT-A", "Abdomen", [31.0], [900.0]))
    (alert,) = ok(ctx, "GET", "alerts")["alerts"]
    return alert["id"]


def test_the_review_lifecycle_is_audited_step_by_step(ctx, alert_id):
    alert = ok(ctx, "GET", f"alerts/{alert_id}")
    assert alert["status"] == "new" and "31 mGy" in alert["reason"] and alert["actions"] and alert["rule"] == "CTDIvol over 30"
    assert ok(ctx, "POST", f"alerts/{alert_id}/acknowledge", {"assignee": "mpe.smith"})["status"] == "acknowledged"
    status, answer = call(ctx, "POST", f"alerts/{alert_id}/justify", {"comment": "  "})
    assert status == 409 and "comment" in answer["error"]
    ok(ctx, "POST", f"alerts/{alert_id}/comments", {"text": "Patient 140 kg, arms down."})
    assert ok(ctx, "POST", f"alerts/{alert_id}/investigate", {})["status"] == "under_investigation"
    status, answer = call(ctx, "POST", f"alerts/{alert_id}/close", {"reportable": True})
    assert status == 409 and answer["error"] == "closing needs a comment saying why"
    closed = ok(ctx, "POST", f"alerts/{alert_id}/close", {"reportable": True, "comment": "Notified to the authority"})
    assert closed["status"] == "closed" and closed["reportable"] is True and closed["closed_at"]
    status, answer = call(ctx, "POST", f"alerts/{alert_id}/acknowledge", {})
    assert status == 409 and "reopen" in answer["error"]
    detail = ok(ctx, "GET", f"alerts/{alert_id}")
    assert [c["text"] for c in detail["comments"]] == ["Patient 140 kg, arms down.", "Notified to the authority"]
    trail = [(e["action"], e["actor"], (e["before"] or {}).get("status"), (e["after"] or {}).get("status"))
             for e in detail["audit"]]
    assert trail == [("alert.acknowledge", "physicist", "new", "acknowledged"),
                     ("alert.comment", "physicist", None, None),
                     ("alert.investigate", "physicist", "acknowledged", "under_investigation"),
                     ("alert.close", "physicist", "under_investigation", "closed")]
    assert detail["audit"][0]["after"]["assignee"] == "mpe.smith"
    assert ok(ctx, "GET", "alerts", status="closed")["total"] == 1 and ok(ctx, "GET", "alerts", status="new")["total"] == 0


def test_assigning_and_justifying(ctx, alert_id):
    assert ok(ctx, "PUT", f"alerts/{alert_id}", {"assignee": "rad.jones"})["assignee"] == "rad.jones"
    justified = ok(ctx, "POST", f"alerts/{alert_id}/justify", {"comment": "Repeat after motion"})
    assert justified["status"] == "justified"
    assert ok(ctx, "GET", "alerts", assignee="rad.jones")["alerts"][0]["id"] == alert_id
    assert ok(ctx, "POST", f"alerts/{alert_id}/reopen", {})["status"] == "acknowledged"


def test_triage_order_and_bulk_acknowledge_and_assign(ctx, alert_id):
    """Three alerts (two of a high-severity rule, raised in that order, one warning): triage lists high ones first,
    the older first; a bulk acknowledge acknowledges the new ones, skips one already acknowledged, and audits each;
    a bulk assign gives all to one person; an unknown id changes nothing."""
    ok(ctx, "POST", "alerts/rules", {"name": "CTDIvol over 50", "kind": "absolute", "quantity": "ctdivol_mGy", "severity": "high",
                                     "level": "exposure", "parameters": {"threshold": 50.0}})
    store(ctx, ct_study("2026-03-04", "CT-A", "Abdomen", [51.0], [900.0]))
    store(ctx, ct_study("2026-03-05", "CT-A", "Abdomen", [52.0], [900.0]))
    triage = ok(ctx, "GET", "alerts", sort="triage")["alerts"]
    highs = sorted(a["id"] for a in triage if a["severity"] == "high")
    warnings = sorted(a["id"] for a in triage if a["severity"] == "warning")
    assert len(highs) == 2 and [a["id"] for a in triage] == highs + warnings
    ok(ctx, "POST", f"alerts/{highs[0]}/acknowledge", {})
    every = highs + warnings
    assert call(ctx, "POST", "alerts/bulk/acknowledge", {"ids": [*every, 99999]})[0] == 404
    done = ok(ctx, "POST", "alerts/bulk/acknowledge", {"ids": every, "comment": "Seen in the morning round"})
    assert done["done"] == [highs[1], *warnings] and done["skipped"] == [{"id": highs[0], "status": "acknowledged"}]
    assert {a["status"] for a in ok(ctx, "GET", "alerts")["alerts"]} == {"acknowledged"}
    assert ok(ctx, "POST", "alerts/bulk/assign", {"ids": every, "assignee": "mpe.smith"})["done"] == every
    assert ok(ctx, "GET", "alerts", assignee="mpe.smith")["total"] == len(every)
    detail = ok(ctx, "GET", f"alerts/{highs[1]}")
    assert [e["action"] for e in detail["audit"]] == ["alert.acknowledge", "alert.assign"]
    assert [c["text"] for c in detail["comments"]] == ["Seen in the morning round"]
    assert call(ctx, "POST", "alerts/bulk/acknowledge", {"ids": []})[0] == 400


def test_rule_changes_are_versioned_and_alerts_keep_the_version_that_fired(ctx, alert_id):
    rule_id = ok(ctx, "GET", f"alerts/{alert_id}")["rule_id"]
    updated = ok(ctx, "PUT", f"alerts/rules/{rule_id}", {"parameters": {"threshold": 25.0}})
    assert updated["version"] == 2 and updated["updated_by"] == "physicist"
    store(ctx, ct_study("2026-03-03", "CT-A", "Abdomen", [26.0], [700.0]))
    alerts = sorted(ok(ctx, "GET", "alerts")["alerts"], key=lambda a: a["id"])
    assert [a["rule_version"] for a in alerts] == [1, 2]
    assert ok(ctx, "GET", f"alerts/{alerts[0]['id']}")["rule_as_fired"]["parameters"]["threshold"] == 30.0
    trail = ok(ctx, "GET", "audit", target_type="alert_rule", target_id=str(rule_id))["entries"]
    assert trail[0]["before"]["parameters"]["threshold"] == 30.0 and trail[0]["after"]["parameters"]["threshold"] == 25.0
    status, answer = call(ctx, "PUT", f"alerts/rules/{rule_id}", {"parameters": {"threshold": -1}})
    assert status == 400 and "positive" in answer["error"]


def test_re_evaluating_history_after_a_new_rule(ctx, alert_id):
    ok(ctx, "POST", "alerts/rules", {"name": "DLP over 800", "kind": "absolute", "quantity": "total_dlp_mGycm",
                                     "parameters": {"threshold": 800.0}})
    assert ok(ctx, "POST", "alerts/evaluate", {"date_from": "2026-03-01"}) == {"studies": 1, "new_alerts": 1}
    assert ok(ctx, "POST", "alerts/evaluate", {}) == {"studies": 1, "new_alerts": 0}
    with ctx.sessions() as s:
        assert len(s.scalars(select(Alert)).all()) == 2


def test_recipients_over_rest_are_validated_and_audited(ctx):
    status, answer = call(ctx, "POST", "notifications/recipients", {"name": "X", "role": "janitor", "email": "x@y"})
    assert status == 400 and "role" in answer["error"]
    made = ok(ctx, "POST", "notifications/recipients", {"name": "RPO", "role": "rpo", "email": "rpo@h.example",
                                                        "site": "Main", "daily_digest": True})
    ok(ctx, "PUT", f"notifications/recipients/{made['id']}", {"min_severity": "high"})
    assert ok(ctx, "GET", "notifications/recipients")["recipients"][0]["min_severity"] == "high"
    actions = [e["action"] for e in ok(ctx, "GET", "audit", action="recipient")["entries"]]
    assert actions == ["recipient.update", "recipient.create"]


def test_the_shipped_criteria_are_listed_with_their_citations(ctx):
    criteria = ok(ctx, "GET", "alerts/criteria")["criteria"]
    assert any(c["code"] == "criterion:14" and c["enabled"] == "yes" and "gesetze-im-internet.de" in c["source"]
               for c in criteria)
    assert any(c["evaluable"] == "no" and "intended" in c["published"] for c in criteria)
