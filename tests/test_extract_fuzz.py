"""extract() is total: whatever the bytes, it returns a record (never raises, never a non-finite or impossible
number, never slow). The poison objects found by fuzzing, the plausible ranges, and a bounded fuzz run."""

from __future__ import annotations

import io
import json
import time
from collections import Counter

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from corpus import CORPUS, manifest
from dicom_mutants import BYTE_KINDS, KINDS, STRUCTURED_KINDS, Mutator, lenient_pydicom, non_finite_numbers
from kerma.extract import extract
from kerma.record import DoseRecord
from kerma.extract.concepts import concept_table, header_rows, private_rows
from kerma.extract.plausible import bounds, dose_fields
from kerma.extract.totals import DERIVABLE_TOTALS

CT_IMAGE = CORPUS / "public/ct_image/orthanc-tests__TEST_1_study_1234.dcm"  # CTDIvol in its header
CT_REPORT = CORPUS / "openrem/CT-RDSR-GEPixelMed.dcm"
DX_IMAGE = CORPUS / "openrem/DX-Im-DRGEM.dcm"  # DAP in its header
FUZZ_SEED = 20261202
FUZZ_MUTANTS = 2000
SECONDS_PER_OBJECT = 2.0


def _with_raw(path, changes: dict[int, tuple[str, bytes]], where=None) -> bytes:
    """The object at ``path`` with elements replaced by raw bytes (``where``: the dataset to change, default top)."""
    with lenient_pydicom():
        ds = pydicom.dcmread(path)
        target = where(ds) if where else ds
        for tag, (vr, value) in changes.items():
            value += b" " * (len(value) % 2)
            target._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(value), value, 0, False, True)
        buffer = io.BytesIO()
        ds.save_as(buffer)
    return buffer.getvalue()


def _first_measurement(code: str):
    """The Measured Value item of the first SR content item whose concept is DCM ``code``."""
    def find(ds: Dataset) -> Dataset:
        for item in ds.iterall():
            if item.keyword == "ContentSequence":
                for content in item.value:
                    names = content.get("ConceptNameCodeSequence") or []
                    if names and names[0].CodeValue == code and "MeasuredValueSequence" in content:
                        return content.MeasuredValueSequence[0]
        raise LookupError(code)
    return find


def _strict_json(record: DoseRecord) -> str:
    return json.dumps(record.as_dict(), allow_nan=False)


# --- the poison objects of the issue, each raised or stored a wrong number before -----------------------

def test_patient_age_with_superscript_digits():
    # a byte flip turned "022Y" into "\xb2\xb2Y", read as "²²Y": int() refused it inside extract
    record = extract(_with_raw(CT_IMAGE, {0x00101010: ("AS", b"\xb2\xb2Y")}))
    assert record.status == "ok"
    assert record.patient.age_years is None or record.patient.birth_date
    assert "Patient's Age (0010,1010) is not an age: ignored" in record.warnings


def test_specific_character_set_sent_as_a_sequence():
    with lenient_pydicom():
        ds = pydicom.dcmread(CT_REPORT)
        ds["SpecificCharacterSet"] = pydicom.DataElement(0x00080005, "SQ", Sequence([Dataset()]))
        buffer = io.BytesIO()
        ds.save_as(buffer)
    record = extract(buffer.getvalue())
    assert record.status == "ok"
    assert record.patient.patient_id == ds.PatientID
    assert any("Specific Character Set (0008,0005) is a sequence" in w for w in record.warnings)


@pytest.mark.parametrize("value", [b"NaN", b"inf", b"-1e309", b"1e309"])
def test_non_finite_ctdivol_in_a_ct_header_leaves_no_dose(value):
    record = extract(_with_raw(CT_IMAGE, {0x00189345: ("DS", value)}))
    assert record.status == "error"
    assert "no plausible dose value left: ctdivol_mGy" in record.reason and "not a finite number" in record.reason
    _strict_json(record)


def test_ieee_nan_in_a_binary_ctdivol():
    record = extract(_with_raw(CT_IMAGE, {0x00189345: ("FD", b"\x00\x00\x00\x00\x00\x00\xf8\x7f")}))
    assert record.status == "error" and "ctdivol_mGy nan refused" in record.reason


def test_infinite_dlp_in_a_report_is_dropped_and_the_rest_kept():
    data = _with_raw(CT_REPORT, {0x0040A30A: ("DS", b"1e309")}, where=_first_measurement("113838"))
    record = extract(data)
    assert record.status == "ok"
    dlps = [e["dlp_mGycm"] for e in record.events]
    assert dlps[0] is None and all(d is not None for d in dlps[1:])
    assert "dlp_mGycm inf refused: not a finite number" in record.warnings
    assert record.events[0]["ctdivol_mGy"] is not None  # the event keeps its other values
    assert non_finite_numbers(record.as_dict()) == []
    _strict_json(record)


@pytest.mark.parametrize("weight, why", [(b"1e309", "not a finite number"), (b"3200", "above the plausible maximum 700 kg"),
                                         (b"-70", "below the plausible minimum 0.1 kg")])
def test_absurd_patient_weight_is_dropped(weight, why):
    record = extract(_with_raw(CT_REPORT, {0x00101030: ("DS", weight)}))
    assert record.status == "ok"
    assert record.patient.weight_kg is None
    assert any(w.startswith("weight_kg") and why in w for w in record.warnings), record.warnings


@pytest.mark.parametrize("dap, status", [(b"-5", "error"), (b"1e300", "error"), (b"135.18", "ok")])
def test_negative_or_absurd_dap_in_a_radiograph(dap, status):
    record = extract(_with_raw(DX_IMAGE, {0x0018115E: ("DS", dap)}))
    assert record.status == status, record.reason
    if status == "ok":
        assert record.events[0]["dap_Gycm2"] == pytest.approx(13.518)
    else:
        assert "dap_Gycm2" in record.reason


# --- the plausible ranges as data ----------------------------------------------------------------------

def _measurement_fields() -> dict[str, set[str]]:
    """Every numeric field the extractor can write, with the unit(s) it is written in."""
    fields: dict[str, set[str]] = {}
    for row in concept_table().values.values():
        if row.unit:
            fields.setdefault(row.field, set()).add(row.unit)
    for row in (*header_rows(), *private_rows()):
        if row.unit:
            fields.setdefault(row.field, set()).add(row.unit)
    for kind in DERIVABLE_TOTALS.values():
        for total, event_field, _ in kind:
            fields.setdefault(total, set()).update(fields.get(event_field, set()))
    return fields


def test_every_measurement_field_has_a_plausible_range_in_its_unit():
    table = bounds()
    for field, units in _measurement_fields().items():
        assert field in table, f"{field} has no plausible range in quantities.csv"
        assert units == {table[field].unit}, field
    for quantity in table.values():
        bound = quantity.plausible
        assert bound.reason and not bound.reason.startswith("as "), quantity.key
        assert bound.low is None or bound.high is None or bound.low < bound.high, quantity.key
        assert quantity.kind in ("dose", "technique", "geometry", "time", "count", "patient", "contrast"), quantity.key
    assert {"ctdivol_mGy", "dlp_mGycm", "dap_Gycm2", "ka_r_mGy", "agd_mGy", "administered_activity_MBq"} <= dose_fields()


# what the corpus holds that no device or person can have: every other value of the corpus passes
KNOWN_REFUSALS = {
    ("openrem/RF-RDSR-Philips_Azurion.dcm", "collimated_field_height_mm"),
    ("openrem/RF-RDSR-Philips_Azurion.dcm", "collimated_field_width_mm"),
    ("public/dx_cr_image/fo-dicom__chrJapMulti.dcm", "age_years"),  # born 208 years before the study
    ("public/rdsr_xa/PySkinDose__siemens_axiom_artis.dcm", "age_years"),  # 162
    ("public/dose_screen_sc/fo-dicom__FreezePattern.dcm", "scan_length_mm"),  # 1,111,110 mm
}


def test_no_real_dose_of_the_corpus_is_refused():
    refused = set()
    for row in manifest():
        if row["sop_class"].startswith("HL7"):
            continue
        record = extract((CORPUS / row["path"]).read_bytes())
        assert record.status != "error" or "plausible" not in (record.reason or ""), row["path"]
        for warning in record.warnings or []:
            if " refused: " in warning:
                refused.add((row["path"], warning.split(" ", 1)[0]))
    assert refused == KNOWN_REFUSALS
    assert not {field for _, field in refused} & dose_fields()


# --- fuzzing -------------------------------------------------------------------------------------------

def _seeds():
    return [CORPUS / row["path"] for row in manifest() if not row["sop_class"].startswith("HL7")]


def test_extract_is_total_on_mutated_corpus_objects():
    """2,000 mutants of the corpus (fixed seed): every one gives a record, strict JSON, finite, within 2 s."""
    mutator = Mutator(_seeds(), FUZZ_SEED)
    failures, statuses, kinds, refusals = [], Counter(), Counter(), 0
    slowest = 0.0
    for index, mutant in enumerate(mutator.mutants(FUZZ_MUTANTS)):
        label = f"mutant {index} ({mutant.kind} of {mutant.seed})"
        started = time.thread_time()  # CPU time of this thread: the machine's load does not count
        try:
            record = extract(mutant.data)
        except Exception as exc:  # the point of the test: report every one, not only the first
            failures.append(f"{label}: raised {type(exc).__name__}: {exc}")
            continue
        spent = time.thread_time() - started
        slowest = max(slowest, spent)
        kinds[mutant.kind] += 1
        statuses[record.status] += 1
        if spent > SECONDS_PER_OBJECT:
            failures.append(f"{label}: {spent:.2f} s")
        if record.status not in ("ok", "ignored", "error") or (record.status != "ok" and not record.reason):
            failures.append(f"{label}: status {record.status!r}, reason {record.reason!r}")
        if (record.reason or "").startswith("extraction failed"):
            failures.append(f"{label}: reached the last-resort guard: {record.reason}")
        if non_finite_numbers(record.as_dict()):
            failures.append(f"{label}: non-finite {non_finite_numbers(record.as_dict())}")
        try:
            _strict_json(record)
        except (TypeError, ValueError) as exc:
            failures.append(f"{label}: not strict JSON: {exc}")
        refusals += sum(" refused: " in w for w in record.warnings or [])
    assert not failures, "\n".join(failures[:20])
    # the run was what it claims: every kind of damage, objects of every outcome, hostile numbers refused
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 40, kinds
    assert sum(kinds[k] for k in STRUCTURED_KINDS) >= 600 and sum(kinds[k] for k in BYTE_KINDS) >= 600
    assert min(statuses["ok"], statuses["ignored"], statuses["error"]) >= 100, statuses
    assert refusals >= 50
    assert slowest < SECONDS_PER_OBJECT
