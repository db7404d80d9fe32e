"""Derived doses (kerma.derived): computed from a study's stored records, equal to the dosimetry models run directly
on the same file (those are tested against analytic and oracle values), recomputed when and only when an input
changes; both engines.  The dosimetry thread runs here with the model called in-process (the child process is
the real end-to-end test's: tests/test_orthanc_derived.py)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from kerma.classify.catalogue import add_site_exam
from kerma.db.models import Alert, AlertRule, CorrectionFactor, DerivedDose, DoseObject, MappingRule, Study
from kerma.db.states import mark_dosimetry_due
from kerma.derived import derived_doses, study_summaries
from kerma.derived.compute import compute
from kerma.derived.inputs import gather, sampled_slices
from kerma.dosimetry.effective import effective_dose
from kerma.dosimetry.skin import Geometry, skin_dose
from kerma.extract import extract
from kerma.ingest.dosimetry import DosimetryThread
from kerma.evaluate.shipped import FLUORO_LEVELS
from kerma.evaluate.shipped import rows as shipped_rows
from kerma.ingest.store import Processed, store_batch
from kerma.pipeline import refresh_due
from kerma.reports.charts import number
from kerma.reports.data import report_data
from kerma.reports.layout import sections


@pytest.fixture(scope="module")
def files(corpus):
    return {"ct": (corpus / "openrem" / "CT-RDSR-ToshibaPixelMed.dcm").read_bytes(),
            "rf": (corpus / "openrem" / "RF-RDSR-Philips_Azurion.dcm").read_bytes()}


class Files:
    """The instance source of the thread: the test's files by Orthanc id."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.fetched: list[str] = []

    def instance_file(self, orthanc_id: str) -> bytes | None:
        self.fetched.append(orthanc_id)
        return self.files.get(orthanc_id)


def stored(sessions, files) -> tuple[DosimetryThread, Files]:
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, name, extract(data)) for i, (name, data) in enumerate(files.items())],
                    last_seq=len(files))
    source = Files(files)
    return DosimetryThread(source, sessions, compute), source


def study_of(session, name: str, files) -> Study:
    uid = extract(files[name]).study.study_instance_uid
    return session.scalars(select(Study).where(Study.study_instance_uid == uid)).one()


def test_rows_equal_the_models_on_the_same_file_and_are_linked_to_their_inputs(sessions, files):
    thread, source = stored(sessions, files)
    assert thread.tick() is True and thread.computed == 2
    with sessions() as session:
        ct, rf = study_of(session, "ct", files), study_of(session, "rf", files)
        derived = derived_doses(session, [ct.id, rf.id])
        summary = study_summaries(session, [ct.id, rf.id])
        assert not ct.dosimetry_due and not rf.dosimetry_due and ct.dosimetry_inputs_sha256
    ct_direct = effective_dose(extract(files["ct"]))
    assert derived[ct.id]["effective_dose"]["effective_dose_mSv"] == pytest.approx(ct_direct.effective_dose_mSv, rel=1e-5)
    assert derived[ct.id]["effective_dose"]["uncertainty_relative"] == pytest.approx(ct_direct.uncertainty.relative, rel=1e-3)
    assert derived[ct.id]["effective_dose"]["status"] == "estimated" and "not a personal risk" in derived[ct.id]["effective_dose"]["statement"]
    low, high = summary[ct.id]["effective_dose_mSv_low"], summary[ct.id]["effective_dose_mSv_high"]
    assert low < ct_direct.effective_dose_mSv < high
    assert derived[ct.id]["effective_dose"]["inputs"]["objects"][0]["sop_instance_uid"] == extract(files["ct"]).sop_instance_uid
    ssde = derived[ct.id]["ssde"]
    assert ssde and all(r["method"] in ("device", "age_effective_diameter", "not estimated") for r in ssde)
    skin_direct = skin_dose(extract(files["rf"]), phantom="elliptic")
    [skin] = derived[rf.id]["skin_dose"]
    assert skin["psd_mGy"] == pytest.approx(skin_direct.psd_mGy, rel=1e-5) and skin["has_map"]
    assert skin["kar_total_mGy"] == pytest.approx(skin_direct.kar_total_mGy, rel=1e-5)
    assert summary[rf.id]["psd_mGy"] == skin["psd_mGy"]
    with sessions() as session:
        png = session.scalars(select(DerivedDose.map_png).where(DerivedDose.kind == "skin_dose")).one()
    assert png.startswith(b"\x89PNG")
    assert derived[rf.id]["effective_dose"]["status"] == "not_estimated" and derived[rf.id]["effective_dose"]["reason"]


def test_recomputed_only_when_an_input_changes(sessions, files):
    thread, source = stored(sessions, {"rf": files["rf"]})
    thread.tick()
    with sessions() as session, session.begin():
        rf = study_of(session, "rf", files)
        rf_id, before = rf.id, rf.dosimetry_inputs_sha256
        mark_dosimetry_due([rf])  # a refresh that changed nothing the doses depend on
    fetched = len(source.fetched)
    assert thread.update(rf_id) is False and len(source.fetched) == fetched  # nothing fetched, nothing computed
    with sessions() as session, session.begin():
        rf = session.get(Study, rf_id)
        assert not rf.dosimetry_due
        rf.patient_weight_kg, rf.patient_weight_source = 110.0, "his"  # the HIS corrects the weight
        mark_dosimetry_due([rf])
        old_psd = session.scalars(select(DerivedDose.psd_mGy).where(DerivedDose.study_id == rf_id,
                                                                    DerivedDose.kind == "skin_dose")).one()
    assert thread.update(rf_id) is True
    record = extract(files["rf"])
    record = replace(record, patient=replace(record.patient, weight_kg=110.0))
    expected = skin_dose(record, phantom="elliptic").psd_mGy
    with sessions() as session:
        rf = session.get(Study, rf_id)
        row = session.scalars(select(DerivedDose).where(DerivedDose.study_id == rf_id, DerivedDose.kind == "skin_dose")).one()
        assert rf.dosimetry_inputs_sha256 != before and row.inputs["patient"]["weight_kg"] == 110.0
        assert row.psd_mGy == pytest.approx(expected, rel=1e-5) and row.psd_mGy != pytest.approx(old_psd, rel=1e-4)


def test_a_deleted_report_leaves_the_study_with_nothing_to_convert(sessions, files):
    thread, _ = stored(sessions, {"ct": files["ct"]})
    thread.tick()
    with sessions() as session, session.begin():
        obj = session.scalars(select(DoseObject)).one()
        obj.status = "error"  # as if its record were withdrawn
        mark_dosimetry_due([obj.study])
        study_id = obj.study_id
    assert thread.update(study_id) is True
    with sessions() as session:
        derived = derived_doses(session, [study_id])[study_id]
        assert derived["effective_dose"]["status"] == "not_estimated" and derived["ssde"] == []
        assert gather(session, study_id).objects == ()


class Obj:
    def __init__(self, id):
        self.id = id


def test_slices_are_sampled_along_z_per_series():
    slices = [(Obj(i), {"z_mm": i * 2.5, "series_instance_uid": "a"}) for i in range(21)]  # 0..50 mm
    slices += [(Obj(100), {"z_mm": None, "series_instance_uid": "a"}), (Obj(101), {"z_mm": 3.0, "series_instance_uid": "b"})]
    assert [o.id for o in sampled_slices(slices)] == [0, 4, 8, 12, 16, 20, 101]


def test_a_model_fault_is_that_models_row_and_never_raises(monkeypatch, files):
    import kerma.derived.compute as module

    monkeypatch.setattr(module, "skin_dose", lambda *a, **k: 1 / 0)
    rows = compute([({"dose_object_id": 1, "sop_instance_uid": "1.2", "role": "report"}, files["rf"])], {}, None)
    failed = [r for r in rows if r["kind"] == "skin_dose"]
    assert failed[0]["status"] == "not_estimated" and "ZeroDivisionError" in failed[0]["reason"]


def test_the_psd_is_a_study_total_that_srdl_rules_read(sessions, files):
    """The thread's PSD reaches the study's totals with the next refresh, where a fluoroscopy level rule reads it."""
    thread, _ = stored(sessions, {"rf": files["rf"]})
    with sessions() as session, session.begin():
        session.add(AlertRule(name="site PSD level", kind="fluoro_level", modality="RF", quantity="psd_mGy", level="exam",
                              parameters={"threshold": 400.0, "increment": None}, notify_roles=[], severity="high"))
    thread.tick()
    with sessions() as session, session.begin():
        assert refresh_due(session) == 1  # the new rows marked the study for a refresh
    with sessions() as session:
        study = study_of(session, "rf", files)
        psd = skin_dose(extract(files["rf"]), phantom="elliptic").psd_mGy
        assert psd > 400.0 and study.dose_totals["psd_mGy"] == pytest.approx(psd, rel=1e-5)
        alert = session.scalars(select(Alert).where(Alert.study_id == study.id)).one()
        assert alert.value == pytest.approx(psd, rel=1e-5) and alert.threshold == 400.0
    assert thread.update(study.id) is False  # the refresh marked it due again; its inputs are the same
    with sessions() as session:  # the monthly report lists it
        data = report_data(session, study.study_date, study.study_date)
        table = next(s for s in sections(data, {}) if s.title.startswith("Peak skin doses"))
    assert [r["psd_mGy"] for r in data["skin_doses"]] == [pytest.approx(psd, rel=1e-5)]
    assert table.rows[0][2] == number(data["skin_doses"][0]["psd_mGy"])


def test_the_shipped_psd_levels_are_evaluable():
    levels = {r["code"]: r for r in shipped_rows(FLUORO_LEVELS)}
    assert (levels["fluoro:2"]["quantity"], levels["fluoro:2"]["evaluable"]) == ("psd_mGy", "yes")
    assert json.loads(levels["fluoro:2"]["parameters"])["threshold"] == 3000.0  # NCRP 168's SRDL: 3 Gy


def test_a_correction_factor_recomputes_with_the_corrected_values(sessions, files):
    """A Ka,r calibration of the report's device scales the skin dose; the table's measured transmission replaces the
    model's estimate; both are inputs (a later factor recomputes)."""
    thread, _ = stored(sessions, {"rf": files["rf"]})
    thread.tick()
    with sessions() as session, session.begin():
        study = study_of(session, "rf", files)
        study_id, device_id = study.id, session.scalars(select(DoseObject.device_id)).one()
        measured = dict(measured_on=dt.date(2026, 1, 5), method="dosimeter at the reference point", measured_by="MPE")
        session.add_all([CorrectionFactor(device_id=device_id, kind="ka_r", factor=1.25, **measured),
                         CorrectionFactor(device_id=device_id, kind="table_transmission", factor=0.5, **measured)])
        mark_dosimetry_due([study])
    assert thread.update(study_id) is True
    record = extract(files["rf"])
    record = replace(record, events=tuple(
        e.changed(ka_r_mGy=e["ka_r_mGy"] * 1.25 if e.get("ka_r_mGy") is not None else None) for e in record.events))
    expected = skin_dose(record, geometry=Geometry.defaults("elliptic", table_transmission=0.5))
    with sessions() as session:
        row = session.scalars(select(DerivedDose).where(DerivedDose.kind == "skin_dose")).one()
        assert row.psd_mGy == pytest.approx(expected.psd_mGy, rel=1e-5)
        assert row.inputs["objects"][0]["correction_factors"] == {"ka_r": 1.25, "table_transmission": 0.5}


def test_rows_the_database_refuses_leave_a_reason_and_the_queue_goes_on(sessions, files):
    thread, _ = stored(sessions, {"ct": files["ct"]})
    thread.compute = lambda *args: [{"kind": "effective_dose", "part": "", "status": None, "method": "x"}]  # NOT NULL
    assert thread.tick() is True
    with sessions() as session:
        rows = session.scalars(select(DerivedDose)).all()
        assert sorted(r.kind for r in rows) == ["effective_dose", "skin_dose", "ssde"]
        assert all(r.status == "not_estimated" and "refused" in r.reason for r in rows)
        assert not session.scalars(select(Study.dosimetry_due)).one()


def test_a_mapping_that_names_the_exam_recomputes_the_effective_dose_with_its_region(sessions, files):
    """The standard exam's name takes precedence over the events' target regions (kerma.dosimetry.effective):
    a rule that maps the chest-abdomen-pelvis CT study to an abdomen exam changes its k-factors, and its effective
    dose is computed again."""
    thread, _ = stored(sessions, {"ct": files["ct"]})
    thread.tick()
    record = extract(files["ct"])
    with sessions() as session, session.begin():
        exam = add_site_exam(session, "CT-ABD-T", "CT abdomen", "CT")
        session.add(MappingRule(level="exam", priority=1, standard_exam_id=exam.id, conditions=[
            {"field": "accession_number", "op": "equals", "value": record.study.accession_number}]))
        study = study_of(session, "ct", files)
        study.refresh_due, study_id = True, study.id
    with sessions() as session, session.begin():
        refresh_due(session)  # the rule maps the study: its exam changed, its derived doses are due
        assert session.get(Study, study_id).dosimetry_due
    assert thread.update(study_id) is True
    expected = effective_dose(record, "CT abdomen").effective_dose_mSv
    with sessions() as session:
        row = derived_doses(session, [study_id])[study_id]["effective_dose"]
    assert expected != pytest.approx(effective_dose(record).effective_dose_mSv, rel=1e-3)  # the region matters
    assert row["effective_dose_mSv"] == pytest.approx(expected, rel=1e-5) and row["inputs"]["exam_region"] == "CT abdomen"
