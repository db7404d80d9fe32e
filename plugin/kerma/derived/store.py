"""Writing a study's derived rows: all of them replaced at once, with the inputs they came from."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import clock
from ..db.models import DerivedDose, Study
from ..db.states import mark_refresh_due
from .inputs import MODEL_VERSION, StudyInputs, gather
from .reader import EFFECTIVE_DOSE, NOT_ESTIMATED, STATEMENT

COLUMNS = ("kind", "part", "dose_object_id", "status", "method", "reason", "effective_dose_mSv", "ssde_mGy",
           "ctdivol_mGy", "diameter_cm", "psd_mGy", "kar_total_mGy", "uncertainty_relative", "result", "map_png")
DUE_CHUNK = 20  # studies the dosimetry thread looks at per round


def nothing_to_convert() -> list[dict]:
    """The rows of a study without an input (no dose report, no exposure record): its effective dose says so."""
    return [{"kind": EFFECTIVE_DOSE, "part": "", "status": NOT_ESTIMATED, "method": "not estimated",
             "reason": "no dose report or exposure record to convert", "result": {"statement": STATEMENT}}]


def due_studies(session: Session, limit: int = DUE_CHUNK) -> list[int]:
    """Ids of up to ``limit`` studies marked due, oldest first."""
    return list(session.scalars(select(Study.id).where(Study.dosimetry_due.is_(True)).order_by(Study.id).limit(limit)))


def due_count(session: Session) -> int:
    """How many studies are marked due."""
    return session.scalar(select(func.count()).select_from(Study).where(Study.dosimetry_due.is_(True))) or 0


def unchanged(session: Session, inputs: StudyInputs) -> bool:
    """True (and the study no longer due) when its rows were computed from these very inputs."""
    study = session.get(Study, inputs.study_id, with_for_update=True)
    if study is None or study.dosimetry_inputs_sha256 != inputs.sha256:
        return study is None
    study.dosimetry_due = False
    return True


def replace_rows(session: Session, inputs: StudyInputs, rows: list[dict]) -> bool:
    """Replace the study's derived rows by ``rows`` (:func:`kerma.derived.compute.compute`'s answer); the caller
    commits.  False when the study is gone.  When its inputs changed while the rows were computed (a report
    arrived, a weight was corrected) the rows are kept and the study stays due: the next round computes it again.
    """
    study = session.get(Study, inputs.study_id, with_for_update=True)
    if study is None:
        return False
    current = gather(session, study.id)
    session.execute(delete(DerivedDose).where(DerivedDose.study_id == study.id))
    described, now = inputs.describe(), clock.now()
    for row in rows:
        session.add(DerivedDose(study_id=study.id, inputs=described, inputs_sha256=inputs.sha256,
                                model_version=MODEL_VERSION, computed_at=now,
                                **{k: row.get(k) for k in COLUMNS if k in row}))
    study.dosimetry_inputs_sha256 = inputs.sha256
    study.dosimetry_due = current is None or current.sha256 != inputs.sha256
    mark_refresh_due([study])  # its totals take the new peak skin dose; its alerts are evaluated again
    return True
