"""Reading the project's DRL reference table format (``drl_reference_levels.csv``) into Kerma's terms.

Shared by ``scripts/build_drl_table.py`` (which writes the shipped, verified subset) and by
:func:`kerma.drl.sets.load_reference_table` (which loads a whole table, unverified rows disabled).
"""

from __future__ import annotations

import re

VERIFIED = {"primary_text_seen", "primary_abstract_seen", "peer_reviewed_table_seen", "peer_reviewed_reproduction_seen"}


def level_and_quantity(modality: str, quantity_code: str, notes: str) -> tuple[str, str]:
    """(level, Kerma field) of a DRL row: ``CTDIvol per sequence`` applies to each exposure, DLP to the examination."""
    notes = notes.lower()
    exposure = any(k in notes for k in ("per sequence", "per acquisition", "per single pr", "per exposure", "per image"))
    exam = any(k in notes for k in ("per complete examination", "per examination", "per procedure", "per exam"))
    if quantity_code == "CTDIvol_mGy":
        return "exposure", "ctdivol_mGy"
    if quantity_code == "DLP_mGycm":
        return ("exposure", "dlp_mGycm") if exposure and not exam else ("exam", "total_dlp_mGycm")
    if quantity_code == "DAP_Gycm2":
        if exposure or (modality in ("DX", "PX", "MG") and not exam):
            return "exposure", "dap_Gycm2"
        return "exam", "total_dap_Gycm2"
    raise ValueError(f"unknown DRL quantity {quantity_code}")


def patient_band(group: str) -> tuple[str, float | None, float | None, float | None, float | None]:
    """(adult|paediatric, age min, age max, weight min, weight max) from e.g. ``paediatric weight band 5-15 kg``."""
    text = group.lower()
    if "paediatric" not in text:
        plus = re.search(r"(\d+)\s*\+", text)  # "adult (15+ y)"
        return "adult", float(plus.group(1)) if plus else None, None, None, None
    m = re.search(r"(<|>)?\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*(kg|months|years|y)\b", text)
    if not m:
        return "paediatric", None, None, None, None
    sign, a, b, unit = m.group(1), float(m.group(2)), m.group(3), m.group(4)
    low, high = (None, a) if sign == "<" else (a, None) if sign == ">" else (a, float(b) if b else None)
    if unit == "kg":
        return "paediatric", None, None, low, high
    scale = 1 / 12 if unit == "months" else 1.0
    return ("paediatric", None if low is None else round(low * scale, 4), None if high is None else round(high * scale, 4),
            None, None)


def kerma_row(r: dict) -> dict:
    """A reference-table row in the shipped table's columns."""
    level, quantity = level_and_quantity(r["modality"], r["quantity_code"], r["notes"])
    group, age_min, age_max, weight_min, weight_max = patient_band(r["patient_group"])
    return {
        "set_name": f"{r['country_body']} {r['year']} ({r['status']})", "country_body": r["country_body"],
        "year": r["year"], "status": r["status"], "modality": r["modality"], "examination": r["examination"],
        "clinical_indication": r["clinical_indication"], "patient_group": group,
        "age_min_years": age_min, "age_max_years": age_max, "weight_min_kg": weight_min, "weight_max_kg": weight_max,
        "quantity": quantity, "level": level, "value": r["value_normalised"], "unit": r["unit_normalised"],
        "notes": r["notes"], "verification": r["verification"], "source": r["source"],
    }
