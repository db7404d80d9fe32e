"""The must-show of issue 16 §2, end to end on a real report: a correction factor on a device changes its statistics
and alerts by exactly that factor, keeps raw values, and is audited.

Three copies of the GE LightSpeed RT16 CT RDSR of the corpus (new UIDs, one study a day) are extracted and stored as
ingestion stores them; the expected values are the file's own DLP read here with pydicom, times the factor (never
Kerma's output).  A CTDIvol check factor over the first two days moves their DLP across two alert rules: a DRL rule
that fired on the raw values (its alerts close, saying why, and reopen when a new version puts them above again)
and an absolute trigger the raw values stay under (it fires when the correction puts them above).  SQLite and
PostgreSQL, no Orthanc (tests/test_ui_corrections.py does the same through Orthanc and Chromium)."""

from dataclasses import replace

import pydicom
import pytest
from pydicom.uid import generate_uid
from sqlalchemy import select

from kerma.api import Context, Request, handle
from kerma.config import Settings
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import Alert, AlertRule, AuditEntry, Device
from kerma.db.schema import upgrade
from kerma.extract import extract
from kerma.ingest.store import Processed, store_batch
from conftest import CORPUS
from dicom_factory import copy_with
from dose_setup import exam_with_drl

REPORT = CORPUS / "openrem/CT-RDSR-GEPixelMed.dcm"
DAYS = ("2026-03-01", "2026-03-02", "2026-03-03")
COVERED = DAYS[:2]  # the factor is in force on the first two days, bounds included


def file_dlp() -> tuple[float, list[float]]:
    """The report's DLP total (DCM 113813) and each event's DLP (DCM 113838), in mGy.cm as the file writes them."""
    total, events = None, []

    def walk(item):
        nonlocal total
        for child in getattr(item, "ContentSequence", []):
            names = getattr(child, "ConceptNameCodeSequence", None)
            if names and child.ValueType == "NUM" and names[0].CodeValue in ("113813", "113838"):
                measured = child.MeasuredValueSequence[0]
                assert measured.MeasurementUnitsCodeSequence[0].CodeValue == "mGy.cm"
                if names[0].CodeValue == "113813":
                    total = float(measured.NumericValue)
                else:
                    events.append(float(measured.NumericValue))
            walk(child)
    walk(pydicom.dcmread(REPORT))
    return total, events


DLP, EVENT_DLPS = file_dlp()
DRL = round(DLP * 0.9, 1)  # the raw DLP is above this DRL (k = 1)
TRIGGER = round(DLP * 1.1, 1)  # and below this absolute trigger


@pytest.fixture
def api(database_url, tmp_path):
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    uids = [generate_uid() for _ in DAYS]
    records = [extract(copy_with(REPORT, StudyInstanceUID=uid, SeriesInstanceUID=generate_uid(), StudyDate=day.replace("-", "")))
               for uid, day in zip(uids, DAYS)]
    with sessions() as s, s.begin():
        exam_with_drl(s, "CT-HEAD", "CT head", "CT", {"field": "modality", "op": "equals", "value": "CT"},
                      quantity="total_dlp_mGycm", value=DRL)
        s.add_all([AlertRule(name="Above the DRL", kind="drl", severity="warning", level="exam", quantity="total_dlp_mGycm",
                             parameters={"k": 1.0}, notify_roles=[]),
                   AlertRule(name="DLP trigger", kind="absolute", severity="high", level="exam", quantity="total_dlp_mGycm",
                             parameters={"threshold": TRIGGER}, notify_roles=[])])
        s.flush()
        store_batch(s, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
    with sessions() as s:
        device = s.scalars(select(Device.id)).one()
    ctx = Context(sessions, settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(method, path, query=None, body=None):
        status, answer = handle(ctx, Request(method, path, query or {}, body, "mpe", roles=frozenset({"physicist"})))
        assert status == 200, answer
        return answer

    yield call, sessions, dict(zip(DAYS, uids)), device
    engine.dispose()


def alerts(sessions) -> dict:
    """(rule name, study date) -> (status, value, last comment)."""
    with sessions() as s:
        rules = {r.id: r.name for r in s.scalars(select(AlertRule))}
        return {(rules[a.rule_id], a.study_date.isoformat()): (a.status, a.value, a.comments[-1].text if a.comments else None)
                for a in s.scalars(select(Alert))}


def median(call, device, day):
    [row] = call("GET", "statistics", {"quantity": "total_dlp_mGycm", "period": "all", "device_id": str(device),
                                       "date_from": day, "date_to": day})["statistics"]
    return row


def test_a_correction_factor_moves_statistics_and_alerts_by_exactly_that_factor(api):
    call, sessions, uids, device = api
    assert DLP is not None and len(EVENT_DLPS) == 2
    assert {k: v[:2] for k, v in alerts(sessions).items()} == {("Above the DRL", d): ("new", DLP) for d in DAYS}
    assert [median(call, device, d)["median"] for d in DAYS] == [DLP] * 3

    body = {"device_id": device, "kind": "ctdivol", "factor": 0.8, "valid_from": COVERED[0], "valid_to": COVERED[-1],
            "measured_on": "2026-02-27", "method": "CTDI head phantom, 100 mm chamber, 120 kV", "measured_by": "A. Physicist"}
    made = call("POST", "corrections", body=body)
    factor_id = made["correction"]["id"]
    assert made["recomputed_studies"] == 2 and made["alerts"] == {"raised": 0, "closed": 2, "commented": 0, "reopened": 0}

    # statistics: exactly the factor on the covered days, the third untouched; the ratio to the DRL the same way
    for day in DAYS:
        row = median(call, device, day)
        expected = DLP * 0.8 if day in COVERED else DLP
        assert row["median"] == pytest.approx(expected, rel=1e-12)
        assert row["median_over_drl"] == pytest.approx(expected / DRL, rel=1e-12)
    # alerts: the two the factor brings under the DRL are closed, saying why; the third stays open
    now = alerts(sessions)
    for day in COVERED:
        status, value, comment = now[("Above the DRL", day)]
        assert (status, value) == ("closed", pytest.approx(DLP * 0.8, rel=1e-12))
        assert comment == (f"Closed automatically: no longer above the threshold after correction factor #{factor_id} "
                           f"(CTDIvol check factor ×0.8, version 1): value {DLP * 0.8:.4g} mGy·cm, threshold {DRL:.4g} mGy·cm.")
    assert now[("Above the DRL", DAYS[2])] == ("new", DLP, None)
    assert ("DLP trigger", COVERED[0]) not in now

    # a new version above the trigger: the closed alerts reopen, the trigger fires, each at the corrected value
    changed = call("PUT", f"corrections/{factor_id}", body={"factor": 1.2})
    assert changed["alerts"] == {"raised": 2, "closed": 0, "commented": 0, "reopened": 2}
    now = alerts(sessions)
    for day in COVERED:
        assert now[("Above the DRL", day)][:2] == ("acknowledged", pytest.approx(DLP * 1.2, rel=1e-12))
        assert now[("Above the DRL", day)][2].startswith(f"Above the threshold again after correction factor #{factor_id} "
                                                         "(CTDIvol check factor ×1.2, version 2): value ")
        assert now[("DLP trigger", day)][:2] == ("new", pytest.approx(DLP * 1.2, rel=1e-12))
    assert ("DLP trigger", DAYS[2]) not in now
    assert median(call, device, COVERED[0])["median"] == pytest.approx(DLP * 1.2, rel=1e-12)

    # the raw values stay: the report's totals and every event as the file writes them, the corrected ones beside them
    for day in DAYS:
        study = call("GET", f"studies/{uids[day]}", {"compact": "1"})
        [obj] = study["dose_objects"]
        assert obj["totals"]["ct_dlp_total_mGycm"] == DLP
        assert sorted(e["dlp_mGycm"] for e in study["events"]) == sorted(EVENT_DLPS)
        if day in COVERED:
            assert study["uncorrected_totals"]["ct_dlp_total_mGycm"] == DLP
            assert study["exam_totals"]["total_dlp_mGycm"] == pytest.approx(DLP * 1.2, rel=1e-12)
            assert sorted(e["corrected"]["dlp_mGycm"] for e in study["events"]) == pytest.approx(
                sorted(d * 1.2 for d in EVENT_DLPS), rel=1e-12)
        else:
            assert study["exam_totals"]["total_dlp_mGycm"] == DLP and study["uncorrected_totals"] is None
            assert all("corrected" not in e for e in study["events"])

    # removed: back to the raw values; the trigger's alerts close (the raw DLP is under it), the DRL's stay open
    removed = call("DELETE", f"corrections/{factor_id}")
    assert removed["alerts"] == {"raised": 0, "closed": 2, "commented": 0, "reopened": 0}
    now = alerts(sessions)
    for day in COVERED:
        assert now[("DLP trigger", day)] == ("closed", DLP, f"Closed automatically: no longer above the threshold after "
                                             f"correction factor #{factor_id} (CTDIvol check factor ×1.2, version 2) was "
                                             f"removed: value {DLP:.4g} mGy·cm, threshold {TRIGGER:.4g} mGy·cm.")
        assert now[("Above the DRL", day)][:2] == ("acknowledged", DLP)
    assert [median(call, device, d)["median"] for d in DAYS] == [DLP] * 3

    # audited: every change of the factor and every alert step it caused, by the physicist who made the change
    with sessions() as s:
        trail = [(e.action, e.actor, e.target_type) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert [a for a, _, t in trail if t == "correction_factor"] == ["correction_factor.create", "correction_factor.update",
                                                                   "correction_factor.delete"]
    assert sorted(a for a, _, t in trail if t == "alert") == ["alert.close"] * 4 + ["alert.reopen"] * 2
    assert {actor for _, actor, _ in trail} == {"mpe"}
