"""SSDE (AAPM 204 / 220 / 293) on synthetic CT slices with analytic answers, on generated series and on the corpus.

Expected values come from geometry (areas of circles and ellipses), from the shared reference tables
(``../shared/reference``) read here, or from the pixels the test drew; never from the package's own output.
"""

import csv
import json
import math

import numpy as np
import pytest
from pydicom.uid import RLELossless

from conftest import CORPUS, SHARED
from ct_phantoms import (AIR_HU, COUCH_HU, OUTSIDE_HU, TISSUE_HU, WATER_HU, Series, Slice, couch, ellipse,
                         field_of_view, grid, torso, torso_water_diameter, write_series)
from kerma.cli import main
from kerma.dosimetry.ssde import Acquisition, NoConversion, conversion, estimate, slice_size, ssde_of_files
from kerma.dosimetry.ssde.images import group_images, read_header
from kerma.dosimetry.ssde.tables import DATA

REFERENCE = SHARED / "reference"


def reference_rows(name: str) -> list[dict]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def fit(phantom_cm: int, report: str = "AAPM Report 204") -> tuple[float, float]:
    (row,) = [r for r in reference_rows("ssde_conversion_coefficients.csv")
              if r["report"].startswith(report) and int(r["phantom_cm"]) == phantom_cm]
    return float(row["a"]), float(row["b"])


def image(size: int = 512, pixel_mm: float = 0.8):
    x, y = grid(size, pixel_mm)
    return x, y, np.full((size, size), AIR_HU)


# --- reference data ------------------------------------------------------------------------------------------------

def test_package_reference_tables_equal_the_shared_ones():
    for name in ("ssde_conversion_coefficients.csv", "aapm204_effective_diameter_lookup.csv"):
        assert (DATA / name).read_bytes() == (REFERENCE / name).read_bytes(), name


def test_f_equals_the_shared_table_computed_from_the_fits():
    """``ssde_f_factor_computed.csv`` (32 and 16 cm, 8-45 cm) is reproduced to its three decimals."""
    for row in reference_rows("ssde_f_factor_computed.csv"):
        d = float(row["D_cm"])
        assert conversion(d, "body32").f == pytest.approx(float(row["f_32cm"]), abs=0.0006), d
        assert conversion(d, "head16").f == pytest.approx(float(row["f_16cm"]), abs=0.0006), d


def test_head_fit_is_a_third_party_transcription_and_used_only_on_request():
    """AAPM 293's row is a secondary transcription: no head SSDE unless asked, and then marked unverified."""
    with pytest.raises(NoConversion, match="transcription"):
        conversion(16.0, "head16", head=True)
    a, b = fit(16, "AAPM Report 293")
    c = conversion(16.0, "head16", head=True, allow_unverified=True)
    assert c.f == pytest.approx(a * math.exp(-b * 16.0)) and not c.verified
    with pytest.raises(NoConversion, match="16 cm phantom only"):
        conversion(16.0, "body32", head=True, allow_unverified=True)


# --- Dw of one slice: analytic phantoms ----------------------------------------------------------------------------

def test_water_cylinder_of_30_cm_has_dw_30_cm():
    x, y, hu = image()
    hu[ellipse(x, y, 150, 150)] = WATER_HU
    size = slice_size(hu, (0.8, 0.8))
    assert size.dw_cm == pytest.approx(30.0, rel=0.002)
    assert not size.truncated


def test_tissue_ellipse_at_40_hu_has_dw_from_its_area():
    x, y, hu = image()
    hu[ellipse(x, y, 170, 110)] = TISSUE_HU
    expected = 2 * math.sqrt((TISSUE_HU / 1000 + 1) * math.pi * 17.0 * 11.0 / math.pi)
    assert slice_size(hu, (0.8, 0.8)).dw_cm == pytest.approx(expected, rel=0.005)


def test_lungs_inside_the_patient_count_with_their_low_ct_numbers():
    """Air-like lungs are holes in the thresholded body: they belong to the patient, weighted by their HU."""
    x, y, hu = image()
    hu[ellipse(x, y, 160, 110)] = TISSUE_HU
    lungs = ellipse(x, y, 55, 70, -70, 0) | ellipse(x, y, 55, 70, 70, 0)
    hu[lungs] = -800.0
    water_cm2 = (((hu[ellipse(x, y, 160, 110)] / 1000) + 1).sum()) * 0.8 * 0.8 / 100
    assert slice_size(hu, (0.8, 0.8)).dw_cm == pytest.approx(2 * math.sqrt(water_cm2 / math.pi), rel=0.002)


@pytest.mark.parametrize("top_mm, thickness_mm", [(125, 10), (125, 35), (110.5, 8)],
                         ids=["thin couch below", "thick couch below", "thin couch touching"])
def test_couch_below_the_patient_is_excluded(top_mm, thickness_mm):
    x, y, hu = image()
    hu[ellipse(x, y, 170, 110)] = TISSUE_HU
    hu[couch(x, y, top_mm, thickness_mm, sag_mm=0)] = COUCH_HU
    expected = 2 * math.sqrt((TISSUE_HU / 1000 + 1) * 17.0 * 11.0)
    assert slice_size(hu, (0.8, 0.8)).dw_cm == pytest.approx(expected, rel=0.01)


def test_arms_beside_the_trunk_are_part_of_the_patient():
    x, y, hu = image()
    trunk = ellipse(x, y, 140, 100)
    arms = ellipse(x, y, 28, 35, -180, 0) | ellipse(x, y, 28, 35, 180, 0)
    hu[trunk | arms] = TISSUE_HU
    expected = 2 * math.sqrt((TISSUE_HU / 1000 + 1) * (trunk | arms).sum() * 0.64 / 100 / math.pi)
    assert slice_size(hu, (0.8, 0.8)).dw_cm == pytest.approx(expected, rel=0.005)


def test_patient_wider_than_the_field_of_view_is_flagged_truncated():
    """A 50 cm wide patient in a 40 cm field: Dw is only what the field shows (too small), and flagged."""
    x, y, hu = image(512, 0.8)
    patient = ellipse(x, y, 250, 120)
    hu[patient] = WATER_HU
    hu[~field_of_view(x, y, 400)] = OUTSIDE_HU
    size = slice_size(hu, (0.8, 0.8))
    whole = 2 * math.sqrt(25.0 * 12.0)
    seen = 2 * math.sqrt((patient & field_of_view(x, y, 400)).sum() * 0.64 / 100 / math.pi)
    assert size.truncated and size.truncated_fraction > 0.1
    assert size.dw_cm == pytest.approx(seen, rel=0.005) and size.dw_cm < 0.97 * whole


def test_patient_cut_by_the_image_edge_is_flagged_truncated():
    x, y, hu = image(256, 1.0)
    hu[ellipse(x, y, 160, 100)] = WATER_HU          # 32 cm wide in a 25.6 cm image
    assert slice_size(hu, (1.0, 1.0)).truncated


def test_empty_slice_gives_no_diameter():
    size = slice_size(np.full((64, 64), AIR_HU), (1.0, 1.0))
    assert size.dw_cm is None and size.reason


# --- files: rescale, decoding, sampling, SSDE(z) --------------------------------------------------------------------

def cylinder_series(tmp_path, n=5, pixel_mm=0.8, size=512, ctdivol_mGy=10.0, **series):
    x, y, hu = image(size, pixel_mm)
    hu[ellipse(x, y, 150, 150)] = WATER_HU
    return write_series(tmp_path, [Slice(hu, pixel_mm, z_mm=5.0 * i, ctdivol_mGy=ctdivol_mGy) for i in range(n)],
                        Series(**series))


@pytest.mark.parametrize("slope, intercept", [(1.0, -1024.0), (0.5, -1024.0), (2.0, -4096.0)])
def test_rescale_slope_and_intercept_are_honoured(tmp_path, slope, intercept):
    paths = cylinder_series(tmp_path, n=3, slope=slope, intercept=intercept)
    (answer,) = ssde_of_files(paths)
    a, b = fit(32)
    assert answer["method"] == "water_equivalent_diameter"
    assert answer["dw_cm"] == pytest.approx(30.0, rel=0.002)
    assert answer["ssde_mGy"] == pytest.approx(10.0 * a * math.exp(-b * 30.0), rel=0.003)


def test_rle_compressed_slices_are_decoded(tmp_path):
    """(JPEG Lossless, which pydicom cannot encode, is decoded on the corpus's images below.)"""
    (answer,) = ssde_of_files(cylinder_series(tmp_path, n=2, size=256, pixel_mm=1.6, transfer_syntax=RLELossless))
    assert answer["dw_cm"] == pytest.approx(30.0, rel=0.003)


def test_undecodable_slices_say_so_and_fall_back(tmp_path):
    """Pixel data that does not decode: "not decodable", then the next method (age: unverified here)."""
    paths = cylinder_series(tmp_path, n=2, size=64, pixel_mm=8.0)
    for path in paths:
        data = bytearray(path.read_bytes())
        path.write_bytes(bytes(data[:-1000]))        # pixel data cut short
    (answer,) = ssde_of_files(paths)
    assert answer["method"] == "not estimated"
    assert any("not decodable" in r for r in answer["reasons"])
    assert any("age table" in r for r in answer["reasons"])


def test_ssde_z_per_slice_uses_each_slices_ctdivol(tmp_path):
    """Tube current modulation: SSDE(z) = f(Dw(z)) × CTDIvol(z); the SSDE is their mean."""
    x, y, _ = image(256, 1.6)
    slices = []
    for i, (radius, ctdi) in enumerate([(100, 6.0), (125, 8.0), (150, 12.0)]):
        hu = np.full((256, 256), AIR_HU)
        hu[ellipse(x, y, radius, radius)] = WATER_HU
        slices.append(Slice(hu, 1.6, z_mm=20.0 * i, ctdivol_mGy=ctdi))
    (answer,) = ssde_of_files(write_series(tmp_path, slices), spacing_mm=None)
    a, b = fit(32)
    expected = [c * a * math.exp(-b * d) for d, c in [(20, 6.0), (25, 8.0), (30, 12.0)]]
    got = [p["ssde_mGy"] for p in answer["ssde_z"]]
    assert got == pytest.approx(expected, rel=0.01)
    assert answer["ssde_mGy"] == pytest.approx(sum(expected) / 3, rel=0.01)
    assert answer["ctdivol_mGy"] == pytest.approx(26.0 / 3) and answer["ctdivol_source"] == "image header"


def test_sampled_slices_give_the_all_slice_dw_within_one_percent(tmp_path):
    """A 150-slice torso (lungs, arms, couch, noise) sampled every 10 mm gives the all-slice mean Dw within 1 %,
    and the all-slice mean equals the Dw of the drawn patient (no couch) within 1 %."""
    zs = range(-50, 250, 2)
    slices = [Slice(torso(z, noise_hu=20, seed=1), 1.6, z_mm=float(z), ctdivol_mGy=10.0) for z in zs]
    paths = write_series(tmp_path, slices)
    (every,) = ssde_of_files(paths, spacing_mm=None)
    (sampled,) = ssde_of_files(paths, spacing_mm=10.0)
    assert every["slices_used"] == 150 and sampled["slices_used"] <= 31
    assert sampled["dw_cm"] == pytest.approx(every["dw_cm"], rel=0.01)
    assert sampled["ssde_mGy"] == pytest.approx(every["ssde_mGy"], rel=0.01)
    drawn = np.mean([torso_water_diameter(float(z)) for z in zs])
    assert every["dw_cm"] == pytest.approx(drawn, rel=0.01)


def test_method_chain_device_then_age_the_least_accurate():
    """The device's SSDE wins; without images or localizers, the age table (a transcription: only on request,
    and only for the ages it covers, 0-18 y)."""
    acq = Acquisition(ctdivol_mGy=10.0, phantom="body32", region_text="Abdomen", device_ssde_mGy=13.0, age_years=10)
    assert estimate(acq).method == "device" and estimate(acq).ssde_mGy == 13.0
    child = Acquisition(ctdivol_mGy=10.0, phantom="body32", region_text="Abdomen", age_years=10)
    result = estimate(child)
    assert result.method == "not estimated" and any("transcription" in r for r in result.reasons)
    result = estimate(child, allow_unverified=True)
    (row,) = [r for r in reference_rows("aapm204_effective_diameter_lookup.csv")
              if r["table"] == "Age" and float(r["input_value"]) == 10.0]
    a, b = fit(32)
    assert result.method == "age_effective_diameter"
    assert result.to_dict()["method_code"]["value"] == "113937"
    assert result.deff_cm == float(row["effective_diameter_cm"])
    assert result.ssde_mGy == pytest.approx(10.0 * a * math.exp(-b * float(row["effective_diameter_cm"])))
    assert any("least accurate" in r for r in result.reasons)
    assert {c["name"] for c in result.uncertainty.components} == {"body_fit", "age_table"}
    adult = estimate(Acquisition(ctdivol_mGy=10.0, phantom="body32", region_text="Chest", age_years=40),
                     allow_unverified=True)
    assert adult.method == "not estimated" and any("outside" in r for r in adult.reasons)


def test_head_scan_is_not_estimated_without_verified_head_coefficients(tmp_path):
    x, y, hu = image(256, 1.0)
    hu[ellipse(x, y, 80, 95)] = 30.0
    paths = write_series(tmp_path, [Slice(hu, 1.0, z_mm=0.0, ctdivol_mGy=50.0)],
                         Series(body_part="HEAD", description="Routine brain", phantom_code="113690"))
    (answer,) = ssde_of_files(paths)
    assert answer["method"] == "not estimated" and answer["ssde_mGy"] is None
    assert answer["dw_cm"] == pytest.approx(2 * math.sqrt(1.03 * 8.0 * 9.5), rel=0.01)
    (answer,) = ssde_of_files(paths, allow_unverified=True)
    a, b = fit(16, "AAPM Report 293")
    assert answer["ssde_mGy"] == pytest.approx(50.0 * a * math.exp(-b * answer["dw_cm"]), rel=0.001)
    assert answer["coefficients"]["verified"] is False


def test_rdsr_event_claims_its_images_by_irradiation_event_uid(tmp_path, corpus):
    """The report's CTDIvol and phantom with the images' Dw; the report's other acquisitions have no images."""
    from kerma.extract import extract
    report = corpus / "openrem" / "CT-ESR-GE_Optima.dcm"
    record = extract(report.read_bytes())
    spiral = [(i, e) for i, e in enumerate(record.events) if e["ctdivol_mGy"] is not None]
    index, event = spiral[0]
    paths = cylinder_series(tmp_path, n=3, size=256, pixel_mm=1.6, irradiation_event_uid=event["irradiation_event_uid"],
                            ctdivol_mGy=None, phantom_code=None, body_part="", description="")
    answers = ssde_of_files([report, *paths])
    mine = [a for a in answers if a.get("event_index") == index]
    assert len(mine) == 1 and mine[0]["method"] == "water_equivalent_diameter"
    a, b = fit(32)
    assert mine[0]["ctdivol_mGy"] == event["ctdivol_mGy"] and mine[0]["ctdivol_source"] == "rdsr"
    assert mine[0]["ssde_mGy"] == pytest.approx(event["ctdivol_mGy"] * a * math.exp(-b * 30.0), rel=0.003)
    others = [a for a in answers if a.get("event_index") not in (None, index)]
    assert len(others) == len(spiral) - 1 and all(a["method"] == "not estimated" for a in others)
    assert len(answers) == len(spiral)       # the localizers' constant-angle acquisitions are not answers


# --- corpus ----------------------------------------------------------------------------------------------------------

def test_corpus_ct_images_give_plausible_sizes_and_record_the_method():
    """Every corpus CT image is answered; measured slices give Dw of a human (10-50 cm), the method recorded;
    the small-field reconstructions are flagged truncated; reformats and missing pixels say why."""
    files = sorted((CORPUS / "public" / "ct_image").glob("*.dcm"))
    answers = ssde_of_files(files)
    assert {a["file"] for a in answers} >= {str(f) for f in files if read_header_or_none(f) is None or
                                            read_header_or_none(f).axial}
    measured = [a for a in answers if a.get("dw_cm") is not None]
    assert len(measured) >= 3
    for a in answers:
        if a["status"] == "ok":
            assert a["method"] in ("water_equivalent_diameter", "not estimated")
            assert a["reasons"] or a["method"] != "not estimated"
        else:
            assert a["reason"]
    for a in measured:
        assert 10.0 <= a["dw_cm"] <= 50.0
        if a["ssde_mGy"] is not None:
            assert a["ssde_mGy"] == pytest.approx(a["f"] * a["ctdivol_mGy"], rel=0.001)
            assert 0.5 < a["f"] < 3.0
    by_name = {a["file"].rsplit("/", 1)[-1]: a for a in answers}
    assert by_name["orthanc-tests__2020-09-11-Christopher-ELSCINT1-Raw.dcm"]["method"] == "water_equivalent_diameter"
    assert by_name["fo-dicom__GH1308.dcm"]["truncated"]                    # 13 cm field
    assert by_name["fo-dicom__IM-0001-0001-0001.dcm"]["truncated"]         # 15 cm field, JPEG lossless
    assert "not an axial slice" in by_name["orthanc-tests__TEST_1_study_1234.dcm"]["reason"]
    assert any("not decodable" in r for r in by_name["orthanc-tests__2020-09-12-ELSCINT1-PMSCT_RLE1.dcm"]["reasons"])


def read_header_or_none(path):
    try:
        return read_header(path)
    except ValueError:
        return None


def test_frontal_and_lateral_localizers_give_aapm_204_effective_diameter(tmp_path):
    """A 36 × 24 cm elliptic cylinder: LAT 36 cm on the frontal localizer, AP 24 cm on the lateral one,
    Deff = sqrt(AP × LAT); used for an acquisition without images."""
    from ct_phantoms import localizer
    views = [read_header(localizer(tmp_path, p, 180.0, 120.0)) for p in ("frontal", "lateral")]
    result = estimate(Acquisition(ctdivol_mGy=10.0, phantom="body32", region_text="Abdomen"), None, views)
    a, b = fit(32)
    assert result.method == "localizer_effective_diameter"
    assert result.deff_cm == pytest.approx(math.sqrt(36.0 * 24.0), rel=0.01)
    assert result.ssde_mGy == pytest.approx(10.0 * a * math.exp(-b * math.sqrt(36.0 * 24.0)), rel=0.01)
    assert {c["name"] for c in result.uncertainty.components} >= {"localizer_magnification", "localizer_range"}
    only_one = estimate(Acquisition(ctdivol_mGy=10.0, phantom="body32", region_text="Abdomen"), None, views[:1])
    assert only_one.method == "not estimated" and any("both the AP and the lateral" in r for r in only_one.reasons)


def test_corpus_lateral_localizer_gives_an_ap_thickness():
    from kerma.dosimetry.ssde.localizer import extent
    image = read_header(CORPUS / "public" / "ct_image" / "orthanc-tests__2020-08-12-Christopher.dcm")
    assert image.localizer and image.projection == "lateral"
    found = extent(image)
    assert found.dimension == "ap" and 12.0 < found.cm < 40.0


def test_cli_ssde_json(tmp_path, capsys):
    paths = cylinder_series(tmp_path, n=3, size=256, pixel_mm=1.6)
    assert main(["ssde", *map(str, paths), "--all-slices", "--json"]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    for key in ("method", "dw_cm", "f", "ctdivol_mGy", "ssde_mGy", "ssde_z"):
        assert key in answer
    assert answer["method"] == "water_equivalent_diameter" and len(answer["ssde_z"]) == 3
