"""A device's acceptance report, read from the dose database (issue 16 §3).

Per device, over its studies (optionally a date window):

* ``fields``: each field it fills, and each field the acceptance check expects of its dose family
  (``data/key_fields.csv``), filled ``always``, ``sometimes`` or ``never`` across its studies (event fields over the
  studies with events from it, report totals over the studies with records from it), with the units it wrote;
* ``sources``: the records it gave by source (RDSR, image headers, OCR, MPPS, entered by hand);
* ``event_counts``: per study with an RDSR from it, the events the report holds against the count it states, and
  its images whose Irradiation Event UID no event of the report has;
* ``mapping``: the share of its studies (and counted events) with a standard exam;
* ``orders``: the performed orders of its modality (dates within its first and last study) and how many have a
  study with dose, from it or another device;
* ``software_versions``, ``first_to_check`` (the studies to check by hand first, each with why) and ``gaps``.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .. import quantities
from ..db.models import EVENT_FIELDS, Device, DoseObject, ImagingOrder, IrradiationEvent, Study
from ..db.states import COMPLETED
from ..reconcile.lists import Window, studies_of_order
from ..study_dose import FAMILY
from .fields import EVENT, REPORT, of_family

ALWAYS, SOMETIMES, NEVER = "always", "sometimes", "never"
MAX_LISTED = 20  # studies listed per finding
FIRST_TO_CHECK = 6
# the examination total that says most of a family's dose: the study to check first is the highest
MAIN_TOTAL = {"CT": "total_dlp_mGycm", "DX": "total_dap_Gycm2", "RF": "total_dap_Gycm2", "MG": "total_agd_left_mGy",
              "NM": "total_activity_MBq"}
# what a study's report totals hold that the device did not write: counts and sums Kerma makes
MADE_BY_KERMA = {"event_count", "ct_event_count", "derived_from_events", "planes"}


def device_report(session: Session, device_id: int, window: Window = Window()) -> dict | None:
    """The acceptance report of device ``device_id`` (None when there is no such device)."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    family = FAMILY.get(device.modality or "", device.modality)
    objects = _objects(session, device_id, window)
    study_ids = {o.study_id for o in objects}
    studies = {s.id: s for s in session.scalars(select(Study).where(Study.id.in_(study_ids)))} if study_ids else {}
    event_fill, event_studies = _event_fill(session, [o.id for o in objects])
    report_fill = _report_fill(objects)
    units = _units(objects)
    fields = _fields(family, event_fill, event_studies, report_fill, len(study_ids), units)
    counts = _event_counts(session, objects, studies)
    mapping = _mapping(session, device_id, studies)
    orders = _orders(session, device, family, set(studies), window)
    versions = _software(objects, studies)
    report = {
        "device": {"device_id": device.id, "manufacturer": device.manufacturer, "model": device.model,
                   "station_name": device.station_name, "serial_number": device.serial_number,
                   "modality": device.modality, "family": family,
                   "first_seen": _iso(device.first_seen), "last_seen": _iso(device.last_seen)},
        "window": {"date_from": _iso(window.date_from), "date_to": _iso(window.date_to)},
        "studies": len(study_ids),
        "records": len(objects),
        "sources": _sources(objects),
        "fields": fields,
        "units": units,
        "event_counts": counts,
        "mapping": mapping,
        "orders": orders,
        "software_versions": versions,
        "first_to_check": _first_to_check(objects, studies, family, counts, versions),
    }
    report["gaps"] = _gaps(report)
    return report


def _iso(day) -> str | None:
    return day.isoformat() if day is not None else None


def _objects(session: Session, device_id: int, window: Window) -> list:
    stmt = (select(DoseObject.id, DoseObject.study_id, DoseObject.source, DoseObject.totals, DoseObject.units,
                   DoseObject.warnings, DoseObject.software_versions, DoseObject.sop_instance_uid)
            .join(Study, Study.id == DoseObject.study_id)
            .where(DoseObject.device_id == device_id, DoseObject.status == "ok"))
    if window.date_from:
        stmt = stmt.where(Study.study_date >= window.date_from)
    if window.date_to:
        stmt = stmt.where(Study.study_date <= window.date_to)
    return list(session.execute(stmt.order_by(DoseObject.id)))


def _event_fill(session: Session, object_ids: list[int]) -> tuple[dict[str, int], int]:
    """Per event field, the studies where an event of the device's records holds it; and the studies with events."""
    if not object_ids:
        return {}, 0
    names = list(EVENT_FIELDS)
    columns = [func.count(func.distinct(case((getattr(IrradiationEvent, n).is_not(None), IrradiationEvent.study_id))))
               for n in names]
    found: Counter = Counter()
    with_events = 0
    for start in range(0, len(object_ids), 5000):  # bounded IN lists
        chunk = object_ids[start:start + 5000]
        row = session.execute(select(func.count(func.distinct(IrradiationEvent.study_id)), *columns).where(
            IrradiationEvent.dose_object_id.in_(chunk), IrradiationEvent.folded_key.is_(None))).one()
        with_events += row[0]
        found.update(dict(zip(names, row[1:])))
    return dict(found), with_events


def _report_fill(objects: list) -> dict[str, set[int]]:
    filled: dict[str, set[int]] = defaultdict(set)
    for o in objects:
        for name, value in (o.totals or {}).items():
            if value is not None and name not in MADE_BY_KERMA and not isinstance(value, (list, dict)):
                filled[name].add(o.study_id)
    return filled


def _units(objects: list) -> dict[str, list[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for o in objects:
        for name, codes in (o.units or {}).items():
            seen[name].update(codes)
    return {name: sorted(codes) for name, codes in sorted(seen.items())}


def _fill(filled: int, total: int) -> str:
    return NEVER if filled == 0 else ALWAYS if filled >= total else SOMETIMES


def _fields(family, event_fill, event_studies, report_fill, studies, units) -> list[dict]:
    keys = {(k.level, k.field): k for k in of_family(family)}
    rows = {}
    for name, filled in event_fill.items():
        if filled or (EVENT, name) in keys:
            rows[(EVENT, name)] = (filled, event_studies)
    for name, ids in report_fill.items():
        rows[(REPORT, name)] = (len(ids), studies)
    for level, name in keys:
        rows.setdefault((level, name), (0, event_studies if level == EVENT else studies))
    out = []
    for (level, name), (filled, total) in rows.items():
        key = keys.get((level, name))
        known = quantities.get(name)
        out.append({"field": name, "level": level, "label": known.label if known else None,
                    "unit": known.unit_display if known else None, "filled_studies": filled, "studies": total,
                    "fill": _fill(filled, total), "units_seen": units.get(name, []), "key": key is not None,
                    "why": key.why if key else None})
    order = {NEVER: 0, SOMETIMES: 1, ALWAYS: 2}
    return sorted(out, key=lambda f: (not f["key"], order[f["fill"]], f["level"], f["field"]))


def _sources(objects: list) -> list[dict]:
    records, studies = Counter(), defaultdict(set)
    for o in objects:
        records[o.source] += 1
        studies[o.source].add(o.study_id)
    return [{"source": s, "records": n, "studies": len(studies[s])} for s, n in records.most_common()]


def _event_counts(session: Session, objects: list, studies: dict) -> dict:
    """RDSR events against the count the report states, and the study's images against the report's events."""
    by_study: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for o in objects:
        by_study[o.study_id][o.source].append(o)
    checked = [sid for sid, parts in by_study.items() if parts.get("rdsr")]
    events: dict[int, list] = defaultdict(list)
    ids = [o.id for sid in checked for part in by_study[sid].values() for o in part]
    for start in range(0, len(ids), 5000):
        for object_id, uid, counted in session.execute(
                select(IrradiationEvent.dose_object_id, IrradiationEvent.irradiation_event_uid, IrradiationEvent.counted)
                .where(IrradiationEvent.dose_object_id.in_(ids[start:start + 5000]), IrradiationEvent.folded_key.is_(None))):
            events[object_id].append((uid, counted))
    inconsistent = []
    for sid in sorted(checked, key=lambda s: (studies[s].study_date is None, studies[s].study_date, s)):
        reports, images = by_study[sid]["rdsr"], by_study[sid].get("header", [])
        held = sum(1 for o in reports for _, counted in events[o.id] if counted)
        stated = [o.totals.get("reported_event_count") for o in reports if (o.totals or {}).get("reported_event_count") is not None]
        report_uids = {uid for o in reports for uid, _ in events[o.id] if uid}
        image_uids = {uid for o in images for uid, _ in events[o.id] if uid}
        unmatched = sorted(image_uids - report_uids)
        why = []
        if stated and max(stated) != held:
            why.append(f"the report states {max(stated):g} events and holds {held}")
        if unmatched:
            why.append(f"{len(unmatched)} of {len(image_uids)} images name an irradiation event the report does not hold")
        if why:
            inconsistent.append({"study_instance_uid": studies[sid].study_instance_uid, "study_date": _iso(studies[sid].study_date),
                                 "rdsr_events": held, "reported_event_count": max(stated) if stated else None,
                                 "images": len(images), "images_without_event": len(unmatched), "why": "; ".join(why)})
    return {"studies_checked": len(checked), "consistent": len(checked) - len(inconsistent),
            "inconsistent": len(inconsistent), "studies": inconsistent[:MAX_LISTED]}


def _mapping(session: Session, device_id: int, studies: dict) -> dict:
    mapped = sum(1 for s in studies.values() if s.standard_exam_id is not None)
    events = mapped_events = 0
    ids = list(studies)
    for start in range(0, len(ids), 5000):
        total, with_exam = session.execute(select(func.count(), func.count(IrradiationEvent.standard_exam_id)).where(
            IrradiationEvent.device_id == device_id, IrradiationEvent.counted.is_(True),
            IrradiationEvent.study_id.in_(ids[start:start + 5000]))).one()
        events, mapped_events = events + total, mapped_events + with_exam
    return {"studies": len(studies), "studies_mapped": mapped, "share_studies": mapped / len(studies) if studies else None,
            "events": events, "events_mapped": mapped_events, "share_events": mapped_events / events if events else None}


def _orders(session: Session, device: Device, family: str | None, device_studies: set[int], window: Window) -> dict:
    """Performed (completed) orders of the device's modalities, in its dates, and how many have a study with dose."""
    modalities = sorted({m for m, f in FAMILY.items() if f == family} | {device.modality or ""} - {""})
    stmt = select(ImagingOrder).where(ImagingOrder.status == COMPLETED, func.upper(ImagingOrder.modality).in_(modalities))
    start = max(filter(None, [device.first_seen, window.date_from]), default=None)
    end = min(filter(None, [device.last_seen, window.date_to]), default=None)
    if start:
        stmt = stmt.where(ImagingOrder.scheduled_date >= start)
    if end:
        stmt = stmt.where(ImagingOrder.scheduled_date <= end)
    performed = with_dose = from_device = 0
    for order in session.scalars(stmt):
        performed += 1
        matched = {s.id for s in studies_of_order(session, order)}
        with_dose += bool(matched)
        from_device += bool(matched & device_studies)
    return {"modalities": modalities, "performed": performed, "with_dose": with_dose, "with_dose_from_device": from_device,
            "share_with_dose": with_dose / performed if performed else None,
            "attribution": "orders name a modality, not a device: the performed orders of these modalities between the "
                           "device's first and last study"}


def _software(objects: list, studies: dict) -> list[dict]:
    first: dict[str, tuple] = {}
    counts: Counter = Counter()
    for o in objects:
        version = o.software_versions or "(not stated)"
        counts[version] += 1
        study = studies[o.study_id]
        key = (study.study_date is None, study.study_date, o.id)
        if version not in first or key < first[version][0]:
            first[version] = (key, study)
    return [{"software_versions": v, "records": counts[v], "first_study_instance_uid": first[v][1].study_instance_uid,
             "first_study_date": _iso(first[v][1].study_date)} for v in sorted(first, key=lambda v: first[v][0])]


def _first_to_check(objects: list, studies: dict, family, counts: dict, versions: list[dict]) -> list[dict]:
    picks: list[tuple[str, str]] = []
    dated = sorted(studies.values(), key=lambda s: (s.study_date is None, s.study_date, s.id))
    if dated:
        picks.append((dated[0].study_instance_uid, "the first study from this device: compare every value with the console"))
    for v in versions[1:]:
        picks.append((v["first_study_instance_uid"], f"the first study with software {v['software_versions']}"))
    for row in counts["studies"][:2]:
        picks.append((row["study_instance_uid"], f"event counts disagree: {row['why']}"))
    warned = [o for o in objects if o.warnings]
    for o in warned[:2]:
        picks.append((studies[o.study_id].study_instance_uid, f"values dropped or refused: {o.warnings[0]}"))
    total = MAIN_TOTAL.get(family)
    valued = [s for s in studies.values() if total and getattr(s, total) is not None]
    if valued:
        top = max(valued, key=lambda s: getattr(s, total))
        known = quantities.get(total)
        picks.append((top.study_instance_uid, f"the highest {known.label} ({getattr(top, total):g} {known.unit_display})"))
    out, seen = [], set()
    by_uid = {s.study_instance_uid: s for s in studies.values()}
    for uid, why in picks:
        if uid in seen:
            continue
        seen.add(uid)
        out.append({"study_instance_uid": uid, "study_date": _iso(by_uid[uid].study_date), "why": why})
    return out[:FIRST_TO_CHECK]


def _gaps(report: dict) -> list[str]:
    gaps = []
    for f in report["fields"]:
        if f["key"] and f["fill"] != ALWAYS:
            name = f["label"] or f["field"].replace("_", " ")
            where = (f"{f['filled_studies']} of {f['studies']} studies" if f["studies"]
                     else "its records hold no irradiation events")
            place = "per event" if f["level"] == EVENT else "in the report totals"
            gaps.append(f"{name} {place} {f['fill']} filled: {where}; needed for {f['why']}")
    counts = report["event_counts"]
    if counts["inconsistent"]:
        gaps.append(f"event counts disagree in {counts['inconsistent']} of {counts['studies_checked']} studies with an RDSR")
    mapping = report["mapping"]
    if mapping["studies"] and mapping["studies_mapped"] < mapping["studies"] and mapping["events_mapped"] < mapping["events"]:
        gaps.append(f"{mapping['studies'] - mapping['studies_mapped']} of {mapping['studies']} studies have no standard exam")
    orders = report["orders"]
    if orders["performed"] and orders["with_dose"] < orders["performed"]:
        gaps.append(f"{orders['performed'] - orders['with_dose']} of {orders['performed']} performed orders have no dose")
    return gaps


def devices(session: Session) -> list[int]:
    """Ids of every device, in inventory order."""
    return list(session.scalars(select(Device.id).order_by(Device.modality, Device.manufacturer, Device.model, Device.id)))
