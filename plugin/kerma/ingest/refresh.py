"""After records are stored: each touched study's resolved dose is kept, and its exams classified."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..classify.apply import classify_study, load_rules
from ..db.models import DoseObject, Study
from ..db.records import record
from ..evaluate.evaluator import evaluate_studies
from ..stats.monthly import mark_stale, month_key
from ..study_dose import resolve_study

# resolved total -> Study column
TOTAL_COLUMNS = {
    "ct_dlp_total_mGycm": "total_dlp_mGycm",
    "dap_total_Gycm2": "total_dap_Gycm2",
    "ka_r_total_mGy": "total_ka_r_mGy",
    "fluoro_time_total_s": "total_fluoro_time_s",
    "agd_total_left_mGy": "total_agd_left_mGy",
    "agd_total_right_mGy": "total_agd_right_mGy",
    "administered_activity_MBq": "total_activity_MBq",
    "event_count": "event_count",
}


def refresh_studies(session: Session, study_ids: set[int]) -> None:
    if not study_ids:
        return
    rules = load_rules(session)
    studies = session.scalars(
        select(Study).where(Study.id.in_(study_ids)).options(selectinload(Study.objects).selectinload(DoseObject.events))
    ).all()
    for study in studies:
        refresh_study(study)
        classify_study(study, rules)
    mark_stale(session, {month_key(study.study_date) for study in studies})
    evaluate_studies(session, studies)  # alerts and their outbox messages commit with these records


def refresh_study(study: Study) -> None:
    """Keep the study's resolved totals and mark which event rows its statistics count."""
    objects = [o for o in study.objects if o.status == "ok"]
    resolved = resolve_study([record(o) for o in objects])
    totals = resolved["totals"]
    study.dose_source = resolved["source"]
    for total, column in TOTAL_COLUMNS.items():
        value = totals.get(total)
        setattr(study, column, value if isinstance(value, (int, float)) else None)
    counted = {e["event_id"] for e in resolved["events"] if e.get("event_id") and e.get("slice_count") is None}
    devices = [o.device_id for o in objects if o.source in resolved["sources"].values() and o.device_id]
    study.device_id = devices[0] if devices else None
    for obj in objects:
        for row in obj.events:
            row.counted = row.id in counted
            row.event_date = study.study_date
            row.device_id = obj.device_id


def refresh_unresolved(session: Session) -> int:
    """Resolve studies stored before Kerma kept resolved totals (after an upgrade); returns how many."""
    stale = set(session.scalars(select(DoseObject.study_id).where(DoseObject.status == "ok", DoseObject.study_id.is_not(None))
                                .join(Study, Study.id == DoseObject.study_id).where(Study.dose_source.is_(None))))
    for chunk in range(0, len(stale), 200):
        refresh_studies(session, set(sorted(stale)[chunk:chunk + 200]))
    return len(stale)
