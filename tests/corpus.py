"""The shared test corpus and the values another system (OpenREM) extracted from it."""

import json
from pathlib import Path

from conftest import CORPUS

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
    """SR documents that report no dose, and images (their header dose is another extractor's job)."""
    names = {row["path"] for row in manifest() if row["path"].startswith(("public/sr_non_dose/", "public/ct_image/"))}
    names |= {e["path"] for e in EXPECTED if e.get("status") == "no dose study" and e.get("openrem_extractor") == "rdsr"}
    return sorted(CORPUS / n for n in names)


def expected_for_reports() -> list[dict]:
    names = {str(p.relative_to(CORPUS)) for p in dose_reports()}
    return [e for e in EXPECTED if e["path"] in names]
