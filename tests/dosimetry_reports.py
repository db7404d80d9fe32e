"""Personal dosimetry reports generated for tests: a ground truth of readings (in mSv) written out the way different
dosimetry services write them (separators, decimal commas, date formats, units, one row per dosimeter or per person,
title lines, encodings, their own words for positions and readings below the recording level).

The formats are made up from features services have, not copies of any one service's file.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass

import pytest

QUANTITIES = ("hp10_mSv", "hp007_mSv", "hp3_mSv")


@dataclass(frozen=True)
class Truth:
    staff_id: str
    name: str
    department: str
    start: dt.date
    end: dt.date
    position: str
    doses: dict  # quantity -> mSv; "below" for a reading below the recording level; absent: not measured


def month(year: int, number: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])


def generate(seed: int, measured: dict[str, tuple[str, ...]], months: list[tuple[int, int]], people: int = 3,
             step: float = 0.01, below_share: float = 0.15) -> list[Truth]:
    """Readings of ``people`` people for each month, each position of ``measured`` reading its quantities: values on a
    grid of ``step`` mSv (so every unit writes them exactly), some below the recording level."""
    rng = random.Random(seed)
    staff = [(f"{seed}{i:03d}", f"Person{i} Test{seed}", ("Cardiology", "Radiology")[i % 2]) for i in range(people)]
    out = []
    for year, number in months:
        start, end = month(year, number)
        for staff_id, name, department in staff:
            for position, quantities in measured.items():
                doses = {}
                for quantity in quantities:
                    doses[quantity] = "below" if rng.random() < below_share else round(rng.randint(1, 400) * step, 6)
                out.append(Truth(staff_id, name, department, start, end, position, doses))
    return out


def _number(value: float, decimal: str, factor: float) -> str:
    text = f"{value * factor:.6g}" if factor != 1 else f"{value:g}"
    return text.replace(".", decimal)


# --- format A: English, comma-separated, ISO dates, mSv, one row per dosimeter -----------------------------------

EN_POSITIONS = {"collar_over_apron": "Collar", "trunk_under_apron": "Waist under apron", "extremity_left": "Ring left",
                "eye": "Eye", "trunk": "Whole body"}


def english_long(truth: list[Truth]) -> bytes:
    lines = ["Participant ID,Name,Department,Wear Start,Wear End,Location,Deep (mSv),Shallow (mSv),Lens (mSv),Dosimeter"]
    for t in truth:
        cells = [_dose(t.doses.get(q), ".", 1, "M") for q in QUANTITIES]
        lines.append(",".join([t.staff_id, f'"{t.name}"', t.department, t.start.isoformat(), t.end.isoformat(),
                               EN_POSITIONS[t.position], *cells, f"D-{t.staff_id}-{t.position[:2]}"]))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _dose(value, decimal: str, factor: float, below: str) -> str:
    if value is None:
        return ""
    if value == "below":
        return below
    return _number(value, decimal, factor)


# --- format B: German, semicolons, decimal comma, DD.MM.YYYY, µSv, one row per person and period (a column per
# dosimeter), title lines above the header, Windows-1252 -----------------------------------------------------------

DE_COLUMNS = [("trunk_under_apron", "hp10_mSv", "Hp(10) unter Schürze [µSv]"),
              ("collar_over_apron", "hp10_mSv", "Hp(10) über Schürze [µSv]"),
              ("collar_over_apron", "hp007_mSv", "Hp(0,07) über Schürze [µSv]"),
              ("extremity_right", "hp007_mSv", "Hp(0,07) Finger rechts [µSv]"),
              ("eye", "hp3_mSv", "Hp(3) Augenlinse [µSv]")]
DE_MEASURED = {"trunk_under_apron": ("hp10_mSv",), "collar_over_apron": ("hp10_mSv", "hp007_mSv"),
               "extremity_right": ("hp007_mSv",), "eye": ("hp3_mSv",)}


def german_wide(truth: list[Truth]) -> bytes:
    rows: dict = {}
    for t in truth:
        rows.setdefault((t.staff_id, t.start, t.end), (t, {}))[1][t.position] = t.doses
    lines = ["Auswertung der Personendosimetrie", "Messstelle Beispiel;;;;", "",
             ";".join(["Pers.-Nr.", "Name", "Vorname", "Abteilung", "Von", "Bis", *(c[2] for c in DE_COLUMNS)])]
    for (staff_id, start, end), (t, by_position) in rows.items():
        last, first = t.name.split()[1], t.name.split()[0]
        cells = [_dose(by_position.get(p, {}).get(q), ",", 1000, "n.n.") for p, q, _ in DE_COLUMNS]
        lines.append(";".join([staff_id, last, first, t.department, start.strftime("%d.%m.%Y"),
                               end.strftime("%d.%m.%Y"), *cells]))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


# --- format C: French, tab-separated, the month as MM/YYYY, decimal comma, mSv, one row per dosimeter ----------

FR_POSITIONS = {"trunk": "Poitrine", "extremity_left": "Bague gauche", "eye": "Cristallin",
                "collar_over_apron": "Col sur tablier", "trunk_under_apron": "Poitrine sous tablier"}


def french_tab(truth: list[Truth]) -> bytes:
    lines = ["\t".join(["Matricule", "Nom", "Service", "Période", "Emplacement", "Hp(10) (mSv)", "Hp(0,07) (mSv)",
                        "Hp(3) (mSv)"])]
    for t in truth:
        assert t.start.day == 1 and t.end.month == t.start.month
        cells = [_dose(t.doses.get(q), ",", 1, "M") for q in QUANTITIES]
        lines.append("\t".join([t.staff_id, t.name, t.department, t.start.strftime("%m/%Y"), FR_POSITIONS[t.position],
                                *cells]))
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


# --- format D: US, comma-separated, MM/DD/YYYY, mrem, the service's own position codes ---------------------------

US_POSITIONS = {"collar_over_apron": "COLLAR", "trunk_under_apron": "WAIST", "extremity_left": "RING L"}


def us_mrem(truth: list[Truth]) -> bytes:
    lines = ["Participant Number,Participant Name,Dept,Begin Date,End Date,Use,DDE (mrem),LDE (mrem),SDE (mrem)"]
    for t in truth:
        cells = [_dose(t.doses.get(q), ".", 100, "M") for q in ("hp10_mSv", "hp3_mSv", "hp007_mSv")]
        lines.append(",".join([t.staff_id, f'"{t.name}"', t.department, t.start.strftime("%m/%d/%Y"),
                               t.end.strftime("%m/%d/%Y"), US_POSITIONS[t.position], *cells]))
    return ("\n".join(lines) + "\n").encode("ascii")


# --- what a reader should find in each format ---------------------------------------------------------------------

EN = {"collar_over_apron": ("hp10_mSv", "hp007_mSv", "hp3_mSv"), "trunk_under_apron": ("hp10_mSv", "hp007_mSv"),
      "extremity_left": ("hp007_mSv",), "eye": ("hp3_mSv",), "trunk": ("hp10_mSv", "hp007_mSv")}
FR = {"trunk": ("hp10_mSv", "hp007_mSv"), "extremity_left": ("hp007_mSv",), "eye": ("hp3_mSv",),
      "collar_over_apron": ("hp10_mSv", "hp007_mSv"), "trunk_under_apron": ("hp10_mSv",)}
US = {"collar_over_apron": ("hp10_mSv", "hp3_mSv", "hp007_mSv"), "trunk_under_apron": ("hp10_mSv", "hp007_mSv"),
      "extremity_left": ("hp007_mSv",)}
US_EDITS = {"waist": "trunk_under_apron", "ring l": "extremity_left"}  # the service's codes, mapped by the user
MONTHS_2026 = [(2026, m) for m in range(1, 7)]

# format -> (render, measured, proposed fields, proposed doses {header: (quantity, position, unit)}, decimal, date format)
FORMATS = {
    "english": (english_long, EN,
                {"staff_id": ["Participant ID"], "name": ["Name"], "department": ["Department"],
                 "period_start": ["Wear Start"], "period_end": ["Wear End"], "position": ["Location"],
                 "dosimeter_id": ["Dosimeter"]},
                {"Deep (mSv)": ("hp10_mSv", None, "mSv"), "Shallow (mSv)": ("hp007_mSv", None, "mSv"),
                 "Lens (mSv)": ("hp3_mSv", None, "mSv")}, ".", "%Y-%m-%d"),
    "german": (german_wide, DE_MEASURED,
               {"staff_id": ["Pers.-Nr."], "name": ["Name", "Vorname"], "department": ["Abteilung"],
                "period_start": ["Von"], "period_end": ["Bis"]},
               {"Hp(10) unter Schürze [µSv]": ("hp10_mSv", "trunk_under_apron", "uSv"),
                "Hp(10) über Schürze [µSv]": ("hp10_mSv", "collar_over_apron", "uSv"),
                "Hp(0,07) über Schürze [µSv]": ("hp007_mSv", "collar_over_apron", "uSv"),
                "Hp(0,07) Finger rechts [µSv]": ("hp007_mSv", "extremity_right", "uSv"),
                "Hp(3) Augenlinse [µSv]": ("hp3_mSv", "eye", "uSv")}, ",", "%d.%m.%Y"),
    "french": (french_tab, FR,
               {"staff_id": ["Matricule"], "name": ["Nom"], "department": ["Service"], "period": ["Période"],
                "position": ["Emplacement"]},
               {"Hp(10) (mSv)": ("hp10_mSv", None, "mSv"), "Hp(0,07) (mSv)": ("hp007_mSv", None, "mSv"),
                "Hp(3) (mSv)": ("hp3_mSv", None, "mSv")}, ",", None),
    "us": (us_mrem, US,
           {"staff_id": ["Participant Number"], "name": ["Participant Name"], "department": ["Dept"],
            "period_start": ["Begin Date"], "period_end": ["End Date"], "position": ["Use"]},
           {"DDE (mrem)": ("hp10_mSv", None, "mrem"), "LDE (mrem)": ("hp3_mSv", None, "mrem"),
            "SDE (mrem)": ("hp007_mSv", None, "mrem")}, ".", "%m/%d/%Y"),
}


def truth_of(name: str, seed: int, months=MONTHS_2026) -> tuple[list[Truth], bytes]:
    """The ground truth of ``seed`` for the positions the format ``name`` has, and the report written from it."""
    render, measured, *_ = FORMATS[name]
    truth = generate(seed, measured, months)
    if name == "german":  # one row per person and period: the wide columns only
        truth = [t for t in truth if t.position in DE_MEASURED]
    return truth, render(truth)


def key(staff_id, start, end, position) -> tuple:
    return (staff_id, str(start), str(end), position)


def expected(truth: list[Truth]) -> dict:
    """{reading key: (doses in mSv, quantities below the level)} of the ground truth."""
    out = {}
    for t in truth:
        doses = {q: None for q in QUANTITIES}
        doses.update({q: v for q, v in t.doses.items() if v != "below"})
        out[key(t.staff_id, t.start, t.end, t.position)] = (doses, {q for q, v in t.doses.items() if v == "below"})
    return out


def assert_same(found: dict, truth: list[Truth]) -> None:
    """``found`` ({reading key: (doses, quantities below the level)}) holds exactly the truth's readings."""
    want = expected(truth)
    assert set(found) == set(want)
    for k, (doses, below) in want.items():
        got_doses, got_below = found[k]
        assert got_below == below, k
        for quantity, value in doses.items():
            assert got_doses[quantity] == (None if value is None else pytest.approx(value, rel=1e-9)), (k, quantity)
