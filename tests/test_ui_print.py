"""The patient's dose history on paper (issue 14, "Patient view ... printable"), in headless Chromium on Orthanc: a
patient with 105 CT examinations (copies of the GE LightSpeed RT16 RDSR of the corpus under new UIDs and one Patient
ID, received by C-STORE), printed on A4: the menus, forms, buttons and downloads are left out, nothing is wider than
the page or cut off in a scrolling box, and every examination is there (more than the screen's first page), each
with the DLP the file gives (read here with pydicom)."""

import re
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from dicom_factory import copy_with
from support.orthanc import running_orthanc
from test_corrections_dicom import REPORT, file_dlp
from test_orthanc_ingest import wait_until_ingested

PATIENT = "PRINT-HISTORY-1"
EXAMS = 105  # above the screen's 100 rows a page
A4 = {"width": 794, "height": 1123}  # CSS pixels at 96 per inch
SHOTS = Path(__file__).parent / "output" / "ui-screens"


def test_the_patients_dose_history_prints_whole_on_a4(browser, tmp_path):
    paths = []
    for i in range(EXAMS):
        path = tmp_path / f"exam-{i}.dcm"
        path.write_bytes(copy_with(REPORT, StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid(), PatientID=PATIENT,
                                   AccessionNumber=f"PRN{i:04d}", StudyDate=f"2026{1 + i // 28:02d}{1 + i % 28:02d}"))
        paths.append(path)
    dlp, _ = file_dlp()
    assert pydicom.dcmread(paths[0]).PatientID == PATIENT
    with running_orthanc(tmp_path / "orthanc") as orthanc:
        assert set(orthanc.store(paths)) == {0}
        wait_until_ingested(orthanc)
        context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"}, viewport=A4)
        page = context.new_page()
        page.goto(orthanc.url + f"/kerma/ui/index.html#/patients/{PATIENT}?window=all&as_of=2026-12-31")
        page.wait_for_selector("body[data-drawn]", state="attached")
        page.emulate_media(media="print")

        hidden = page.evaluate("""() => ["header", "form.filters", "p.downloads", "details.columns", "nav.pager", "button"]
            .filter((s) => [...document.querySelectorAll(s)].some((n) => n.offsetParent !== null || n.getClientRects().length))""")
        assert hidden == []
        assert page.evaluate("document.documentElement.scrollWidth") <= A4["width"]
        clipped = page.evaluate("""() => [...document.querySelectorAll(".table-wrap")]
            .filter((w) => w.scrollHeight > w.clientHeight + 1 || w.scrollWidth > w.clientWidth + 1)
            .map((w) => w.getAttribute("aria-label"))""")
        assert clipped == []

        rows = page.locator("[data-table='patient-studies'] tbody tr")
        assert rows.count() == EXAMS
        accessions = rows.locator("td[data-label=Accession]").all_inner_texts()
        assert sorted(accessions) == [f"PRN{i:04d}" for i in range(EXAMS)]
        shown = {float(re.sub(r"[^\d.]", "", t)) for t in rows.locator("td[data-label='DLP (mGy·cm)']").all_inner_texts()}
        assert shown == {round(dlp, 1)}
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "print-patient.png"))
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 3
        context.close()
