"""Dose that exists counts: header-only CT acquisitions feed statistics, DRL comparisons and alerts like RDSR events.

Generated CT slices go through the real extractor and the real ingest path (store_batch → refresh → classify →
evaluate) on SQLite and PostgreSQL; expected values come from the slices as generated, not from Kerma.
"""

import itertools
import statistics

import pytest
from pydicom.uid import generate_uid
from sqlalchemy import func, select

from dicom_factory import ct_slice
from dose_setup import exam_with_drl
from kerma.api import Context, Request, handle
from kerma.db.models import Alert, AlertRule, IrradiationEvent
from kerma.evaluate.shipped import load_shipped_rules
from kerma.extract import extract
from kerma.ingest.store import Processed, store_batch
from kerma.stats.tables import Filters, above_drl, median_table

_seq = itertools.count(1)


def store(sessions, blobs):
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", extract(b)) for b in blobs], last_seq=next(_seq))


def ct_series(study: str, ctdivols: list[float], description: str = "Abdomen", acquisition: int = 2) -> list[bytes]:
    series, frame = generate_uid(), generate_uid()
    return [ct_slice(study, series, frame, z=float(z), ctdivol=c, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                     acquisition_number=acquisition, thickness=1.0, instance=z + 1, series_description=description)
            for z, c in enumerate(ctdivols)]


def api(sessions, path, **query):
    status, answer = handle(Context(sessions), Request("GET", path, query))
    assert status == 200, answer
    return answer


def test_header_only_ct_acquisition_is_counted_compared_and_alerted(sessions):
    with sessions() as s, s.begin():
        load_shipped_rules(s)  # "Exposure above 2 × DRL" is on by default
        exam = exam_with_drl(s, "CT-ABD", "CT abdomen", "CT", {"field": "protocol", "op": "contains", "value": "abdomen"},
                             quantity="ctdivol_mGy", value=5.0, level="exposure")
    study = generate_uid()
    profile = [18.0 + (z % 5) for z in range(40)]  # mean 20 mGy along z: 4 × the per-exposure DRL
    slices = ct_series(study, profile)
    store(sessions, slices[:25])  # the series arrives in two batches: the acquisition's row is updated, not doubled
    with sessions() as s:
        (first,) = s.scalars(select(IrradiationEvent).where(IrradiationEvent.counted.is_(True))).all()
        first_id, first_count = first.id, first.slice_count
    store(sessions, slices[25:])

    with sessions() as s:
        counted = s.scalars(select(IrradiationEvent).where(IrradiationEvent.counted.is_(True))).all()
        assert len(counted) == 1  # one acquisition, not 40 slices
        row = counted[0]
        assert (row.id, first_count, row.slice_count) == (first_id, 25, 40)
        assert row.ctdivol_mGy == pytest.approx(statistics.fmean(profile))
        assert (row.ctdivol_min_mGy, row.ctdivol_max_mGy) == (min(profile), max(profile))
        assert row.standard_exam_id == exam and row.folded_key
        assert row.dlp_mGycm == pytest.approx(statistics.fmean(profile) * 40 / 10)  # 40 slices of 1 mm
        assert row.details["dlp_estimated"] is True
        assert s.scalar(select(func.count()).select_from(IrradiationEvent)) == 41  # 40 slice observations + the acquisition

        table = median_table(s, "ctdivol_mGy", Filters(), "all")
        (line,) = [r for r in table if r["standard_exam_id"] == exam]
        assert line["n"] == 1 and line["median"] == pytest.approx(20.0)
        assert line["drl"]["value"] == 5.0 and line["median_above_drl"] is True
        (hit,) = above_drl(s, "ctdivol_mGy", Filters())
        assert hit["study_instance_uid"] == study and hit["event_id"] == row.id and hit["ratio"] == pytest.approx(4.0)

        rule = s.scalars(select(AlertRule).where(AlertRule.code == "kerma:drl-2x-exposure")).one()
        (alert,) = s.scalars(select(Alert).where(Alert.rule_id == rule.id)).all()
        assert alert.value == pytest.approx(20.0) and alert.threshold == pytest.approx(10.0)
        assert "Abdomen" in alert.reason and alert.study_instance_uid == study

    page = api(sessions, f"studies/{study}")
    (event,) = page["events"]
    assert event["event_id"] == row.id and event["slice_count"] == 40
    events = api(sessions, "events")["events"]
    assert [e["event_id"] for e in events] == [row.id]
    assert api(sessions, "statistics/above-drl", quantity="ctdivol_mGy")["above_drl"][0]["study_instance_uid"] == study


def test_an_rdsr_replaces_the_folded_acquisition_rows(sessions):
    from corpus import CORPUS
    from dicom_factory import renamed_copy

    study = generate_uid()
    store(sessions, ct_series(study, [7.0] * 10) + ct_series(study, [0.1] * 2, "Topogram", acquisition=1))
    with sessions() as s:
        assert s.scalar(select(func.count()).where(IrradiationEvent.counted.is_(True))) == 2
    store(sessions, [renamed_copy(CORPUS / "openrem/CT-RDSR-Siemens-Continued-1.dcm", study_uid=study)])
    with sessions() as s:
        assert s.scalar(select(func.count()).where(IrradiationEvent.folded_key.is_not(None))) == 0
        counted = s.scalars(select(IrradiationEvent).where(IrradiationEvent.counted.is_(True))).all()
        assert len(counted) == 2 and all(r.dose_object.source == "rdsr" for r in counted)


def test_radiographs_without_dose_attributes_are_exposures_of_unknown_dose(sessions):
    from dicom_factory import radiograph
    from hl7_factory import orm
    from kerma.hl7.receiver import Hl7Receiver

    study = generate_uid()
    fuji = [radiograph(study, "FUJIFILM Corporation", Sensitivity=s, ViewPosition=v) for s, v in ((180, "PA"), (240, "LL"))]
    kodak_study = generate_uid()
    kodak = radiograph(kodak_study, "Eastman KODAK", patient_id="SYNTH-CR2", accession="SYNTHCR2",
                       RelativeXRayExposure=1810, ExposureIndex=410)  # the Kodak EI and an IEC exposure index
    receiver = Hl7Receiver(sessions)
    for order in (orm("CR-ORD-1", "SYNTH-CR", accession="SYNTHCR1", result_status="F", scheduled="20260105100000"),
                  orm("CR-ORD-2", "SYNTH-CR2", accession="SYNTHCR2", result_status="F", scheduled="20260105100000")):
        assert b"|AA|" in receiver(order)
    store(sessions, fuji + [kodak])

    page = api(sessions, f"studies/{study}")
    assert page["source"] == "header" and page["totals"]["event_count"] == 2
    assert [(e["view"], e["dose_unknown"], e["vendor_exposure_indicator"], e["vendor_exposure_indicator_name"],
             e["vendor_exposure_indicator_vendor"], e["exposure_index"], e["dap_Gycm2"]) for e in page["events"]] == [
        ("PA", True, 180.0, "S value", "Fujifilm", None, None), ("LL", True, 240.0, "S value", "Fujifilm", None, None)]
    assert all("dose is unknown" in o["warnings"][0] for o in page["dose_objects"])
    (event,) = api(sessions, f"studies/{kodak_study}")["events"]
    assert (event["vendor_exposure_indicator"], event["vendor_exposure_indicator_name"], event["exposure_index"]) == (
        1810.0, "EI", 410.0)  # each in its own field: the vendor's EI is not the IEC exposure index
    assert "dose_unknown" not in event  # an exposure index is an exposure attribute

    (device,) = [d for d in api(sessions, "devices")["devices"] if d["station_name"] == "CR-OLD1" and d["manufacturer"].startswith("FUJI")]
    assert (device["studies"], device["dose_objects"]) == (1, 2)
    (load,) = [r for r in api(sessions, "statistics/examinations-per-device", period="all")["examinations"]
               if r["device_id"] == device["device_id"]]
    assert (load["examinations"], load["body_regions"]) == (1, {"CHEST": 1})
    assert [e["dose_unknown"] for e in api(sessions, "events")["events"] if e["study_instance_uid"] == study] == [True, True]

    lists = handle(Context(sessions), Request("GET", "reconciliation", {}))[1]
    # an exposure indicator is no dose value either: both examinations are listed, each with its order
    assert {(s["study_instance_uid"], s["order"]["placer_order_number"]) for s in lists["no-dose-values"]["studies"]} == {
        (study, "CR-ORD-1"), (kodak_study, "CR-ORD-2")}
    assert lists["no-dose"]["orders"] == []  # both examinations happened: no order waits for its dose study


def test_the_worker_resolves_studies_an_upgrade_left_unresolved(sessions):
    from sqlalchemy import update

    from kerma.db.models import Study
    from kerma.ingest.worker import IngestWorker

    class NoChanges:  # Orthanc with nothing new: the worker is idle
        def changes(self, since, limit):
            return {"Changes": [], "Done": True, "Last": since}

    studies = [generate_uid() for _ in range(3)]
    for uid in studies:
        store(sessions, ct_series(uid, [9.0] * 5))
    with sessions() as s, s.begin():  # as a database from before the folded rows is after its upgrade (0008, 0011)
        s.execute(IrradiationEvent.__table__.delete().where(IrradiationEvent.folded_key.is_not(None)))
        s.execute(update(Study).values(dose_source=None, dose_sources=None, dose_totals=None, refresh_due=True))
    worker = IngestWorker(NoChanges(), sessions)
    assert worker.tick() is False  # all 3 in one chunk: nothing more to do
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Study).where(Study.refresh_due.is_(True))) == 0
        assert s.scalar(select(func.count()).where(IrradiationEvent.counted.is_(True))) == 3
        assert {st.dose_sources["CT"] for st in s.scalars(select(Study))} == {"header"}
