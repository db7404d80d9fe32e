"""Applying the mapping rules to stored studies and events, on ingest and over history."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..db.models import EVENT_FIELDS, DoseObject, ImagingOrder, IrradiationEvent, MappingRule, Study
from ..db.records import event as event_record
from ..record import Event
from ..db.states import mark_dosimetry_due, mark_months_stale
from ..reconcile.lists import matched_orders
from ..rule_rows import evaluable
from .rules import LEVELS, Rule, RuleError, choose, conditions_of

STUDY_CONTEXT_FIELDS = ("study_description", "requested_procedure", "performed_procedure", "procedure_reported",
                        "accession_number", "institution_name", "department", "patient_age_years", "patient_weight_kg",
                        "patient_height_m")
# the matched order's fields (HL7 ORM/OMI) as rule fields: DRLs by clinical indication need them
ORDER_CONTEXT_FIELDS = {"order_procedure_code": "procedure_code", "order_procedure_scheme": "procedure_scheme",
                        "order_procedure_text": "procedure_text", "order_clinical_indication": "clinical_indication",
                        "order_ordering_department": "ordering_department"}


STUDY_EVENT_LISTS = ("protocol", "target_region", "body_part", "acquisition_type", "phantom", "view", "scan_length_mm")


def context_fields(level: str) -> tuple[str, ...]:
    """The field names a rule of ``level`` can test: what :func:`study_context` (exam) or :func:`event_context`
    (exposure) gives, so a misspelt field is refused when the rule is saved rather than never matching."""
    study = (*STUDY_CONTEXT_FIELDS, *ORDER_CONTEXT_FIELDS)
    if level == "exam":
        return (*study, "modality", "device_id", "event_count", "series_count", *STUDY_EVENT_LISTS)
    return (*study, *EVENT_FIELDS, "modality", "device_id")


def load_rules(session: Session) -> list[Rule]:
    """The enabled rules that can be evaluated (see :mod:`kerma.rule_rows`)."""
    return _enabled(session)[0]


def invalid_rules(session: Session) -> list[dict]:
    """The enabled rules :func:`load_rules` leaves out, each with the reason."""
    return _enabled(session)[1]


def _enabled(session: Session) -> tuple[list[Rule], list[dict]]:
    rows = session.scalars(select(MappingRule).where(MappingRule.enabled.is_(True)).order_by(MappingRule.id))
    return evaluable(rows, to_rule, RuleError, "mapping rule")


def to_rule(row: MappingRule) -> Rule:
    """The row as a :class:`Rule`; raises :class:`RuleError` when it cannot be evaluated."""
    if row.level not in LEVELS:
        raise RuleError(f"level: {row.level!r} is neither exam nor exposure")
    return Rule(row.id, row.level, row.priority, row.standard_exam_id, conditions_of(row.conditions), row.modality,
                row.device_id)


def study_context(study: Study, order: ImagingOrder | None = None) -> dict:
    """The fields exam-level rules can test: the study's own, its matched order's, and lists over its counted events."""
    objects = [o for o in study.objects if o.status == "ok"]
    counted = [e for o in objects for e in o.events if e.counted]
    context = {name: getattr(study, name) for name in STUDY_CONTEXT_FIELDS}
    context.update({name: getattr(order, column) if order is not None else None
                    for name, column in ORDER_CONTEXT_FIELDS.items()})
    context["modality"] = sorted({o.modality for o in objects if o.modality})
    context["device_id"] = sorted({o.device_id for o in objects if o.device_id is not None})
    context["event_count"] = study.event_count
    context["series_count"] = len({(e.details or {}).get("image", {}).get("series_instance_uid") or o.id
                                   for o in objects for e in o.events if e.counted})
    for name in STUDY_EVENT_LISTS:
        context[name] = sorted({getattr(e, name) for e in counted if getattr(e, name) is not None}, key=str)
    return context


def event_context(study_fields: dict, obj: DoseObject, row: IrradiationEvent, event: Event | None = None) -> dict:
    """The fields exposure-level rules can test; ``event``: the row as a record already (:func:`kerma.db.records.event`)."""
    context = dict(study_fields)
    context.update({k: v for k, v in (event_record(row) if event is None else event).items() if k in EVENT_FIELDS})
    context["modality"] = obj.modality
    context["device_id"] = obj.device_id
    return context


def classify_study(study: Study, rules: list[Rule], order: ImagingOrder | None = None,
                   events: dict[int, Event] | None = None) -> bool:
    """Set the study's standard exam and those of its counted events from ``rules`` (``order``: the matched order;
    ``events``: event records by row id where they were made already, as the pipeline's ``sources`` stage makes them);
    True when the study's or one of its events' standard exam changed."""
    events = events or {}
    before = _exams_of(study)
    context = study_context(study, order)
    chosen = choose(rules, context, "exam")
    exam_before = study.standard_exam_id
    study.standard_exam_id, study.mapping_rule_id = (chosen.standard_exam_id, chosen.id) if chosen else (None, None)
    if study.standard_exam_id != exam_before:
        mark_dosimetry_due([study])  # its exam region is an input of its effective dose
    study_fields = {name: context[name] for name in (*STUDY_CONTEXT_FIELDS, *ORDER_CONTEXT_FIELDS)}
    for obj in study.objects:
        for row in obj.events:
            if not row.counted:
                row.standard_exam_id = row.mapping_rule_id = None
                continue
            rule = choose(rules, event_context(study_fields, obj, row, events.get(row.id)), "exposure")
            row.standard_exam_id, row.mapping_rule_id = (rule.standard_exam_id, rule.id) if rule else (None, None)
    return _exams_of(study) != before


def _exams_of(study: Study) -> tuple:
    return study.standard_exam_id, tuple(row.standard_exam_id for obj in study.objects for row in obj.events)


def remap_history(session: Session, batch: int = 200, refresh=None, changed: list[int] | None = None) -> int:
    """Apply the current rules to every stored study (after a rule changed); returns how many studies.

    ``refresh``, when given, is first applied to each study (to rebuild its resolved dose after an upgrade);
    ``changed``, when given, receives the ids of the studies whose or whose events' standard exam changed.
    """
    rules = load_rules(session)
    done = 0
    last_id = 0
    while True:
        studies = session.scalars(
            select(Study).where(Study.id > last_id).order_by(Study.id).limit(batch)
            .options(selectinload(Study.objects).selectinload(DoseObject.events))
        ).all()
        if not studies:
            mark_months_stale(session)  # every month's statistics may have changed exam
            return done
        orders = matched_orders(session, studies)
        for study in studies:
            if refresh is not None:
                refresh(study)
            if classify_study(study, rules, orders.get(study.id)) and changed is not None:
                changed.append(study.id)
        session.flush()
        done += len(studies)
        last_id = studies[-1].id


def clear_rule(session: Session, rule_id: int) -> None:
    """Forget what a deleted rule mapped (before the rule row goes)."""
    session.execute(update(Study).where(Study.mapping_rule_id == rule_id).values(standard_exam_id=None, mapping_rule_id=None))
    session.execute(update(IrradiationEvent).where(IrradiationEvent.mapping_rule_id == rule_id)
                    .values(standard_exam_id=None, mapping_rule_id=None))
