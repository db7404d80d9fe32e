"""The register of monitored people and their departments.

A person is known by the identifier the dosimetry service uses (``staff_id``); an import registers the people and
departments it does not know yet.  Staff identifiers and names are personal data: the API shows them only to the roles
that manage occupational dose, audits every read, and exports them pseudonymised or not at all (:mod:`kerma.privacy`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..db.models import OccupationalDepartment, OccupationalPerson


class RegisterError(ValueError):
    """A change the register refuses (a name or identifier already used, a department that does not exist)."""


def iso(value):
    return value.isoformat() if value is not None else None


def department_json(department: OccupationalDepartment | None) -> dict | None:
    if department is None:
        return None
    return {"id": department.id, "name": department.name, "site": department.site}


def person_json(person: OccupationalPerson) -> dict:
    """A person as the API shows it to whoever may read the register (identified)."""
    return {"person_id": person.id, "staff_id": person.staff_id, "name": person.name,
            "department_id": person.department_id, "department": person.department.name if person.department else None,
            "site": person.department.site if person.department else None, "active": person.active,
            "notes": person.notes, "created_at": iso(person.created_at)}


def department_named(session: Session, name: str, actor: str | None, cache: dict | None = None,
                     site: str | None = None) -> OccupationalDepartment:
    """The department called ``name`` (compared without case), registered (at ``site``) when new, audited."""
    key = name.strip().casefold()
    if cache is not None and key in cache:
        return cache[key]
    found = next((d for d in session.scalars(select(OccupationalDepartment)) if d.name.casefold() == key), None)
    if found is None:
        found = OccupationalDepartment(name=name.strip()[:256], site=site)
        session.add(found)
        session.flush()
        audit.record(session, actor, "occupational_department.create", "occupational_department", found.id,
                     after=department_json(found))
    if cache is not None:
        cache[key] = found
    return found


def people_by_staff_id(session: Session, staff_ids) -> dict[str, OccupationalPerson]:
    ids = list(dict.fromkeys(staff_ids))
    found: dict[str, OccupationalPerson] = {}
    for chunk in range(0, len(ids), 500):
        for person in session.scalars(select(OccupationalPerson).where(OccupationalPerson.staff_id.in_(ids[chunk:chunk + 500]))):
            found[person.staff_id] = person
    return found


def register_person(session: Session, staff_id: str, name: str | None, department: OccupationalDepartment | None,
                    actor: str | None, note: str | None = None) -> OccupationalPerson:
    """A new person (audited without their name or identifier: the audit trail is read more widely than the register)."""
    if people_by_staff_id(session, [staff_id]):
        raise RegisterError("a person with this staff identifier is already registered")
    person = OccupationalPerson(staff_id=staff_id, name=name, department=department, active=True)
    session.add(person)
    session.flush()
    audit.record(session, actor, "occupational_person.create", "occupational_person", person.id,
                 after={"department_id": person.department_id}, note=note)
    return person


def update_person(session: Session, person: OccupationalPerson, changes: dict, actor: str | None) -> OccupationalPerson:
    """Change a person's fields (``staff_id``, ``name``, ``department_id``, ``active``, ``notes``); audited with which
    fields changed, not their personal values."""
    if "staff_id" in changes and changes["staff_id"] != person.staff_id \
            and people_by_staff_id(session, [changes["staff_id"]]):
        raise RegisterError("a person with this staff identifier is already registered")
    if changes.get("department_id") is not None and session.get(OccupationalDepartment, changes["department_id"]) is None:
        raise RegisterError("department_id names no department")
    before = {"department_id": person.department_id, "active": person.active}
    changed = sorted(name for name, value in changes.items() if getattr(person, name) != value)
    for name, value in changes.items():
        setattr(person, name, value)
    session.flush()
    session.refresh(person)
    audit.record(session, actor, "occupational_person.update", "occupational_person", person.id, before=before,
                 after={"department_id": person.department_id, "active": person.active, "changed": changed})
    return person
