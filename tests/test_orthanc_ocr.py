"""Dose screens by C-STORE into a real Orthanc (SQLite and PostgreSQL behind Kerma): read by OCR off the ingest path.

Ground truth is what the generator drew (tests/dose_screens.py) and OpenREM's reading of the corpus RDSR, never
Kerma's own output: a pixel-exact GE screen becomes an ``ocr`` record with the drawn totals, the study's RDSR sent
later takes over; a screen of a layout no file describes is ``ignored`` with its reason; a screen whose pixels do
not decode is an ``error`` row and ingestion goes on; a value tesseract could not read surely stays out of the
study until a radiographer confirms it through the API (audited); a killed OCR process is replaced.
"""

import io
import os
import random
import signal
import time

import pydicom
import pytest

from conftest import new_postgres_database
from corpus import CORPUS, EXPECTED
from dicom_factory import renamed_copy, to_bytes
from dose_screens import degrade, draw_exam, render_font, render_glyphs, secondary_capture
from kerma.extract.ocr.layouts import Column, Layout, Sum, Total, layouts
from kerma.extract.ocr.tesseract import available as tesseract_available
from support.orthanc import running_orthanc
from test_orthanc_mpps import api

RDSR = CORPUS / "openrem" / "CT-RDSR-GEPixelMed.dcm"
GE = next(layout for layout in layouts() if layout.name == "GE Dose Report")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def orthanc(request, tmp_path_factory):
    url = None if request.param == "sqlite" else new_postgres_database(request.getfixturevalue("postgres"))
    with running_orthanc(tmp_path_factory.mktemp(f"orthanc-ocr-{request.param}"), url,
                         extra_config={"Kerma.PollSeconds": 0.5}) as process:
        yield process


def store(orthanc, tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert orthanc.store([path]) == [0]


def screen_of(orthanc, sop_instance_uid: str, states=("recorded", "needs_review", "ignored", "error"),
              timeout: float = 120) -> dict:
    """The ledger's dose screen once the OCR thread has read it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in api(orthanc, "screens", limit=500)["screens"] if s["sop_instance_uid"] == sop_instance_uid]
        if found and found[0]["state"] in states:
            return found[0]
        assert time.monotonic() < deadline, (found, orthanc.log_tail())
        time.sleep(0.2)


def study_page(orthanc, uid: str, source: str, timeout: float = 60, until=lambda page: True) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = orthanc.session().get(f"{orthanc.url}/kerma/api/studies/{uid}")
        if answer.status_code == 200 and answer.json()["source"] == source and until(answer.json()):
            return answer.json()
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)


def uids(data: bytes) -> tuple[str, str]:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SOPInstanceUID


def test_a_screen_becomes_an_ocr_record_and_the_rdsr_sent_later_takes_over(orthanc, tmp_path):
    seed = random.randrange(10**6)  # another screen each run (and each engine): general, not one file
    exam = draw_exam(GE, random.Random(seed), 4)
    data = secondary_capture(render_glyphs(exam, "ge"), manufacturer="GE MEDICAL SYSTEMS", seed=seed)
    study, sop = uids(data)
    store(orthanc, tmp_path, "screen.dcm", data)
    screen = screen_of(orthanc, sop)
    assert (screen["state"], screen["source"], screen["engine"], screen["layout"]) == \
        ("recorded", "ocr", "glyph", "GE Dose Report"), screen
    page = study_page(orthanc, study, "ocr")
    assert page["totals"]["ct_dlp_total_mGycm"] == exam.total_values["ct_dlp_total_mGycm"]
    drawn = sorted(e["ctdivol_mGy"] for e in exam.events if e["ctdivol_mGy"] is not None)
    assert sorted(e["ctdivol_mGy"] for e in page["events"] if e["ctdivol_mGy"] is not None) == drawn
    assert sorted(e["dlp_mGycm"] for e in page["events"] if e["dlp_mGycm"] is not None) == \
        sorted(e["dlp_mGycm"] for e in exam.events if e["dlp_mGycm"] is not None)
    (obj,) = page["dose_objects"]
    assert obj["ocr_state"] == "recorded" and obj["ocr"]["engine"] == "glyph"
    assert all(c == 1.0 for e in obj["events"] for c in e["ocr_confidence"].values())  # each value's confidence

    store(orthanc, tmp_path, "rdsr.dcm", renamed_copy(RDSR, study))
    after = study_page(orthanc, study, "rdsr")
    (expected,) = [e for e in EXPECTED if e["path"] == "openrem/CT-RDSR-GEPixelMed.dcm"]  # OpenREM's reading
    assert after["sources"] == {"CT": "rdsr"}
    assert after["totals"]["ct_dlp_total_mGycm"] == pytest.approx(expected["totals"]["ct_dlp_total_mGycm"])
    assert after["records_by_source"]["ocr"]["totals"]["ct_dlp_total_mGycm"] == exam.total_values["ct_dlp_total_mGycm"]
    assert sorted(o["source"] for o in after["dose_objects"]) == ["ocr", "rdsr"]


def _unseen_layout() -> Layout:
    """A table no layout file describes (other title, labels and column order)."""
    return Layout(
        name="Unseen", vendor="Nowhere", title="Radiation Summary", fonts=("toshiba_med",),
        columns=(Column("DLP", ("dlp_mGycm",), "decimal", unit="mGycm", decimals=(2,)),
                 Column("Acq", ("series_number",), "integer"),
                 Column("CTDI", ("ctdivol_mGy",), "decimal", unit="mGy", decimals=(3,))),
        totals=(Total("Sum of DLP", "ct_dlp_total_mGycm", "decimal", (2,)),),
        sums=(Sum("ct_dlp_total_mGycm", "dlp_mGycm"),), source="test")


def corrupt_screen(seed: int) -> bytes:
    """A dose screen whose pixel data stops half-way (the header promises more rows than there are)."""
    exam = draw_exam(GE, random.Random(seed), 3)
    ds = pydicom.dcmread(io.BytesIO(secondary_capture(render_glyphs(exam, "ge"), seed=seed)))
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    return to_bytes(ds)


def test_an_unknown_layout_is_ignored_and_a_corrupt_screen_is_an_error_while_ingestion_goes_on(orthanc, tmp_path):
    seed = random.randrange(10**6)
    unknown = secondary_capture(render_glyphs(draw_exam(_unseen_layout(), random.Random(seed), 3), "toshiba_med"),
                                manufacturer="Nowhere", series_description="Dose Info", seed=seed)
    corrupt = corrupt_screen(seed + 1)
    report = renamed_copy(RDSR)
    for name, data in (("unknown.dcm", unknown), ("corrupt.dcm", corrupt), ("report.dcm", report)):
        store(orthanc, tmp_path, name, data)
    ignored = screen_of(orthanc, uids(unknown)[1])
    assert (ignored["state"], ignored["status"]) == ("ignored", "ignored")
    assert ignored["reason"].startswith("dose screen, layout unknown")
    text = api(orthanc, f"screens/{ignored['id']}")["lines"]
    assert any("Radiation Summary" in line for line in text)  # for an admin adding its layout
    error = screen_of(orthanc, uids(corrupt)[1])
    assert (error["state"], error["status"]) == ("error", "error") and "pixel" in error["reason"], error
    listed = api(orthanc, "ingest-errors", status="error,ignored", limit=500)["errors"]
    assert {e["sop_instance_uid"] for e in listed} >= {uids(unknown)[1], uids(corrupt)[1]}
    study_page(orthanc, uids(report)[0], "rdsr")  # the object after them was recorded
    health = api(orthanc, "health")
    assert health["counts"]["dose_screens"].get("queued", 0) == 0 and health["ocr"]["state"] == "running"


@pytest.mark.skipif(not tesseract_available(), reason="tesseract-ocr not installed (scripts/setup.sh installs it)")
def test_a_value_needing_review_counts_only_once_confirmed(orthanc, tmp_path):
    # an ordinary font, small and rescaled as a screen grabber does: tesseract reads some values unsurely
    exam = draw_exam(GE, random.Random("probe/0"), 3)
    data = secondary_capture(degrade(render_font(exam, size=12), scale=0.8), manufacturer="GE MEDICAL SYSTEMS",
                             seed=random.randrange(10**6))
    study, sop = uids(data)
    store(orthanc, tmp_path, "flagged.dcm", data)
    screen = screen_of(orthanc, sop)
    assert (screen["state"], screen["engine"]) == ("needs_review", "tesseract"), screen
    total = next(i for i in screen["review"] if i["field"] == "ct_dlp_total_mGycm" and i["event"] is None)
    assert total["reasons"] and 0 <= total["confidence"] < 1
    truth = exam.total_values["ct_dlp_total_mGycm"]
    page = study_page(orthanc, study, "ocr")
    assert page["totals"].get("ct_dlp_total_mGycm") is None  # neither the value read nor a partial sum counts
    for item in screen["review"]:  # what statistics and alerts read: the counted events, without the unsure values
        if item["event"] is not None and item["field"] in ("ctdivol_mGy", "dlp_mGycm"):
            assert page["events"][item["event"]][item["field"]] is None

    session = orthanc.session()
    url = f"{orthanc.url}/kerma/api/screens/{screen['id']}/review/{total['id']}"
    refused = session.post(url, json={"value": 1e12})
    assert refused.status_code == 400 and "refused" in refused.json()["error"], refused.text  # implausible
    answer = session.post(url, json={"value": truth, "note": "read on the console"})
    assert answer.status_code == 200, answer.text
    action = "confirm" if total["value"] == truth else "correct"
    assert answer.json()["item"]["resolution"] == f"{action}ed"
    assert session.post(url, json={"value": truth}).status_code == 409  # once
    page = study_page(orthanc, study, "ocr", until=lambda p: p["totals"].get("ct_dlp_total_mGycm") is not None)
    assert page["totals"]["ct_dlp_total_mGycm"] == truth
    audit = api(orthanc, "audit", action="dose_screen", target_id=sop)["entries"]
    assert [(a["action"], a["before"]["read"], a["after"]["value"], a["actor"], a["note"]) for a in audit] == \
        [(f"dose_screen.{action}", total["value"], truth, "kerma", "read on the console")]


def test_a_killed_ocr_process_is_replaced_and_the_queue_goes_on(orthanc, tmp_path):
    before = api(orthanc, "health")["ocr"]
    if before["pid"] is None:  # no screen read yet in this Orthanc: read one first
        test_a_screen_becomes_an_ocr_record_and_the_rdsr_sent_later_takes_over(orthanc, tmp_path)
        before = api(orthanc, "health")["ocr"]
    os.kill(before["pid"], signal.SIGKILL)
    seed = random.randrange(10**6)
    exam = draw_exam(GE, random.Random(seed), 2)
    data = secondary_capture(render_glyphs(exam, "ge_large"), manufacturer="GE MEDICAL SYSTEMS", seed=seed)
    store(orthanc, tmp_path, "after-kill.dcm", data)
    screen = screen_of(orthanc, uids(data)[1])
    assert screen["state"] == "recorded" and screen["totals"]["ct_dlp_total_mGycm"] == exam.total_values["ct_dlp_total_mGycm"]
    after = api(orthanc, "health")["ocr"]
    assert after["processes_started"] == before["processes_started"] + 1 and after["pid"] != before["pid"]
