"""Effective dose per modality on generated studies, by hand; "not estimated" where no verified coefficient exists.

k-factors are read here from the shared reference table (``../shared/reference``), the NM coefficients are typed
from the texts cited in the package's table, and the corpus's Siemens radiopharmaceutical report states its own
effective dose (ICRP 128) for comparison.
"""

import csv
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS, SHARED
from kerma.cli import main
from kerma.dosimetry.effective import STATEMENT, effective_dose
from kerma.dosimetry.effective import projection as projection_module
from kerma.dosimetry.effective.tables import DATA
from kerma.extract import extract
from kerma.record import DoseRecord, Event, Patient

REFERENCE = SHARED / "reference"


def lee_k(region: str, age_group: str, kvp: int) -> float:
    """Lee et al. 2012 Table XII, ICRP 103, from the shared reference table."""
    with open(REFERENCE / "ct_dlp_to_effective_dose_k_factors.csv", newline="", encoding="utf-8") as fh:
        (row,) = [r for r in csv.DictReader(fh) if r["source_set"].startswith("NCI/UF") and r["icrp_weighting"] == "ICRP 103"
                  and r["body_region"] == region and r["age_group"] == age_group and r["kvp"] == str(kvp)]
    return float(row["k_mSv_per_mGycm"])


def dose_record(kind: str, modality: str, events, age) -> DoseRecord:
    return DoseRecord("ok", report_kind=kind, modality=modality, patient=Patient(age_years=age), events=tuple(map(Event, events)))


def ct_record(*events, age=45.0) -> DoseRecord:
    return dose_record("ct", "CT", events, age)


def ct_event(dlp, region="Chest", kvp=120.0, phantom="body32", **other) -> dict:
    return {"dlp_mGycm": dlp, "target_region": region, "kvp": kvp, "phantom": phantom, **other}


def test_package_k_factor_table_equals_the_shared_one():
    name = "ct_dlp_to_effective_dose_k_factors.csv"
    assert (DATA / name).read_bytes() == (REFERENCE / name).read_bytes()


def test_ct_adult_chest_and_abdomen_by_hand():
    """Adult chest 400 mGy·cm at 120 kV and abdomen-pelvis 500 mGy·cm at 100 kV: 400 × 0.0210 + 500 × 0.0172."""
    result = effective_dose(ct_record(ct_event(400.0), ct_event(500.0, "Abdomen and Pelvis", 100.0)))
    assert lee_k("Chest", "adult (30 y phantom)", 120) == 0.021 and lee_k("Abdomen/pelvis", "adult (30 y phantom)", 100) == 0.0172
    assert result.effective_dose_mSv == pytest.approx(400 * 0.021 + 500 * 0.0172)
    assert [e.coefficient for e in result.events] == [0.021, 0.0172]
    assert result.uncertainty.relative == pytest.approx(0.32)      # Deak et al. 2010, adults
    assert "population" in result.statement and result.statement == STATEMENT


def test_ct_head_child_and_the_nearest_reference_age():
    """A 4-year-old's head at 100 kV (DLP in the 16 cm phantom): the 5-year factor."""
    result = effective_dose(ct_record(ct_event(300.0, "Head", 100.0, "head16"), age=4.0))
    assert result.effective_dose_mSv == pytest.approx(300 * lee_k("Head", "5 y", 100))
    assert {c["name"] for c in result.uncertainty.components} == {"ct_k_child"}


def test_ct_exam_region_takes_precedence_over_target_region():
    result = effective_dose(ct_record(ct_event(200.0, "Abdomen")), exam_region="CT Chest")
    assert result.effective_dose_mSv == pytest.approx(200 * lee_k("Chest", "adult (30 y phantom)", 120))


def test_ct_tube_voltage_outside_the_table_uses_the_nearest_and_widens_the_uncertainty():
    result = effective_dose(ct_record(ct_event(100.0, "Chest, Abdomen and Pelvis", 140.0)))
    assert result.effective_dose_mSv == pytest.approx(100 * lee_k("Chest/abdomen/pelvis", "adult (30 y phantom)", 120))
    assert "ct_kvp" in {c["name"] for c in result.uncertainty.components}


def test_ct_not_estimated_with_reasons():
    """Neck (only an unverified value), whole body, a body DLP in the head phantom, an unknown region: no study
    estimate, each event says why; events without DLP (localizers) do not count."""
    cases = {"neck": ct_event(100.0, "Neck"), "whole body": ct_event(100.0, "Entire body"),
             "phantom": ct_event(100.0, "Chest", phantom="head16"), "region": ct_event(100.0, "Elbow")}
    for name, event in cases.items():
        result = effective_dose(ct_record(ct_event(None, "Chest"), event))
        assert result.effective_dose_mSv is None, name
        assert len(result.reasons) == 1 and result.reasons[0].startswith("event 2:"), name
        assert result.record_fields()["effective_dose_method"] == "not estimated"
    assert "unverified" in effective_dose(ct_record(cases["neck"])).reasons[0]


def test_ct_age_unknown_assumes_adult_and_says_so():
    result = effective_dose(ct_record(ct_event(400.0), age=None))
    assert result.effective_dose_mSv == pytest.approx(400 * 0.021)
    assert "age_assumed" in {c["name"] for c in result.uncertainty.components}
    assert any("age is not stated" in r for r in result.uncertainty.reasons)


def nm_record(*events, age=60.0) -> DoseRecord:
    return dose_record("radiopharmaceutical", "NM", events, age)


def test_nm_by_hand():
    """370 MBq of FDG × 0.019 and 700 MBq of 99mTc-HDP × 0.0057 mSv/MBq (ICRP, adult)."""
    fdg = effective_dose(nm_record({"radiopharmaceutical": "Fluorodeoxyglucose F^18^", "radionuclide": "^18^Fluorine",
                                    "administered_activity_MBq": 370.0, "route": "Intravenous route"}))
    assert fdg.effective_dose_mSv == pytest.approx(370 * 0.019)
    hdp = effective_dose(nm_record({"radiopharmaceutical": "Technetium Tc99m Oxidronate (HDP)",
                                    "radionuclide": "99m Technetium", "administered_activity_MBq": 700.0}))
    assert hdp.effective_dose_mSv == pytest.approx(700 * 0.0057)


@pytest.mark.parametrize("event, age, why", [
    ({"radiopharmaceutical": "Sestamibi", "administered_activity_MBq": 800.0}, 60.0, "no verified"),
    ({"radiopharmaceutical": "Iodine I^131^ Sodium Iodide", "administered_activity_MBq": 400.0}, 60.0, "no dose coefficient"),
    ({"radiopharmaceutical": "Fluorodeoxyglucose F^18^", "administered_activity_MBq": 100.0}, 8.0, "adult"),
    ({"radiopharmaceutical": "Fluorodeoxyglucose F^18^", "administered_activity_MBq": 100.0, "route": "Oral"}, 60.0, "route"),
], ids=["sestamibi", "unknown", "child", "route"])
def test_nm_not_estimated(event, age, why):
    result = effective_dose(nm_record(event, age=age))
    assert result.effective_dose_mSv is None and why in result.reasons[0]


def test_nm_corpus_report_states_the_same_effective_dose():
    """Siemens's radiopharmaceutical RDSR states E = 7.486 mSv (ICRP Publication 128) for 394 MBq of FDG."""
    record = extract((CORPUS / "openrem" / "NM-RRDSR-Siemens.dcm").read_bytes())
    assert record.events[0]["effective_dose_mSv"] == 7.486
    assert effective_dose(record).effective_dose_mSv == pytest.approx(7.486)


def projection_record(*events, modality="DX") -> DoseRecord:
    return dose_record("projection", modality, events, 50.0)


def test_radiography_and_fluoroscopy_not_estimated_without_a_verified_coefficient():
    result = effective_dose(projection_record({"dap_Gycm2": 0.12, "target_region": "Chest"}))
    assert result.effective_dose_mSv is None and "no verified DAP" in result.reasons[0]
    mammo = effective_dose(projection_record({"dap_Gycm2": None, "agd_mGy": 1.2}, modality="MG"))
    assert mammo.effective_dose_mSv is None and "glandular" in mammo.reasons[0]


def test_radiography_with_a_verified_coefficient_added_by_a_physicist(tmp_path, monkeypatch):
    table = tmp_path / "projection.csv"
    table.write_text("examination,pattern,projection,coefficient_mSv_per_Gycm2,verification,source\n"
                     "chest,chest,,0.18,primary_text_seen,a cited report\n")
    monkeypatch.setattr(projection_module, "TABLE", table)
    result = effective_dose(projection_record({"dap_Gycm2": 0.12, "target_region": "Chest"},
                                              {"dap_Gycm2": 0.30, "target_region": "Chest"}))
    assert result.effective_dose_mSv == pytest.approx((0.12 + 0.30) * 0.18)


def test_extract_json_carries_the_estimate(capsys):
    """CT (target regions), NM (radiopharmaceutical) and DX (not estimated) from the files alone."""
    files = [CORPUS / "openrem" / n for n in ("CT-ESR-GE_Optima.dcm", "NM-RRDSR-Siemens.dcm", "DX-RDSR-Canon_CXDI.dcm")]
    assert main(["extract", "--json", *map(str, files)]) == 0
    ct, nm, dx = json.loads(capsys.readouterr().out)
    k = lee_k("Abdomen/pelvis", "adult (30 y phantom)", 120)
    assert ct["effective_dose_mSv"] == pytest.approx((155.97 + 259.85) * k, rel=1e-4)   # its two spiral DLPs
    assert ct["effective_dose_method"].startswith("CT: DLP × k")
    assert ct["effective_dose_uncertainty"]["relative"] == pytest.approx(0.32)
    assert nm["effective_dose_mSv"] == pytest.approx(7.486)
    assert dx["effective_dose_mSv"] is None and dx["effective_dose_method"] == "not estimated"
    assert dx["effective_dose_uncertainty"]["not_estimated"]
    for record in (ct, nm, dx):
        assert "not a measure of this patient's personal risk" in record["effective_dose_uncertainty"]["statement"]


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["ct", "radiopharmaceutical", "projection"]),
       value=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=5),
                       st.booleans()),
       age=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-5, max_value=200)),
       words=st.one_of(st.none(), st.text(max_size=30)))
def test_hostile_values_never_raise_and_give_strict_json(kind, value, age, words):
    """Whatever a report holds, an answer in strict JSON: a number only from a finite, non-negative quantity."""
    event = {"dlp_mGycm": value, "administered_activity_MBq": value, "dap_Gycm2": value, "target_region": words,
             "radiopharmaceutical": words, "kvp": value, "phantom": words}
    result = effective_dose(dose_record(kind, "CT", [event], age))
    json.dumps(result.to_dict(), allow_nan=False)
    json.dumps(result.record_fields(), allow_nan=False)
    if result.effective_dose_mSv is not None:
        assert result.effective_dose_mSv >= 0 and isinstance(value, (int, float)) and not isinstance(value, bool)


def test_an_impossible_age_counts_as_not_stated():
    for age in (float("nan"), -3.0, "ten"):
        result = effective_dose(ct_record(ct_event(400.0), age=age))
        assert result.effective_dose_mSv == pytest.approx(400 * 0.021)
        assert "age_assumed" in {c["name"] for c in result.uncertainty.components}
