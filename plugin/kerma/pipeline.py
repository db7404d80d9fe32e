"""What happens after dose objects are stored: named stages, in order, over the studies a batch touched.

:func:`after_store` runs :data:`STAGES` in the caller's transaction (the ingest batch's, or the worker's refresh of
studies marked due), so everything a stage writes (resolved totals, exams, month marks, alerts, outbox messages)
commits with the records that caused it, or not at all.  Each stage is a name and one handler taking the
:class:`Batch`; a handler reads what earlier stages left on the batch and may leave something for later ones.

To add a stage, write its handler (``def handler(batch: Batch) -> None``, in the module of what it does) and
put ``Stage("name", handler)`` in :data:`STAGES` at its place.  A stage must stay cheap (it runs on Orthanc's
ingest path): CPU-heavy work (skin dose, reports) is queued here for a process of its own, not done here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, true
from sqlalchemy.orm import Session, selectinload

from .classify.apply import classify_study, load_rules
from .corrections.factors import DeviceFactors
from .derived import study_summaries
from .db.models import DoseObject, ImagingOrder, Study
from .db.states import mark_months_stale
from .evaluate.evaluator import evaluate_studies
from .evaluate.findings import Evaluation
from .notify.outbox import enqueue_alerts
from .reconcile.his import apply_size_on_ingest
from .reconcile.lists import matched_orders
from .record import Event
from .resolution import keep_resolved


@dataclass
class Batch:
    """What the stages share: the session, the touched studies (objects and events loaded), what stages found."""

    session: Session
    studies: list[Study]
    orders: dict[int, ImagingOrder] = field(default_factory=dict)  # study id -> its matched order ("orders")
    events: dict[int, Event] = field(default_factory=dict)  # event row id -> its record, made once ("sources")
    evaluation: Evaluation = field(default_factory=Evaluation)  # "alerts": its new alerts are told by "notification"


@dataclass(frozen=True)
class Stage:
    """One named step after storing, with its handler."""

    name: str
    handler: Callable[[Batch], None]


def orders(batch: Batch) -> None:
    """Height and weight from the HIS where the headers gave none; each study's matched order (a rule input)."""
    apply_size_on_ingest(batch.session, batch.studies)
    batch.orders = matched_orders(batch.session, batch.studies)


def sources(batch: Batch) -> None:
    """Each study's dose from its best sources, corrected where device factors cover it, with Kerma's own estimates
    that alerts and reports read as totals and its contrast, kept on its rows (:func:`kerma.resolution.keep_resolved`,
    which also marks the study's derived doses due)."""
    factors = DeviceFactors(batch.session)
    derived = study_summaries(batch.session, {study.id for study in batch.studies})
    for study in batch.studies:
        for record in keep_resolved(study, factors, derived.get(study.id), batch.orders.get(study.id)):
            batch.events.update((event["event_id"], event) for event in record.events)


def classification(batch: Batch) -> None:
    """Each study's and event's standard exam by the mapping rules."""
    rules = load_rules(batch.session)
    for study in batch.studies:
        classify_study(study, rules, batch.orders.get(study.id), batch.events)


def statistics(batch: Batch) -> None:
    """The months of the studies' dates marked for the month statistics to be recomputed."""
    mark_months_stale(batch.session, {study.study_date for study in batch.studies})


def alerts(batch: Batch) -> None:
    """The enabled alert rules over the studies; what they found is kept for ``notification`` (and the caller)."""
    batch.evaluation = evaluate_studies(batch.session, batch.studies)


def notification(batch: Batch) -> None:
    """The outbox messages of the new alerts (delivered later by :mod:`kerma.notify.poller`)."""
    enqueue_alerts(batch.session, batch.evaluation.raised)


STAGES: tuple[Stage, ...] = (
    Stage("orders", orders),
    Stage("sources", sources),
    Stage("classification", classification),
    Stage("statistics", statistics),
    Stage("alerts", alerts),
    Stage("notification", notification),
)


def after_store(session: Session, study_ids: set[int], stages: tuple[Stage, ...] = STAGES) -> Batch | None:
    """Run ``stages`` over the studies ``study_ids`` (loaded here with their objects and events); the caller commits.

    Returns the batch (what the stages found), None when there were no studies.
    """
    if not study_ids:
        return None
    studies = session.scalars(
        select(Study).where(Study.id.in_(study_ids)).options(selectinload(Study.objects).selectinload(DoseObject.events))
    ).all()
    batch = Batch(session, list(studies))
    for stage in stages:
        stage.handler(batch)
    return batch


EVALUATION: tuple[Stage, ...] = (Stage("alerts", alerts), Stage("notification", notification))
EVALUATION_CHUNK = 200  # studies loaded at a time when stored studies are evaluated again


def reevaluate(session: Session, study_ids: list[int]) -> int:
    """The alert stages again over stored studies (a new alert rule, a mapping change that changed their exams),
    :data:`EVALUATION_CHUNK` at a time; returns how many alerts are new."""
    created = 0
    for start in range(0, len(study_ids), EVALUATION_CHUNK):
        batch = after_store(session, set(study_ids[start:start + EVALUATION_CHUNK]), EVALUATION)
        created += len(batch.evaluation.raised) if batch else 0
    return created


REFRESH_CHUNK = 200  # studies refreshed per transaction when the ingest worker has nothing else to do


def refresh_due(session: Session, limit: int = REFRESH_CHUNK) -> int:
    """Run the stages over up to ``limit`` studies marked due (:func:`kerma.db.states.mark_refresh_due`); how many."""
    # "= true", the partial index's own term (ix_study_refresh_due): PostgreSQL read every study for "IS TRUE"
    due = set(session.scalars(select(Study.id).where(Study.refresh_due == true()).order_by(Study.id).limit(limit)))
    after_store(session, due)
    return len(due)
