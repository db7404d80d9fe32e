"""A patient's dose history over the API (both engines): header, timeline, sums over windows ending on a day given
as an input, per modality, CSV and pseudonymised exports, roles and the audit trail; the windows' arithmetic."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace

import pytest
from sqlalchemy import select

from kerma import access
from kerma.api import Answer, Context, Request, handle
from kerma.config import Settings
from kerma.db.models import AuditEntry, DerivedDose, Study
from kerma.ingest.store import Processed, store_batch
from kerma.patients import windows
from kerma.record import DoseRecord
from records_factory import ct_study, dx_study

PATIENT = "PAT^1/α"  # carets, a slash and a non-ASCII letter: the path carries it as sent
AS_OF = "2026-12-02"


def of_patient(record: DoseRecord, patient_id: str = PATIENT, weight: float | None = None) -> DoseRecord:
    weight = record.patient.weight_kg if weight is None else weight
    return replace(record, patient=replace(record.patient, patient_id=patient_id, name="Doe^Jane^Q", sex="F",
                                           weight_kg=weight))


@pytest.fixture
def call(sessions, tmp_path):
    records = [
        of_patient(ct_study("2025-06-01", "CT-A", "Abdomen", [20.0], [400.0], weight=70.0)),  # outside 12 months
        of_patient(dx_study("2026-03-03", "DX-1", "Chest PA", 0.5)),
        of_patient(ct_study("2026-11-20", "CT-A", "Chest", [5.0, 12.0], [100.0, 250.0], weight=72.5)),
        of_patient(ct_study("2026-11-25", "CT-B", "Head", [60.0], [900.0]), patient_id="SOMEONE-ELSE"),
    ]
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
    with sessions() as session, session.begin():  # the dosimetry thread's rows, written here as it would
        study = {s.study_date.isoformat(): s.id for s in session.scalars(select(Study).where(Study.patient_id == PATIENT))}
        common = {"inputs_sha256": "0" * 64, "model_version": "test", "kind": "effective_dose", "part": ""}
        session.add_all([
            DerivedDose(study_id=study["2025-06-01"], status="estimated", method="DLP x k", effective_dose_mSv=6.0,
                        uncertainty_relative=0.5, **common),
            DerivedDose(study_id=study["2026-11-20"], status="estimated", method="DLP x k", effective_dose_mSv=5.25,
                        uncertainty_relative=0.4, **common),
            DerivedDose(study_id=study["2026-03-03"], status="not_estimated", method="not estimated",
                        reason="no verified coefficient", **common)])
    ctx = Context(sessions, settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(path, query=None, roles=frozenset({access.VIEWER}), status=200):
        got, answer = handle(ctx, Request("GET", path, query or {}, None, "reader", roles=roles))
        assert got == status, answer
        return answer

    call.sessions = sessions
    return call


def test_the_history_lists_every_study_and_sums_over_the_windows(call):
    answer = call(f"patients/{PATIENT}/dose-history", {"window": "12m,all", "as_of": AS_OF})
    assert answer["privacy"] == "identified" and answer["as_of"] == AS_OF
    assert "bookkeeping figure, not a personal risk" in answer["statement"]
    studies = answer["studies"]
    assert [s["study_date"] for s in studies] == ["2025-06-01", "2026-03-03", "2026-11-20"]  # oldest first
    assert [s["total_dlp_mGycm"] for s in studies] == [400.0, None, 350.0]  # absent is null, never 0
    assert [s["total_dap_Gycm2"] for s in studies] == [None, 0.5, None]
    assert [s["ctdivol_mGy"] for s in studies] == [20.0, None, 12.0]  # the highest counted acquisition
    assert [s["modalities"] for s in studies] == [["CT"], ["DX"], ["CT"]]
    assert [s["effective_dose_mSv"] for s in studies] == [6.0, None, 5.25]  # absent where none could be made
    assert studies[1]["effective_dose_reason"] == "no verified coefficient"
    assert (studies[2]["effective_dose_mSv_low"], studies[2]["effective_dose_mSv_high"]) == pytest.approx((3.15, 7.35))
    assert all(s["psd_mGy"] is None for s in studies)
    last_12, whole = answer["windows"]
    assert (last_12["window"], last_12["date_from"], last_12["date_to"]) == ("12m", "2025-12-03", AS_OF)
    assert (last_12["studies"], last_12["total_dlp_mGycm"], last_12["total_dap_Gycm2"]) == (2, 350.0, 0.5)
    assert (whole["studies"], whole["total_dlp_mGycm"], whole["total_dap_Gycm2"]) == (3, 750.0, 0.5)
    assert last_12["total_ka_r_mGy"] is None
    # 5.25 mSv ± 40 %, plus 6.0 mSv ± 50 % over the whole history: the bands add (3.15 + 3.0, 7.35 + 9.0)
    assert [last_12[k] for k in ("effective_dose_mSv", "effective_dose_mSv_low", "effective_dose_mSv_high")] == \
        pytest.approx([5.25, 3.15, 7.35])
    assert [whole[k] for k in ("effective_dose_mSv", "effective_dose_mSv_low", "effective_dose_mSv_high")] == \
        pytest.approx([11.25, 6.15, 16.35])
    assert (last_12["effective_dose_not_estimated_studies"], whole["effective_dose_not_estimated_studies"]) == (1, 1)
    per_modality = {(r["window"], r["modality"]): (r["studies"], r["total_dlp_mGycm"], r["total_dap_Gycm2"])
                    for r in answer["modalities"]}
    assert per_modality == {("12m", "CT"): (1, 350.0, None), ("12m", "DX"): (1, None, 0.5),
                            ("all", "CT"): (2, 750.0, None), ("all", "DX"): (1, None, 0.5)}


def test_the_header_says_who_with_the_latest_size_and_its_source(call):
    patient = call(f"patients/{PATIENT}")["patient"]
    assert (patient["patient_id"], patient["name"], patient["sex"], patient["studies"]) == (PATIENT, "Doe^Jane^Q", "F", 3)
    assert (patient["weight_kg"], patient["weight_source"], patient["weight_on"]) == (72.5, "dicom", "2026-11-20")
    assert (patient["first_study_date"], patient["last_study_date"]) == ("2025-06-01", "2026-11-20")
    assert patient["age_years"] == 50.0 and patient["age_on"] == "2026-11-20"  # as the latest study with an age said


def test_csv_and_pseudonymised_exports_and_every_read_audited(call):
    text = call(f"patients/{PATIENT}/dose-history", {"format": "csv", "as_of": AS_OF})
    assert isinstance(text, Answer) and text.filename == "kerma-studies.csv"
    rows = list(csv.DictReader(io.StringIO(text.text)))
    assert [r["total_dlp_mGycm"] for r in rows] == ["400.0", "", "350.0"]
    sums = call(f"patients/{PATIENT}/dose-history", {"format": "csv", "part": "windows", "window": "5y", "as_of": AS_OF})
    assert list(csv.DictReader(io.StringIO(sums.text)))[0]["total_dlp_mGycm"] == "750.0"
    hidden = call(f"patients/{PATIENT}/dose-history", {"pseudonymise": "1", "as_of": AS_OF})
    assert hidden["patient"]["patient_id"].startswith("P-") and "name" not in hidden["patient"]
    assert all(s["accession_number"].startswith("P-") for s in hidden["studies"])
    assert PATIENT not in repr(hidden)
    with call.sessions() as session:
        entries = session.execute(select(AuditEntry.action, AuditEntry.target_id, AuditEntry.after)).all()
    assert [(a, t) for a, t, _ in entries] == [("data.export", f"patients/{PATIENT}/dose-history")] * 2 + [
        ("data.read", f"patients/{PATIENT}/dose-history")]
    assert entries[-1].after["privacy"] == "pseudonymised"


def test_roles_and_bad_input(call):
    call(f"patients/{PATIENT}", roles=frozenset(), status=403)
    call("patients/NOBODY/dose-history", status=404)
    assert "window" in call(f"patients/{PATIENT}/dose-history", {"window": "12 weeks"}, status=400)["error"]
    call(f"patients/{PATIENT}/dose-history", {"as_of": "2026-02-30"}, status=400)


def test_windows_end_on_the_day_given_and_count_months_by_the_calendar():
    (w,) = windows.parse("1m", dt.date(2026, 3, 31))
    assert (w.start, w.end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))  # 31 Mar - 1 month = 28 Feb, +1 day
    (w,) = windows.parse("1y", dt.date(2024, 2, 29))
    assert w.start == dt.date(2023, 3, 1) and w.holds(dt.date(2023, 3, 1)) and not w.holds(dt.date(2023, 2, 28))
    assert not w.holds(dt.date(2024, 3, 1)) and not w.holds(None)
    (everything,) = windows.parse("all", dt.date(2026, 1, 1))
    assert everything.start is None and everything.holds(None)
    for wrong in ("0m", "12", "12w", "12m,12m", "1201m"):
        with pytest.raises(ValueError):
            windows.parse(wrong, dt.date(2026, 1, 1))
