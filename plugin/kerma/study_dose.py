"""One truth per exposure: a study's dose from all the records that describe it.

Several sources can describe the same exposures: an RDSR, image headers,
later MPPS, dose-screen OCR and manual entry.  For each dose family
(CT, DX, MG, RF, NM) the study uses the best source present, in the order
RDSR > MPPS > header > OCR > manual; the other records stay as evidence.
Within image headers, images are first folded into exposures: the slices of
one CT acquisition (across its reconstructions) into one event with its
CTDIvol statistics along z, the copies of one radiograph or mammogram
(for presentation / for processing) into one event.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from .extract.totals import complete_totals
from .record import DoseRecord

SOURCE_PRECEDENCE = ("rdsr", "mpps", "header", "ocr", "manual")
# sources whose records give their totals (as the device summed them, as a person read them off its display, or as
# a dose screen printed them: not a sum that would leave out a row needing review)
REPORTS = ("rdsr", "mpps", "ocr", "manual")
FAMILY = {"CT": "CT", "MG": "MG", "CR": "DX", "DX": "DX", "PX": "DX", "IO": "DX", "XA": "RF", "RF": "RF", "NM": "NM", "PT": "NM"}
KIND = {"CT": "ct", "MG": "projection", "DX": "projection", "RF": "projection", "NM": "radiopharmaceutical"}


def resolve_study(objects: list[DoseRecord]) -> dict:
    """Totals and events of a study from its ``ok`` records (their ``source``, ``modality``, ``totals``, ``events``).

    Returns ``totals``, ``events`` (each tagged with its ``source``), ``source``
    (one source name, or ``mixed``) and ``sources`` per dose family.
    """
    families: dict[str, list[DoseRecord]] = defaultdict(list)
    for obj in objects:
        families[FAMILY.get(obj.modality or "", obj.modality or "other")].append(obj)
    totals: dict = {}
    events: list[dict] = []
    chosen: dict[str, str] = {}
    for family, members in sorted(families.items()):
        source = min((o.source for o in members), key=_rank)
        picked = [o for o in members if o.source == source]
        part_totals, part_events = (_reports if source in REPORTS else _observations)(family, picked)
        chosen[family] = source
        # copied through items(): {**e} reads an Event (kerma.record) key by key, 316 x 130 Python calls for one report
        events.extend(dict(e.items(), source=source) for e in part_events)
        _add(totals, part_totals)
    sources = set(chosen.values())
    return {
        "source": sources.pop() if len(sources) == 1 else ("mixed" if sources else None),
        "sources": chosen,
        "totals": totals,
        "events": events,
    }


def _rank(source: str) -> int:
    return SOURCE_PRECEDENCE.index(source) if source in SOURCE_PRECEDENCE else len(SOURCE_PRECEDENCE)


def _add(totals: dict, part: dict) -> None:
    for name, value in part.items():
        if name in ("planes", "derived_from_events"):
            if isinstance(value, list):
                totals.setdefault(name, []).extend(v for v in value if v not in totals.get(name, []))
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            totals[name] = round((totals.get(name) or 0) + value, 12)
        elif name not in totals:
            totals[name] = value


# --- reports: totals as the devices reported them ------------------------------------------------


def _reports(family: str, reports: list[DoseRecord]) -> tuple[dict, list[dict]]:
    """Dose reports of one family; a report whose events all appear in another one does not count twice."""
    event_sets = [{e.get("irradiation_event_uid") for e in r.events} - {None} for r in reports]
    totals: dict = {}
    events: list[dict] = []
    for i, report in enumerate(reports):
        mine = event_sets[i]
        superseded = bool(mine) and any(
            j != i and mine <= other and (mine != other or j < i) for j, other in enumerate(event_sets)
        )
        if not superseded:
            _add(totals, report.totals or {})
            events.extend(report.events)
    return totals, events


# --- image headers: fold images into exposures ----------------------------------------------------


def _observations(family: str, records: list[DoseRecord]) -> tuple[dict, list[dict]]:
    observations = [e for r in records for e in r.events]
    kind = KIND.get(family, "projection")
    if family == "CT":
        summaries = [e for e in observations if "image" not in e]  # dose-information screens
        events = summaries or ct_acquisitions([e for e in observations if "image" in e])
    elif family == "NM":
        events = _unique(observations, lambda e: (e.get("radiopharmaceutical"), e.get("radionuclide"),
                                                  e.get("administered_activity_MBq"), e.get("administration_start")))
    else:
        events = _unique(observations, _exposure_key)
    return complete_totals(kind, {}, events), events


def _exposure_key(event: dict):
    """Copies of one exposure (for presentation / for processing) share the event UID or the acquisition moment."""
    image = event.get("image") or {}
    if image.get("acquisition_datetime") is None:
        return ("uid", event.get("irradiation_event_uid"))
    return ("moment", image["acquisition_datetime"], event.get("laterality"), event.get("view"), event.get("kvp"))


def _unique(events: list[dict], key) -> list[dict]:
    by_key: dict = {}
    for event in events:
        k = key(event)
        if k in by_key:
            by_key[k]["copies"] += 1
        else:
            by_key[k] = dict(event.items(), copies=1)
    return list(by_key.values())


def ct_acquisitions(slices: list[dict]) -> list[dict]:
    """One event per CT acquisition from per-slice header observations.

    Slices belong to one acquisition when they share the Irradiation Event UID,
    else the Frame of Reference and Acquisition Number (localizers apart), else
    the series.  Derived images (MPR, secondary reconstructions) count only in a
    study that sends no original images.  The statistics come from the
    acquisition's largest original reconstruction; the others are ``copies``.
    """
    groups: dict = defaultdict(list)
    for event in slices:
        image = event["image"]
        localizer = "LOCALIZER" in image.get("image_type", [])
        if event.get("irradiation_event_uid"):
            key = ("uid", event["irradiation_event_uid"])
        elif image.get("acquisition_number") is not None and image.get("frame_of_reference_uid"):
            key = ("acquisition", image["frame_of_reference_uid"], image["acquisition_number"], localizer)
        else:
            key = ("series", image.get("series_instance_uid"))
        groups[key].append(event)
    original = {k: [e for e in g if _is_original(e)] for k, g in groups.items()}
    any_original = any(original.values())
    events = []
    for key, group in groups.items():
        members = original[key] if any_original else group
        if members:
            events.append({**_acquisition_event(members), "folded_key": folded_key(key)})
    return sorted(events, key=lambda e: (e["image"].get("acquisition_datetime") or "", e["z_start_mm"] or 0))


def folded_key(group: tuple) -> str:
    """The grouping key of a folded acquisition as text: it names the acquisition's counted row across refreshes."""
    kind, *parts = group
    if kind == "acquisition":
        parts[-1] = "localizer" if parts[-1] else "images"
        parts[1] = f"{parts[1]:g}"
    return ":".join([kind, *(str(p) for p in parts)])


def _is_original(event: dict) -> bool:
    image_type = event["image"].get("image_type") or []
    return bool(image_type) and image_type[0] == "ORIGINAL"


def _acquisition_event(members: list[dict]) -> dict:
    series: dict = defaultdict(list)
    for event in members:
        series[event["image"].get("series_instance_uid")].append(event)
    representative = max(series.values(), key=len)
    ordered = sorted(representative, key=lambda e: (e["image"].get("z_mm") is None, e["image"].get("z_mm") or 0))
    ctdivols = [e["ctdivol_mGy"] for e in ordered if e.get("ctdivol_mGy") is not None]
    positions = [e["image"]["z_mm"] for e in ordered if e["image"].get("z_mm") is not None]
    event = {k: v for k, v in ordered[0].items()}
    event["image"] = {k: v for k, v in ordered[0]["image"].items() if k not in ("sop_instance_uid", "z_mm")}
    event["slice_count"] = len(ordered)
    event["copies"] = len(series)
    if ctdivols:
        event["ctdivol_mGy"] = round(statistics.fmean(ctdivols), 6)
        event["ctdivol_min_mGy"] = min(ctdivols)
        event["ctdivol_max_mGy"] = max(ctdivols)
    if positions:
        event["z_start_mm"], event["z_end_mm"] = min(positions), max(positions)
        if event.get("scan_length_mm") is None and len(positions) > 1:
            event["scan_length_mm"] = round(max(positions) - min(positions) + (event.get("slice_thickness_mm") or 0), 3)
    if "LOCALIZER" in event["image"].get("image_type", []) and event.get("acquisition_type") is None:
        event["acquisition_type"] = "Constant Angle Acquisition"
    if event.get("dlp_mGycm") is None and event.get("ctdivol_mGy") is not None and event.get("scan_length_mm"):
        # only used when the study has no RDSR (source precedence), and flagged as an estimate
        event["dlp_mGycm"] = round(event["ctdivol_mGy"] * event["scan_length_mm"] / 10, 3)
        event["dlp_estimated"] = True
    return event
