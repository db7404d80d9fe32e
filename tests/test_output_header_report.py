"""The X-Ray Radiation Dose SR Kerma builds from image headers (for a registry): for every corpus image with dose
in its header it passes dciodvfy and DCMTK's SR checks, extracts through Kerma's own ``extract`` as an RDSR of the
device to the values OpenREM imported from the images (where the corpus has them) and to the header's own values
(every dose and technique field the templates carry), says where its dose came from, and is never taken for
Kerma's own output."""

import datetime as dt
import re

import pydicom
import pytest

from conftest import CORPUS
from corpus import EXPECTED, assert_matches_openrem, images
from dicom_checks import dciodvfy_errors, dsrdump_findings
from kerma.cli import main
from kerma.extract import extract
from kerma.output.header_report import NotConvertible, header_dose_report
from kerma.study_dose import resolve_study

WHEN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
BY_PATH = {e["path"]: e for e in EXPECTED}
# what a dose report must carry again whenever the header had it (the dose and the technique of each exposure)
DOSE_FIELDS = ("irradiation_event_uid", "protocol", "event_type", "acquisition_type", "laterality", "kvp",
               "tube_current_mA", "exposure_time_s", "exposure_mAs", "dap_Gycm2", "ka_r_mGy",
               "entrance_exposure_at_rp_mGy", "agd_mGy", "compression_thickness_mm", "compression_force_N", "hvl_mm",
               "ctdivol_mGy", "dlp_mGycm", "phantom", "scan_length_mm", "pitch", "single_collimation_mm",
               "total_collimation_mm", "sid_mm", "exposure_index", "target_exposure_index", "deviation_index")
CT_WITHOUT_CONCEPT = ("exposure_mAs",)  # TID 10013 gives a CT acquisition's tube current and time, not mAs
COPIED = ("DCM", "113866")
COMPUTED = ("DCM", "113867")


def header_images():
    """Every corpus image with X-ray dose in its header that can be referenced (a SOP Instance UID)."""
    out = []
    for path in images():
        record = extract(path.read_bytes())
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        if record.status == "ok" and record.source == "header" and record.report_kind != "radiopharmaceutical" \
                and ds.get("SOPInstanceUID"):
            out.append((path, record, ds))
    return out


HEADER_IMAGES = header_images()


def equipment_findings_allowed(ds) -> set[str]:
    """dsrdump's complaints about type 1 equipment attributes the device's header does not give: Kerma does not
    invent a serial number."""
    return {keyword for keyword in ("Manufacturer", "ManufacturerModelName", "DeviceSerialNumber", "SoftwareVersions")
            if not ds.get(keyword)}


def source_of_dose(ds) -> set[tuple[str, str]]:
    return {(i.ConceptCodeSequence[0].CodingSchemeDesignator, i.ConceptCodeSequence[0].CodeValue)
            for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113854"}


@pytest.mark.parametrize("path, record, ds", HEADER_IMAGES, ids=[p.name for p, _, _ in HEADER_IMAGES])
def test_the_report_built_from_a_header_is_valid_and_extracts_to_the_headers_values(tmp_path, path, record, ds):
    report = header_dose_report([record], [ds], when=WHEN)
    out = tmp_path / "report.dcm"
    report.save_as(out, enforce_file_format=True)
    assert dciodvfy_errors(out) == []
    allowed = equipment_findings_allowed(ds)
    for finding in dsrdump_findings(out):
        match = re.match(r"W: (\w+) \(.{9}\) (absent|empty) in EnhancedGeneralEquipmentModule", finding)
        assert match and match.group(1) in allowed, finding
    back = extract(out.read_bytes())
    assert (back.status, back.source, back.sop_class_uid) == ("ok", "rdsr", "1.2.840.10008.5.1.4.1.1.88.67")
    expected = BY_PATH.get(str(path.relative_to(CORPUS)))
    if expected is not None and expected.get("totals") is not None:  # OpenREM stored a record of the image
        assert_matches_openrem(back, expected)
    folded = resolve_study([record])
    assert len(back.events) == len(folded["events"])
    for source, rebuilt in zip(folded["events"], back.events):
        for field in DOSE_FIELDS:
            if source.get(field) is not None and not (record.report_kind == "ct" and field in CT_WITHOUT_CONCEPT):
                assert rebuilt.get(field) == source[field], field
    for name, value in folded["totals"].items():
        if isinstance(value, float):
            assert back.totals[name] == value, name
    for name in ("manufacturer", "model", "serial_number", "station_name"):
        assert getattr(back.device, name) == getattr(record.device, name)
    assert (back.study.study_instance_uid, back.study.study_date) == \
        (record.study_instance_uid, record.study.study_date)
    written = pydicom.dcmread(out)
    assert COPIED in source_of_dose(written)                               # marked: from image attributes
    assert (COMPUTED in source_of_dose(written)) == any(e.get("dlp_estimated") for e in folded["events"])
    assert "Kerma" in [e.Manufacturer for e in written.ContributingEquipmentSequence]  # Kerma built it


def test_a_studys_images_are_one_report_of_its_exposures(tmp_path, corpus):
    """Mammography for presentation and for processing of one exposure: one event, the AGD counted once."""
    paths = [corpus / "openrem" / f"MG-Im-GE_Seno_1_For{kind}.dcm" for kind in ("Presentation", "Processing")]
    records = [extract(p.read_bytes()) for p in paths]
    report = header_dose_report(records, [pydicom.dcmread(p, stop_before_pixels=True) for p in paths], when=WHEN)
    report.save_as(tmp_path / "mg.dcm", enforce_file_format=True)
    back = extract((tmp_path / "mg.dcm").read_bytes())
    assert len(back.events) == 1 and back.modality == "MG"
    assert back.totals["agd_total_left_mGy"] == records[0].events[0]["agd_mGy"]
    again = header_dose_report(records, [pydicom.dcmread(p, stop_before_pixels=True) for p in paths], when=WHEN)
    assert again.SOPInstanceUID == report.SOPInstanceUID                   # built again: the same object


def test_what_has_no_header_dose_is_refused(corpus):
    nm = corpus / "openrem" / "NM-NmIm-Siemens.dcm"
    rdsr = corpus / "openrem" / "CT-RDSR-GEPixelMed.dcm"
    for path in (nm, rdsr):
        with pytest.raises(NotConvertible):
            header_dose_report([extract(path.read_bytes())], [pydicom.dcmread(path)], when=WHEN)
    ct, dx = (next(r for p, r, _ in HEADER_IMAGES if r.report_kind == k) for k in ("ct", "projection"))
    with pytest.raises(NotConvertible):
        header_dose_report([ct, dx], [pydicom.dcmread(CORPUS / "openrem" / "DX-Im-DRGEM.dcm")], when=WHEN)


def test_the_command_writes_the_report_of_image_files(tmp_path, corpus):
    image = corpus / "openrem" / "DX-Im-GE_XR220-1.dcm"
    out = tmp_path / "rdsr.dcm"
    assert main(["header-rdsr", str(image), "--out", str(out)]) == 0
    back = extract(out.read_bytes())
    assert back.source == "rdsr" and back.totals["dap_total_Gycm2"] == extract(image.read_bytes()).totals[
        "dap_total_Gycm2"]
    assert main(["header-rdsr", str(corpus / "openrem" / "NM-NmIm-Siemens.dcm"), "--out", str(out)]) == 1
