"""REST: occupational dose (issue 13 §6): the register of monitored people and departments, dosimetry services and
their column mappings, the import of a dosimetry report (preview, import, undo), readings and summaries.

Staff identifiers and names are personal data: every route that answers with them is audited (``personal=True``),
exports are identified, pseudonymised or anonymised as asked and say which.  Everything here needs the physicist
role (the radiation protection officer or medical physics expert), except the vocabulary.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import audit, clock
from ..access import PHYSICIST, VIEWER
from ..db.models import (Alert, DoseReading, DosimetryImport, DosimetryService, OccupationalDepartment,
                         OccupationalPerson)
from ..evaluate.occupational import evaluate_people, occupational_rules, reached
from ..notify.outbox import enqueue_alerts
from ..occupational import imports, vocabulary
from ..occupational.estimates import Window, methods_used
from ..occupational.mapping import Mapping
from ..occupational.register import RegisterError, department_json, department_named, person_json, register_person, update_person
from ..occupational.summaries import department_rows, person_row, person_summaries
from ..occupational.values import DATE_FORMATS
from .export import rows_answer
from .his import page
from .router import ApiError, Context, Request, route
from .schemas import Body, Day, Flag, Id, NoteBody, Order, Page, Query, body, column_text, path_row, query, sort_field, text
from .views import iso

MAX_REPORT_CHARACTERS = 256 << 10  # the request body's own bound (kerma.api.http) is the real one
FieldName = Literal[vocabulary.FIELDS]
PositionCode = Literal[tuple(vocabulary.positions())]
Algorithm = Literal[vocabulary.two_dosimeter_methods()]
Header = text(256, nonempty=True)


class DoseColumnBody(Body):
    column: Header
    quantity: Literal[vocabulary.READING_QUANTITIES]
    position: PositionCode | None = None
    unit: Literal[tuple(vocabulary.units())] | None = None


class MappingBody(Body):
    """A column mapping (:class:`kerma.occupational.mapping.Mapping`), as the preview proposes it and the user edits it."""

    columns: dict[FieldName, Annotated[list[Header], Field(max_length=4)]] = {}
    doses: Annotated[list[DoseColumnBody], Field(max_length=100)] = []
    delimiter: Literal[",", ";", "\t", "|"] | None = None
    header_row: Annotated[int, Field(ge=0, le=1000)] | None = None
    decimal: Literal[".", ","] = "."
    date_format: Literal[DATE_FORMATS] | None = None
    positions: Annotated[dict[Header, PositionCode], Field(max_length=200)] = {}
    default_position: PositionCode | None = None


class ReportBody(Body):
    """A dosimetry report: its text, or its bytes in base64 (then its encoding is found: UTF-8, UTF-16, Windows-1252)."""

    content: text(MAX_REPORT_CHARACTERS) | None = None
    content_base64: text(MAX_REPORT_CHARACTERS) | None = None
    filename: text(1000) | None = None
    service: column_text(DosimetryService.name, nonempty=True) | None = None
    mapping: MappingBody | None = None

    @model_validator(mode="after")
    def _one_content(self):
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give the report as content (text) or content_base64, one of them")
        return self

    def raw(self) -> bytes:
        if self.content is not None:
            return self.content.encode("utf-8")
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "content_base64: not base64") from None

    def mapping_json(self) -> dict | None:
        return self.mapping.model_dump() if self.mapping is not None else None


class ImportBody(ReportBody):
    on_duplicate: Literal[imports.DUPLICATE_CHOICES] = "refuse"
    save_mapping: bool = False


def _prepare(session: Session, report: ReportBody):
    try:
        return imports.prepare(session, report.raw(), mapping=report.mapping_json(), service=report.service)
    except imports.ImportRefused as exc:
        raise ApiError(400, str(exc)) from None


# --- the vocabulary ---------------------------------------------------------------------------------------------


@route("GET", r"occupational/vocabulary", role=VIEWER)
def vocabulary_answer(ctx: Context, session: Session, request: Request):
    """What a mapping screen offers: fields, positions, units, quantities, the estimate methods with their sources."""
    return {"fields": list(vocabulary.FIELDS), "reading_quantities": list(vocabulary.READING_QUANTITIES),
            "positions": [p.__dict__ for p in vocabulary.positions().values()],
            "units": vocabulary.units(), "date_formats": list(DATE_FORMATS), "windows": list(vocabulary.WINDOWS),
            "quantities": [q.__dict__ for q in vocabulary.quantities().values()],
            "effective_dose_methods": [{**m.__dict__, "positions": list(m.positions), "coefficients": list(m.coefficients)}
                                       for m in vocabulary.effective_methods().values()],
            "effective_dose_algorithms": list(vocabulary.two_dosimeter_methods()),
            "lens_dose_methods": [m.__dict__ for m in vocabulary.lens_methods()],
            "on_duplicate": list(imports.DUPLICATE_CHOICES)}


# --- departments and people -------------------------------------------------------------------------------------


class DepartmentBody(Body):
    name: column_text(OccupationalDepartment.name, nonempty=True)
    site: column_text(OccupationalDepartment.site) | None = None


@route("GET", r"occupational/departments", role=PHYSICIST)
def list_departments(ctx: Context, session: Session, request: Request):
    return {"departments": [department_json(d) for d in
                            session.scalars(select(OccupationalDepartment).order_by(OccupationalDepartment.name))]}


@route("POST", r"occupational/departments", role=PHYSICIST)
def create_department(ctx: Context, session: Session, request: Request):
    fields = body(request, DepartmentBody)
    if any(d.name.casefold() == fields.name.strip().casefold() for d in session.scalars(select(OccupationalDepartment))):
        raise ApiError(409, "a department of this name exists")
    return department_json(department_named(session, fields.name, request.user, site=fields.site))


@route("PUT", r"occupational/departments/(?P<id>\d+)", role=PHYSICIST)
def update_department(ctx: Context, session: Session, request: Request):
    department = path_row(session, request, OccupationalDepartment, "department")
    before = department_json(department)
    fields = body(request, DepartmentBody, {"name": department.name, "site": department.site})
    if fields.name.casefold() != department.name.casefold() and any(
            d.name.casefold() == fields.name.strip().casefold() for d in session.scalars(select(OccupationalDepartment))):
        raise ApiError(409, "a department of this name exists")
    department.name, department.site = fields.name.strip(), fields.site
    session.flush()
    audit.record(session, request.user, "occupational_department.update", "occupational_department", department.id,
                 before=before, after=department_json(department))
    return department_json(department)


PEOPLE_SORTS = {"person_id": OccupationalPerson.id, "staff_id": OccupationalPerson.staff_id,
                "name": OccupationalPerson.name, "department_id": OccupationalPerson.department_id,
                "created_at": OccupationalPerson.created_at}
IMPORT_SORTS = {"id": DosimetryImport.id, "imported_at": DosimetryImport.imported_at,
                "filename": DosimetryImport.filename, "imported_by": DosimetryImport.imported_by,
                "rows": DosimetryImport.row_count, "readings": DosimetryImport.reading_count,
                "undone_at": DosimetryImport.undone_at}


class PeopleQuery(Page):
    sort: sort_field(PEOPLE_SORTS) = "person_id"
    order: Order = "asc"
    department_id: Id | None = None
    staff_id: column_text(OccupationalPerson.staff_id) | None = None
    active: Flag | None = None


@route("GET", r"occupational/people", role=PHYSICIST, personal=True)
def list_people(ctx: Context, session: Session, request: Request):
    q = query(request, PeopleQuery)
    stmt = select(OccupationalPerson).options(selectinload(OccupationalPerson.department))
    if q.department_id:
        stmt = stmt.where(OccupationalPerson.department_id == q.department_id)
    if q.staff_id:
        stmt = stmt.where(OccupationalPerson.staff_id == q.staff_id)
    if q.active is not None:
        stmt = stmt.where(OccupationalPerson.active.is_(q.active))
    return page(session, stmt, q, "people", person_json, PEOPLE_SORTS, OccupationalPerson.id)


class PersonBody(Body):
    staff_id: column_text(OccupationalPerson.staff_id, nonempty=True)
    name: text(1000) | None = None
    department_id: Id | None = None
    active: bool = True
    notes: text() | None = None


@route("POST", r"occupational/people", role=PHYSICIST)
def create_person(ctx: Context, session: Session, request: Request):
    fields = body(request, PersonBody)
    department = session.get(OccupationalDepartment, fields.department_id) if fields.department_id else None
    if fields.department_id and department is None:
        raise ApiError(400, "department_id names no department")
    try:
        person = register_person(session, fields.staff_id.strip(), fields.name, department, request.user)
    except RegisterError as exc:
        raise ApiError(409, str(exc)) from None
    person.active, person.notes = fields.active, fields.notes
    return person_json(person)


def reading_json(row: DoseReading) -> dict:
    return {"reading_id": row.id, "person_id": row.person_id, "department_id": row.department_id,
            "import_id": row.import_id, "source_row": row.source_row, "period_start": iso(row.period_start),
            "period_end": iso(row.period_end), "position": row.position,
            **{q: getattr(row, q) for q in vocabulary.READING_QUANTITIES}, "below_level": row.below_level,
            "dosimeter_id": row.dosimeter_id, "status": row.status, "replaced_by_import_id": row.replaced_by_import_id}


@route("GET", r"occupational/people/(?P<id>\d+)", role=PHYSICIST, personal=True)
def get_person(ctx: Context, session: Session, request: Request):
    """The person, every reading (replaced and withdrawn ones too, with their status), this calendar year's and the
    last 12 months' summaries, and the person's alerts."""
    person = path_row(session, request, OccupationalPerson, "person")
    rows = session.scalars(select(DoseReading).where(DoseReading.person_id == person.id)
                           .order_by(DoseReading.period_end, DoseReading.position, DoseReading.id)).all()
    today = clock.today()
    algorithm = vocabulary.two_dosimeter_methods()[0]
    summaries = {}
    for window in (Window.calendar_year(today.year), Window.rolling_12_months(today)):
        found = person_summaries(session, window, algorithm, person_ids=[person.id])
        summaries[window.kind] = {**found[0][1].as_json(), "methods": methods_used(found[0][1])} if found else \
            {"window": window.as_json(), "periods": 0}
    alerts = session.scalars(select(Alert).where(Alert.person_id == person.id).order_by(Alert.id)).all()
    return {**person_json(person), "readings": [reading_json(r) for r in rows], "summaries": summaries,
            "alerts": [{"id": a.id, "status": a.status, "severity": a.severity, "rule": a.rule.get("name"),
                        "quantity": a.quantity, "value": a.value, "threshold": a.threshold, "subject": a.subject}
                       for a in alerts]}


class PersonChanges(Body):
    staff_id: column_text(OccupationalPerson.staff_id, nonempty=True) | None = None
    name: text(1000) | None = None
    department_id: Id | None = None
    active: bool | None = None
    notes: text() | None = None


@route("PUT", r"occupational/people/(?P<id>\d+)", role=PHYSICIST)
def change_person(ctx: Context, session: Session, request: Request):
    person = path_row(session, request, OccupationalPerson, "person")
    changes = body(request, PersonChanges).given()
    if changes.get("staff_id") is None:
        changes.pop("staff_id", None)
    if changes.get("active") is None:
        changes.pop("active", None)
    try:
        person = update_person(session, person, changes, request.user)
    except RegisterError as exc:
        raise ApiError(409 if "already" in str(exc) else 400, str(exc)) from None
    return person_json(person)


# --- dosimetry services and their mappings ----------------------------------------------------------------------


class ServiceBody(Body):
    name: column_text(DosimetryService.name, nonempty=True)
    mapping: MappingBody


@route("GET", r"occupational/services", role=PHYSICIST)
def list_services(ctx: Context, session: Session, request: Request):
    return {"services": [imports.service_json(s) for s in session.scalars(select(DosimetryService).order_by(DosimetryService.name))]}


@route("POST", r"occupational/services", role=PHYSICIST)
def create_service(ctx: Context, session: Session, request: Request):
    fields = body(request, ServiceBody)
    if session.scalar(select(DosimetryService).where(DosimetryService.name == fields.name)) is not None:
        raise ApiError(409, "a dosimetry service of this name exists")
    service = DosimetryService(name=fields.name, mapping=Mapping.from_json(fields.mapping.model_dump()).as_json(),
                               version=1, updated_by=request.user)
    session.add(service)
    session.flush()
    audit.record(session, request.user, "dosimetry_service.create", "dosimetry_service", service.id,
                 after=imports.service_json(service))
    return imports.service_json(service)


@route("PUT", r"occupational/services/(?P<id>\d+)", role=PHYSICIST)
def update_service(ctx: Context, session: Session, request: Request):
    service = path_row(session, request, DosimetryService, "dosimetry service")
    before = imports.service_json(service)
    fields = body(request, ServiceBody, {"name": service.name, "mapping": service.mapping})
    if fields.name != service.name and session.scalar(select(DosimetryService).where(DosimetryService.name == fields.name)):
        raise ApiError(409, "a dosimetry service of this name exists")
    service.name, service.mapping = fields.name, Mapping.from_json(fields.mapping.model_dump()).as_json()
    service.version, service.updated_by = service.version + 1, request.user
    session.flush()
    audit.record(session, request.user, "dosimetry_service.update", "dosimetry_service", service.id, before=before,
                 after=imports.service_json(service))
    return imports.service_json(service)


# --- imports ----------------------------------------------------------------------------------------------------


@route("POST", r"occupational/imports/preview", role=PHYSICIST, personal=True)
def preview_import(ctx: Context, session: Session, request: Request):
    """The report read through its mapping, checked against what is stored; nothing is written."""
    return imports.preview_json(_prepare(session, body(request, ReportBody)))


@route("POST", r"occupational/imports", role=PHYSICIST, personal=True)
def import_report(ctx: Context, session: Session, request: Request):
    """Import the report; its rules are evaluated for the people it touched (alerts in the same transaction)."""
    fields = body(request, ImportBody)
    imports.one_at_a_time(session)
    prepared = _prepare(session, fields)
    try:
        record = imports.commit(session, prepared, actor=request.user, on_duplicate=fields.on_duplicate,
                                filename=fields.filename, service=fields.service, save_mapping=fields.save_mapping)
    except imports.ImportRefused as exc:
        raise ApiError(400, str(exc)) from None
    touched = set(session.scalars(select(DoseReading.person_id).where(DoseReading.import_id == record.id)))
    alerts = enqueue_alerts(session, evaluate_people(session, touched))
    return {**imports.import_json(record), "refused": record.refused, "new_alerts": [a.id for a in alerts],
            "preview": {k: v for k, v in imports.preview_json(prepared).items() if k in ("format", "mapping", "notes")}}


class ImportQuery(Page):
    sort: sort_field(IMPORT_SORTS) = "id"
    order: Order = "desc"


@route("GET", r"occupational/imports", role=PHYSICIST)
def list_imports(ctx: Context, session: Session, request: Request):
    q = query(request, ImportQuery)
    return page(session, select(DosimetryImport).options(selectinload(DosimetryImport.service)), q, "imports",
                imports.import_json, IMPORT_SORTS, DosimetryImport.id)


@route("GET", r"occupational/imports/(?P<id>\d+)", role=PHYSICIST, personal=True)
def get_import(ctx: Context, session: Session, request: Request):
    """The import with its mapping, every refused row and reason, and the audit trail."""
    record = path_row(session, request, DosimetryImport, "import")
    trail = session.scalars(audit.query(target_type="dosimetry_import", target_id=str(record.id))).all()
    return {**imports.import_json(record), "mapping": record.mapping, "refused": record.refused,
            "audit": [audit.as_json(e) for e in reversed(trail)]}


@route("POST", r"occupational/imports/(?P<id>\d+)/undo", role=PHYSICIST)
def undo_import(ctx: Context, session: Session, request: Request):
    imports.one_at_a_time(session)
    record = path_row(session, request, DosimetryImport, "import")
    try:
        people = imports.undo(session, record, request.user, body(request, NoteBody).note)
    except imports.UndoRefused as exc:
        raise ApiError(409, str(exc)) from None
    alerts = enqueue_alerts(session, evaluate_people(session, people))
    return {**imports.import_json(record), "new_alerts": [a.id for a in alerts]}


# --- readings and summaries -------------------------------------------------------------------------------------


class ReadingQuery(Page):
    person_id: Id | None = None
    department_id: Id | None = None
    import_id: Id | None = None
    position: PositionCode | None = None
    status: Literal["active", "replaced", "undone"] | None = "active"
    date_from: Day | None = None
    date_to: Day | None = None
    limit: Annotated[int, Field(ge=1, le=5000)] = 500


@route("GET", r"occupational/readings", role=PHYSICIST, personal=True)
def list_readings(ctx: Context, session: Session, request: Request):
    """Readings (period end between ``date_from`` and ``date_to``) with the person's identity, as JSON or CSV."""
    q = query(request, ReadingQuery)
    stmt = select(DoseReading).options(selectinload(DoseReading.person).selectinload(OccupationalPerson.department)) \
        .order_by(DoseReading.period_end, DoseReading.person_id, DoseReading.position, DoseReading.id)
    for name in ("person_id", "department_id", "import_id", "position", "status"):
        if getattr(q, name) is not None:
            stmt = stmt.where(getattr(DoseReading, name) == getattr(q, name))
    if q.date_from:
        stmt = stmt.where(DoseReading.period_end >= q.date_from)
    if q.date_to:
        stmt = stmt.where(DoseReading.period_end <= q.date_to)
    rows = session.scalars(stmt.limit(q.limit).offset(q.offset)).all()
    return rows_answer(ctx, request, "readings", [
        {**reading_json(r), "staff_id": r.person.staff_id, "name": r.person.name} for r in rows])


class SummaryQuery(Query):
    by: Literal["person", "department"] = "person"
    window: Literal[vocabulary.WINDOWS] = "calendar_year"
    year: Annotated[int, Field(ge=1900, le=2999)] | None = None
    end: Day | None = None
    algorithm: Algorithm | None = None
    department_id: Id | None = None
    person_id: Id | None = None

    def window_of(self) -> Window:
        if self.window == "calendar_year":
            return Window.calendar_year(self.year or clock.today().year)
        return Window.rolling_12_months(self.end or clock.today())


@route("GET", r"occupational/summary", role=PHYSICIST, personal=True)
def summary(ctx: Context, session: Session, request: Request):
    """Sums per person (or department) and dosimeter position over a calendar year (``year``, this one by default)
    or the 12 months to ``end`` (today by default), with the estimates, their methods and the levels reached."""
    q = query(request, SummaryQuery)
    window = q.window_of()
    algorithm = q.algorithm or vocabulary.two_dosimeter_methods()[0]
    rules = [r for r in occupational_rules(session) if r.param("window") == window.kind]
    if q.by == "department":
        rows = department_rows(session, window, algorithm, q.department_id)
    else:
        rows = []
        for person, found in person_summaries(session, window, algorithm, department_id=q.department_id,
                                              person_ids=[q.person_id] if q.person_id else None):
            row = person_row(person, found)
            row["levels_reached"] = [r.snapshot["code"] or r.name for r in rules if reached(r, person, found)] or None
            rows.append(row)
    return rows_answer(ctx, request, "summary", rows, {
        "by": q.by, "window": window.as_json(), "effective_dose_algorithm": algorithm,
        "levels": [{"id": r.id, "code": r.snapshot["code"], "name": r.name, "quantity": r.quantity,
                    "severity": r.severity, "threshold_mSv": r.param("threshold"), "site": r.param("site"),
                    "department_id": r.param("department_id"), "source": r.snapshot["source"]} for r in rules],
        "note": "Every dose here is an estimate for a reference person from the dosimeters' readings (methods in "
                "GET occupational/vocabulary); a reading below the recording level counts as 0."})


@route("POST", r"occupational/evaluate", role=PHYSICIST)
def evaluate(ctx: Context, session: Session, request: Request):
    """Run the occupational rules over everyone's readings (after a rule or level changed)."""
    alerts = enqueue_alerts(session, evaluate_people(session))
    audit.record(session, request.user, "alert.evaluate", "alert", None, note=f"occupational: {len(alerts)} new alerts")
    return {"new_alerts": [a.id for a in alerts]}
