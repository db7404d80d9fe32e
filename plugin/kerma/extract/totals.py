"""Totals that a record may lack and that are then the sum of its events' values."""

from __future__ import annotations

# kind -> (total field, event field, laterality the event must have or None)
DERIVABLE_TOTALS = {
    "ct": [("ct_dlp_total_mGycm", "dlp_mGycm", None)],
    "projection": [
        ("dap_total_Gycm2", "dap_Gycm2", None),
        ("ka_r_total_mGy", "ka_r_mGy", None),
        ("agd_total_left_mGy", "agd_mGy", "Left"),
        ("agd_total_right_mGy", "agd_mGy", "Right"),
        ("agd_total_both_mGy", "agd_mGy", "Both"),
    ],
    "radiopharmaceutical": [("administered_activity_MBq", "administered_activity_MBq", None)],
}


def complete_totals(kind: str, totals: dict, events: list[dict]) -> dict:
    """Fill the derivable totals ``totals`` lacks, name them in ``derived_from_events``, count events."""
    derived = []
    for total, field, side in DERIVABLE_TOTALS.get(kind, []):
        if totals.get(total) is not None:
            continue
        values = [e[field] for e in events if e.get(field) is not None and (side is None or e.get("laterality") == side)]
        if values:
            totals[total] = round(sum(values), 12)
            derived.append(total)
    if derived:
        totals["derived_from_events"] = derived
    totals["event_count"] = len(events)
    if kind == "ct":
        totals["ct_event_count"] = len(events)
    return totals
