"""Reference data that dose tests set up: a standard exam, the rule that maps studies to it, and its DRL."""

from kerma.classify.catalogue import add_site_exam
from kerma.db.models import DrlSet, DrlValue, MappingRule


def exam_with_drl(session, code: str, name: str, modality: str, condition: dict, *, quantity: str, value: float,
                  level: str = "exam", set_name: str | None = None, kind: str = "local") -> int:
    """Add the exam, an exam- or exposure-level mapping rule on ``condition`` and an adult DRL; returns the exam id."""
    exam = add_site_exam(session, code, name, modality)
    session.add(MappingRule(level=level, priority=1, standard_exam_id=exam.id, conditions=[condition]))
    session.add(DrlSet(name=set_name or f"{kind} {code}", kind=kind, enabled=True, values=[DrlValue(
        standard_exam_id=exam.id, patient_group="adult", quantity=quantity, level=level, value=value)]))
    session.flush()
    return exam.id
