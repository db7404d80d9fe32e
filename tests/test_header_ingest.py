"""Image headers through a real Orthanc: slices fold into acquisitions, an RDSR takes over without double counting."""

import math
import statistics

import pytest
from pydicom.uid import generate_uid

from corpus import CORPUS
from dicom_factory import copy_with, ct_slice, renamed_copy
from test_orthanc_ingest import wait_until_ingested


def modulated_ctdivol(z: float) -> float:
    """A tube-current modulation profile: high at the shoulders and pelvis, low over the lungs."""
    return round(6.0 + 3.0 * math.cos(z / 300.0 * 2 * math.pi), 4)


@pytest.fixture(scope="module")
def orthanc(shared_orthanc):
    return shared_orthanc


def _write(folder, blobs):
    paths = []
    for i, blob in enumerate(blobs):
        path = folder / f"{len(list(folder.iterdir())):05d}.dcm"
        path.write_bytes(blob)
        paths.append(path)
    return paths


def test_ct_series_gives_acquisitions_then_the_rdsr_takes_over(orthanc, tmp_path):
    study, frame = generate_uid(), generate_uid()
    thin = [float(z) for z in range(0, 300, 3)]  # 100 slices of 3 mm over 300 mm
    thick = [float(z) for z in range(0, 300, 6)]  # the same acquisition reconstructed at 6 mm
    slices = []
    for series, positions, thickness in ((generate_uid(), thin, 3.0), (generate_uid(), thick, 6.0)):
        for i, z in enumerate(positions):
            slices.append(ct_slice(study, series, frame, z=z, ctdivol=modulated_ctdivol(z), image_type="ORIGINAL\\PRIMARY\\AXIAL",
                                   acquisition_number=2, thickness=thickness, instance=i + 1, series_description="Thorax-Abdomen"))
    localizer = ct_slice(study, generate_uid(), frame, z=150.0, ctdivol=0.12, image_type="ORIGINAL\\PRIMARY\\LOCALIZER",
                         acquisition_number=1, thickness=1.0, instance=1, series_description="Topogram")
    mpr_series = generate_uid()
    mprs = [ct_slice(study, mpr_series, frame, z=float(z), ctdivol=modulated_ctdivol(z), image_type="DERIVED\\SECONDARY\\MPR",
                     acquisition_number=None, thickness=5.0, instance=i + 1, series_description="Coronal MPR")
            for i, z in enumerate(range(0, 300, 30))]
    folder = tmp_path / "series"
    folder.mkdir()
    paths = _write(folder, slices + [localizer] + mprs)
    assert all(s == 0 for s in orthanc.store(paths))
    wait_until_ingested(orthanc)

    session = orthanc.session()
    view = session.get(f"{orthanc.url}/kerma/api/studies/{study}").json()
    assert view["source"] == "header"
    assert len(view["events"]) == 2  # the topogram and the spiral; the 6 mm and MPR series are no extra dose
    spiral = max(view["events"], key=lambda e: e["slice_count"])
    topogram = min(view["events"], key=lambda e: e["slice_count"])
    expected = [modulated_ctdivol(z) for z in thin]
    assert spiral["slice_count"] == 100 and spiral["copies"] == 2
    assert spiral["ctdivol_min_mGy"] == pytest.approx(min(expected))
    assert spiral["ctdivol_max_mGy"] == pytest.approx(max(expected))
    assert spiral["ctdivol_mGy"] == pytest.approx(statistics.fmean(expected), rel=1e-6)
    assert (spiral["z_start_mm"], spiral["z_end_mm"]) == (0.0, 297.0)
    assert spiral["scan_length_mm"] == pytest.approx(300.0)
    assert spiral["dlp_estimated"] is True
    assert spiral["dlp_mGycm"] == pytest.approx(statistics.fmean(expected) * 30.0, rel=1e-4)
    assert topogram["acquisition_type"] == "Constant Angle Acquisition" and topogram["ctdivol_mGy"] == 0.12
    assert view["totals"]["ct_dlp_total_mGycm"] == pytest.approx(spiral["dlp_mGycm"])

    # the scanner's RDSR for the same study arrives after the images
    rdsr = renamed_copy(CORPUS / "openrem/CT-RDSR-Siemens-Continued-1.dcm", study_uid=study)
    assert session.post(orthanc.url + "/instances", data=rdsr).status_code == 200
    wait_until_ingested(orthanc)
    view = session.get(f"{orthanc.url}/kerma/api/studies/{study}").json()
    assert view["source"] == "rdsr" and view["sources"] == {"CT": "rdsr"}
    assert view["totals"]["ct_dlp_total_mGycm"] == pytest.approx(60.17)  # not 60.17 + the header estimate
    assert view["totals"]["event_count"] == 2
    assert all(e["source"] == "rdsr" for e in view["events"])
    header = view["records_by_source"]["header"]  # kept as evidence: the modulation the RDSR averages away
    assert max(e["ctdivol_max_mGy"] or 0 for e in header["events"]) == pytest.approx(max(expected))


def test_presentation_and_processing_copies_count_once(orthanc, tmp_path):
    study = generate_uid()
    source = CORPUS / "openrem/DX-Im-GE_XR220-1.dcm"
    processing = copy_with(source, StudyInstanceUID=study)
    presentation = copy_with(source, StudyInstanceUID=study, SOPClassUID="1.2.840.10008.5.1.4.1.1.1.1",
                             PresentationIntentType="FOR PRESENTATION")
    folder = tmp_path / "dx"
    folder.mkdir()
    assert all(s == 0 for s in orthanc.store(_write(folder, [processing, presentation])))
    wait_until_ingested(orthanc)
    view = orthanc.session().get(f"{orthanc.url}/kerma/api/studies/{study}").json()
    assert view["dose_object_count"] == 2
    assert len(view["events"]) == 1 and view["events"][0]["copies"] == 2
    assert view["totals"]["dap_total_Gycm2"] == pytest.approx(0.041)  # (0018,115E) "0.410000" dGy.cm2, once


def test_contrast_stated_by_every_slice_counts_once(orthanc, tmp_path):
    """Five slices by C-STORE, each with the same Contrast/Bolus module and weight: one administration of 80 mL at
    350 mg iodine per mL (28,000 mg iodine, 400 mg/kg at 70 kg), as the headers written here state."""
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    contrast = {"ContrastBolusAgent": "OMNIPAQUE 350", "ContrastBolusRoute": "IV", "ContrastBolusVolume": 80,
                "ContrastBolusIngredient": "IODINE", "ContrastBolusIngredientConcentration": 350,
                "ContrastBolusStartTime": "101500"}
    slices = [ct_slice(study, series, frame, z=float(z), ctdivol=7.5, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                       acquisition_number=3, thickness=5.0, instance=z + 1, series_description="Abdomen venous",
                       PatientWeight=70, **contrast) for z in range(5)]
    folder = tmp_path / "contrast"
    folder.mkdir()
    assert all(s == 0 for s in orthanc.store(_write(folder, slices)))
    wait_until_ingested(orthanc)
    view = orthanc.session().get(f"{orthanc.url}/kerma/api/studies/{study}").json()
    (given,) = view["contrast"]
    assert (given["contrast_agent"], given["contrast_volume_mL"], given["contrast_start_time"], given["counted"]) == \
        ("OMNIPAQUE 350", 80.0, "10:15:00", True)
    assert view["exam_totals"]["total_contrast_volume_mL"] == 80.0
    assert view["exam_totals"]["total_iodine_mg"] == 80 * 350.0
    assert view["exam_totals"]["total_iodine_mg_per_kg"] == pytest.approx(80 * 350.0 / 70)
