"""De-identification of dose reports for a registry (PS3.15 Basic Profile with Retain Device Identity, Retain
Patient Characteristics, Retain Longitudinal Temporal Information kept or shifted, Clean Structured Content).

The checks here are the test's own, element by element against the original: every identifying value of the
original (patient names, IDs, birth date, accession and study numbers, institution, every person name at any
depth, SR content included, every instance UID) is looked for in every element of the result, file meta
included; UIDs are replaced the same way in every object (a study's reports stay one study); dates are kept or
all moved by one number of days; and the dose content extracts equal to the original's extraction."""

import datetime as dt
import io

import pydicom
import pytest
from pydicom.uid import UID_dictionary

from conftest import CORPUS
from dicom_checks import dciodvfy_errors, dsrdump_findings
from kerma.cli import main
from kerma.extract import extract
from kerma.output.deidentify import Policy, deidentify

WHEN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
SECRET = bytes(range(32))
REPORTS = [CORPUS / "openrem" / f"{name}.dcm" for name in (
    "CT-RDSR-Siemens-Continued-1", "CT-RDSR-Siemens-Continued-2", "CT-ESR-GE_Optima", "CT-RDSR-Toshiba_DoseCheck",
    "NM-CT-RDSR-Siemens", "NM-RRDSR-Siemens", "DX-RDSR-Canon_CXDI", "MG-RDSR-Hologic_2D", "RF-RDSR-Siemens-Zee")]
POLICIES = {"pseudonym, dates kept": Policy(SECRET), "removed, dates shifted": Policy(SECRET, patient="remove",
                                                                                      dates="shift")}
IDENTIFYING = ("PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "OtherPatientNames",
               "AccessionNumber", "StudyID", "PatientAddress", "IssuerOfPatientID", "MedicalRecordLocator",
               "PatientTelephoneNumbers")
# the institution goes too (no Retain Institution Identity Option), as a value of a non-coded element: its words
# may rightly stay in a description or a code's meaning (the department "Mammography")
INSTITUTION = ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName")
# SR content items naming the patient or a person (TID 1007 subject, TID 1003 person observer, TID 1020)
IDENTIFYING_CONCEPTS = {"121029", "121030", "121031", "121008", "113870", "113871"}
DEVICE_OBSERVER_UID = "121012"  # kept: Retain Device Identity Option
TEXT_VRS = {"PN", "LO", "SH", "ST", "LT", "UT", "UC"}
# event fields that are not dose content: replaced UIDs, free text (Clean Structured Content), moments (shifted)
NOT_DOSE_CONTENT = {"irradiation_event_uid", "comment", "dose_check_alert_reason_for_proceeding",
                    "datetime_started", "administration_start", "administration_stop"}


def values(element):
    value = element.value
    if value is None or element.VR == "SQ":
        return []
    items = list(value) if element.VM > 1 and not isinstance(value, (str, bytes)) else [value]
    return [(v.decode("latin-1") if isinstance(v, bytes) else str(v)).strip() for v in items]


def walk(ds, path=""):
    for element in ds:
        where = f"{path}{element.keyword or element.tag}"
        yield where, element
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                yield from walk(item, f"{where}[{index}].")


def concept(item):
    names = item.get("ConceptNameCodeSequence") or []
    return str(names[0].CodeValue) if names and "CodeValue" in names[0] else None


def identifiers(ds):
    """(exact values, phrases no text may contain, the institution's values) of the original: the test's own."""
    exact, phrases, institution = set(), set(), set()

    def add(value, phrase=True, into=exact):
        if len(value) >= 4 and value.upper() not in ("NONE", "REMOVED", "ANONYMOUS"):
            into.add(value)
            if phrase:
                phrases.update({value, value.replace("^", " ").strip()})

    def visit(item):
        named = concept(item) in IDENTIFYING_CONCEPTS
        device = concept(item) == DEVICE_OBSERVER_UID
        for element in item:
            if element.VR == "SQ":
                for child in element.value:
                    visit(child)
                continue
            for value in values(element):
                if element.keyword in IDENTIFYING or element.VR == "PN" or (named and element.VR in TEXT_VRS | {"DA"}):
                    add(value)
                elif element.keyword in INSTITUTION:
                    add(value, phrase=False, into=institution)
                elif element.VR == "UI" and value not in UID_dictionary and not device:
                    add(value, phrase=False)                     # an instance UID, not a class or a coding scheme

    visit(ds)
    return exact, phrases, institution


def written(ds) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def results():
    out = {}
    for name, policy in POLICIES.items():
        for path in REPORTS:
            original = pydicom.dcmread(path)
            out[name, path.name] = (original, deidentify(original, policy, WHEN))
    return out


@pytest.mark.parametrize("policy", POLICIES)
def test_no_identifier_of_the_original_survives_in_any_element(results, policy):
    for path in REPORTS:
        original, result = results[policy, path.name]
        exact, phrases, institution = identifiers(original)
        assert exact                                            # the corpus reports do identify their patients
        found = []
        for where, element in [*walk(result.file_meta, "meta."), *walk(result)]:
            assert not element.tag.is_private, f"{path.name}: private {where} kept"
            for value in values(element):
                if value in exact or (element.VR in TEXT_VRS and any(p in value for p in phrases)) or (
                        value in institution and element.keyword != "CodeMeaning"):
                    found.append((where, value))
        assert found == [], f"{path.name} ({policy})"
        assert "PatientBirthDate" not in result or not result.PatientBirthDate
        assert result.PatientIdentityRemoved == "YES"
        methods = {c.CodeValue for c in result.DeidentificationMethodCodeSequence}
        assert {"113100", "113108", "113109", "113104"} <= methods  # basic, device, characteristics, clean SR


def test_the_patient_is_one_keyed_pseudonym_or_nobody(results):
    pseudonyms = {}
    for path in REPORTS:
        original, kept = results["pseudonym, dates kept", path.name]
        assert str(kept.PatientID).startswith("P-") and kept.PatientName == kept.PatientID
        pseudonyms.setdefault(str(original.PatientID), set()).add(str(kept.PatientID))
        _, removed = results["removed, dates shifted", path.name]
        assert not removed.PatientID and not removed.PatientName
        assert removed.get("PatientSex") == original.get("PatientSex")  # patient characteristics retained
        assert removed.PatientAge                           # given, or computed from the birth date that went
    assert all(len(p) == 1 for p in pseudonyms.values())
    assert len({next(iter(p)) for p in pseudonyms.values()}) == len(pseudonyms)
    other = deidentify(pydicom.dcmread(REPORTS[0]), Policy(SECRET, purpose="another registry"), WHEN)
    assert other.PatientID != results["pseudonym, dates kept", REPORTS[0].name][1].PatientID  # unlinkable


@pytest.mark.parametrize("policy", POLICIES)
def test_uids_are_replaced_the_same_way_in_every_object(results, policy):
    mapping = {}
    for path in REPORTS:
        original, result = results[policy, path.name]
        for label, old, new in (("study", original.StudyInstanceUID, result.StudyInstanceUID),
                                ("series", original.SeriesInstanceUID, result.SeriesInstanceUID),
                                ("instance", original.SOPInstanceUID, result.SOPInstanceUID)):
            assert new != old and new.startswith("2.25.") and len(new) <= 64
            assert mapping.setdefault(old, new) == new, label
        assert result.file_meta.MediaStorageSOPInstanceUID == result.SOPInstanceUID
        before, after = extract(written(original)), extract(written(result))
        for a, b in zip(before.events, after.events):
            if a["irradiation_event_uid"]:
                assert mapping.setdefault(a["irradiation_event_uid"], b["irradiation_event_uid"]) == \
                    b["irradiation_event_uid"]
    first, second = (results[policy, f"CT-RDSR-Siemens-Continued-{n}.dcm"][1] for n in (1, 2))
    assert first.StudyInstanceUID == second.StudyInstanceUID   # one study before, one study after
    again = deidentify(pydicom.dcmread(REPORTS[0]), POLICIES[policy], WHEN + dt.timedelta(days=3))
    assert again.SOPInstanceUID == results[policy, REPORTS[0].name][1].SOPInstanceUID  # a re-send is the same object


def test_dates_are_kept_or_all_moved_by_one_keyed_number_of_days(results):
    shifts = {}
    for path in REPORTS:
        original, kept = results["pseudonym, dates kept", path.name]
        assert kept.StudyDate == original.StudyDate and kept.LongitudinalTemporalInformationModified == "UNMODIFIED"
        _, shifted = results["removed, dates shifted", path.name]
        assert shifted.LongitudinalTemporalInformationModified == "MODIFIED"
        days = {(dt.date.fromisoformat(_iso(original[k].value)) - dt.date.fromisoformat(_iso(shifted[k].value))).days
                for k in ("StudyDate", "ContentDate", "SeriesDate") if k in original and original[k].value}
        before, after = extract(written(original)), extract(written(shifted))
        for a, b in zip(before.events, after.events):
            if a.get("datetime_started") and b.get("datetime_started"):
                days.add((dt.datetime.fromisoformat(a["datetime_started"][:19])
                          - dt.datetime.fromisoformat(b["datetime_started"][:19])).days)
        assert len(days) == 1 and 1 <= next(iter(days)) <= 365, path.name
        shifts.setdefault(str(original.PatientID), set()).update(days)
    assert all(len(d) == 1 for d in shifts.values())            # one shift per patient: intervals stay true
    assert len({d for days in shifts.values() for d in days}) > 1  # and not one shift for everyone


def _iso(da: str) -> str:
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}"


@pytest.mark.parametrize("policy", POLICIES)
def test_dose_content_extracts_equal_to_the_originals(results, policy):
    for path in REPORTS:
        original, result = results[policy, path.name]
        before, after = extract(path.read_bytes()), extract(written(result))
        assert after.status == "ok" and after.modality == before.modality, path.name
        assert after.totals == before.totals, path.name
        assert len(after.events) == len(before.events)
        for a, b in zip(before.events, after.events):
            assert {k: v for k, v in a.items() if k not in NOT_DOSE_CONTENT} == \
                {k: v for k, v in b.items() if k not in NOT_DOSE_CONTENT}, path.name
        for name in ("manufacturer", "model", "serial_number", "station_name", "device_observer_uid"):
            assert getattr(after.device, name) == getattr(before.device, name), (path.name, name)
        for name in ("sex", "weight_kg", "height_m"):
            assert getattr(after.patient, name) == getattr(before.patient, name), (path.name, name)


def test_the_result_is_no_less_valid_than_the_original(results, tmp_path):
    for path in REPORTS:
        original, result = results["removed, dates shifted", path.name]
        out = tmp_path / path.name
        out.write_bytes(written(result))
        assert set(dciodvfy_errors(out)) <= set(dciodvfy_errors(path)), path.name
        assert set(dsrdump_findings(out)) <= set(dsrdump_findings(path)), path.name


def test_the_command_writes_the_deidentified_report_and_says_how(tmp_path, capsys):
    key, out = tmp_path / "key", tmp_path / "out.dcm"
    assert main(["deidentify", str(REPORTS[6]), "--out", str(out), "--key-file", str(key), "--patient", "remove",
                 "--dates", "shift", "--descriptions", "remove"]) == 0
    said = capsys.readouterr().out
    assert "dates shifted" in said and "patient removed" in said and "descriptors removed" in said
    result = pydicom.dcmread(out)
    assert not result.PatientID and not result.get("StudyDescription")
    assert {c.CodeValue for c in result.DeidentificationMethodCodeSequence} >= {"113100", "113107", "113105"}
    assert (key.stat().st_mode & 0o777) == 0o600                     # the site's key file, made as exports make it
    assert main(["deidentify", str(tmp_path / "absent.dcm"), "--out", str(out), "--key-file", str(key)]) == 1
