"""Dose screens in the ledger (both engines of the database): queued from the header, read, recorded with their
study; values needing review stay out of the study until confirmed (audited); the OCR process ends a screen that
takes too long and starts again. Ground truth: what tests/dose_screens.py drew."""

import io
import random

import pydicom
import pytest
from sqlalchemy import select

from corpus import CORPUS
from dicom_factory import to_bytes
from dose_screens import draw_exam, render_glyphs, secondary_capture
from kerma.db.models import AuditEntry, DoseObject, Study
from kerma.extract import extract
from kerma.extract.ocr.layouts import layouts
from kerma.ingest.ocr_process import OcrProcess, read_screen
from kerma.ingest.screen_review import ReviewError, resolve
from kerma.ingest.screens import ScreenReader, queued
from kerma.ingest.store import Processed, store_batch
from kerma.pipeline import refresh_due

GE = next(layout for layout in layouts() if layout.name == "GE Dose Report")


class Files:
    """Orthanc's instances, as the OCR thread fetches them."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def instance_file(self, orthanc_id: str) -> bytes | None:
        return self.files.get(orthanc_id)


class InProcess:
    """The OCR process's answer without a process (that one is tested below)."""

    started, pid = 1, None

    @staticmethod
    def read(data: bytes, headers: dict) -> dict:
        return read_screen(data, headers)

    def stop(self) -> None:
        pass


def ingest(sessions, files: dict[str, bytes]) -> None:
    """The ingest worker's part: each file extracted; a dose screen's row queued."""
    items = []
    for seq, (orthanc_id, data) in enumerate(files.items(), 1):
        record = extract(data)
        assert record.status == "ignored" and record.dose_screen is True, record.reason
        items.append(Processed(seq, orthanc_id, queued(record)))
    with sessions() as session, session.begin():
        store_batch(session, items, len(items))


def read_all(sessions, files: dict[str, bytes]) -> None:
    reader = ScreenReader(Files(files), sessions, InProcess())
    while reader.tick():
        pass
    with sessions() as session, session.begin():
        refresh_due(session)  # the ingest worker's part


def test_a_queued_screen_is_read_recorded_and_its_study_resolved(sessions):
    exam = draw_exam(GE, random.Random(31), 5)
    data = secondary_capture(render_glyphs(exam, "ge"), manufacturer="GE MEDICAL SYSTEMS", seed=31)
    ingest(sessions, {"o1": data})
    with sessions() as session:
        row = session.scalars(select(DoseObject)).one()
        assert (row.status, row.ocr_state, row.study_id) == ("queued", "queued", None)
        assert row.reason.startswith("dose screen (") and "queued for OCR" in row.reason
    read_all(sessions, {"o1": data})
    with sessions() as session:
        row = session.scalars(select(DoseObject)).one()
        assert (row.status, row.source, row.ocr_state, row.ocr["engine"]) == ("ok", "ocr", "recorded", "glyph")
        study = session.scalars(select(Study)).one()
        assert (study.dose_source, study.total_dlp_mGycm) == ("ocr", exam.total_values["ct_dlp_total_mGycm"])


def test_a_value_needing_review_counts_once_confirmed_and_the_confirmation_is_audited(sessions):
    exam = draw_exam(GE, random.Random(32), 3)
    label, text = exam.totals[0]
    exam.totals[0] = (label, f"{float(text) + 30:.2f}")  # the printed total is not the sum of the rows
    data = secondary_capture(render_glyphs(exam, "ge"), manufacturer="GE MEDICAL SYSTEMS", seed=32)
    ingest(sessions, {"o2": data})
    read_all(sessions, {"o2": data})
    with sessions() as session, session.begin():
        row = session.scalars(select(DoseObject)).one()
        assert row.ocr_state == "needs_review"
        assert session.scalars(select(Study)).one().total_dlp_mGycm is None  # no partial sum, no unsure total
        items = {(i["event"], i["field"]): i for i in row.ocr["review"]}
        total = items[(None, "ct_dlp_total_mGycm")]
        with pytest.raises(ReviewError, match="refused"):
            resolve(session, row, total["id"], -5.0, "alice")
        with pytest.raises(ReviewError, match="number"):
            resolve(session, row, total["id"], "12", "alice")
        printed = float(exam.totals[0][1])
        assert resolve(session, row, total["id"], printed, "alice", "as printed")["resolution"] == "confirmed"
        with pytest.raises(ReviewError, match="already"):
            resolve(session, row, total["id"], printed, "bob")
        rows = [i for i in row.ocr["review"] if i["event"] is not None]
        for item in rows:  # the rows' DLP as drawn: the person corrects nothing, confirms what was read
            resolve(session, row, item["id"], exam.events[item["event"]]["dlp_mGycm"], "alice")
        assert row.ocr_state == "recorded" and not row.warnings
        (audit,) = session.scalars(select(AuditEntry).where(AuditEntry.note == "as printed")).all()
        assert (audit.action, audit.actor, audit.before["read"], audit.after["value"]) == \
            ("dose_screen.confirm", "alice", printed, printed)
    with sessions() as session, session.begin():
        refresh_due(session)
    with sessions() as session:
        study = session.scalars(select(Study)).one()
        assert study.total_dlp_mGycm == printed  # the printed total, as confirmed
        assert sorted(e.dlp_mGycm for e in session.scalars(select(DoseObject)).one().events if e.dlp_mGycm) == \
            sorted(e["dlp_mGycm"] for e in exam.events if e["dlp_mGycm"] is not None)


def ct_slice(study_uid: str, series_number: int, ctdivol: float) -> bytes:
    """A corpus CT image (it carries CTDIvol) in the screen's study, as one slice of series ``series_number``."""
    ds = pydicom.dcmread(CORPUS / "public/ct_image/orthanc-tests__TEST_1_study_1234.dcm")
    ds.StudyInstanceUID, ds.SeriesNumber, ds.CTDIvol = study_uid, series_number, ctdivol
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    return to_bytes(ds)


def test_a_screen_is_checked_against_the_ctdivol_of_its_studys_images(sessions):
    exam = draw_exam(GE, random.Random(34), 4)
    data = secondary_capture(render_glyphs(exam, "ge"), manufacturer="GE MEDICAL SYSTEMS", seed=34)
    study = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).StudyInstanceUID
    scan = next(e for e in exam.events if e["ctdivol_mGy"] is not None)
    images = [extract(ct_slice(study, scan["series_number"], scan["ctdivol_mGy"] * k)) for k in (2.0, 2.0)]
    assert all(r.status == "ok" and r.events[0]["image"]["series_number"] == scan["series_number"] for r in images)
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 100, f"img{i}", r) for i, r in enumerate(images)], 101)
    ingest(sessions, {"o4": data})
    read_all(sessions, {"o4": data})
    with sessions() as session:
        row = session.scalars(select(DoseObject).where(DoseObject.orthanc_id == "o4")).one()
        flagged = [i for i in row.ocr["review"] if i["field"] == "ctdivol_mGy"]
        assert row.ocr_state == "needs_review" and [i["event"] for i in flagged] == [exam.events.index(scan)]
        assert f"the images of series {scan['series_number']} say CTDIvol" in flagged[0]["reasons"][0]


def test_the_ocr_process_ends_a_screen_that_takes_too_long_and_starts_again():
    exam = draw_exam(GE, random.Random(33), 2)
    data = secondary_capture(render_glyphs(exam, "ge"), manufacturer="GE MEDICAL SYSTEMS", seed=33)
    process = OcrProcess(timeout=0.01)
    try:
        slow = process.read(data)
        assert slow.status == "error" and "longer than" in slow.reason and process.pid is None
        process.timeout = 120
        record = process.read(data)
        assert record.status == "ok" and record.totals["ct_dlp_total_mGycm"] == exam.total_values["ct_dlp_total_mGycm"]
        assert process.started == 2
        assert process.read(b"not DICOM").status == "error"
    finally:
        process.stop()
