"""Loading DRL tables and finding the level that applies to a study or an event.

``data/national_drls.csv`` holds the verified rows of the project's reference
table (built by ``scripts/build_drl_table.py``), each with its citation.  A
site can load other tables with :func:`load_table`; rows whose number was not
read in a primary or peer-reviewed text are loaded disabled, visible and
marked, until a physicist checks and enables them.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, case, null, or_, select, true
from sqlalchemy.orm import Session

from ..db.models import DrlSet, DrlValue, StandardExam
from .reference import VERIFIED, kerma_row

SHIPPED = Path(__file__).with_name("data") / "national_drls.csv"
ADULT_FROM_YEARS = 16.0  # age from which a patient without another band counts as adult


def _rows(path: Path):
    with open(path, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(line for line in fh if not line.startswith("#"))


def _year(text: str | None) -> int | None:
    match = re.match(r"\s*(\d{4})", text or "")  # "2022 (inferred)"
    return int(match.group(1)) if match else None


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _last_day_in_force(status: str | None) -> dt.date | None:
    """``superseded_2025-07-01`` → 2025-06-30 (a status naming only the year says no day)."""
    match = re.fullmatch(r"superseded_(\d{4}-\d{2}-\d{2})", (status or "").strip())
    return dt.date.fromisoformat(match.group(1)) - dt.timedelta(days=1) if match else None


def exam_for(session: Session, scheme: str, modality: str, examination: str, indication: str | None) -> StandardExam:
    """The standard exam a DRL list names (created on first use, scheme = the list)."""
    name = f"{examination} — {indication}" if indication else examination
    code = re.sub(r"[^a-z0-9]+", "-", f"{modality} {name}".lower()).strip("-")[:64]
    exam = session.scalars(select(StandardExam).where(StandardExam.scheme == scheme, StandardExam.code == code)).first()
    if exam is None:
        exam = StandardExam(scheme=scheme, code=code, name=name, modality=modality)
        session.add(exam)
        session.flush()
    return exam


def load_table(session: Session, path: Path = SHIPPED, kind: str = "national") -> int:
    """Load a table in the shipped format (the shipped one by default); sets already present are left as they are.

    Returns the number of values added: when it is not 0, the caller marks the month statistics stale
    (:func:`kerma.db.states.mark_months_stale`).  A set is enabled
    when its status is ``current``; a value when its number was verified in the primary text.
    """
    return _load(session, _rows(path), kind)


def load_reference_table(session: Session, path: Path, kind: str = "national") -> int:
    """Load a table in the project's reference format (``drl_reference_levels.csv``): every row, unverified ones disabled."""
    with open(path, newline="", encoding="utf-8") as fh:
        return _load(session, [kerma_row(r) for r in csv.DictReader(fh)], kind)


def _load(session: Session, rows, kind: str) -> int:
    existing = set(session.scalars(select(DrlSet.name)))
    sets: dict[str, DrlSet] = {}
    added = 0
    for row in rows:
        name = row.get("set_name") or f"{row['country_body']} {row['year']} ({row['status']})"
        if name in existing:
            continue
        drl_set = sets.get(name)
        if drl_set is None:
            drl_set = sets[name] = DrlSet(
                name=name, kind=kind, country_body=row["country_body"], year=_year(row["year"]),
                status=row["status"], source=row["source"], enabled=row["status"] == "current",
                valid_to=_last_day_in_force(row["status"]),
            )
            session.add(drl_set)
        exam = exam_for(session, name, row["modality"], row["examination"], row.get("clinical_indication"))
        drl_set.values.append(DrlValue(
            standard_exam_id=exam.id, patient_group=row["patient_group"],
            age_min_years=_number(row.get("age_min_years")), age_max_years=_number(row.get("age_max_years")),
            weight_min_kg=_number(row.get("weight_min_kg")), weight_max_kg=_number(row.get("weight_max_kg")),
            quantity=row["quantity"], level=row["level"], value=float(row["value"]), notes=row.get("notes"),
            source=row["source"], verification=row["verification"], enabled=row["verification"] in VERIFIED,
        ))
        added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class Level:
    """An applicable DRL value (or achievable dose), flattened for fast matching, with its set's validity."""

    id: int
    set_name: str
    kind: str
    standard_exam_id: int
    quantity: str
    level: str
    value: float
    patient_group: str
    age_min: float | None
    age_max: float | None
    weight_min: float | None
    weight_max: float | None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def fits(self, age: float | None, weight: float | None) -> bool:
        if self.patient_group == "paediatric":
            if self.weight_min is not None or self.weight_max is not None:
                return weight is not None and _within(weight, self.weight_min, self.weight_max)
            return age is not None and age < ADULT_FROM_YEARS and _within(age, self.age_min, self.age_max)
        if self.patient_group == "adult":
            return age is None or age >= (self.age_min if self.age_min is not None else ADULT_FROM_YEARS)
        return True

    def in_force(self, day: dt.date | None) -> bool:
        """Whether the set was in force on ``day`` (inclusive bounds); a value without a date meets the open-ended set."""
        if day is None:
            return self.valid_to is None
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)

    def fits_sql(self, age, weight):
        """:meth:`fits` as an SQL condition on the columns ``age`` and ``weight`` (the same rules, kept beside it)."""
        if self.patient_group == "paediatric":
            if self.weight_min is not None or self.weight_max is not None:
                return and_(weight.is_not(None), *_within_sql(weight, self.weight_min, self.weight_max))
            return and_(age.is_not(None), age < ADULT_FROM_YEARS, *_within_sql(age, self.age_min, self.age_max))
        if self.patient_group == "adult":
            return or_(age.is_(None), age >= (self.age_min if self.age_min is not None else ADULT_FROM_YEARS))
        return true()

    def in_force_sql(self, day):
        """:meth:`in_force` as an SQL condition on the column ``day``."""
        bounds = [day >= self.valid_from] if self.valid_from is not None else []
        bounds += [day <= self.valid_to] if self.valid_to is not None else []
        dated = and_(day.is_not(None), *bounds)
        return or_(day.is_(None), dated) if self.valid_to is None else dated

    def describe(self) -> dict:
        """The level as answers show it beside a value."""
        return {"id": self.id, "value": self.value, "set": self.set_name, "kind": self.kind, "level": self.level,
                "patient_group": self.patient_group, "valid_from": _iso(self.valid_from), "valid_to": _iso(self.valid_to)}


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value < high)


def _within_sql(column, low: float | None, high: float | None) -> list:
    return ([column >= low] if low is not None else []) + ([column < high] if high is not None else [])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


KIND_ORDER = {"local": 0, "national": 1, "achievable": 2}
DRL_KINDS = ("local", "national")


def active_levels(session: Session, kinds=DRL_KINDS) -> list[Level]:
    """Enabled values of enabled sets of ``kinds``, each with its set's validity; local sets before national ones."""
    stmt = select(DrlValue, DrlSet).join(DrlSet).where(DrlValue.enabled.is_(True), DrlSet.enabled.is_(True), DrlSet.kind.in_(kinds))
    levels = [Level(value.id, drl_set.name, drl_set.kind, value.standard_exam_id, value.quantity, value.level,
                    value.value, value.patient_group, value.age_min_years, value.age_max_years,
                    value.weight_min_kg, value.weight_max_kg, drl_set.valid_from, drl_set.valid_to)
              for value, drl_set in session.execute(stmt)]
    return sorted(levels, key=lambda lv: (KIND_ORDER.get(lv.kind, 9), lv.id))


class LevelIndex:
    """Find the level for (standard exam, quantity, patient, date) among :func:`active_levels`."""

    def __init__(self, levels: list[Level]):
        self.by_key: dict[tuple[int, str], list[Level]] = {}
        for level in levels:
            self.by_key.setdefault((level.standard_exam_id, level.quantity), []).append(level)

    def find(self, exam_id: int | None, quantity: str, age: float | None, weight: float | None,
             day: dt.date | None) -> Level | None:
        """The first level (local before national) for the patient's band whose set was in force on ``day``."""
        for level in self.by_key.get((exam_id, quantity), ()):
            if level.fits(age, weight) and level.in_force(day):
                return level
        return None

    def value_sql(self, quantity: str, exam, age, weight, day):
        """:meth:`find`'s level value as an SQL ``CASE`` over the columns of a row (the first level that fits and
        is in force, in the same order), NULL when none: the database compares millions of rows with their DRL."""
        return self.level_sql(quantity, exam, age, weight, day, "value")

    def level_sql(self, quantity: str, exam, age, weight, day, attribute: str):
        """:meth:`find`'s level's ``attribute`` (``"id"``, ``"value"``) as an SQL ``CASE``, NULL when none."""
        whens = [(and_(exam == exam_id, level.fits_sql(age, weight), level.in_force_sql(day)), getattr(level, attribute))
                 for (exam_id, q), levels in self.by_key.items() if q == quantity for level in levels]
        return case(*whens, else_=null()) if whens else null()
