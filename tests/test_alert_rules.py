"""Each alert rule kind fires on a generated study just above its threshold and stays silent just below.

Studies go through the real ingest path (store_batch → refresh → classify → evaluate), on SQLite and
PostgreSQL; rules are the shipped ones where the kind is shipped, else written as a physicist would.
"""

import csv
import itertools
import json
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from conftest import SHARED
from corpus import CORPUS
from kerma.classify.catalogue import add_site_exam
from kerma.db.models import Alert, AlertRule, DoseObject, DrlSet, DrlValue, MappingRule, OutboxMessage, Recipient
from kerma.drl.reference import VERIFIED
from kerma.evaluate.rules import AlertRuleError, validated
from kerma.evaluate.shipped import FLUORO_LEVELS, SIGNIFICANT_EVENTS, load_shipped_rules, rows
from kerma.extract import extract
from kerma.ingest.store import Processed, store_batch
from dose_setup import exam_with_drl
from records_factory import ct_study, dx_study, rf_study, typed

REFERENCE = SHARED / "reference"
_seq = itertools.count(1)


def store(sessions, *records):
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in records], last_seq=next(_seq))


def add_rule(sessions, **fields) -> int:
    with sessions() as s, s.begin():
        rule = AlertRule(**validated({"name": fields.get("kind"), **fields}), version=1)
        s.add(rule)
        s.flush()
        return rule.id


def enable(sessions, *codes):
    with sessions() as s, s.begin():
        load_shipped_rules(s)
        for rule in s.scalars(select(AlertRule).where(AlertRule.code.in_(codes))):
            rule.enabled = True
        for rule in s.scalars(select(AlertRule).where(AlertRule.code.not_in(codes))):
            rule.enabled = False  # one rule at a time: the test sees only what it is about
        return {r.code: r.id for r in s.scalars(select(AlertRule).where(AlertRule.code.in_(codes)))}


def fired(sessions, rule_id=None) -> list[Alert]:
    with sessions() as s:
        stmt = select(Alert).order_by(Alert.id)
        if rule_id is not None:
            stmt = stmt.where(Alert.rule_id == rule_id)
        return list(s.scalars(stmt))


def uids(alerts) -> set[str]:
    return {a.study_instance_uid for a in alerts}


@pytest.fixture
def thorax(sessions):
    """A CT Thorax standard exam mapped from the study description, with local DRLs (CTDIvol 15, DLP 500)."""
    with sessions() as s, s.begin():
        exam = add_site_exam(s, "CT-THX", "CT Thorax", "CT")
        s.add(MappingRule(level="exam", priority=1, standard_exam_id=exam.id,
                          conditions=[{"field": "study_description", "op": "equals", "value": "CT Thorax"}]))
        s.add(MappingRule(level="exposure", priority=1, modality="CT", standard_exam_id=exam.id,
                          conditions=[{"field": "protocol", "op": "contains", "value": "thorax"}]))
        local = DrlSet(name="Local 2026", kind="local", enabled=True)
        local.values = [
            DrlValue(standard_exam_id=exam.id, patient_group="adult", quantity="ctdivol_mGy", level="exposure", value=15.0),
            DrlValue(standard_exam_id=exam.id, patient_group="adult", quantity="total_dlp_mGycm", level="exam", value=500.0),
        ]
        s.add(local)
        return exam.id


def thorax_study(ctdivol, dlp, **kw):
    return ct_study("2026-03-02", "CT-A", "Thorax routine", [ctdivol], [dlp], description="CT Thorax", **kw)


def test_above_k_times_drl_per_exam_and_per_exposure(sessions, thorax):
    exam_rule = add_rule(sessions, kind="drl", level="exam", parameters={"k": 2.0})
    exposure_rule = add_rule(sessions, kind="drl", level="exposure", quantity="ctdivol_mGy", parameters={"k": 1.0})
    national_only = add_rule(sessions, kind="drl", level="exam", parameters={"k": 1.0, "drl_kind": "national"})
    above, below = thorax_study(15.01, 1000.1), thorax_study(14.99, 999.9)
    store(sessions, above, below)
    (exam_alert,) = fired(sessions, exam_rule)
    assert exam_alert.study_instance_uid == above.study_instance_uid
    assert exam_alert.value == pytest.approx(1000.1) and exam_alert.threshold == pytest.approx(1000.0)
    assert exam_alert.reference["drl"] == 500.0 and exam_alert.reference["drl_kind"] == "local"
    assert "2.00 × the local DRL of 500 mGy·cm" in exam_alert.reason and "'CT Thorax'" in exam_alert.reason
    assert exam_alert.actions and exam_alert.status == "new" and exam_alert.rule["version"] == 1
    assert uids(fired(sessions, exposure_rule)) == {above.study_instance_uid}
    assert fired(sessions, national_only) == []  # the only DRLs here are local


def test_series_level_adds_up_the_events_of_one_series(sessions):
    with sessions() as s, s.begin():
        exam_with_drl(s, "DX-PELVIS", "Pelvis AP", "DX", {"field": "protocol", "op": "equals", "value": "Pelvis AP"},
                      quantity="dap_Gycm2", level="exposure", value=1.0)
    series_rule = add_rule(sessions, kind="drl", level="series", parameters={"k": 1.0})
    exposure_rule = add_rule(sessions, kind="drl", level="exposure", parameters={"k": 1.0})

    def two_exposures(first, second):
        study = dx_study("2026-03-02", "DX-1", "Pelvis AP", first).as_dict()
        study["events"].append({**study["events"][0], "irradiation_event_uid": study["events"][0]["irradiation_event_uid"] + ".2",
                                "dap_Gycm2": second})
        for event in study["events"]:
            event["image"] = {"series_instance_uid": "1.2.826.0.1.3680043.9.7.1"}
        return typed(study)

    above, below = two_exposures(0.6, 0.41), two_exposures(0.6, 0.39)
    store(sessions, above, below)
    (alert,) = fired(sessions, series_rule)
    assert alert.study_instance_uid == above.study_instance_uid and alert.value == pytest.approx(1.01)
    assert alert.subject.startswith("series:")
    assert fired(sessions, exposure_rule) == []  # no single exposure is above the DRL


def test_strlschv_individual_ct_criteria_shipped_as_data(sessions):
    ids = enable(sessions, "criterion:12", "criterion:13")
    body_above = ct_study("2026-03-02", "CT-A", "Abdomen routine", [80.01], [900], description="CT Abdomen")
    body_below = ct_study("2026-03-02", "CT-A", "Abdomen routine", [79.99], [900], description="CT Abdomen")
    brain_between = ct_study("2026-03-02", "CT-A", "Head routine", [100.0], [1500], description="CT Kopf")
    brain_above = ct_study("2026-03-02", "CT-A", "Brain perfusion", [120.01], [1500], description="CT Kopf")
    store(sessions, body_above, body_below, brain_between, brain_above)
    assert uids(fired(sessions, ids["criterion:13"])) == {body_above.study_instance_uid}
    assert uids(fired(sessions, ids["criterion:12"])) == {brain_above.study_instance_uid}
    (alert,) = fired(sessions, ids["criterion:12"])
    assert alert.severity == "high" and "120 mGy" in alert.reason and "Brain perfusion" in alert.reason


def test_expected_range_per_ct_protocol_has_an_upper_and_a_lower_bound(sessions):
    rule = add_rule(sessions, kind="expected_range", modality="CT", quantity="ctdivol_mGy", level="exposure",
                    parameters={"lower": 5.0, "upper": 15.0,
                                "conditions": [{"field": "protocol", "op": "equals", "value": "Abdomen routine"}]})
    studies = {v: ct_study("2026-03-02", "CT-A", "Abdomen routine", [v], [v * 30]) for v in (15.01, 14.99, 4.99, 5.01)}
    other_protocol = ct_study("2026-03-02", "CT-A", "Thorax low dose", [2.0], [60])
    store(sessions, *studies.values(), other_protocol)
    alerts = {a.study_instance_uid: a for a in fired(sessions, rule)}
    assert set(alerts) == {studies[15.01].study_instance_uid, studies[4.99].study_instance_uid}
    assert alerts[studies[15.01].study_instance_uid].reference["side"] == "above"
    low = alerts[studies[4.99].study_instance_uid]
    assert low.reference["side"] == "below" and low.threshold == 5.0 and "below the expected range" in low.reason


def test_fluoroscopy_srdl_and_notification_steps(sessions):
    ids = enable(sessions, "fluoro:1", "fluoro:5")
    srdl, steps = ids["fluoro:1"], ids["fluoro:5"]
    at_srdl = rf_study("2026-03-02", "ANGIO-1", "Embolisation", dap=150, ka_r=5000.0)
    below_srdl = rf_study("2026-03-02", "ANGIO-1", "Embolisation", dap=150, ka_r=4999.9)
    below_notification = rf_study("2026-03-02", "ANGIO-1", "Embolisation", dap=50, ka_r=2999.9)
    store(sessions, at_srdl, below_srdl, below_notification)
    assert uids(fired(sessions, srdl)) == {at_srdl.study_instance_uid}  # Ka,r ≥ 5 Gy
    by_study = {}
    for alert in fired(sessions, steps):
        by_study.setdefault(alert.study_instance_uid, []).append(alert.threshold)
    # 3 Gy, then every 1 Gy: 5000 mGy has reached the 5 Gy step, 4999.9 the 4 Gy step, 2999.9 none
    assert by_study == {at_srdl.study_instance_uid: [5000.0], below_srdl.study_instance_uid: [4000.0]}
    (alert,) = fired(sessions, srdl)
    assert "5000 mGy" in alert.reason and any("skin" in a for a in alert.actions)


def test_ct_dose_check_alert_recorded_in_the_rdsr(sessions):
    ids = enable(sessions, "kerma:dose-check-alert")

    def with_dose_check(estimate):
        study = ct_study("2026-03-02", "CT-A", "Abdomen routine", [20.0], [400.0])
        return replace(study, events=(study.events[0].changed(
            dose_check_dlp_alert_configured="Yes", dose_check_dlp_alert_mGycm=100.0,
            dose_check_alert_dlp_forward_estimate_mGycm=estimate, dose_check_alert_reason_for_proceeding="Obese patient"),))

    reached, below = with_dose_check(100.1), with_dose_check(99.9)
    real = extract((CORPUS / "openrem/CT-RDSR-Toshiba_DoseCheck.dcm").read_bytes())  # DLP alert 100, estimate 251.2
    store(sessions, reached, below, real)
    alerts = {}
    for alert in fired(sessions, ids["kerma:dose-check-alert"]):
        alerts.setdefault(alert.study_instance_uid, []).append(alert)
    assert set(alerts) == {reached.study_instance_uid, real.study_instance_uid}
    assert "Obese patient" in alerts[reached.study_instance_uid][0].reason
    recorded = sorted((a.quantity, a.value, a.threshold) for a in alerts[real.study_instance_uid])
    assert ("dose_check_alert_dlp_forward_estimate_mGycm", 251.2, 100.0) in recorded  # the report's first alert


def test_cumulative_dose_per_patient_is_off_by_default_and_says_it_is_no_risk_measure(sessions):
    with sessions() as s, s.begin():
        load_shipped_rules(s)
        shipped = s.scalars(select(AlertRule).where(AlertRule.kind == "cumulative")).all()
        assert shipped and not any(r.enabled for r in shipped)
    for rule in shipped:
        with sessions() as s, s.begin():
            s.get(AlertRule, rule.id).enabled = False
    rule = add_rule(sessions, kind="cumulative", quantity="total_dlp_mGycm", parameters={"threshold": 1000.0, "window_days": 365})

    def exam(patient, day, dlp):
        study = ct_study(day, "CT-A", "Abdomen", [10.0], [dlp])
        return replace(study, patient=replace(study.patient, patient_id=patient))

    store(sessions, exam("P1", "2026-01-10", 400.0), exam("P1", "2026-06-10", 600.1),  # 1000.1 within a year
          exam("P2", "2026-01-10", 400.0), exam("P2", "2026-06-10", 599.9),  # 999.9
          exam("P3", "2025-01-10", 900.0), exam("P3", "2026-06-10", 200.0))  # 1100, but 517 days apart
    (alert,) = fired(sessions, rule)
    assert alert.value == pytest.approx(1000.1) and "not a measure of risk" in alert.reason


def _kvp_study(day, kvp, station="CT-B"):
    study = ct_study(day, station, "Abdomen routine", [10.0], [300.0])
    return replace(study, events=(study.events[0].changed(kvp=kvp),))


def test_drift_fires_just_above_tolerance_on_the_same_device_and_protocol(sessions):
    rule = add_rule(sessions, kind="drift", quantity="kvp",
                    parameters={"tolerance_percent": 10.0, "recent_exams": 1, "baseline_exams": 20, "min_baseline_exams": 10})
    store(sessions, *[_kvp_study(f"2026-02-{d:02d}", 120.0) for d in range(1, 21)])
    just_below = _kvp_study("2026-03-01", 132.0)  # +10.0 %
    other_device = _kvp_study("2026-03-01", 140.0, station="CT-C")  # no baseline there yet
    store(sessions, just_below, other_device)
    assert fired(sessions, rule) == []
    just_above = _kvp_study("2026-03-02", 133.0)  # +10.8 %
    store(sessions, just_above)
    (alert,) = fired(sessions, rule)
    assert alert.study_instance_uid == just_above.study_instance_uid
    assert alert.reference["baseline"] == 120.0 and alert.reference["change_percent"] == pytest.approx(10.83, abs=0.01)


def test_shipped_kvp_drift_detects_a_generated_kvp_change_once(sessions):
    ids = enable(sessions, "kerma:drift-kvp")  # median of the last 3 exams against the 20 before
    store(sessions, *[_kvp_study(f"2026-02-{d:02d}", 120.0) for d in range(1, 26)])
    changed = [_kvp_study(f"2026-03-{d:02d}", 140.0) for d in range(1, 6)]
    for study in changed:  # one study per batch, as a device sends them
        store(sessions, study)
    alerts = fired(sessions, ids["kerma:drift-kvp"])
    assert [a.study_instance_uid for a in alerts] == [changed[1].study_instance_uid]  # 2 of the last 3 at 140 kV
    assert "+16.7%" in alerts[0].reason and "Abdomen routine" in alerts[0].reason


def test_a_kvp_hidden_in_a_ct_reports_xray_sources_counts_for_drift(sessions):
    rule = add_rule(sessions, kind="drift", quantity="kvp", parameters={"recent_exams": 1, "min_baseline_exams": 3})

    def study(day, kvp):
        record = ct_study(day, "CT-D", "Chest", [5.0], [150.0])
        return replace(record, events=(record.events[0].changed(xray_sources=[{"source_id": "A", "kvp": kvp}]),))

    store(sessions, *[study(f"2026-02-0{d}", 100.0) for d in range(1, 5)])
    store(sessions, study("2026-03-01", 130.0))  # +30 %, beyond the default 20 %
    assert len(fired(sessions, rule)) == 1


def test_new_device_and_new_software_version(sessions):
    ids = enable(sessions, "kerma:new-device", "kerma:new-software")

    def study(day, version, station="DX-9"):
        record = dx_study(day, station, "Chest PA", 0.1)
        return replace(record, device=replace(record.device, software_versions=version))

    first, same, updated, again = study("2026-03-01", "1.0"), study("2026-03-02", "1.0"), study("2026-03-03", "2.0"), study("2026-03-04", "2.0")
    store(sessions, first)
    store(sessions, same, updated)
    store(sessions, again)
    assert uids(fired(sessions, ids["kerma:new-device"])) == {first.study_instance_uid}
    (software,) = fired(sessions, ids["kerma:new-software"])
    assert software.study_instance_uid == updated.study_instance_uid
    assert software.reference == {"device_id": software.device_id, "previous": "1.0", "new": "2.0"}


@pytest.fixture
def national_thorax(sessions, thorax):
    with sessions() as s, s.begin():
        s.add(DrlSet(name="National test set", kind="national", enabled=True, values=[DrlValue(
            standard_exam_id=thorax, patient_group="adult", quantity="total_dlp_mGycm", level="exam", value=500.0)]))
    return enable(sessions, "criterion:11:CT")["criterion:11:CT"]


@pytest.mark.parametrize("others, last, fires", [
    ([1000.0] * 19, 1600.0, True),   # trigger 1600 > 3 × 500; mean 1030 > 2 × 500
    ([960.0] * 19, 1600.0, False),   # mean 992: at most 2 × DRL
    ([1100.0] * 19, 1499.0, False),  # mean high, but no single exam above 3 × DRL to trigger the evaluation
    ([1100.0] * 18, 1600.0, False),  # only 19 exams on this device
])
def test_strlschv_group_rule_over_the_last_20_exams(sessions, national_thorax, others, last, fires):
    store(sessions, *[thorax_study(20.0, dlp) for dlp in others])
    trigger = thorax_study(20.0, last)
    trigger = replace(trigger, study=replace(trigger.study, study_date="2026-03-03"))
    store(sessions, trigger)
    alerts = fired(sessions, national_thorax)
    assert uids(alerts) == ({trigger.study_instance_uid} if fires else set())
    if fires:
        assert alerts[0].value == pytest.approx((sum(others) + last) / 20)
        assert "last 20 'CT Thorax' examinations" in alerts[0].reason and alerts[0].severity == "high"


def test_uk_ten_times_local_drl_for_interventions(sessions):
    ids = enable(sessions, "criterion:8")
    with sessions() as s, s.begin():
        exam_with_drl(s, "IR-EMB", "Embolisation", "RF", {"field": "protocol", "op": "equals", "value": "Embolisation"},
                      quantity="total_dap_Gycm2", value=30.0)
    above = rf_study("2026-03-02", "ANGIO-1", "Embolisation", dap=300.1)
    store(sessions, above, rf_study("2026-03-02", "ANGIO-1", "Embolisation", dap=299.9))
    assert uids(fired(sessions, ids["criterion:8"])) == {above.study_instance_uid}


def test_re_evaluation_finds_the_same_alert_and_the_outbox_commits_with_it(sessions, thorax):
    rule = add_rule(sessions, kind="drl", level="exam", parameters={"k": 1.0}, notify_roles=["mpe"])
    with sessions() as s, s.begin():
        s.add(Recipient(name="MPE", role="mpe", email="mpe@example.org"))
        s.add(Recipient(name="Other site", role="mpe", email="far@example.org", site="Elsewhere"))
    study = thorax_study(10.0, 600.0)
    with pytest.raises(RuntimeError):
        with sessions() as s, s.begin():
            store_batch(s, [Processed(next(_seq), "x", study)], last_seq=next(_seq))
            raise RuntimeError("crash before commit")
    assert fired(sessions) == []
    with sessions() as s:
        assert s.scalar(select(func.count(OutboxMessage.id))) == 0
    store(sessions, study)
    (event,) = study.events  # a second report of the same study, with more dose
    second = replace(study, sop_instance_uid=study.sop_instance_uid + ".2",
                     events=(event.changed(irradiation_event_uid=event["irradiation_event_uid"] + ".2"),),
                     totals=study.totals.changed(ct_dlp_total_mGycm=100.0))
    store(sessions, second)
    (alert,) = fired(sessions, rule)
    assert alert.value == pytest.approx(700.0)  # re-valued, not doubled
    with sessions() as s:
        assert [c.text for c in s.get(Alert, alert.id).comments] == ["Re-evaluated after the study's records changed: "
                                                                      "600 mGy·cm → 700 mGy·cm."]
        messages = s.scalars(select(OutboxMessage)).all()
        assert [(m.channel, m.address, m.alert_id) for m in messages] == [("email", "mpe@example.org", alert.id)]


def test_rules_are_checked_before_they_are_saved():
    for fields, message in [({"kind": "drl", "name": "x", "level": "patient"}, "level"),
                            ({"kind": "absolute", "name": "x", "quantity": "ctdivol_mGy"}, "threshold"),
                            ({"kind": "expected_range", "name": "x", "quantity": "ctdivol_mGy", "parameters": {"lower": 9, "upper": 3}}, "lower bound"),
                            ({"kind": "drift", "name": "x", "quantity": "dap_Gycm2"}, "drift watches"),
                            ({"kind": "drl", "name": "x", "notify_roles": ["cleaner"]}, "notify_roles"),
                            ({"kind": "absolute", "name": "x", "quantity": "total_dlp_mGycm", "level": "exposure",
                              "parameters": {"threshold": 1}}, "not a quantity at level exposure")]:
        with pytest.raises(AlertRuleError, match=message):
            validated(fields)


def test_shipped_criteria_follow_the_reference_tables():
    fluoro = {r["code"]: r for r in rows(FLUORO_LEVELS)}
    criteria = rows(SIGNIFICANT_EVENTS)
    reference = list(csv.DictReader(open(REFERENCE / "fluoro_skin_trigger_levels.csv", encoding="utf-8")))
    kept = [r for r in reference if not r["framework"].startswith("Germany")]  # that row is a significant-event criterion
    assert [f["source"] for f in fluoro.values()] == [r["source"] for r in kept]
    for row in [*fluoro.values(), *criteria]:
        assert row["source"] and row["verification"]
        assert (row["enabled"] == "yes") == (row["verification"] in VERIFIED and row["evaluable"] == "yes"), row["code"]
    assert json.loads(fluoro["fluoro:1"]["parameters"])["threshold"] == 5000.0  # 5 Gy in mGy
    assert json.loads(fluoro["fluoro:5"]["parameters"]) == {"threshold": 3000.0, "increment": 1000.0}
    assert json.loads(fluoro["fluoro:8"]["parameters"]) == {"threshold": 1800.0, "increment": 900.0}  # 30 min, every 15
    criteria_reference = list(csv.DictReader(open(REFERENCE / "unintended_exposure_criteria.csv", encoding="utf-8")))
    assert {r["source"] for r in criteria} == {r["source"] for r in criteria_reference}
    by_code = {r["code"]: r for r in criteria}
    dap = json.loads(by_code["criterion:14"]["parameters"])["threshold"]
    assert dap == 200.0 and "20000 cGy·cm2" in by_code["criterion:14"]["published"]
    enabled = sorted(r["code"] for r in criteria if r["enabled"] == "yes")
    assert enabled == ["criterion:11:CT", "criterion:11:NM", "criterion:11:RF", "criterion:12", "criterion:13",
                       "criterion:14", "criterion:8"]
    assert by_code["criterion:16"]["verification"] == "unverified_forum" and by_code["criterion:16"]["enabled"] == "no"


def test_the_shipped_rules_over_the_whole_corpus(sessions, caplog):
    """Every shipped rule runs over every corpus report without error, and what fires is what the reports hold."""
    from corpus import dose_reports
    with sessions() as s, s.begin():
        load_shipped_rules(s)
        codes = {r.id: r.code for r in s.scalars(select(AlertRule))}
        for rule in s.scalars(select(AlertRule)):
            rule.enabled = True  # the unverified levels too: they must run as well
    records = [extract(p.read_bytes()) for p in dose_reports()]
    with caplog.at_level("ERROR", logger="kerma.evaluate"):
        store(sessions, *records)
    assert caplog.records == []
    fired_codes = {}
    for alert in fired(sessions):
        fired_codes.setdefault(codes[alert.rule_id], set()).add(alert.study_instance_uid)
    by_file = {p.name: r.study_instance_uid for p, r in zip(dose_reports(), records)}
    big_rf = by_file["RF-Pat-Orientation-Modifier-Missing.dcm"]  # DAP 468.8 Gy·cm², Ka,r 7689 mGy, 47 min
    assert big_rf in fired_codes["criterion:14"]  # StrlSchV: DAP of a fluoroscopy above 200 Gy·cm²
    assert big_rf in fired_codes["fluoro:1"] and "fluoro:4" not in fired_codes  # Ka,r ≥ 5 Gy; 47 min < 60 min
    assert fired_codes["fluoro:5"] == {big_rf}  # the only report above Ka,r 3 Gy
    assert by_file["CT-RDSR-Toshiba_DoseCheck.dcm"] in fired_codes["kerma:dose-check-alert"]
    with sessions() as s:
        devices = {o.device_id for o in s.scalars(select(DoseObject)) if o.device_id is not None}
        alerts = s.scalars(select(Alert)).all()
        steps = {codes[a.rule_id]: a.threshold for a in alerts if a.study_instance_uid == big_rf}
    new_devices = [a.reference["device_id"] for a in alerts if codes[a.rule_id] == "kerma:new-device"]
    assert sorted(new_devices) == sorted(devices)  # each device once, on its first study
    assert steps["fluoro:5"] == 7000.0  # Ka,r 7689 mGy: 3 Gy, then every 1 Gy
    assert steps["fluoro:8"] == 2700.0  # 2827 s: 30 min, then every 15 min
