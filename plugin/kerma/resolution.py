"""Source resolution kept on the rows: a study's dose resolved from its records (:func:`kerma.study_dose.resolve_study`)
written to its ``Study`` row (totals, corrected where device factors cover them, with Kerma's own estimates and the
contrast given; sources, device) and its event rows (which ones its statistics count).

The ``sources`` stage of :mod:`kerma.pipeline`.
"""

from __future__ import annotations

from . import quantities
from .correction_kinds import kinds
from .corrections.factors import DeviceFactors, Factor, corrected_record
from .db.models import EVENT_FIELDS, DoseObject, ImagingOrder, IrradiationEvent, Study
from .db.records import record
from .db.states import mark_dosimetry_due
from .extract.contrast import HEADER, HIS, study_contrast
from .record import DoseRecord
from .study_dose import resolve_study


def keep_resolved(study: Study, factors: DeviceFactors | None = None, derived: dict | None = None,
                  order: ImagingOrder | None = None) -> list[DoseRecord]:
    """Keep the study's resolved totals and mark which event rows its statistics count.

    An event its object gives (a report's, a radiograph's) is counted on its own row; a CT acquisition
    folded from per-slice header observations is counted on a row of its own (see :func:`keep_folded`).
    Where correction factors cover a record's device on the study's date (``factors``), the kept totals are
    corrected, the raw ones kept beside them, and each event row holds its factors beside its raw values.
    ``derived`` (:func:`kerma.derived.study_summaries`) adds Kerma's peak skin dose estimate to the totals
    (``psd_mGy``: the SRDL rules and the reports read it there).
    Its contrast administrations are those its headers state, else those its ``order``'s HL7 messages stated, each
    once (:func:`kerma.extract.contrast.study_contrast`), their totals kept beside the dose totals.

    Returns the records it resolved (:func:`kerma.db.records.record`), for the stages after it.
    """
    objects = [o for o in study.objects if o.status == "ok"]
    records = [record(o) for o in objects]
    resolved = resolve_study(records)
    covering = {o.id: factors.on(o.device_id, study.study_date) for o in objects} if factors else {}
    totals = resolved["totals"]
    study.dose_corrections = None
    if any(covering.values()):
        totals = resolve_study([corrected_record(r, {k: f.factor for k, f in covering[o.id].items()})
                                for r, o in zip(records, objects)])["totals"]
        study.dose_corrections = {"factors": _applied(covering, objects),
                                  "uncorrected_totals": resolved["totals"] or None}
    if (derived or {}).get("psd_mGy") is not None:
        totals["psd_mGy"] = derived["psd_mGy"]
    stated = [(HEADER, a) for o in objects for a in o.contrast or ()]
    stated += [(HIS, a) for a in (order.contrast if order is not None else None) or ()]
    contrast = study_contrast(stated, study.patient_weight_kg)
    study.contrast = contrast["administrations"] or None
    totals = {**totals, **{k: v for k, v in contrast["totals"].items() if v is not None}}
    study.refresh_due = False
    mark_dosimetry_due([study])  # its derived doses are recomputed when their inputs changed (kerma.derived)
    study.dose_source = resolved["source"]
    study.dose_sources = resolved["sources"] or None
    study.dose_totals = totals or None
    for quantity in quantities.exam_quantities():  # those kept in columns; the others are read from dose_totals
        if quantity.statistics == quantities.COLUMN:
            value = totals.get(quantity.record_total)
            setattr(study, quantity.key, value if isinstance(value, (int, float)) else None)
    study.event_count = totals.get("event_count")  # a mapping-rule field
    keep_folded(objects, [e for e in resolved["events"] if e.get("folded_key")])
    counted = {e["event_id"] for e in resolved["events"] if e.get("event_id") and not e.get("folded_key")}
    devices = [o.device_id for o in objects if o.source in resolved["sources"].values() and o.device_id]
    study.device_id = devices[0] if devices else None
    for obj in objects:
        mine = covering.get(obj.id, {})
        for row in obj.events:
            row.counted = row.folded_key is not None or row.id in counted
            row.event_date = study.study_date
            row.device_id = obj.device_id
            for kind in kinds().values():
                if kind.event_column:
                    setattr(row, kind.event_column, mine[kind.kind].factor if kind.kind in mine else None)
    return records


def _applied(covering: dict[int, dict[str, Factor]], objects: list[DoseObject]) -> list[dict]:
    """The factors applied to the study's records, once each, with the device they belong to."""
    found = {f.id: f for obj in objects for f in covering[obj.id].values()}
    return [{"kind": f.kind, "device_id": f.device_id, **f.as_applied()} for _, f in sorted(found.items())]


def keep_folded(objects: list[DoseObject], folded: list[dict]) -> None:
    """One counted row per folded CT acquisition, updated in place as its slices arrive, gone when not resolved.

    The per-slice rows stay the evidence they are (each slice's own CTDIvol and position), uncounted; the
    acquisition's row holds the folded values (mean CTDIvol along z, estimated DLP, slice count...) and is kept
    with the dose object of the acquisition's first slice, so it has that image's modality, device and ledger row.
    Its grouping key names it, so re-folding after more slices updates the same row (and its alerts).
    """
    rows = {row.folded_key: row for obj in objects for row in obj.events if row.folded_key is not None}
    owner = {row.id: obj for obj in objects for row in obj.events if row.folded_key is None}
    for index, event in enumerate(folded):
        key = event["folded_key"]
        row = rows.pop(key, None)
        values = {k: v for k, v in event.items() if k not in ("event_id", "source", "folded_key")}
        columns = {k: v for k, v in values.items() if k in EVENT_FIELDS and not isinstance(v, (list, dict))}
        obj = owner[event["event_id"]]
        if row is None:
            row = IrradiationEvent(folded_key=key, study=obj.study)
        if row.dose_object is not obj:
            if row.dose_object is not None:
                row.dose_object.events.remove(row)
            obj.events.append(row)
        row.event_index = index
        for name in EVENT_FIELDS:
            setattr(row, name, columns.get(name))
        row.details = {k: v for k, v in values.items() if k not in columns} or None
    for row in rows.values():  # no longer resolved (an RDSR took over, or the slices were regrouped)
        row.dose_object.events.remove(row)
