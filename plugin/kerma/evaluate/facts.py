"""A study as the alert finders see it: plain values per level (exam, series, exposure), no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .. import quantities
from ..correction_kinds import event_columns
from ..corrections.factors import corrected_value
from ..db import values as stored
from ..db.models import EVENT_FIELDS, Study
from ..drl.sets import ADULT_FROM_YEARS

LEVELS = ("exposure", "series", "exam")


@dataclass(frozen=True)
class EventFacts:
    """One counted irradiation event: its values and the series and standard exam it belongs to."""

    event_id: int
    key: str  # irradiation event UID, else a folded acquisition's grouping key, else the row id
    series: str  # the series the event belongs to (header series, else its own key: an RDSR event is one series)
    standard_exam_id: int | None
    values: dict  # every event field of the record (db.records.event)


@dataclass(frozen=True)
class StudyFacts:
    """What the finders need to know about one study, read once per evaluation."""

    id: int
    study_instance_uid: str
    study_date: dt.date | None
    modality: tuple[str, ...]
    device_id: int | None
    standard_exam_id: int | None
    patient_id: str | None
    age: float | None
    weight: float | None
    site: str | None
    description: str | None
    totals: dict  # exam-level quantities
    events: tuple[EventFacts, ...] = field(default=())
    objects: tuple[tuple[int, int | None, str | None], ...] = field(default=())  # (dose object id, device id, software)

    @property
    def patient_group(self) -> str:
        return "paediatric" if self.age is not None and self.age < ADULT_FROM_YEARS else "adult"

    def exam_context(self) -> dict:
        """Fields that rule conditions can test at exam level (as mapping rules do)."""
        return {"study_description": self.description, "modality": list(self.modality), "device_id": self.device_id,
                "anatomy": " ".join(filter(None, [self.description, *(e.values.get("protocol") for e in self.events)])),
                **self.totals}

    def event_context(self, event: EventFacts) -> dict:
        anatomy = " ".join(str(event.values.get(k)) for k in ("target_region", "protocol", "body_part")
                           if event.values.get(k))
        return {**event.values, "study_description": self.description, "modality": list(self.modality),
                "device_id": self.device_id, "anatomy": " ".join(filter(None, [anatomy, self.description]))}


def study_facts(study: Study) -> StudyFacts:
    """The facts of a refreshed, classified study (its objects and events loaded)."""
    objects = [o for o in study.objects if o.status == "ok"]
    events = []
    for obj in objects:
        for row in obj.events:
            if not row.counted:
                continue
            # the row's loaded values read directly: every study of every batch passes here (the ingest path)
            values = {k: v for k, v in vars(row).items() if v is not None and k in EVENT_FIELDS}
            values.update(row.details or {})
            factors = {name: getattr(row, name) for name in event_columns()}
            if any(f is not None for f in factors.values()):  # dose values corrected by the device's factors
                values = {k: corrected_value(k, v, factors) for k, v in values.items()}
            key = row.irradiation_event_uid or row.folded_key or f"row{row.id}"
            series = ((row.details or {}).get("image") or {}).get("series_instance_uid") or key
            events.append(EventFacts(row.id, key, series, row.standard_exam_id, values))
    return StudyFacts(
        id=study.id, study_instance_uid=study.study_instance_uid, study_date=study.study_date,
        modality=tuple(sorted({o.modality for o in objects if o.modality})), device_id=study.device_id,
        standard_exam_id=study.standard_exam_id, patient_id=study.patient_id, age=study.patient_age_years,
        weight=study.patient_weight_kg, site=study.institution_name, description=study.study_description,
        totals={q.key: v for q in quantities.exam_quantities() if (v := stored.value(study, q)) is not None},
        events=tuple(events),
        objects=tuple((o.id, o.device_id, o.software_versions) for o in objects),
    )


@dataclass(frozen=True)
class Measured:
    """One value at one level: what a threshold is compared with."""

    subject: str  # "exam", "event:<uid>", "series:<uid>"
    quantity: str
    value: float
    standard_exam_id: int | None
    context: dict


def measured(facts: StudyFacts, quantity: str, level: str) -> list[Measured]:
    """The values of ``quantity`` at ``level``: the study total, each series, or each counted event."""
    if level == "exam":
        if quantity in facts.totals:
            return [Measured("exam", quantity, facts.totals[quantity], facts.standard_exam_id, facts.exam_context())]
        return []
    present = [e for e in facts.events if isinstance(e.values.get(quantity), (int, float))]
    if level == "exposure":
        return [Measured(f"event:{e.key}", quantity, float(e.values[quantity]), e.standard_exam_id, facts.event_context(e))
                for e in present]
    series: dict[str, list[EventFacts]] = {}
    for e in present:
        series.setdefault(e.series, []).append(e)
    out = []
    for key, members in series.items():
        numbers = [float(e.values[quantity]) for e in members]
        value = sum(numbers) if quantities.aggregate_of(quantity) == "sum" else max(numbers)
        out.append(Measured(f"series:{key}", quantity, round(value, 9), members[0].standard_exam_id,
                            facts.event_context(members[0])))
    return out
