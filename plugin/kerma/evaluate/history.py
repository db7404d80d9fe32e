"""The queries some finders need about other studies: baselines, first appearances, sums over a window.

Each method is one indexed query; results that serve several studies of a batch are cached for the
batch (a :class:`History` lives for one evaluation).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, null, or_, select
from sqlalchemy.orm import Session

from ..db.models import Alert, Device, DoseObject, IrradiationEvent, StandardExam, Study
from ..db.values import event_expression
from .facts import StudyFacts


class History:
    """History queries for one evaluation batch, with per-batch caches."""

    def __init__(self, session: Session):
        self.session = session
        self._device_firsts: dict[int, int | None] = {}
        self._software: dict[int, list[tuple[str, int]]] = {}
        self._exam_names: dict[int, str | None] = {}

    def _before(self, date_column, study_column, facts: StudyFacts):
        """Rows of studies that come before ``facts`` in (study date, id) order."""
        day = facts.study_date or dt.date.max
        return or_(date_column < day, and_(date_column == day, study_column < facts.id))

    def protocol_events(self, facts: StudyFacts, protocol: str, quantity: str, limit: int) -> list[tuple[int, float | None, dict | None]]:
        """(study id, value, details) of counted events on the study's device with ``protocol``, newest first."""
        column = event_expression(quantity)  # corrected by the device's factor, as the study's own values are
        # only kVp may hide in the details (a CT report's X-ray sources): the others skip reading JSON
        details = IrradiationEvent.details if quantity == "kvp" else null()
        stmt = (select(IrradiationEvent.study_id, column, details)
                .where(IrradiationEvent.device_id == facts.device_id, IrradiationEvent.protocol == protocol,
                       IrradiationEvent.counted.is_(True), IrradiationEvent.study_id != facts.id,
                       self._before(IrradiationEvent.event_date, IrradiationEvent.study_id, facts))
                .order_by(IrradiationEvent.event_date.desc(), IrradiationEvent.study_id.desc()).limit(limit))
        return [tuple(r) for r in self.session.execute(stmt)]

    def first_object_of_device(self, device_id: int) -> int | None:
        """The id of the first dose object Kerma stored from the device."""
        if device_id not in self._device_firsts:
            self._device_firsts[device_id] = self.session.scalar(
                select(func.min(DoseObject.id)).where(DoseObject.device_id == device_id))
        return self._device_firsts[device_id]

    def software_versions(self, device_id: int) -> list[tuple[str, int]]:
        """(software versions, first dose object id) of every version the device reported, oldest first."""
        if device_id not in self._software:
            stmt = (select(DoseObject.software_versions, func.min(DoseObject.id))
                    .where(DoseObject.device_id == device_id, DoseObject.software_versions.is_not(None))
                    .group_by(DoseObject.software_versions))
            versions = [(version, first) for version, first in self.session.execute(stmt)]
            self._software[device_id] = sorted(versions, key=lambda pair: pair[1])
        return self._software[device_id]

    def device(self, device_id: int) -> Device | None:
        """The device row (for its name in a reason)."""
        return self.session.get(Device, device_id)

    def patient_sum(self, facts: StudyFacts, quantity: str, days: int) -> tuple[float, int]:
        """Sum and count of ``quantity`` over the patient's studies in the ``days`` up to this study's date."""
        column = getattr(Study, quantity)
        start = facts.study_date - dt.timedelta(days=days - 1)
        total, count = self.session.execute(
            select(func.sum(column), func.count(column)).where(
                Study.patient_id == facts.patient_id, Study.study_date >= start, Study.study_date <= facts.study_date,
                column.is_not(None))).one()
        return float(total or 0.0), int(count)

    def recent_exams(self, facts: StudyFacts, quantity: str, count: int) -> list[tuple[int, float]]:
        """(study id, ``quantity``) of the last ``count`` studies of the same standard exam on the same device, this one included."""
        column = getattr(Study, quantity)
        same = (Study.standard_exam_id == facts.standard_exam_id, Study.device_id == facts.device_id, column.is_not(None))
        stmt = (select(Study.id, column).where(*same, or_(Study.id == facts.id, self._before(Study.study_date, Study.id, facts)))
                .order_by(Study.study_date.desc(), Study.id.desc()).limit(count))
        return [(study_id, float(v)) for study_id, v in self.session.execute(stmt)]

    def alerted(self, rule_id: int, subject: str, study_ids: list[int]) -> bool:
        """Whether the rule already fired with this subject on one of ``study_ids``."""
        return bool(study_ids) and self.session.scalar(select(func.count(Alert.id)).where(
            Alert.rule_id == rule_id, Alert.subject == subject, Alert.study_id.in_(study_ids))) > 0

    def exam_name(self, exam_id: int | None) -> str | None:
        """The standard exam's name (cached for the batch)."""
        if exam_id is None:
            return None
        if exam_id not in self._exam_names:
            self._exam_names[exam_id] = self.session.scalar(select(StandardExam.name).where(StandardExam.id == exam_id))
        return self._exam_names[exam_id]
