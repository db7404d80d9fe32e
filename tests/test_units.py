"""The UCUM parser (extract/units.py) on its own: every atom, prefix and spelling it accepts, against the
definitions of UCUM (https://ucum.org/ucum), and the codes it must refuse."""

from __future__ import annotations

import pytest

from corpus import dose_reports
from kerma import quantities
from kerma.extract.concepts import concept_table, header_rows, private_rows
from kerma.extract.dicomfile import read
from kerma.extract.srtree import build
from kerma.extract.units import UnitError, convert, factor, parse

# (code, target, factor): UCUM's own definitions, e.g. min = 60 s, a = 365.25 d (Julian year), mo = a/12,
# Ci = 3.7e10 Bq, % = 1/100; prefixes d c m u n k M G = 1e-1 ... 1e9
ACCEPTED = [
    # every atom
    ("m", "mm", 1e3), ("g", "kg", 1e-3), ("s", "ms", 1e3), ("min", "s", 60), ("h", "s", 3600), ("d", "s", 86400),
    ("wk", "d", 7), ("a", "d", 365.25), ("mo", "d", 365.25 / 12), ("A", "mA", 1e3), ("V", "kV", 1e-3),
    ("N", "N", 1), ("Gy", "mGy", 1e3), ("Sv", "mSv", 1e3), ("Bq", "MBq", 1e-6), ("Ci", "MBq", 3.7e4),
    ("deg", "deg", 1), ("%", "1", 0.01), ("1", "1", 1),
    # every prefix
    ("dGy", "Gy", 1e-1), ("cGy", "Gy", 1e-2), ("mGy", "Gy", 1e-3), ("uGy", "Gy", 1e-6), ("nGy", "Gy", 1e-9),
    ("kBq", "Bq", 1e3), ("MBq", "Bq", 1e6), ("GBq", "Bq", 1e9),
    # products, exponents, quotients, as UCUM writes them and as devices write them
    ("Gy.m2", "Gy.cm2", 1e4), ("Gym2", "Gy.cm2", 1e4), ("Gy.m^2", "Gy.cm2", 1e4), ("Gy*m2", "Gy.cm2", 1e4),
    ("dGy.cm2", "Gy.cm2", 0.1), ("cGy.cm2", "Gy.cm2", 0.01), ("mGy.cm2", "Gy.cm2", 1e-3), ("uGy.m2", "Gy.cm2", 1e-2),
    ("Gy.cm^2", "Gy.cm2", 1), ("mGy.cm", "mGy.cm", 1), ("mGycm", "mGy.cm", 1), ("Gy.cm", "mGy.cm", 1e3),
    ("mGy.mm", "mGy.cm", 0.1), ("mA.s", "mA.s", 1), ("mAs", "mA.s", 1), ("uAs", "mA.s", 1e-3), ("A.s", "mA.s", 1e3),
    ("ms", "s", 1e-3), ("us", "s", 1e-6), ("mm2", "cm2", 1e-2), ("m2", "cm2", 1e4), ("mCi", "MBq", 37),
    ("uCi", "MBq", 0.037), ("mGy/s", "Gy/h", 3.6), ("/s", "/s", 1), ("1/s", "/s", 1), ("/min", "/s", 1 / 60),
    ("s-1", "/s", 1), ("cm-1", "/m", 100),
    # annotations in braces and counted things written as words count as 1
    ("{pulse}/s", "/s", 1), ("pulse/s", "/s", 1), ("{X-Ray sources}", "1", 1), ("X-Ray Sources", "1", 1),
    ("{ratio}", "1", 1), ("frames", "1", 1), ("{events}", "1", 1),
]
REFUSED = [
    ("Gy.cm2", "mGy", "cannot convert"),  # a dose-area product is not a dose
    ("mGy.cm", "mGy", "cannot convert"),
    ("Bq", "Gy", "cannot convert"),
    ("s", "/s", "cannot convert"),
    ("furlong", "m", "unknown unit"),
    ("[ft_i]", "m", "unknown unit"),
    ("mL", "cm2", "cannot convert"),  # a volume (contrast media) is no area
    ("kVp", "kV", "unknown unit"),
    ("", "mGy", "empty unit code"),
    ("   ", "mGy", "empty unit code"),
]


@pytest.mark.parametrize("code, target, expected", ACCEPTED, ids=[f"{c}->{t}" for c, t, _ in ACCEPTED])
def test_accepted_codes_convert_by_ucum_definitions(code, target, expected):
    assert factor(code, target) == pytest.approx(expected, rel=1e-12)
    assert convert(2.0, code, target) == pytest.approx(2.0 * expected, rel=1e-11)


@pytest.mark.parametrize("code, target, message", REFUSED, ids=[f"{c or 'empty'}->{t}" for c, t, _ in REFUSED])
def test_refused_codes_raise_unit_error(code, target, message):
    with pytest.raises(UnitError, match=message):
        convert(1.0, code, target)


def test_conversion_is_rounded_to_twelve_significant_digits():
    # 0.1 * 3 is 0.30000000000000004 in binary; a dose read from "0.1" dGy.cm2 x 3 must not carry that noise
    assert convert(3.0, "dGy.cm2", "Gy.cm2") == 0.3
    assert convert(123.456789012345678, "mGy", "mGy") == 123.456789012


def test_every_unit_the_tables_name_is_understood():
    """Every unit in the concept, header, private and quantity tables parses."""
    units = {r.unit for r in concept_table().values.values() if r.unit}
    units |= {u for r in header_rows() for u in (r.dicom_unit, r.unit, r.read_as)
              if u and u not in ("label", "code", "datetime")}
    units |= {u for r in private_rows() for u in (r.dicom_unit, r.unit)}
    units |= {q.unit for q in quantities.table().values()}
    assert len(units) > 20
    for unit in units:
        parse(unit)


def _measurement_units(path) -> set[str]:
    """The UCUM code of every measurement (NUM content item) in a report."""
    obj = read(path.read_bytes())
    return {node.unit for node in build(obj, obj.elements).walk() if node.value_type == "NUM" and node.unit}


def test_every_unit_code_in_the_corpus_reports_parses():
    codes = set()
    for path in dose_reports():
        codes |= _measurement_units(path)
    assert {"Gym2", "Gy.m2", "mGy", "mGy.cm", "kV", "mA", "s", "mm"} <= codes  # vendors' spellings, both kinds
    for code in codes:
        parse(code)
