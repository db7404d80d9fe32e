"""Per-device correction factors (issue 16 §2): a factor on a device changes its statistics and alerts by exactly that
factor over its date range (bounds included), keeps the raw values beside the corrected ones, and is audited and
versioned.  Handlers and the ingest refresh on SQLite and PostgreSQL, no Orthanc."""

from dataclasses import replace

import pytest
from sqlalchemy import select

from kerma.api import Context, Request, handle
from kerma.config import Settings
from kerma.correction_kinds import kinds
from kerma.db import states
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import Alert, AlertRule, AuditEntry, Device
from kerma.db.schema import upgrade
from kerma.ingest.store import Processed, store_batch
from kerma.quantities import get
from kerma.stats.refresher import refresh
from dose_setup import exam_with_drl
from records_factory import rf_study

DAYS = ["2026-03-0%d" % d for d in range(1, 6)]
DAP = [10.0, 20.0, 30.0, 40.0, 50.0]  # Gy.cm2, device RF-1, one study a day
KAR = [100.0, 200.0, 400.0, 300.0, 500.0]  # mGy
COVERED = (1, 2, 3)  # the factors below cover 2026-03-02 to 2026-03-04: the second to fourth studies
KAR_LEVEL = 450.0  # an absolute trigger on the event's Ka,r


@pytest.fixture
def api(database_url, tmp_path):
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    records = [rf_study(day, "RF-1", "Angio", dap=dap, ka_r=kar) for day, dap, kar in zip(DAYS, DAP, KAR)]
    records.append(rf_study(DAYS[2], "RF-2", "Angio", dap=30.0, ka_r=480.0))  # another device, same day: untouched
    with sessions() as s, s.begin():
        exam_id = exam_with_drl(s, "RF-ANGIO", "Angiography", "RF", {"field": "modality", "op": "equals", "value": "RF"},
                                quantity="total_dap_Gycm2", value=25.0)
        s.add(AlertRule(name="Ka,r trigger", kind="absolute", severity="high", quantity="ka_r_mGy", level="exposure",
                        parameters={"threshold": KAR_LEVEL}, notify_roles=[]))
        s.flush()
        store_batch(s, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
        states.mark_months_stale(s)
        refresh(s, max_months=12)  # the month table is kept and fresh before the change
    with sessions() as s:
        device, other = (s.scalars(select(Device).where(Device.station_name == n)).one().id for n in ("RF-1", "RF-2"))
    ctx = Context(sessions, settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(method, path, query=None, body=None, user="mpe"):
        return handle(ctx, Request(method, path, query or {}, body, user, roles=frozenset({"physicist"})))

    yield call, sessions, records, device, other
    engine.dispose()


def factor_body(device, kind, factor, **extra):
    return {"device_id": device, "kind": kind, "factor": factor, "valid_from": "2026-03-02", "valid_to": "2026-03-04",
            "measured_on": "2026-03-01", "method": "reference KAP meter (RaySafe X2) in the beam, 80 kV, 20 x 20 cm",
            "measured_by": "A. Physicist", **extra}


def month_row(call, quantity_key, device):
    status, answer = call("GET", "statistics", {"quantity": quantity_key, "period": "month", "device_id": str(device)})
    assert status == 200, answer
    [row] = answer["statistics"]
    return row


def covered_median(call, quantity_key, device):
    status, answer = call("GET", "statistics", {"quantity": quantity_key, "period": "all", "device_id": str(device),
                                                "date_from": DAYS[1], "date_to": DAYS[3]})
    assert status == 200, answer
    [row] = answer["statistics"]
    return row


def fired(sessions):
    with sessions() as s:
        return sorted((a.study_date.isoformat(), a.value) for a in s.scalars(select(Alert).where(Alert.kind == "absolute")))


def test_a_factor_changes_statistics_and_alerts_by_exactly_that_factor_and_keeps_raw_values(api):
    call, sessions, records, device, other_device = api
    other = month_row(call, "total_dap_Gycm2", other_device)
    before_month = month_row(call, "total_dap_Gycm2", device)
    before_covered = covered_median(call, "ka_r_mGy", device)
    assert before_month["median"] == 30.0 and before_month["median_over_drl"] == 30.0 / 25.0
    assert before_covered["median"] == 300.0  # Ka,r of the covered studies: 200, 400, 300
    # raw: only the uncovered fifth study (500) and RF-2's (480) are above the trigger
    assert fired(sessions) == [("2026-03-03", 480.0), ("2026-03-05", 500.0)]

    status, dap = call("POST", "corrections", body=factor_body(device, "dap", 0.85))
    assert status == 200, dap
    assert dap["recomputed_studies"] == 3 and dap["correction"]["version"] == 1 and dap["correction"]["device_name"] == "RF-1"
    status, kar = call("POST", "corrections", body=factor_body(device, "ka_r", 1.25, notes="after the tube change"))
    assert status == 200, kar

    # statistics: the month's median (the third study, covered) and its ratio to the DRL move by exactly the factor;
    # the first and last study lie outside the range (its bounds included), so the minimum and maximum do not move
    after_month = month_row(call, "total_dap_Gycm2", device)
    assert after_month["median"] == pytest.approx(before_month["median"] * 0.85, rel=1e-12)
    assert after_month["median_over_drl"] / before_month["median_over_drl"] == pytest.approx(0.85, rel=1e-12)
    assert (after_month["min"], after_month["max"]) == (10.0, 50.0)
    assert after_month["n"] == before_month["n"] == 5
    after_covered = covered_median(call, "ka_r_mGy", device)  # exposure level: the event's factor column
    assert after_covered["median"] / before_covered["median"] == pytest.approx(1.25, rel=1e-12)
    # the month table was marked stale and is the same once recomputed
    with sessions() as s, s.begin():
        refresh(s, max_months=12)
    assert month_row(call, "total_dap_Gycm2", device)["median"] == after_month["median"]
    assert month_row(call, "total_dap_Gycm2", other_device) == other  # another device: untouched

    # alerts: the third study's Ka,r (400 raw, 500 corrected) now fires; the others keep their values
    assert fired(sessions) == [("2026-03-03", 480.0), ("2026-03-03", 500.0), ("2026-03-05", 500.0)]

    # raw values stay and are shown beside the corrected ones; outside the range nothing is corrected
    for i, record in enumerate(records[:5]):
        status, study = call("GET", f"studies/{record.study_instance_uid}")
        assert status == 200, study
        [obj] = study["dose_objects"]
        assert obj["totals"]["dap_total_Gycm2"] == DAP[i] and obj["totals"]["ka_r_total_mGy"] == KAR[i]
        [event] = study["events"]
        assert event["dap_Gycm2"] == DAP[i] and event["ka_r_mGy"] == KAR[i]
        if i in COVERED:
            assert study["totals"]["dap_total_Gycm2"] == pytest.approx(DAP[i] * 0.85, rel=1e-12)
            assert study["uncorrected_totals"]["dap_total_Gycm2"] == DAP[i]
            assert study["exam_totals"]["total_ka_r_mGy"] == pytest.approx(KAR[i] * 1.25, rel=1e-12)
            assert event["corrected"]["ka_r_mGy"] == pytest.approx(KAR[i] * 1.25, rel=1e-12)
            assert sorted(c["kind"] for c in study["corrections"]) == ["dap", "ka_r"]
        else:
            assert study["totals"]["dap_total_Gycm2"] == DAP[i] and study["uncorrected_totals"] is None
            assert "corrected" not in event and study["corrections"] is None

    # the event list keeps the values as reported and gives each event's factors beside them
    status, events = call("GET", "events", {"device_id": str(device), "limit": "100"})
    assert status == 200, events
    by_date = {e["study_date"]: e for e in events["events"]}
    assert [by_date[d]["ka_r_factor"] for d in DAYS] == [None, 1.25, 1.25, 1.25, None]
    assert [by_date[d]["dap_Gycm2"] for d in DAYS] == DAP and by_date[DAYS[2]]["ctdivol_factor"] is None

    # a new version: the ratio follows the new factor, the audit trail keeps before and after
    status, changed = call("PUT", f"corrections/{dap['correction']['id']}", body={"factor": 1.1})
    assert status == 200 and changed["correction"]["version"] == 2
    assert month_row(call, "total_dap_Gycm2", device)["median"] == pytest.approx(30.0 * 1.1, rel=1e-12)
    status, one = call("GET", f"corrections/{dap['correction']['id']}")
    assert [h["action"] for h in one["history"]] == ["correction_factor.update", "correction_factor.create"]
    assert one["history"][0]["before"]["factor"] == 0.85 and one["history"][0]["after"]["factor"] == 1.1
    assert one["history"][0]["actor"] == "mpe" and one["history"][1]["after"]["measured_by"] == "A. Physicist"

    # removing it brings the raw values back
    assert call("DELETE", f"corrections/{dap['correction']['id']}")[0] == 200
    assert month_row(call, "total_dap_Gycm2", device)["median"] == 30.0
    with sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.target_type == "correction_factor")
                                              .order_by(AuditEntry.id))]
    assert actions == ["correction_factor.create"] * 2 + ["correction_factor.update", "correction_factor.delete"]


def test_factors_are_checked(api):
    call, sessions, records, device, other_device = api
    assert call("POST", "corrections", body=factor_body(device, "dap", 1.1))[0] == 200
    status, answer = call("POST", "corrections", body=factor_body(device, "dap", 1.2, valid_from="2026-03-04",
                                                                   valid_to=None))
    assert status == 409 and "covers part" in answer["error"]  # shares 2026-03-04 with the first
    assert call("POST", "corrections", body=factor_body(device, "dap", 1.2, valid_from="2026-03-05", valid_to=None))[0] == 200
    assert call("POST", "corrections", body=factor_body(device, "table_transmission", 1.5))[0] == 400  # above 1
    assert call("POST", "corrections", body=factor_body(device, "dap", "1.1"))[0] == 400  # strict JSON types
    assert call("POST", "corrections", body=factor_body(device, "dap", 1.0, valid_from="2026-04-02",
                                                        valid_to="2026-04-01"))[0] == 400
    assert call("POST", "corrections", body=factor_body(device, "kvp", 1.0))[0] == 400
    assert call("POST", "corrections", body=factor_body(device, "dap", 1.0, colour="red"))[0] == 400
    assert call("POST", "corrections", body=factor_body(999, "ka_r", 1.0))[0] == 400
    assert call("GET", "corrections", {"device_id": str(device)})[1]["corrections"][0]["label"] == "DAP calibration factor"


def test_every_corrected_field_is_a_known_quantity():
    known = {k: get(k) for kind in kinds().values() for k in kind.quantities}
    for kind in kinds().values():
        for key in kind.quantities:
            assert known[key].kind == "dose", (kind.kind, key)


def test_skin_dose_uses_the_ka_r_factor_and_the_measured_table_transmission(corpus, tmp_path):
    """Derived doses (kerma.derived.compute): an RF report's peak skin dose and Ka,r sum scale with its device's Ka,r
    factor (with the DAP's by the same factor: the field at the reference point, DAP over Ka,r, stays), and the table
    transmission a physicist measured replaces the default one in the skin dose map."""
    from kerma.corrections.factors import corrected_record
    from kerma.derived.compute import skin_rows
    from kerma.extract import extract

    record = extract((corpus / "openrem/RF-RDSR-Siemens-Zee.dcm").read_bytes())

    def skin(factors):
        meta = {"dose_object_id": 1, "sop_instance_uid": record.sop_instance_uid, "factors": factors}
        [row] = skin_rows([(meta, corrected_record(record, factors))], tmp_path)
        return row

    raw, corrected, under_table = skin({}), skin({"ka_r": 1.25, "dap": 1.25}), skin({"table_transmission": 0.5})
    assert raw["psd_mGy"] > 0 and raw["kar_total_mGy"] == pytest.approx(sum(e["ka_r_mGy"] for e in record.events))
    assert corrected["kar_total_mGy"] / raw["kar_total_mGy"] == pytest.approx(1.25, rel=1e-9)
    assert corrected["psd_mGy"] / raw["psd_mGy"] == pytest.approx(1.25, rel=1e-3)
    assert under_table["kar_total_mGy"] == raw["kar_total_mGy"] and under_table["psd_mGy"] < raw["psd_mGy"]
