"""Kerma's own estimates as DICOM: the Patient Radiation Dose SR (TID 10030) of SSDE, effective dose and peak
skin dose passes DCMTK's SR checks, carries each estimate's value, method and uncertainty as the dosimetry
modules gave them (read back by Kerma's SR tree reader), and is recognised as Kerma's own output: ``extract``
and the ingest worker record it ``ignored`` with the reason, never as new dose."""

import datetime as dt
import math

import pydicom
import pytest
from sqlalchemy import func, select

from conftest import CORPUS
from dicom_checks import dsrdump_findings
from kerma.cli import main
from kerma.db.models import DoseObject, IrradiationEvent
from kerma.dosimetry.effective import effective_dose
from kerma.dosimetry.skin import skin_dose
from kerma.dosimetry.ssde import ssde_results
from kerma.extract import extract
from kerma.extract.dicomfile import read
from kerma.extract.own_output import REASON
from kerma.extract.srtree import build
from kerma.ingest.worker import IngestWorker
from kerma.output.patient_dose import NothingToReport, patient_dose_sr
from test_worker import ScriptedOrthanc

WHEN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)  # the clock is an input
OBSERVER = "2.25.300000000000000000000000000000000001"
CT_REPORT = CORPUS / "openrem" / "CT-RDSR-Siemens-Multi-2.dcm"
RF_REPORT = CORPUS / "openrem" / "RF-RDSR-Siemens-Zee.dcm"
CT_IMAGES = sorted((CORPUS / "public" / "ct_image").glob("*.dcm"))
EFFECTIVE = ("DCM", "113839")
PEAK_SKIN = ("DCM", "128531")
SSDE = ("DCM", "113930")
RELATIVE_UNCERTAINTY = ("99KERMA", "RELUNC")
EVENT_UID = ("DCM", "113769")


def write(tmp_path, name, **estimates):
    evidence = estimates.pop("evidence")
    document = patient_dose_sr([pydicom.dcmread(p, stop_before_pixels=True) for p in evidence], observer_uid=OBSERVER,
                               series_instance_uid=f"2.25.{len(name)}1", sop_instance_uid=f"2.25.{len(name)}2",
                               when=WHEN, **estimates)
    path = tmp_path / f"{name}.dcm"
    document.save_as(path, enforce_file_format=True)
    return path


def tree(path):
    obj = read(path.read_bytes())
    return build(obj, obj.elements)


def values(root, concept):
    """(value, unit, the item) of every NUM with that concept name."""
    return [(n.value, n.unit, n) for n in root.walk() if n.value_type == "NUM" and n.concept and n.concept.key == concept]


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-5)  # written to 6 significant digits


def properties(item, concept):
    return [c.value for c in item.children if c.concept and c.concept.key == concept]


@pytest.fixture(scope="module")
def ct_estimates():
    record = extract(CT_REPORT.read_bytes())
    return effective_dose(record), ssde_results(CT_IMAGES)


def test_effective_dose_and_ssde_are_written_with_method_and_uncertainty(tmp_path, ct_estimates):
    effective, ssde = ct_estimates
    measured = [r for r in ssde if r.ssde_mGy is not None]
    assert effective.effective_dose_mSv is not None and len(measured) >= 2 and len(ssde) > len(measured)
    path = write(tmp_path, "ct", evidence=[CT_REPORT, *CT_IMAGES], effective=effective, ssde=ssde)
    assert dsrdump_findings(path) == []
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.73" and ds.Modality == "SR"
    assert ds.ContentDate == "20260302" and ds.CompletionFlag == "COMPLETE"
    root = tree(path)
    assert root.concept.key == ("DCM", "128401")                           # Patient Radiation Dose Report
    [(value, unit, item)] = values(root, EFFECTIVE)
    assert unit == "mSv" and close(value, effective.effective_dose_mSv)
    [relative] = properties(item, RELATIVE_UNCERTAINTY)
    assert close(relative, effective.uncertainty.relative)
    assert effective.method in [c.value for c in item.children]          # the method as a concept modifier
    written = values(root, SSDE)
    assert len(written) == len(measured)                                  # one NUM per acquisition with a value
    for result in measured:
        [(value, unit, item)] = [w for w in written if properties(w[2], EVENT_UID) == [result.irradiation_event_uid]]
        assert unit == "mGy" and close(value, result.ssde_mGy)
        assert close(properties(item, RELATIVE_UNCERTAINTY)[0], result.uncertainty.relative)
    comments = [n.value for n in root.walk() if n.value_type == "TEXT" and n.concept.key == ("DCM", "121106")]
    for result in ssde:                                                   # absent is absent, with its reason
        if result.ssde_mGy is None:
            assert any(result.reasons[0] in c for c in comments)
    assert effective.statement in comments
    # the dose report used is named in each methodology (SR Instance Used), the images only as evidence
    report_uid = pydicom.dcmread(CT_REPORT, stop_before_pixels=True).SOPInstanceUID
    used = {item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for item in pydicom_items(ds)
            if item.ValueType == "COMPOSITE"}
    assert used == {report_uid}
    evidence = {i.ReferencedSOPInstanceUID for s in ds.CurrentRequestedProcedureEvidenceSequence
                for series in s.ReferencedSeriesSequence for i in series.ReferencedSOPSequence}
    assert report_uid in evidence          # (the corpus images, of other studies, are pertinent other evidence)


def pydicom_items(ds):
    for item in ds.get("ContentSequence", []):
        yield item
        yield from pydicom_items(item)


def test_peak_skin_dose_is_written_and_an_effective_dose_not_estimated_says_why(tmp_path):
    record = extract(RF_REPORT.read_bytes())
    skin, effective = skin_dose(record), effective_dose(record)
    assert skin.psd_mGy is not None and effective.effective_dose_mSv is None and effective.reasons
    path = write(tmp_path, "rf", evidence=[RF_REPORT], skin=skin, effective=effective)
    assert dsrdump_findings(path) == []
    root = tree(path)
    [(value, unit, item)] = values(root, PEAK_SKIN)
    assert unit == "mGy" and close(value, skin.psd_mGy)
    assert close(properties(item, RELATIVE_UNCERTAINTY)[0], skin.uncertainty.relative)
    assert values(root, EFFECTIVE) == []                                  # never a 0 for an absent estimate
    comments = [n.value for n in root.walk() if n.value_type == "TEXT" and n.concept.key == ("DCM", "121106")]
    assert any(effective.reasons[0] in c for c in comments)
    ds = pydicom.dcmread(path)
    original = pydicom.dcmread(RF_REPORT, stop_before_pixels=True)
    assert (ds.PatientID, ds.StudyInstanceUID) == (original.PatientID, original.StudyInstanceUID)
    assert ds.SeriesInstanceUID != original.SeriesInstanceUID             # a series of its own in the study


def test_nothing_to_report_is_refused():
    with pytest.raises(NothingToReport):
        patient_dose_sr([pydicom.dcmread(RF_REPORT)], observer_uid=OBSERVER, series_instance_uid="2.25.1",
                        sop_instance_uid="2.25.2", when=WHEN)


def test_extract_recognises_its_own_sr_with_or_without_the_private_block(tmp_path):
    record = extract(RF_REPORT.read_bytes())
    path = write(tmp_path, "own", evidence=[RF_REPORT], skin=skin_dose(record))
    answer = extract(path.read_bytes())
    assert (answer.status, answer.reason) == ("ignored", REASON)
    stripped = pydicom.dcmread(path)
    stripped.remove_private_tags()                                        # a PACS on the way may drop them
    stripped.save_as(tmp_path / "stripped.dcm")
    answer = extract((tmp_path / "stripped.dcm").read_bytes())
    assert (answer.status, answer.reason) == ("ignored", REASON)
    # a device's report is not Kerma's because it has a private block in the same group, or a manufacturer name
    foreign = pydicom.dcmread(RF_REPORT)
    foreign.private_block(0x0099, "OTHER VENDOR", create=True).add_new(0x01, "LO", "x")
    foreign.Manufacturer = "Kerma"
    foreign.save_as(tmp_path / "foreign.dcm")
    assert extract((tmp_path / "foreign.dcm").read_bytes()).status == "ok"


def test_the_command_writes_the_sr_of_a_studys_files(tmp_path):
    out = tmp_path / "estimates.dcm"
    assert main(["patient-dose-sr", str(RF_REPORT), "--out", str(out), "--observer-uid", OBSERVER]) == 0
    assert dsrdump_findings(out) == []
    [(value, _, _)] = values(tree(out), PEAK_SKIN)
    assert close(value, skin_dose(extract(RF_REPORT.read_bytes())).psd_mGy)
    again = tmp_path / "again.dcm"
    assert main(["patient-dose-sr", str(RF_REPORT), "--out", str(again), "--observer-uid", OBSERVER]) == 0
    assert pydicom.dcmread(again).SOPInstanceUID == pydicom.dcmread(out).SOPInstanceUID  # same estimates, one object
    assert main(["patient-dose-sr", str(tmp_path / "absent.dcm"), "--out", str(again)]) == 1


def test_the_ingest_worker_records_its_own_sr_ignored_and_counts_no_dose(tmp_path, sessions):
    record = extract(RF_REPORT.read_bytes())
    path = write(tmp_path, "ledger", evidence=[RF_REPORT], skin=skin_dose(record))
    orthanc = ScriptedOrthanc()
    orthanc.add(RF_REPORT.relative_to(CORPUS))
    own = orthanc.add(None)
    orthanc.files[own] = path.read_bytes()
    worker = IngestWorker(orthanc, sessions, batch_size=10)
    while worker.ingest_batch():
        pass
    with sessions() as s:
        rows = {r.orthanc_id: r for r in s.scalars(select(DoseObject))}
        assert rows[own].status == "ignored" and rows[own].reason == REASON
        assert rows[own].sop_instance_uid == pydicom.dcmread(path).SOPInstanceUID
        assert s.scalar(select(func.count()).select_from(IrradiationEvent)) == len(record.events)
