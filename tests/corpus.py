"""The shared test corpus and the values another system (OpenREM) extracted from it."""

import json
import math
from pathlib import Path

from conftest import CORPUS
from kerma.record import DoseRecord

EXPECTED = json.loads((CORPUS / "expected" / "openrem-import.json").read_text())
SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


def manifest() -> list[dict]:
    lines = (CORPUS / "MANIFEST.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def dose_reports() -> list[Path]:
    """Every RDSR / Enhanced-SR dose report: the manifest names a dose template, or OpenREM imported it as one."""
    names = {row["path"] for row in manifest() if "TID 100" in row["template"]}
    names |= {e["path"] for e in EXPECTED if e.get("openrem_extractor") == "rdsr" and e.get("status") != "no dose study"}
    return sorted(CORPUS / n for n in names)


def non_dose_objects() -> list[Path]:
    """SR documents that report no dose."""
    names = {row["path"] for row in manifest() if row["path"].startswith("public/sr_non_dose/")}
    names |= {e["path"] for e in EXPECTED if e.get("status") == "no dose study" and e.get("openrem_extractor") == "rdsr"}
    return sorted(CORPUS / n for n in names)


def images() -> list[Path]:
    """Every DICOM object of the corpus that is not a structured report."""
    return sorted(CORPUS / row["path"] for row in manifest()
                  if not row["sop_class"].startswith("HL7") and "SR" not in row["sop_class"].split("(")[-1]
                  and ".88." not in row["sop_class"])


def expected_for_images() -> list[dict]:
    names = {str(p.relative_to(CORPUS)) for p in images()}
    return [e for e in EXPECTED if e["path"] in names]


def expected_for_reports() -> list[dict]:
    names = {str(p.relative_to(CORPUS)) for p in dose_reports()}
    return [e for e in EXPECTED if e["path"] in names]


REL_TOL = 1e-3  # the 0.1 %



def _openrem_storage(name: str, value: float) -> float:
    """The value as OpenREM's database can hold it.

    OpenREM keeps DAP in Gy.m2 in a decimal column with 10 decimal places
    (remapp/models.py, IrradEventXRayData.dose_area_product), so a
    very small DAP loses digits there: PySkinDose's Allura report says
    2.1413936813e-09 Gy.m2 for one event, and OpenREM stored 2.1e-09 Gy.m2 (2.1e-05 Gy.cm2).
    We compare our (full-precision) value after that same rounding; everything
    else is compared as is.
    """
    if "dap" in name:
        return round(value * 1e-4, 10) * 1e4
    return value


def _close(actual, expected, name: str = "") -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if actual is None:
            return False
        return math.isclose(_openrem_storage(name, actual), expected, rel_tol=REL_TOL, abs_tol=1e-12)
    return actual == expected


def assert_matches_openrem(got: DoseRecord, expected: dict) -> None:
    """Every value OpenREM stored for a file is in our record (events matched by UID, else by order)."""
    for section in ("study", "device"):
        for name, value in expected[section].items():
            assert getattr(getattr(got, section), name) == value, f"{section}.{name}"
    for name, value in (expected.get("totals") or {}).items():
        assert _close(got.totals.get(name), value, name), f"totals.{name}: {got.totals.get(name)} != {value}"
    events = got.events
    assert len(events) == len(expected.get("events") or [])
    by_uid = {e.get("irradiation_event_uid"): e for e in events}
    for index, want in enumerate(expected.get("events") or []):
        have = by_uid.get(want.get("irradiation_event_uid"), events[index])
        for name, value in want.items():
            if name == "irradiation_event_uid" and want[name] not in by_uid:
                continue  # OpenREM made up a UID where the object has none
            assert _close(have.get(name), value, name), f"event {index} {name}: {have.get(name)!r} != {value!r}"
