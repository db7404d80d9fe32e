"""The reconciliation worklists: dose without order, completed order without dose, disagreements with
the HIS, and patients not yet identified.

A study matches an order when it was assigned to it by hand (``Study.order_id``), else
by accession number, else by patient ID and day (study date = scheduled date).
Cancelled orders match only by hand.  Only studies with dose data (an ``ok`` dose
object) take part.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, or_, select, union
from sqlalchemy.orm import Session

from ..db.models import DoseObject, ImagingOrder, IrradiationEvent, PatientRecord, PerformedProcedureStep, Study
from ..db.states import CANCELLED, COMPLETED
from ..patterns import PatternError, compile_pattern

log = logging.getLogger("kerma.reconcile")


@dataclass(frozen=True)
class Window:
    """Which studies a list looks at: study dates from/to (inclusive), either open."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _dose_studies(window: Window):
    stmt = select(Study).where(Study.id.in_(select(DoseObject.study_id).where(DoseObject.status == "ok")))
    if window.date_from:
        stmt = stmt.where(Study.study_date >= window.date_from)
    if window.date_to:
        stmt = stmt.where(Study.study_date <= window.date_to)
    return stmt


def _study_matches_order():
    """SQL: the study of the outer query matches the order of the outer query."""
    return or_(
        Study.order_id == ImagingOrder.id,
        and_(ImagingOrder.status != CANCELLED, or_(
            and_(ImagingOrder.accession_number.is_not(None), Study.accession_number == ImagingOrder.accession_number),
            and_(ImagingOrder.patient_id.is_not(None), Study.patient_id == ImagingOrder.patient_id,
                 Study.study_date == ImagingOrder.scheduled_date),
        )),
    )


# what a dose value is: the study totals and the event fields that measure dose (technique factors such as kVp and
# mAs, and exposure indicators, are not dose values)
DOSE_TOTALS = ("total_dlp_mGycm", "total_dap_Gycm2", "total_ka_r_mGy", "total_agd_left_mGy", "total_agd_right_mGy",
               "total_activity_MBq")
DOSE_EVENT_FIELDS = ("ctdivol_mGy", "dlp_mGycm", "dap_Gycm2", "ka_r_mGy", "agd_mGy", "entrance_exposure_at_rp_mGy",
                     "administered_activity_MBq")


def studies_without_dose_values(window: Window = Window()) -> Select:
    """Examinations recorded (an exposure Kerma counts) whose records carry no dose value, newest first (a
    statement: the database counts it and cuts it into pages).

    E.g. radiographs from a CR reader that writes no DAP: the examination happened (it matches its order and
    counts in the examination and device tables), but its dose is unknown.  Not "order without dose".
    """
    dosed_event = (select(IrradiationEvent.id).where(IrradiationEvent.study_id == Study.id, IrradiationEvent.counted.is_(True),
                                                     or_(*[getattr(IrradiationEvent, f).is_not(None) for f in DOSE_EVENT_FIELDS])))
    return (_dose_studies(window).where(*[getattr(Study, t).is_(None) for t in DOSE_TOTALS], ~dosed_event.exists())
            .order_by(Study.study_date.desc(), Study.id.desc()))


def studies_of_order(session: Session, order: ImagingOrder) -> list[Study]:
    """The studies with dose data that match the order (by hand, accession number, or patient and day), or did
    before it was cancelled.

    Written with the order's own values, so that each term uses its index (one order, many studies).
    """
    terms = [Study.order_id == order.id]
    if order.accession_number:
        terms.append(Study.accession_number == order.accession_number)
    if order.patient_id and order.scheduled_date:
        terms.append(and_(Study.patient_id == order.patient_id, Study.study_date == order.scheduled_date))
    return list(session.scalars(_dose_studies(Window()).where(or_(*terms))))


def studies_without_order(window: Window = Window()) -> Select:
    """Studies with dose data that no order matches, newest first (a statement: the database counts it and cuts
    it into pages)."""
    return _dose_studies(window).where(~_has_order()).order_by(Study.study_date.desc(), Study.id.desc())


def _has_order():
    """SQL: some order matches the study of the outer query."""
    return exists(select(ImagingOrder.id).where(_study_matches_order()))


def orders_without_dose(session: Session, now: dt.datetime, delay_hours: float) -> list[ImagingOrder]:
    """Orders done at least ``delay_hours`` before ``now`` that no study with dose data matches.

    Done: completed by the RIS, or performed by the modality (an MPPS that matches the order ended then, see
    :func:`performed_steps`), whatever the RIS said, unless the order was cancelled.
    """
    cutoff = now - dt.timedelta(hours=delay_hours)
    has_dose = exists(_dose_studies(Window()).with_only_columns(Study.id).where(_study_matches_order()))
    performed = exists(select(PerformedProcedureStep.id).where(
        _step_matches_order(), PerformedProcedureStep.ended_at <= cutoff))
    stmt = (select(ImagingOrder)
            .where(or_(and_(ImagingOrder.status == COMPLETED, ImagingOrder.completed_at <= cutoff),
                       and_(ImagingOrder.status != CANCELLED, performed)), ~has_dose)
            .order_by(ImagingOrder.completed_at.desc().nulls_last(), ImagingOrder.id.desc()))
    return list(session.scalars(stmt))


def _step_matches_order():
    """SQL: the MPPS of the outer query was performed for the order of the outer query (accession number or
    Study Instance UID of its Scheduled Step Attributes)."""
    return or_(
        and_(PerformedProcedureStep.accession_number.is_not(None),
             PerformedProcedureStep.accession_number == ImagingOrder.accession_number),
        and_(PerformedProcedureStep.study_instance_uid.is_not(None),
             PerformedProcedureStep.study_instance_uid == ImagingOrder.study_instance_uid),
    )


def performed_steps(session: Session, orders: list[ImagingOrder]) -> dict[int, PerformedProcedureStep]:
    """The ended MPPS of each order that has one (the latest): the modality says it was performed."""
    if not orders:
        return {}
    rows = session.execute(select(ImagingOrder.id, PerformedProcedureStep)
                           .join(PerformedProcedureStep, _step_matches_order())
                           .where(ImagingOrder.id.in_([o.id for o in orders]), PerformedProcedureStep.ended_at.is_not(None))
                           .order_by(PerformedProcedureStep.ended_at)).all()
    return {order_id: step for order_id, step in rows}


def matched_orders(session: Session, studies: list[Study]) -> dict[int, ImagingOrder]:
    """The order of each study that has one: by hand, else accession number, else patient ID and day."""
    linked = {s.order_id for s in studies if s.order_id}
    accessions = {s.accession_number for s in studies if s.accession_number}
    patients = {s.patient_id for s in studies if s.patient_id}
    if not (linked or accessions or patients):
        return {}
    candidates = session.scalars(select(ImagingOrder).where(or_(
        ImagingOrder.id.in_(linked), ImagingOrder.accession_number.in_(accessions), ImagingOrder.patient_id.in_(patients),
    )).order_by(ImagingOrder.id)).all()
    by_id = {o.id: o for o in candidates}
    by_accession, by_patient_day = {}, {}
    for order in candidates:
        if order.status == CANCELLED:
            continue
        if order.accession_number:
            by_accession.setdefault(order.accession_number, order)
        if order.patient_id and order.scheduled_date:
            by_patient_day.setdefault((order.patient_id, order.scheduled_date), order)
    found = {}
    for study in studies:
        order = (by_id.get(study.order_id) or by_accession.get(study.accession_number)
                 or by_patient_day.get((study.patient_id, study.study_date)))
        if order is not None:
            found[study.id] = order
    return found


def mismatches(session: Session, window: Window = Window()) -> list[dict]:
    """Studies whose patient disagrees with the HIS, each with its differences.

    The HIS's patient is the matched order's patient, else the study's own patient ID
    when the HIS knows it.  Differences: ``patient_id`` (study vs order), ``merged``
    (the study's ID was merged into another), ``name`` (family and given names,
    case-insensitive), ``birth_date``, ``sex``.  Values the study or the HIS lacks are
    not differences.
    """
    # only studies the HIS says something about can disagree with it: those an order matches, or whose patient ID
    # it has a record of; found from the HIS's side, each way of matching by its index (asking every study whether
    # an order or a record matches it read all of them: 1.8 s at 333,000 studies)
    live = ImagingOrder.status != CANCELLED
    said_about = union(
        select(Study.id).where(Study.order_id.is_not(None)),  # assigned by hand (a foreign key: the order exists)
        select(Study.id).join(ImagingOrder, and_(live, ImagingOrder.accession_number.is_not(None),
                                                 Study.accession_number == ImagingOrder.accession_number)),
        select(Study.id).join(ImagingOrder, and_(live, ImagingOrder.patient_id.is_not(None),
                                                 Study.patient_id == ImagingOrder.patient_id,
                                                 Study.study_date == ImagingOrder.scheduled_date)),
        select(Study.id).join(PatientRecord, PatientRecord.patient_id == Study.patient_id))
    studies = list(session.scalars(_dose_studies(window).where(Study.id.in_(said_about))
                                   .order_by(Study.study_date.desc(), Study.id.desc())))
    orders = matched_orders(session, studies)
    wanted = {s.patient_id for s in studies if s.patient_id} | {o.patient_id for o in orders.values() if o.patient_id}
    records = {r.patient_id: r for r in session.scalars(select(PatientRecord).where(PatientRecord.patient_id.in_(wanted)))}
    found = []
    for study in studies:
        order = orders.get(study.id)
        differences = []
        his_id = order.patient_id if order is not None and order.patient_id else study.patient_id
        if his_id != study.patient_id:
            differences.append({"field": "patient_id", "study": study.patient_id, "his": his_id})
        record = records.get(his_id)
        if record is not None and record.merged_into:
            differences.append({"field": "merged", "study": study.patient_id, "his": record.merged_into})
        elif record is not None:
            differences += _demographic_differences(study, record)
        if differences:
            found.append({"study": study, "order": order, "his_patient": record, "differences": differences})
    return found


def _demographic_differences(study: Study, record: PatientRecord) -> list[dict]:
    pairs = (("name", study.patient_name, record.name, name_key), ("birth_date", study.patient_birth_date, record.birth_date, None),
             ("sex", study.patient_sex, record.sex, str.upper))
    differences = []
    for name, ours, theirs, key in pairs:
        if ours is None or theirs is None:
            continue
        if (key(ours) if key else ours) != (key(theirs) if key else theirs):
            differences.append({"field": name, "study": ours, "his": theirs})
    return differences


def name_key(name: str) -> tuple[str, str]:
    """Family and given name, upper case, spaces folded: what must agree between DICOM and HL7 names."""
    parts = [" ".join(p.split()).upper() for p in name.split("^")] + ["", ""]
    return parts[0], parts[1]


def placeholder_patients(session: Session, patterns: tuple[str, ...], window: Window = Window()) -> list[Study]:
    """Studies with dose data whose patient ID is empty, or whose ID or name looks like a placeholder.

    ``patterns`` are regular expressions (RE2, :mod:`kerma.patterns`) searched case-insensitively in
    the patient ID and in the name (``"UNKNOWN"``, ``"^NN"``, ``"Motorbike"``...); one RE2 refuses is
    logged and left out.
    """
    compiled = []
    for source in patterns:
        try:
            compiled.append(compile_pattern(source))
        except PatternError as exc:
            log.error("PlaceholderPatientPatterns: %s left out", exc)

    def placeholder(value: str | None) -> bool:
        return bool(value) and any(p.search(value) for p in compiled)

    pairs = session.execute(_dose_studies(window).with_only_columns(Study.patient_id, Study.patient_name).distinct()).all()
    flagged = [(pid, name) for pid, name in pairs if not pid or placeholder(pid) or placeholder(name)]
    if not flagged:
        return []
    conditions = [and_(Study.patient_id.is_(pid) if pid is None else Study.patient_id == pid,
                       Study.patient_name.is_(name) if name is None else Study.patient_name == name)
                  for pid, name in flagged]
    stmt = _dose_studies(window).where(or_(*conditions)).order_by(Study.study_date.desc(), Study.id.desc())
    return list(session.scalars(stmt))
