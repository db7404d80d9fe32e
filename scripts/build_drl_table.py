"""Build plugin/kerma/drl/data/national_drls.csv from the project's reference table (run by hand).

Keeps only the rows whose number was read in the primary (or peer-reviewed) text, each with its
citation, and states for each the record field it applies to, the level (exposure or examination)
and the patient band.  Usage: python scripts/build_drl_table.py ../shared/reference/drl_reference_levels.csv
"""

import csv
import re
import sys
from pathlib import Path

VERIFIED = {"primary_text_seen", "primary_abstract_seen", "peer_reviewed_table_seen", "peer_reviewed_reproduction_seen"}
OUT = Path(__file__).resolve().parents[1] / "plugin" / "kerma" / "drl" / "data" / "national_drls.csv"
COLUMNS = ["set_name", "country_body", "year", "status", "modality", "examination", "clinical_indication", "patient_group",
           "age_min_years", "age_max_years", "weight_min_kg", "weight_max_kg", "quantity", "level", "value", "unit",
           "notes", "verification", "source"]


def level_and_quantity(row):
    notes, code, modality = row["notes"].lower(), row["quantity_code"], row["modality"]
    exposure = any(k in notes for k in ("per sequence", "per acquisition", "per single pr", "per exposure", "per image"))
    exam = any(k in notes for k in ("per complete examination", "per examination", "per procedure", "per exam"))
    if code == "CTDIvol_mGy":
        return "exposure", "ctdivol_mGy"
    if code == "DLP_mGycm":
        return ("exposure", "dlp_mGycm") if exposure and not exam else ("exam", "total_dlp_mGycm")
    if code == "DAP_Gycm2":
        if exposure or (modality in ("DX", "PX", "MG") and not exam):
            return "exposure", "dap_Gycm2"
        return "exam", "total_dap_Gycm2"
    raise ValueError(f"unknown quantity {code}")


def band(group):
    """(group, age_min, age_max, weight_min, weight_max) from e.g. 'paediatric weight band 5-15 kg'."""
    text = group.lower()
    kind = "paediatric" if "paediatric" in text else "adult"
    m = re.search(r"(<|>)?\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*(kg|months|years|y)\b", text)
    if kind == "adult":
        plus = re.search(r"(\d+)\s*\+", text)  # "adult (15+ y)"
        return kind, float(plus.group(1)) if plus else None, None, None, None
    if not m:
        return kind, None, None, None, None
    sign, a, b, unit = m.group(1), float(m.group(2)), m.group(3), m.group(4)
    low, high = (None, a) if sign == "<" else (a, None) if sign == ">" else (a, float(b) if b else None)
    if unit == "kg":
        return kind, None, None, low, high
    scale = 1 / 12 if unit == "months" else 1.0
    return kind, None if low is None else round(low * scale, 4), None if high is None else round(high * scale, 4), None, None


def main(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["verification"] not in VERIFIED:
                continue
            level, quantity = level_and_quantity(r)
            kind, age_min, age_max, w_min, w_max = band(r["patient_group"])
            rows.append({
                "set_name": f"{r['country_body']} {r['year']} ({r['status']})", "country_body": r["country_body"],
                "year": r["year"], "status": r["status"], "modality": r["modality"], "examination": r["examination"],
                "clinical_indication": r["clinical_indication"], "patient_group": kind,
                "age_min_years": age_min, "age_max_years": age_max, "weight_min_kg": w_min, "weight_max_kg": w_max,
                "quantity": quantity, "level": level, "value": r["value_normalised"], "unit": r["unit_normalised"],
                "notes": r["notes"], "verification": r["verification"], "source": r["source"],
            })
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        fh.write("# Verified rows of Kerma's DRL reference table (number read in the primary or peer-reviewed text), each with its citation.\n")
        fh.write("# Built by scripts/build_drl_table.py; quantity = the Kerma field the level applies to; level = exposure or exam.\n")
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
