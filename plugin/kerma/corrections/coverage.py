"""The studies a correction factor covers: those with a record from its device dated within its range."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import DoseObject, Study
from .factors import Factor


def covered_studies(session: Session, factor: Factor) -> set[int]:
    """Ids of the studies with a record from the factor's device whose date falls in its range (undated studies
    only for a factor without bounds)."""
    stmt = select(Study.id).where(Study.id.in_(select(DoseObject.study_id).where(DoseObject.device_id == factor.device_id)))
    if factor.valid_from is not None or factor.valid_to is not None:
        stmt = stmt.where(Study.study_date.is_not(None))
    if factor.valid_from is not None:
        stmt = stmt.where(Study.study_date >= factor.valid_from)
    if factor.valid_to is not None:
        stmt = stmt.where(Study.study_date <= factor.valid_to)
    return set(session.scalars(stmt))
