"""Skin dose model on beams built here: analytic values, invariants, sub-grid beams, conventions, bounds.

Expected values are computed in the tests from the shared reference tables (``../shared/reference``), not from
the package's copies, and by hand where the arithmetic is short.
"""

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED
from kerma.dosimetry.skin import Geometry, skin_dose
from kerma.dosimetry.skin.beams import study_from_record
from kerma.record import DoseRecord, Event, Patient, Totals
from kerma.dosimetry.skin.tables import DATA

REFERENCE = SHARED / "reference"


def reference_rows(name: str) -> list[dict]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def eq8(kvp: float, hvl: float, field_side: int) -> float:
    """Benmakhlouf et al. 2013 eq. 8 with the shared coefficient table, at a tabulated field side."""
    c = [float(r[f"FSL_{field_side}cm"]) for r in reference_rows("skin_backscatter_bsf_coefficients.csv")]
    return ((c[0] + c[1] * kvp + c[2] * kvp**2) + (c[3] + c[4] * kvp + c[5] * kvp**2) * hvl
            + (c[6] + c[7] * kvp + c[8] * kvp**2) * hvl**2)


def quality(kvp: float, copper: float, field_side: int) -> dict:
    """The shared μen / backscatter table's row for inherent filtration 3.1 mm Al."""
    (row,) = [r for r in reference_rows("skin_backscatter_mu_en_table.csv")
              if float(r["kvp_kv"]) == kvp and float(r["filtration_inherent_mmal"]) == 3.1
              and float(r["filtration_added_mmcu"]) == copper and float(r["field_side_length_cm"]) == field_side]
    return row


def event(**values) -> dict:
    """One TID 10003 event as the extractor gives it: a PA beam, 10 mGy at the IEC reference point."""
    base = dict(ka_r_mGy=10.0, dap_Gycm2=None, kvp=80.0, primary_angle_deg=0.0, secondary_angle_deg=0.0,
                sid_mm=1200.0, source_isocenter_distance_mm=750.0,
                reference_point_definition="15cm from Isocenter toward Source",
                table_longitudinal_mm=0.0, table_lateral_mm=0.0, table_height_mm=150.0,
                collimated_field_width_mm=187.5, collimated_field_height_mm=187.5, filters=[],
                patient_table_relationship="headfirst", patient_orientation_modifier="supine")
    base.update(values)
    return base


def record(*events, patient=None, totals=None) -> DoseRecord:
    return DoseRecord("ok", events=tuple(map(Event, events)), patient=Patient(**patient or {}), totals=Totals(totals or {}))


def test_package_reference_tables_equal_the_shared_ones():
    for name in ("skin_dose_model.csv", "skin_backscatter_bsf_coefficients.csv", "skin_backscatter_mu_en_table.csv"):
        assert (DATA / name).read_bytes() == (REFERENCE / name).read_bytes(), name


def test_eq8_reproduces_the_tabulated_backscatter_factors():
    """The coefficients are read right: eq. 8 at each row's kVp, HVL and field side gives its Monte Carlo value."""
    from kerma.dosimetry.skin import corrections

    rows = reference_rows("skin_backscatter_mu_en_table.csv")
    kvp = np.array([float(r["kvp_kv"]) for r in rows])
    hvl = np.array([float(r["hvl_mmal"]) for r in rows])
    side = np.array([float(r["field_side_length_cm"]) for r in rows])
    tabulated = np.array([float(r["backscatter"]) for r in rows])
    computed = np.array([corrections.at_field_side(k, s) for k, s in zip(corrections.backscatter(kvp, hvl), side)])
    assert np.max(np.abs(computed / tabulated - 1)) < 0.005


def test_single_pa_beam_on_the_plane_gives_the_analytic_dose():
    """Source 75 cm below the isocentre, table top 15 cm below it, 4 cm mattress: skin 64 cm from the source.

    k_isq = (60 / 64)² (reference point 15 cm from the isocentre toward the source); field 187.5 mm at 120 cm is
    10.0 cm at the skin; 80 kV without added filter has HVL 3.12 mm Al (table, 3.1 mm Al inherent); k_bs from
    eq. 8 at 10 cm = 1.15039 + 0.06980 × 3.12 - 0.00390 × 3.12² = 1.3302; k_med = 1.021 (table); through the
    table k_tab = 0.8. PSD = 10 × 0.87891 × 1.3302 × 1.021 × 0.8 = 9.549 mGy.
    """
    row = quality(80, 0.0, 10)
    hvl = float(row["hvl_mmal"])
    assert hvl == 3.12
    k_bs = eq8(80, hvl, 10)
    assert k_bs == pytest.approx(1.3302, abs=1e-4)
    expected = 10.0 * (60 / 64) ** 2 * k_bs * float(row["mu_en_quotient"]) * 0.8
    assert expected == pytest.approx(9.549, abs=1e-3)

    result = skin_dose(record(event()), "plane", pyskindose_defaults=True)
    assert result.psd_mGy == pytest.approx(expected, rel=1e-6)
    assert result.bound_mGy == 0
    (only,) = result.events
    assert only.method == "map" and only.through_table
    assert only.k_isq_max == pytest.approx((60 / 64) ** 2, rel=1e-6)
    # the field is 10 cm × 10 cm at the skin: 100 cells of 1 cm² fully inside, the edges shared
    assert only.area_cm2 == pytest.approx(100.0, rel=1e-3)
    assert result.peak == {"row_cm": 0.0, "col_cm": 0.0}


def test_patient_centred_when_the_table_height_is_a_vendor_reference():
    """Height 935 mm (above the floor) cannot be the table's depth below the isocentre: the patient is centred,
    so the plane (the back) is half the reference thickness (10 cm) below the isocentre: skin 65 cm from the source."""
    row = quality(80, 0.0, 10)
    field = 100 * 1200 / 650  # mm at the detector: 10 cm at the skin
    result = skin_dose(record(event(table_height_mm=935.0, collimated_field_width_mm=field,
                                    collimated_field_height_mm=field)), "plane", pyskindose_defaults=True)
    expected = 10.0 * (60 / 65) ** 2 * eq8(80, 3.12, 10) * float(row["mu_en_quotient"]) * 0.8
    assert result.psd_mGy == pytest.approx(expected, rel=1e-6)
    assert any("centred on the isocentre" in r for r in result.uncertainty.reasons)
    assert "patient_height" in {c["name"] for c in result.uncertainty.components}


def test_field_from_dap_over_ka_r_when_no_collimation_is_reported():
    """DAP / Ka,r = 1000 mGy·cm² / 10 mGy = 100 cm² at the reference point (60 cm): a 10 cm square there, so the
    same 10 cm field at 64 cm is 10.667 cm; the plateau is the analytic PA dose at that field side."""
    result = skin_dose(record(event(collimated_field_width_mm=None, collimated_field_height_mm=None, dap_Gycm2=1.0)),
                       "plane", pyskindose_defaults=True)
    (only,) = result.events
    assert only.method == "map"
    assert only.area_cm2 == pytest.approx((10 * 64 / 60) ** 2, rel=2e-2)
    side = 10 * 64 / 60
    k_bs = np.interp(side, [10, 20], [eq8(80, 3.12, 10), eq8(80, 3.12, 20)])
    k_med = np.interp(side, [10, 20], [float(quality(80, 0.0, s)["mu_en_quotient"]) for s in (10, 20)])
    assert result.psd_mGy == pytest.approx(10.0 * (60 / 64) ** 2 * k_bs * k_med * 0.8, rel=1e-6)
    assert "field_size" in {c["name"] for c in result.uncertainty.components}


@pytest.mark.parametrize("offset_mm, cells", [(0.0, 1), (25.0, 2), ((25.0, 25.0), 4)])
def test_a_beam_smaller_than_a_cell_is_integrated_not_dropped(offset_mm, cells):
    """A 1.07 cm field on 5 cm cells: centred on a cell it lands in that one, on a cell edge it is split in two,
    on a corner in four; the dose integrated over the skin is the point dose times the field area."""
    across, along = offset_mm if isinstance(offset_mm, tuple) else (offset_mm, 0.0)
    geometry = Geometry.defaults("plane", pyskindose=True, grid_cm=5.0)
    anchor = event(ka_r_mGy=1000.0, primary_angle_deg=90.0)  # a lateral beam that misses the plane: the reference
    tiny = event(table_longitudinal_mm=across, table_lateral_mm=along, collimated_field_width_mm=20.0,
                 collimated_field_height_mm=20.0)
    result = skin_dose(record(anchor, tiny), geometry=geometry)
    missed, placed = result.events
    assert missed.method == "missed" and placed.method == "map"
    side = 20 / 1200 * 64  # cm at the skin
    point_dose = 10.0 * (60 / 64) ** 2 * eq8(80, 3.12, 5) * float(quality(80, 0.0, 5)["mu_en_quotient"]) * 0.8
    integral = float(result.dose_map.sum()) * 25.0
    # the factors are taken at each cell's centre: 2.5 cm off the axis k_isq is 0.15 % lower (0.3 % diagonally)
    assert integral == pytest.approx(point_dose * side**2, rel=4e-3)
    assert np.count_nonzero(result.dose_map) == cells
    assert result.psd_mGy == pytest.approx(point_dose * side**2 / 25.0 / cells, rel=4e-3)


def test_a_beam_that_misses_the_phantom_is_reported_not_a_crash():
    result = skin_dose(record(event(), event(table_lateral_mm=3000.0)), "elliptic")
    assert [e.method for e in result.events] == ["map", "missed"] or [e.method for e in result.events] == ["missed",
                                                                                                             "map"]
    assert any("reach none" in r for r in result.uncertainty.reasons)
    json.dumps(result.to_dict(), allow_nan=False)


def test_rotating_the_beams_moves_the_map_not_the_peak():
    """On a round cylinder centred on the isocentre, turning every beam by 60° about the long axis moves the
    dose around the body by r × 60° and leaves the peak as it is."""
    geometry = Geometry.defaults("elliptic", pyskindose=True, semi_axis_lateral_cm=15.0, semi_axis_ap_cm=15.0,
                                 table_transmission=1.0)
    angles = [(-20.0, 10.0, 4.0), (0.0, 0.0, 6.0), (15.0, -5.0, 3.0)]

    def study(turn):
        return record(*[event(primary_angle_deg=a + turn, secondary_angle_deg=b, ka_r_mGy=k, table_height_mm=None)
                        for a, b, k in angles])

    before, after = skin_dose(study(0.0), geometry=geometry), skin_dose(study(60.0), geometry=geometry)
    assert after.psd_mGy == pytest.approx(before.psd_mGy, rel=0.01)
    assert not np.allclose(before.dose_map, after.dose_map)
    moved = after.peak["col_cm"] - before.peak["col_cm"]
    # a turn toward LAO moves the detector to the patient's left and the entrance toward the right
    perimeter = 2 * math.pi * 15.0
    assert abs(abs(moved) - 15.0 * math.radians(60)) < 1.5 or abs(perimeter - abs(moved) - 15.0 * math.radians(60)) < 1.5
    assert after.dose_map.sum() == pytest.approx(before.dose_map.sum(), rel=0.01)


def test_psd_never_exceeds_the_sum_of_ka_r_times_the_largest_correction():
    rows = reference_rows("skin_backscatter_mu_en_table.csv")
    largest = max(float(r["backscatter"]) for r in rows) * max(float(r["mu_en_quotient"]) for r in rows)
    events = [event(primary_angle_deg=a, secondary_angle_deg=b, table_longitudinal_mm=x, ka_r_mGy=k)
              for a, b, x, k in [(0, 0, 0, 50), (10, 5, 20, 30), (-30, 0, -10, 40), (90, 0, 0, 20), (0, 20, 0, 25)]]
    for phantom in ("plane", "cylinder", "elliptic"):
        result = skin_dose(record(*events), phantom)
        bound = sum(e.ka_r_mGy * e.k_isq_max * largest for e in result.events if e.method in ("map", "missed"))
        assert 0 < result.psd_mGy <= bound
        assert result.psd_mGy <= sum(e["ka_r_mGy"] for e in events) * max(e.k_isq_max for e in result.events) * largest


def test_events_without_geometry_give_a_stated_upper_bound():
    """No angles: Ka,r × k_bs × k_med at the reference point; DAP / Ka,r gives the field there (10 cm)."""
    row = quality(80, 0.0, 10)
    result = skin_dose(record(event(primary_angle_deg=None, secondary_angle_deg=None, dap_Gycm2=1.0)), "elliptic")
    expected = 10.0 * eq8(80, 3.12, 10) * float(row["mu_en_quotient"])
    assert result.psd_mGy == pytest.approx(expected, rel=1e-6)
    assert result.map_psd_mGy is None and result.bound_mGy == pytest.approx(expected, rel=1e-6)
    (only,) = result.events
    assert only.method == "bound" and "no positioner angles" in only.reasons
    assert result.method.startswith("upper estimate")
    assert any("upper estimate" in r for r in result.uncertainty.reasons)


def test_mixed_events_add_the_bound_to_the_map_peak():
    mapped = skin_dose(record(event()), "plane", pyskindose_defaults=True)
    bounded = skin_dose(record(event(primary_angle_deg=None, ka_r_mGy=2.0, dap_Gycm2=0.2)), "plane",
                        pyskindose_defaults=True)
    both = skin_dose(record(event(), event(primary_angle_deg=None, ka_r_mGy=2.0, dap_Gycm2=0.2)), "plane",
                     pyskindose_defaults=True)
    assert both.psd_mGy == pytest.approx(mapped.psd_mGy + bounded.psd_mGy, rel=1e-9)
    assert both.kar_total_mGy == 12.0 and both.events_used == 2


def test_a_report_with_totals_only_is_bounded_by_its_total():
    rows = reference_rows("skin_backscatter_mu_en_table.csv")
    largest = max(float(r["backscatter"]) * float(r["mu_en_quotient"]) for r in rows)
    result = skin_dose(record(totals={"ka_r_total_mGy": 100.0}), "elliptic")
    assert result.psd_mGy == pytest.approx(100.0 * largest, rel=1e-9)
    nothing = skin_dose(record(totals={"dap_total_Gycm2": 0.2}), "elliptic")
    assert nothing.psd_mGy is None and nothing.method.startswith("not estimated")
    assert nothing.uncertainty.relative is None


def test_table_positions_follow_dicom_directions():
    """Table lateral position is positive toward the head of a head-first patient (TID 10003B): moving the
    table 10 cm that way moves the beam's spot 10 cm toward the feet; for a feet-first patient, toward the head."""
    for relationship, spot in (("headfirst", -10.0), ("feet-first", 10.0)):
        reference = event(ka_r_mGy=100.0, primary_angle_deg=90.0, patient_table_relationship=relationship)
        moved = event(table_lateral_mm=100.0, patient_table_relationship=relationship)
        result = skin_dose(record(reference, moved), "plane", pyskindose_defaults=True)
        assert result.peak["row_cm"] == pytest.approx(spot)
        assert result.orientation.startswith("head first" if relationship == "headfirst" else "feet first")
    # longitudinal position is positive toward the patient's left: the spot moves to the right
    result = skin_dose(record(event(ka_r_mGy=100.0, primary_angle_deg=90.0), event(table_longitudinal_mm=100.0)),
                       "plane", pyskindose_defaults=True)
    assert result.peak["col_cm"] == pytest.approx(-10.0)


def test_a_prone_patient_is_entered_through_the_chest_by_a_beam_from_below():
    """Prone, the detector above the patient's back is at primary 180° (the angles name the detector's place
    relative to the patient): the source is under the table and the entrance skin is the anterior midline, at
    the bottom of the cylinder, behind the table."""
    result = skin_dose(record(event(primary_angle_deg=180.0, table_height_mm=None,
                                    patient_orientation_modifier="prone")), "cylinder")
    perimeter = result.cols_cm[-1] + (result.cols_cm[1] - result.cols_cm[0])
    labels = {name: position for position, name in result.col_ticks}
    assert result.orientation == "head first, prone"
    assert labels["anterior"] == pytest.approx(perimeter / 2) and labels["posterior"] == 0.0
    assert result.peak["col_cm"] == pytest.approx(perimeter / 2, abs=1.0)
    (only,) = result.events
    assert only.through_table


def test_lao_beam_enters_on_the_patients_right_back():
    """Primary +30° (LAO): detector at the patient's left front, so the source and the entrance skin are at the
    right back: between the posterior midline and the right side on the cylinder's map."""
    result = skin_dose(record(event(primary_angle_deg=30.0, table_height_mm=None)), "cylinder")
    perimeter = result.cols_cm[-1] + (result.cols_cm[1] - result.cols_cm[0])
    assert perimeter / 2 < result.peak["col_cm"] < 3 * perimeter / 4
    labels = dict((name, position) for position, name in result.col_ticks)
    assert labels["posterior"] == pytest.approx(perimeter / 2) and labels["right"] == pytest.approx(3 * perimeter / 4)


def test_the_elliptic_phantom_is_sized_to_the_patient():
    small = skin_dose(record(event(table_height_mm=None), patient={"height_m": 1.2, "weight_kg": 22.0}), "elliptic")
    reference = skin_dose(record(event(table_height_mm=None)), "elliptic")
    fixed = skin_dose(record(event(table_height_mm=None), patient={"height_m": 1.2, "weight_kg": 22.0}), "cylinder")
    assert "40 cm × 20 cm" in reference.phantom_description and "40 cm × 20 cm" in fixed.phantom_description
    # (22 / 120) / (73 / 176) = 0.442: semi-axes × 0.665 → 27 cm × 13 cm, length 150 × 120 / 176 = 102 cm
    assert "27 cm × 13 cm, 102 cm long" in small.phantom_description
    assert any("reference adult" in r for r in reference.uncertainty.reasons)
    assert not any("reference adult" in r for r in small.uncertainty.reasons)


def test_impossible_values_are_refused_with_a_reason():
    study = study_from_record(record(event(sid_mm=0.0, kvp=float("nan"), primary_angle_deg="LAO 30",
                                           collimated_field_width_mm=-3.0)))
    (beam,) = study.beams
    assert beam.sid_mm is None and beam.kvp is None and beam.primary_angle_deg is None and beam.field_width_mm is None
    assert len(beam.refused) == 4
    result = skin_dose(record(event(sid_mm=0.0, kvp=float("nan"), primary_angle_deg="LAO 30")), "plane")
    (only,) = result.events
    assert only.method == "bound" and any("sid_mm 0" in r for r in only.reasons)
    json.dumps(result.to_dict(), allow_nan=False)


def test_zero_ka_r_events_count_as_without_dose():
    result = skin_dose(record(event(ka_r_mGy=0.0), event(ka_r_mGy=None)), "plane")
    assert [e.method for e in result.events] == ["no dose", "no dose"]
    assert result.psd_mGy is None and result.events_used == 0


def test_a_rotational_acquisition_spreads_its_dose_over_the_arc():
    """Primary -90° to +90° (end angle DCM 113739) on a round cylinder about the isocentre: the same Ka,r as a
    static PA beam deposits the same integral dose, spread over half the circumference (≈ 47 cm of skin for a
    ~10 cm field), so its peak is a fraction of the static one's."""
    geometry = Geometry.defaults("elliptic", pyskindose=True, semi_axis_lateral_cm=15.0, semi_axis_ap_cm=15.0,
                                 table_transmission=1.0)
    static = skin_dose(record(event(table_height_mm=None)), geometry=geometry)
    rotating = skin_dose(record(event(table_height_mm=None, primary_angle_deg=-90.0, primary_end_angle_deg=90.0)),
                         geometry=geometry)
    (only,) = rotating.events
    assert only.method == "map" and any("rotational acquisition" in r and "36 beam positions" in r
                                        for r in only.reasons)
    area = np.outer(np.gradient(rotating.rows_cm), np.gradient(rotating.cols_cm))
    assert (rotating.dose_map * area).sum() == pytest.approx((static.dose_map * area).sum(), rel=0.03)
    assert rotating.psd_mGy < 0.35 * static.psd_mGy
    assert only.peak_mGy == pytest.approx(rotating.psd_mGy)


_ANY_VALUE = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                       st.floats(-2000, 2000), st.text(max_size=4), st.booleans())
_FIELDS = ("ka_r_mGy", "dap_Gycm2", "kvp", "primary_angle_deg", "secondary_angle_deg", "primary_end_angle_deg",
           "sid_mm", "source_isocenter_distance_mm", "source_rp_distance_mm", "table_longitudinal_mm",
           "table_lateral_mm", "table_height_mm", "table_head_tilt_deg", "table_cradle_tilt_deg",
           "collimated_field_width_mm", "collimated_field_height_mm", "collimated_field_area_cm2")
_EVENT = st.fixed_dictionaries({}, optional={
    **{name: _ANY_VALUE for name in _FIELDS},
    "filters": st.lists(st.fixed_dictionaries({"material": st.sampled_from(["Copper", "Aluminum", "Lead", ""]),
                                               "thickness_min_mm": _ANY_VALUE, "thickness_max_mm": _ANY_VALUE})),
    "reference_point_definition": st.text(max_size=40),
    "patient_table_relationship": st.sampled_from(["headfirst", "feet-first", "", "sideways"]),
    "patient_orientation_modifier": st.sampled_from(["supine", "prone", "decubitus"]),
})


@settings(max_examples=60, deadline=None)
@given(events=st.lists(st.one_of(_EVENT, st.builds(event)), max_size=6),
       patient=st.fixed_dictionaries({"height_m": _ANY_VALUE, "weight_kg": _ANY_VALUE}),
       phantom=st.sampled_from(["plane", "cylinder", "elliptic"]))
def test_any_values_give_a_strict_json_result_never_an_exception(events, patient, phantom):
    result = skin_dose(record(*events, patient=patient), phantom)
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert result.psd_mGy is None or (math.isfinite(result.psd_mGy) and result.psd_mGy >= 0)
    assert np.all(np.isfinite(result.dose_map)) and len(json.loads(text)["events"]) == len(events)
