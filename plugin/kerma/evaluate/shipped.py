"""The alert rules Kerma ships as data, loaded once into ``alert_rule`` (a site then edits its copies).

* ``data/default_rules.csv``: Kerma's own defaults (above 2 × DRL, the scanner's Dose Check, drift,
  new devices and software versions; cumulative dose present but off);
* ``data/occupational_levels.csv``: the annual dose limits of Directive 2013/59/Euratom, Art. 9, for monitored
  staff (occupational dose), and Kerma's example investigation levels at a tenth of them;
* ``data/fluoro_trigger_levels.csv`` and ``data/significant_event_criteria.csv``: built from the
  project's reference tables by ``scripts/build_alert_criteria.py``, each row with its citation;
  rows not read in the primary text are loaded disabled, and rows no dose record can check are
  reference for the reviewer (:func:`reference_criteria`), not rules.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import AlertRule
from .rules import validated

DATA = Path(__file__).with_name("data")
DEFAULT_RULES = DATA / "default_rules.csv"
FLUORO_LEVELS = DATA / "fluoro_trigger_levels.csv"
SIGNIFICANT_EVENTS = DATA / "significant_event_criteria.csv"
OCCUPATIONAL_LEVELS = DATA / "occupational_levels.csv"
COLUMNS = ["code", "name", "kind", "modality", "quantity", "level", "parameters", "severity", "notify_roles", "evaluable",
           "enabled", "published", "verification", "source", "notes"]


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def rule_fields(row: dict) -> dict:
    """A shipped row as :class:`AlertRule` fields, checked like a rule written over REST."""
    notes = " ".join(filter(None, [row["published"] and f"Published: {row['published']}.", row["notes"]]))
    return validated({
        "code": row["code"], "name": row["name"], "kind": row["kind"], "enabled": row["enabled"] == "yes",
        "severity": row["severity"] or "warning", "modality": row["modality"] or None, "quantity": row["quantity"] or None,
        "level": row["level"] or None, "parameters": json.loads(row["parameters"] or "{}"),
        "notify_roles": row["notify_roles"].split(), "source": row["source"] or None,
        "verification": row["verification"] or None, "notes": notes or None,
    })


def load_shipped_rules(session: Session) -> int:
    """Add the shipped rules a database does not hold yet (by code); returns how many were added."""
    known = set(session.scalars(select(AlertRule.code).where(AlertRule.code.is_not(None))))
    added = 0
    for path in (DEFAULT_RULES, OCCUPATIONAL_LEVELS, FLUORO_LEVELS, SIGNIFICANT_EVENTS):
        for row in rows(path):
            if row["evaluable"] == "yes" and row["code"] not in known:
                session.add(AlertRule(**rule_fields(row), version=1, updated_by="kerma"))
                added += 1
    session.flush()
    return added


def reference_criteria() -> list[dict]:
    """Every shipped criterion and trigger level, checkable or not, with its wording and citation."""
    return [{k: row[k] for k in ("code", "name", "published", "evaluable", "enabled", "verification", "source", "notes")}
            for path in (FLUORO_LEVELS, SIGNIFICANT_EVENTS) for row in rows(path)]
