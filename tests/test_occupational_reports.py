"""Occupational dose (issue 13 §6), the pure part: dosimetry reports of several services' formats read through the
mapping proposed for them, refused rows with their reasons, and the estimates per window against hand computation
with the published formulas.  No database and no clock: ``today`` is an argument."""

import datetime as dt

import pytest

import dosimetry_reports as reports
from dosimetry_reports import FORMATS, US_EDITS, assert_same, key, truth_of
from kerma.occupational import vocabulary
from kerma.occupational.estimates import Measured, Period, Window, effective_dose, summarise
from kerma.occupational.mapping import Mapping, propose
from kerma.occupational.readings import parse_rows
from kerma.occupational.report_file import read_report

TODAY = dt.date(2027, 2, 15)


# --- the formats ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(FORMATS))
def test_the_mapping_proposed_for_each_service_format_reads_every_reading(name):
    render, _, fields, doses, decimal, date_format = FORMATS[name]
    truth, raw = truth_of(name, seed=7)
    report = read_report(raw)
    proposal = propose(report)
    mapping = proposal.mapping
    assert mapping.columns == fields
    assert {d.column: (d.quantity, d.position, d.unit) for d in mapping.doses} == doses
    assert (mapping.decimal, mapping.date_format) == (decimal, date_format)
    if name == "us":
        # the service's own codes: WAIST is read as a trunk dosimeter (no apron stated), RING L as a ring of no side;
        # the user says what they are, and the edited mapping reads every row
        assert mapping.positions["waist"] == "trunk" and mapping.positions["ring l"] == "extremity"
        mapping = Mapping.from_json({**mapping.as_json(), "positions": {**mapping.positions, **US_EDITS}})
    else:
        assert [n for n in proposal.notes if not n.startswith("date_format")] == []
    parsed = parse_rows(report, mapping, TODAY)
    assert parsed.refused == []
    assert parsed.row_count == len({(t.staff_id, t.start) for t in truth}) if name == "german" else len(truth)
    assert_same({key(r.staff_id, r.period_start, r.period_end, r.position): (r.doses, set(r.below_level))
                 for r in parsed.readings}, truth)


def test_the_proposal_says_what_it_assumed_and_what_is_ambiguous():
    raw = "ID;Monat;Hp(10) [mSv]\n7;03.2026;0,12\n8;04.2026;0,20\n"
    proposal = propose(read_report(raw))
    assert proposal.mapping.default_position == "trunk"
    assert any("'trunk'" in n and "assumed" in n for n in proposal.notes)
    raw = "Staff ID,Start,End,Hp(10) (mSv)\n1,01/02/2026,02/03/2026,0.1\n"  # day-first or month-first: both read
    proposal = propose(read_report(raw))
    assert proposal.mapping.date_format == "%d/%m/%Y"
    assert any("DD/MM/YYYY or as MM/DD/YYYY" in n for n in proposal.notes)
    proposal = propose(read_report("Staff ID,Period,Hp(10)\n1,2026-03,0.1\n"))  # no unit anywhere
    assert any("in which unit" in n for n in proposal.notes)


# --- refused rows -------------------------------------------------------------------------------------------------

REFUSING = """Personalnummer;Zeitraum;Trageort;Hp(10) [mSv];Hp(0,07) [mSv]
1;2026-01;Ganzkörper;0,10;0,12
2;2026-01;Ganzkörper;NaN;0,1
3;2026-01;Ganzkörper;inf;0,1
4;2026-01;Ganzkörper;-0,05;0,1
5;2026-01;Ganzkörper;1.5;0,1
6;2026-01;Ganzkörper;12000;0,1
7;2026-13;Ganzkörper;0,1;0,1
8;2027-03;Ganzkörper;0,1;0,1
;2026-01;Ganzkörper;0,1;0,1
9;2026-01;Nase;0,1;0,1
10;2026-01;Ganzkörper;;
1;2026-01;Ganzkörper;0,2;0,2
11;01.01.2026 - 31.03.2027;Ganzkörper;0,1;0,1
12;31.03.2026 - 01.01.2026;Ganzkörper;0,1;0,1
13;2026-Q1;Finger;abc;0,1
14;2026-Q1;Finger links;<0,05;2,5
"""


def test_refused_rows_each_say_row_column_value_and_reason():
    report = read_report(REFUSING.encode("utf-8"))
    mapping = propose(report).mapping
    mapping = Mapping.from_json({**mapping.as_json(), "date_format": "%d.%m.%Y"})
    parsed = parse_rows(report, mapping, TODAY)
    refused = {r.row: (r.column, r.value, r.reason) for r in parsed.refused}
    assert refused[3] == ("Hp(10) [mSv]", "NaN", "not a finite number")
    assert refused[4] == ("Hp(10) [mSv]", "inf", "not a finite number")
    assert refused[5] == ("Hp(10) [mSv]", "-0,05", "a negative dose")
    assert refused[6][2] == "written with '.' as decimal separator, the report's is ','"
    assert refused[7][2].startswith("above 10000 mSv: 10 Sv in one monitoring period would be a radiation accident")
    assert refused[8] == ("Zeitraum", "2026-13", "not a month of a year")
    assert refused[9][2] == ("the period 2027-03-01 to 2027-03-31 has not ended (today is 2027-02-15): "
                             "a reading is for a period that is over")
    assert refused[10] == ("Personalnummer", "", "no staff identifier: whose reading is it?")
    assert refused[11][:2] == ("Trageort", "Nase") and "is not known: map it" in refused[11][2]
    assert refused[12] == (None, None, "no dose value in the row")
    assert refused[13][2].startswith("the same person and position as row 2 for an overlapping period")
    assert refused[14][2].endswith("is longer than a year: not one monitoring period")
    assert refused[15][2] == "the period 2026-03-31 to 2026-01-01 ends before it starts"
    assert refused[16] == ("Hp(10) [mSv]", "abc", "not a number")
    assert sorted(refused) == list(range(3, 17))
    (first, last) = parsed.readings
    assert (first.row, first.doses["hp10_mSv"], first.doses["hp007_mSv"]) == (2, 0.10, 0.12)
    assert (last.row, last.position, last.period_start, last.period_end) == (17, "extremity_left", dt.date(2026, 1, 1),
                                                                             dt.date(2026, 3, 31))
    assert (last.doses["hp10_mSv"], last.below_level, last.doses["hp007_mSv"]) == (None, {"hp10_mSv": 0.05}, 2.5)


def test_a_long_cell_is_refused_before_any_pattern_backtracks_over_it():
    """A period cell of 100,000 spaces between two words took Python's re minutes (quadratic backtracking in the
    range separator); the cell is refused by its length first."""
    raw = "Staff ID;Period;Hp(10) [mSv]\nA;2026" + " " * 100_000 + "-01;0,1\nB;2026-01;0,2\n"
    report = read_report(raw.encode("utf-8"))
    parsed = parse_rows(report, propose(report).mapping, TODAY)
    assert [(r.row, r.reason) for r in parsed.refused] == [(2, "longer than 80 characters: not a date or a period")]
    assert [r.staff_id for r in parsed.readings] == ["B"]


# --- estimates ------------------------------------------------------------------------------------------------


def period(year, number, **readings):
    start, end = reports.month(year, number)
    return Period(start, end, {p: Measured(p, {q: v for q, v in doses.items() if v != "M"},
                                           frozenset(q for q, v in doses.items() if v == "M"))
                               for p, doses in readings.items()})


HISTORY = [
    period(2025, 12, trunk_under_apron={"hp10_mSv": 0.10}, collar_over_apron={"hp10_mSv": 2.00, "hp007_mSv": 2.20},
           eye={"hp3_mSv": 1.50}, extremity_left={"hp007_mSv": 10.0}),
    period(2026, 1, trunk_under_apron={"hp10_mSv": 0.20}, collar_over_apron={"hp10_mSv": 4.00, "hp007_mSv": 4.40},
           eye={"hp3_mSv": 3.00}, extremity_left={"hp007_mSv": 20.0}),
    period(2026, 2, trunk_under_apron={"hp10_mSv": "M"}, collar_over_apron={"hp10_mSv": 1.00, "hp007_mSv": 1.10},
           extremity_left={"hp007_mSv": 5.0}),
    period(2026, 3, trunk_under_apron={"hp10_mSv": 0.30}, eye={"hp3_mSv": 0.50}, extremity_left={"hp007_mSv": "M"}),
]


def worn(under=None, collar=None, trunk=None) -> Period:
    """One January 2026 with the Hp(10) (mSv) of the dosimeters worn: under the apron, at the collar over it, on the
    trunk without one."""
    readings = {position: Measured(position, {"hp10_mSv": value}) for position, value in
                (("trunk_under_apron", under), ("collar_over_apron", collar), ("trunk", trunk)) if value is not None}
    return Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31), readings)


def test_the_two_dosimeter_algorithms_are_the_published_formulas():
    """NCRP Report No. 122 (1995), Use of personal monitors to estimate effective dose equivalent and effective dose to
    workers for external exposure to low-LET radiation: E = 0.5 H_W + 0.025 H_N (H_W: Hp(10) under the apron
    at the waist; H_N: over it at the neck).  Niklason LT, Marx MV, Chan HP, Radiology 187(3):729-733 (1993):
    E = H_W + 0.06 (H_N - H_W).  Both as tabulated by Järvinen et al., Radiat Prot Dosimetry 131(1):80-86 (2008)."""
    for under, collar in ((0.8, 12.0), (0.0, 3.0), (1.5, 1.5), (2.0, 0.0), (0.05, 40.0)):
        period = worn(under, collar)
        assert effective_dose(period, "ncrp122").value == pytest.approx(0.5 * under + 0.025 * collar)
        assert effective_dose(period, "niklason1993").value == pytest.approx(under + 0.06 * (collar - under))
    # by hand: H_W 0.8 mSv, H_N 12 mSv: NCRP 122 0.4 + 0.3 = 0.7 mSv; Niklason 0.8 + 0.06 x 11.2 = 1.472 mSv
    assert effective_dose(worn(0.8, 12.0), "ncrp122").value == pytest.approx(0.7)
    assert effective_dose(worn(0.8, 12.0), "niklason1993").value == pytest.approx(1.472)
    methods = vocabulary.effective_methods()
    assert "NCRP Report No. 122" in methods["ncrp122"].source
    assert "Niklason" in methods["niklason1993"].source and "Radiology 187" in methods["niklason1993"].source
    assert {m.verification for m in methods.values()} <= {"secondary", "convention"}  # said, not hidden
    # one dosimeter: its Hp(10), and the method says which bound it is
    assert (effective_dose(worn(collar=2.0), "ncrp122").value, effective_dose(worn(collar=2.0), "ncrp122").method) == \
        (2.0, "hp10_over_apron")
    assert effective_dose(worn(under=0.3), "niklason1993").method == "hp10_under_apron"
    assert effective_dose(worn(trunk=0.4), "ncrp122").method == "hp10_trunk"
    assert effective_dose(Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31), {}), "ncrp122") is None


def test_units_convert_by_their_definitions():
    """1 rem = 0.01 Sv (NIST Special Publication 811, 2008, appendix B.8): 1 mrem = 0.01 mSv; 1 µSv = 0.001 mSv."""
    assert vocabulary.units() == {"mSv": 1, "uSv": 0.001, "Sv": 1000, "mrem": 0.01, "rem": 10}
    report = read_report("Staff ID;Period;Hp(10) [µSv];Hp(0,07) [mrem]\nA;2026-01;250;35\n".encode("cp1252"))
    (reading,) = parse_rows(report, propose(report).mapping, TODAY).readings
    assert reading.doses["hp10_mSv"] == pytest.approx(0.25) and reading.doses["hp007_mSv"] == pytest.approx(0.35)


def test_summaries_by_hand():
    year = summarise(HISTORY, Window.calendar_year(2026), "ncrp122")
    # NCRP 122: 0.5 Hu + 0.025 Ho: Jan 0.1 + 0.1; Feb (under below the level: 0) 0 + 0.025; Mar under only: 0.30
    assert year.estimate("occupational_effective_dose_mSv") == pytest.approx(0.525)
    assert year.effective.methods == {"ncrp122": 2, "hp10_under_apron": 1}
    # Niklason: Hu + 0.06 (Ho - Hu): Jan 0.2 + 0.228; Feb 0.06; Mar 0.30
    niklason = summarise(HISTORY, Window.calendar_year(2026), "niklason1993")
    assert niklason.estimate("occupational_effective_dose_mSv") == pytest.approx(0.788)
    # lens: Jan and Mar Hp(3) at the eye, Feb the collar's Hp(0.07): 3.0 + 1.1 + 0.5
    assert year.estimate("lens_equivalent_dose_mSv") == pytest.approx(4.6)
    assert year.lens.methods == {"eye_hp3": 2, "collar_hp007": 1}
    assert year.estimate("skin_equivalent_dose_mSv") == pytest.approx(5.5)  # the collar's Hp(0.07): 4.4 + 1.1
    assert year.estimate("extremity_equivalent_dose_mSv") == pytest.approx(25.0)  # 20 + 5 + 0 (below the level)
    sums = year.as_json()["positions"]
    assert sums["trunk_under_apron"]["hp10_mSv"] == {"value_mSv": 0.5, "periods": 3, "below_level": 1}
    assert sums["collar_over_apron"]["hp10_mSv"]["value_mSv"] == pytest.approx(5.0)
    assert sums["eye"]["hp3_mSv"]["value_mSv"] == pytest.approx(3.5)
    assert year.as_json()["estimates"]["extremity_equivalent_dose_mSv"]["position"] == "extremity_left"
    # the 12 months to the end of February 2026: December (0.05 + 0.05), January and February
    rolling = summarise(HISTORY, Window.rolling_12_months(dt.date(2026, 2, 28)), "ncrp122")
    assert (rolling.window.start, rolling.periods) == (dt.date(2025, 3, 1), 3)
    assert rolling.estimate("occupational_effective_dose_mSv") == pytest.approx(0.325)
    leap = Window.rolling_12_months(dt.date(2028, 2, 29))
    assert leap.start == dt.date(2027, 3, 1)
    only_eye = summarise([period(2026, 1, eye={"hp3_mSv": 1.0})], Window.calendar_year(2026), "ncrp122")
    assert only_eye.estimate("occupational_effective_dose_mSv") is None  # not 0: no trunk dosimeter
