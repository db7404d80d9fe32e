"""Importing a dosimetry report: a preview that stores nothing, the import itself, and its undo.

The mapping used is, in order: the one the request gives, the service's saved one when it still fits the report's
header, else the one :func:`kerma.occupational.mapping.propose` makes.  Both the preview and the import answer with
the readings, the rows refused (row, column, value, reason), the readings already recorded for the same person,
position and an overlapping period, and the people and departments the import will register.  A duplicate is
refused, or replaces the stored reading (kept, marked ``replaced``), as the request chooses.  Every import and undo
is an audit entry; undoing an import withdraws its readings and brings back the ones it replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from .. import audit, clock
from ..db.models import DoseReading, DosimetryImport, DosimetryService, OccupationalPerson
from .mapping import Mapping, Proposal, propose
from .readings import Parsed, Reading, Refusal, parse_rows
from .register import department_named, iso, people_by_staff_id, register_person
from .report_file import ReportError, ReportFile, read_report

DUPLICATE_CHOICES = ("refuse", "replace")
IMPORT_LOCK = 0x4B45524D41  # PostgreSQL advisory lock key of dosimetry imports ("KERMA")
SHOWN_READINGS = 200  # readings listed in a preview (all are counted)


class ImportRefused(ValueError):
    """A report that cannot be imported as asked (unreadable, or a mapping that does not fit): the reason."""


class UndoRefused(ValueError):
    """An undo that would leave the readings inconsistent, or of an import already undone."""


@dataclass
class Prepared:
    """A report read through its mapping, checked against what is stored."""

    report: ReportFile
    proposal: Proposal
    mapping: Mapping
    mapping_source: str  # given, saved, proposed
    notes: list[str]
    problems: list[str]
    parsed: Parsed | None
    duplicates: dict[int, list[DoseReading]]  # index in parsed.readings -> stored active readings it overlaps
    people: dict[str, OccupationalPerson]
    sha256: str
    earlier_imports: list[int]


def one_at_a_time(session: Session) -> None:
    """Hold the imports' lock until the transaction ends (first thing in an import or undo, before anything is read).

    Two imports of one file at the same moment would otherwise both find no stored reading and both store theirs
    (doubling a person's doses); the second waits and then finds the first's readings as duplicates.  PostgreSQL: a
    transaction-scoped advisory lock.  SQLite: a write takes the database's write lock (pysqlite begins the
    transaction at the first write, so the reads after it are in the locked transaction).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
    else:
        session.execute(update(DosimetryImport).where(DosimetryImport.id.is_(None)).values(filename=None))


def prepare(session: Session, raw: bytes, *, mapping: dict | None = None, service: str | None = None,
            today: dt.date | None = None) -> Prepared:
    """Read ``raw`` (the file's bytes) with the mapping chosen as the module says; nothing is written."""
    today = today or clock.today()
    saved = session.scalar(select(DosimetryService).where(DosimetryService.name == service)) if service else None
    notes: list[str] = []
    chosen = Mapping.from_json(mapping) if mapping is not None else Mapping.from_json(saved.mapping) if saved else None
    source = "given" if mapping is not None else "saved" if saved else "proposed"
    try:
        report = _read(raw, chosen)
        if source == "saved" and chosen.problems(report.header):
            raise ReportError("; ".join(chosen.problems(report.header)))
    except ReportError as exc:
        if source != "saved":
            raise ImportRefused(str(exc)) from None
        notes.append(f"the saved mapping of {service!r} does not fit this report ({exc}): a new one is proposed")
        chosen, source = None, "proposed"
        report = _read(raw, None)
    proposal = propose(report)
    if chosen is None:
        chosen = proposal.mapping
        notes += proposal.notes
    problems = chosen.problems(report.header)
    parsed = None if problems else parse_rows(report, chosen, today)
    people = people_by_staff_id(session, [r.staff_id for r in parsed.readings]) if parsed else {}
    duplicates = _stored_overlaps(session, parsed.readings, people) if parsed else {}
    sha256 = hashlib.sha256(raw).hexdigest()
    earlier = list(session.scalars(select(DosimetryImport.id).where(DosimetryImport.sha256 == sha256,
                                                                    DosimetryImport.undone_at.is_(None))))
    if earlier:
        notes.append(f"this file was imported before (import {', '.join(f'#{i}' for i in earlier)})")
    return Prepared(report, proposal, chosen, source, notes, problems, parsed, duplicates, people, sha256, earlier)


def _read(raw: bytes, mapping: Mapping | None) -> ReportFile:
    try:
        return read_report(raw, mapping.delimiter if mapping else None, mapping.header_row if mapping else None)
    except ReportError as exc:
        if mapping is None:
            raise ImportRefused(str(exc)) from None
        raise


def _stored_overlaps(session: Session, readings: list[Reading], people: dict[str, OccupationalPerson]) -> dict[int, list[DoseReading]]:
    person_ids = [p.id for p in people.values()]
    stored: dict[tuple[int, str], list[DoseReading]] = {}
    for chunk in range(0, len(person_ids), 500):
        for row in session.scalars(select(DoseReading).where(DoseReading.status == "active",
                                                             DoseReading.person_id.in_(person_ids[chunk:chunk + 500]))):
            stored.setdefault((row.person_id, row.position), []).append(row)
    found = {}
    for index, reading in enumerate(readings):
        person = people.get(reading.staff_id)
        if person is None:
            continue
        overlaps = [row for row in stored.get((person.id, reading.position), [])
                    if row.period_start <= reading.period_end and reading.period_start <= row.period_end]
        if overlaps:
            found[index] = overlaps
    return found


def preview_json(prepared: Prepared) -> dict:
    """What a screen shows before the import: format, mapping, how columns were recognised, readings, refusals,
    duplicates, people and departments that would be registered."""
    parsed = prepared.parsed
    answer = {
        "format": {"encoding": prepared.report.encoding, "delimiter": prepared.report.delimiter,
                   "header_row": prepared.report.header_row, "decimal": prepared.mapping.decimal,
                   "date_format": prepared.mapping.date_format},
        "header": prepared.report.header, "mapping": prepared.mapping.as_json(), "mapping_source": prepared.mapping_source,
        "columns": prepared.proposal.columns, "notes": prepared.notes, "problems": prepared.problems,
        "sha256": prepared.sha256, "imported_before": prepared.earlier_imports,
    }
    if parsed is None:
        return {**answer, "rows": None, "readings": [], "refused": [], "duplicates": [], "new_people": [],
                "new_departments": []}
    known_departments = {p.department.name.casefold() for p in prepared.people.values() if p.department}
    new_people = {r.staff_id: {"staff_id": r.staff_id, "name": r.name, "department": r.department}
                  for r in parsed.readings if r.staff_id not in prepared.people}
    return {**answer,
            "rows": {"total": parsed.row_count, "readings": len(parsed.readings), "refused": len(parsed.refused),
                     "duplicates": len(prepared.duplicates)},
            "readings": [r.as_json() for r in parsed.readings[:SHOWN_READINGS]],
            "refused": [r.as_json() for r in parsed.refused],
            "duplicates": [_duplicate_json(parsed.readings[i], rows) for i, rows in sorted(prepared.duplicates.items())],
            "new_people": list(new_people.values()),
            "new_departments": sorted({r.department for r in parsed.readings if r.department
                                       and r.department.casefold() not in known_departments})}


def _duplicate_json(reading: Reading, rows: list[DoseReading]) -> dict:
    return {"row": reading.row, "staff_id": reading.staff_id, "position": reading.position,
            "period_start": reading.period_start.isoformat(), "period_end": reading.period_end.isoformat(),
            "stored": [{"reading_id": r.id, "import_id": r.import_id, "period_start": iso(r.period_start),
                        "period_end": iso(r.period_end)} for r in rows]}


def commit(session: Session, prepared: Prepared, *, actor: str | None, on_duplicate: str = "refuse",
           filename: str | None = None, service: str | None = None, save_mapping: bool = False) -> DosimetryImport:
    """Store what ``prepared`` read: the import row, new people and departments, the readings; duplicates refused or
    replacing the stored ones.  Raises :class:`ImportRefused` when the mapping does not fit the report."""
    if prepared.parsed is None:
        raise ImportRefused("the mapping does not fit the report: " + "; ".join(prepared.problems))
    if on_duplicate not in DUPLICATE_CHOICES:
        raise ImportRefused(f"on_duplicate must be one of {', '.join(DUPLICATE_CHOICES)}")
    saved = _save_mapping(session, service, prepared.mapping, actor) if service and save_mapping else \
        session.scalar(select(DosimetryService).where(DosimetryService.name == service)) if service else None
    refused = list(prepared.parsed.refused)
    record = DosimetryImport(service=saved, filename=filename, sha256=prepared.sha256, mapping=prepared.mapping.as_json(),
                             on_duplicate=on_duplicate, imported_at=clock.now(), imported_by=actor,
                             row_count=prepared.parsed.row_count, reading_count=0, refused=[], replaced_count=0,
                             new_people=[])
    session.add(record)
    session.flush()
    departments: dict = {}
    people = dict(prepared.people)
    replaced: set[int] = set()
    kept = 0
    for index, reading in enumerate(prepared.parsed.readings):
        overlaps = prepared.duplicates.get(index, [])
        if overlaps and on_duplicate == "refuse":
            refused.append(Refusal(reading.row, None, None, "already recorded: " + "; ".join(
                f"reading #{r.id} of import #{r.import_id} ({r.position}, {iso(r.period_start)} to {iso(r.period_end)})"
                for r in overlaps) + "; import again with on_duplicate 'replace' to replace it"))
            continue
        for row in overlaps:
            row.status, row.replaced_by_import_id = "replaced", record.id
            replaced.add(row.id)
        department = department_named(session, reading.department, actor, departments) if reading.department else None
        person = people.get(reading.staff_id)
        if person is None:
            person = register_person(session, reading.staff_id, reading.name, department, actor,
                                     note=f"registered by dosimetry import #{record.id}")
            people[reading.staff_id] = person
            record.new_people = [*record.new_people, person.id]
        session.add(DoseReading(person_id=person.id, department_id=department.id if department else person.department_id,
                                import_id=record.id, source_row=reading.row, period_start=reading.period_start,
                                period_end=reading.period_end, position=reading.position,
                                below_level=reading.below_level or None, dosimeter_id=reading.dosimeter_id,
                                status="active", **reading.doses))
        kept += 1
    record.reading_count, record.replaced_count = kept, len(replaced)
    record.refused = [r.as_json() for r in sorted(refused, key=lambda r: r.row)]
    session.flush()
    audit.record(session, actor, "occupational.import", "dosimetry_import", record.id, after={
        "service": service, "filename": filename, "sha256": prepared.sha256, "rows": record.row_count,
        "readings": kept, "refused": len(refused), "replaced": len(replaced), "on_duplicate": on_duplicate,
        "new_people": len(record.new_people), "mapping_source": prepared.mapping_source})
    return record


def _save_mapping(session: Session, name: str, mapping: Mapping, actor: str | None) -> DosimetryService:
    service = session.scalar(select(DosimetryService).where(DosimetryService.name == name))
    if service is None:
        service = DosimetryService(name=name, mapping=mapping.as_json(), version=1, updated_by=actor)
        session.add(service)
        session.flush()
        audit.record(session, actor, "dosimetry_service.create", "dosimetry_service", service.id, after=service_json(service))
        return service
    before = service_json(service)
    if service.mapping != mapping.as_json():
        service.mapping, service.version, service.updated_by = mapping.as_json(), service.version + 1, actor
        session.flush()
        audit.record(session, actor, "dosimetry_service.update", "dosimetry_service", service.id, before=before,
                     after=service_json(service))
    return service


def service_json(service: DosimetryService) -> dict:
    return {"id": service.id, "name": service.name, "mapping": service.mapping, "version": service.version,
            "updated_by": service.updated_by, "updated_at": iso(service.updated_at)}


def import_json(record: DosimetryImport) -> dict:
    return {"id": record.id, "service": record.service.name if record.service else None, "filename": record.filename,
            "sha256": record.sha256, "imported_at": iso(record.imported_at), "imported_by": record.imported_by,
            "on_duplicate": record.on_duplicate, "rows": record.row_count, "readings": record.reading_count,
            "refused_count": len(record.refused), "replaced": record.replaced_count,
            "new_people": len(record.new_people), "undone_at": iso(record.undone_at), "undone_by": record.undone_by}


def undo(session: Session, record: DosimetryImport, actor: str | None, note: str | None = None) -> set[int]:
    """Withdraw the import's readings and bring back those it replaced; returns the people whose readings changed.

    Refused (:class:`UndoRefused`) for an import already undone, or one whose readings a later import replaced
    (undo that one first).
    """
    if record.undone_at is not None:
        raise UndoRefused(f"import #{record.id} was undone already")
    own = list(session.scalars(select(DoseReading).where(DoseReading.import_id == record.id)))
    later = sorted({r.replaced_by_import_id for r in own if r.status == "replaced"})
    if later:
        raise UndoRefused(f"readings of import #{record.id} were replaced by import "
                          f"{', '.join(f'#{i}' for i in later)}: undo that first")
    restored = list(session.scalars(select(DoseReading).where(DoseReading.replaced_by_import_id == record.id,
                                                              DoseReading.status == "replaced")))
    for row in own:
        row.status = "undone"
    for row in restored:
        row.status, row.replaced_by_import_id = "active", None
    record.undone_at, record.undone_by = clock.now(), actor
    session.flush()
    audit.record(session, actor, "occupational.import.undo", "dosimetry_import", record.id,
                 before={"readings": len(own)}, after={"withdrawn": len(own), "restored": len(restored)}, note=note)
    return {r.person_id for r in own} | {r.person_id for r in restored}
