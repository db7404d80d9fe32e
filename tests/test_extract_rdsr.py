"""RDSR extraction against the values OpenREM stored for the same files, and against the DICOM itself."""

import pytest

from corpus import CORPUS, assert_matches_openrem, dose_reports, expected_for_reports, non_dose_objects
from kerma.extract import extract

@pytest.fixture(scope="module")
def records():
    return {str(p.relative_to(CORPUS)): extract(p.read_bytes()) for p in dose_reports()}


def test_every_dose_report_extracts_ok(records):
    assert len(records) == 32  # 30 from OpenREM's suite, 2 from PySkinDose
    failed = {k: r.reason for k, r in records.items() if r.status != "ok"}
    assert failed == {}


@pytest.mark.parametrize("expected", expected_for_reports(), ids=lambda e: e["path"])
def test_values_match_openrem(records, expected):
    assert_matches_openrem(records[expected["path"]], expected)


def test_absent_values_are_null_not_zero(records):
    # Canon CXDI "noDAP": the report has Dose Area Product items without a measured value
    canon = records["openrem/DX-RDSR-Canon_CXDI_noDAP.dcm"]
    assert canon.totals["dap_total_Gycm2"] is None
    assert all(e.get("dap_Gycm2") is None for e in canon.events)
    # Philips mobile C-arm without kVp: the field is null, not 0
    no_kvp = records["openrem/RF-No-kVp-and-others.dcm"]
    assert all(e.get("kvp") is None for e in no_kvp.events)


def test_units_follow_the_ucum_code(records):
    # Canon Ultimax writes Dose (RP) in mGy, where others write Gy: both end in ka_r_mGy unchanged in meaning
    canon = records["openrem/RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm"]
    assert canon.totals["ka_r_total_mGy"] == pytest.approx(30.573)
    # Siemens Zee writes DAP in "Gym2": 1.6e-05 Gy·m² is 0.16 Gy·cm²
    zee = records["openrem/RF-RDSR-Siemens-Zee.dcm"]
    assert zee.totals["dap_total_Gycm2"] == pytest.approx(0.16)
    # exposure time reported in ms lands in seconds
    assert zee.events[0]["exposure_time_s"] == pytest.approx(0.1008)


def test_dual_source_ct_keeps_both_tubes(records):
    flash = records["openrem/CT-RDSR-Siemens_Flash-QA-DS.dcm"]
    first = flash.events[0]
    assert [s["kvp"] for s in first["xray_sources"]] == [100.0, 140.0]
    assert first.get("kvp") is None  # one kVp for two tubes would be wrong


def test_projection_totals_per_plane():
    path = CORPUS / "public/rdsr_xa/PySkinDose__philips_allura_clarity_u104.dcm"
    record = extract(path.read_bytes())
    planes = {p["plane"]: p for p in record.totals["planes"]}
    assert set(planes) == {"A", "B"}
    assert record.totals["dap_total_Gycm2"] == pytest.approx(planes["A"]["dap_total_Gycm2"] + planes["B"]["dap_total_Gycm2"])


# Reports whose devices write accumulated totals that their own events do not add up to.
TOTALS_NOT_SUM_OF_EVENTS = {
    # events' fluoroscopy DAP sums to 0.0176 Gy.cm2, the Fluoro Dose Area Product Total item says 0.0301:
    # the unit does not log every fluoroscopy run as an event; Kerma keeps the device's total
    "public/rdsr_xa/PySkinDose__philips_allura_clarity_u104.dcm",
}


def test_event_sums_agree_with_reported_totals(records):
    """Independent of OpenREM: the DAP of the events adds up to the report's own DAP total."""
    checked = 0
    for name, r in records.items():
        daps = [e["dap_Gycm2"] for e in r.events if e.get("dap_Gycm2") is not None]
        total = r.totals.get("dap_total_Gycm2")
        if daps and total and len(daps) == len(r.events) and name not in TOTALS_NOT_SUM_OF_EVENTS:
            assert sum(daps) == pytest.approx(total, rel=0.02), name
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("path", non_dose_objects(), ids=lambda p: p.name)
def test_non_dose_objects_are_ignored_with_a_reason(path):
    record = extract(path.read_bytes())
    assert record.status == "ignored"
    assert record.reason


def test_radiopharmaceutical_report():
    record = extract((CORPUS / "openrem/NM-RRDSR-Siemens.dcm").read_bytes())
    (event,) = record.events
    assert record.modality == "NM"
    assert event["administered_activity_MBq"] == 394.0
    assert event["radionuclide_half_life_s"] == pytest.approx(6586.2)
    assert len(event["organ_doses"]) >= 10
    assert record.patient.weight_kg == 110.0


def test_bad_input_gives_an_error_with_a_reason():
    from dicom_factory import broken_dose_sr

    report = (CORPUS / "openrem/RF-RDSR-Philips_Azurion.dcm").read_bytes()
    cases = {
        "truncated": report[: len(report) // 2],
        "not DICOM": (CORPUS / "public/hl7/FHIR-Converter__ADT-A01-01.hl7").read_bytes(),
        "empty": b"",
        "broken tree": broken_dose_sr(),
    }
    for name, data in cases.items():
        record = extract(data)
        assert record.status == "error", name
        assert record.reason, name
    assert "without irradiation events" in extract(cases["broken tree"]).reason
    assert "not a DICOM file" in extract(cases["not DICOM"]).reason
