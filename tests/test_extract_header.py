"""Dose from image headers against OpenREM's values for the same files, and against the DICOM itself."""

import pytest

from corpus import CORPUS, assert_matches_openrem, expected_for_images, images
from kerma.extract import extract


@pytest.fixture(scope="module")
def records():
    return {str(p.relative_to(CORPUS)): extract(p.read_bytes()) for p in images()}


def test_every_image_is_ok_or_ignored_with_a_reason(records):
    assert len(records) >= 40
    for name, record in records.items():
        assert record.status in ("ok", "ignored"), (name, record.reason)
        assert record.status == "ok" or record.reason, name
        if record.status == "ok":
            assert record.source == "header"


@pytest.mark.parametrize("expected", expected_for_images(), ids=lambda e: e["path"])
def test_values_match_openrem(records, expected):
    got = records[expected["path"]]
    if expected.get("status") == "no dose study":
        if got.status == "ok":  # a radiograph whose header has no dose: OpenREM keeps nothing, Kerma an exposure
            (event,) = got.events
            assert event["dose_unknown"] is True and "dose is unknown" in got.warnings[-1]
            assert all(event.get(f) is None for f in ("dap_Gycm2", "kvp", "exposure_mAs", "exposure_index"))
        else:
            assert got.status == "ignored"
        return
    if expected.get("totals") is None:
        pytest.skip("OpenREM stored no record for this file; test_openrem_gaps checks it against the DICOM")
    assert got.status == "ok", got.reason
    assert_matches_openrem(got, expected)


def test_dap_is_read_in_dgy_cm2(records):
    # (0018,115E) Image and Fluoroscopy Area Dose Product is in dGy.cm2 (PS3.3 C.8.7.8): "135.18" is 13.518 Gy.cm2
    drgem = records["openrem/DX-Im-DRGEM.dcm"]
    assert drgem.events[0]["dap_Gycm2"] == pytest.approx(13.518)


def test_mammography_organ_dose_is_read_in_dgy(records):
    # (0040,0316) Organ Dose is in dGy: GE writes 0.01373 for an AGD of 1.373 mGy
    senographe = records["openrem/MG-Im-GE-SenDS-scaled.dcm"]
    (event,) = senographe.events
    assert event["agd_mGy"] == pytest.approx(1.373)
    assert event["laterality"] == "Left"
    assert event["compression_force_N"] is not None or event["compression_thickness_mm"] == 53.0


def test_ct_dose_screen_reads_the_private_dlp(records):
    philips = records["openrem/CT-SC-Philips_Brilliance16P.dcm"]
    assert [e["acquisition_type"] for e in philips.events][:2] == ["Constant Angle Acquisition", "Spiral Acquisition"]
    assert philips.totals["ct_dlp_total_mGycm"] == pytest.approx(1102.45, rel=1e-3)
    # the screen's own text says "Total DLP=1102.4"
    assert "derived_from_events" in philips.totals


def test_ct_slices_without_ctdivol_are_ignored_with_the_reason(records):
    record = records["public/ct_image/fo-dicom__GH1308.dcm"]
    assert record.status == "ignored" and "CTDIvol" in record.reason


def test_openrem_gaps(records):
    """Files OpenREM imported without any dose record, checked against their own attributes."""
    # (0018,115E) = "17.580000" dGy.cm2
    assert records["public/dx_cr_image/orthanc-tests__CR000000.dcm"].totals["dap_total_Gycm2"] == pytest.approx(1.758)
    # (0018,1074) Radionuclide Total Dose = "153900000" Bq, FDG, start 2016-05-27 11:39:14
    (event,) = records["public/nm_pet_image/orthanc-tests__Issue94.dcm"].events
    assert event["administered_activity_MBq"] == pytest.approx(153.9)
    assert event["radiopharmaceutical"] == "Fluorodeoxyglucose F^18^"
    assert event["administration_start"] == "2016-05-27T11:39:14"


def test_activity_written_in_mbq_is_recognised(records):
    # Siemens NM writes (0018,1074) = "764" where the standard's unit is Bq: 764 Bq is no administered activity
    record = records["openrem/NM-NmIm-Siemens.dcm"]
    assert record.events[0]["administered_activity_MBq"] == 764.0
    assert any("not credible" in w for w in record.warnings)
