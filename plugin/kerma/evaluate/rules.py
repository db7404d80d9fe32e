"""Alert rules: kinds, their parameters, their scope, and validation of what a physicist writes.

A rule row (:class:`kerma.db.models.AlertRule`) names a ``kind`` (one finder module each), a
``quantity`` and ``level`` where the kind compares values, kind-specific ``parameters``, and a
scope (modality, device, standard exam, patient group, and ``conditions`` / ``exclude`` written
like mapping-rule conditions over the exam's or the event's fields, plus ``anatomy``: the target
region, protocol and study description in one text).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..classify.rules import Rule, RuleError, conditions_of, matches
from ..db.models import AlertRule
from ..occupational import vocabulary as occupational
from ..quantities import exam_quantities, exposure_quantities
from .environment import DRL_KIND_SETS
from .facts import LEVELS, StudyFacts

NOTIFY_ROLES = ("mpe", "rpo", "radiologist", "radiographer")  # whom a rule can tell (the recipients' roles)
SEVERITY_RANK = {"info": 0, "warning": 1, "high": 2}
SEVERITIES = tuple(SEVERITY_RANK)
DRL_KINDS = tuple(DRL_KIND_SETS)
DRIFT_QUANTITIES = ("kvp", "exposure_mAs", "ctdivol_mGy", "exposure_index")

# kind -> (parameters with their defaults (None: required), needs a quantity, levels allowed)
KINDS: dict[str, tuple[dict, bool, tuple[str, ...]]] = {
    "drl": ({"k": 1.0, "drl_kind": "any"}, False, LEVELS),
    "absolute": ({"threshold": None}, True, LEVELS),
    "expected_range": ({"lower": None, "upper": None}, True, LEVELS),
    "fluoro_level": ({"threshold": None, "increment": None}, True, ("exam",)),
    "dose_check": ({"which": "alert"}, False, ("exposure",)),
    "cumulative": ({"threshold": None, "window_days": 365}, True, ("exam",)),
    "drift": ({"tolerance_percent": 20.0, "baseline_exams": 20, "recent_exams": 1, "min_baseline_exams": 10}, True,
              ("exam",)),
    "new_device": ({}, False, ("exam",)),
    "new_software_version": ({}, False, ("exam",)),
    "group_drl": ({"exam_count": 20, "mean_factor": 2.0, "trigger_factor": 3.0, "drl_kind": "national"}, False,
                  ("exam",)),
    "achievable": ({"direction": "above", "exam_count": 20, "min_exams": 5}, False, ("exam",)),
    # a monitored person's dose over a window (kerma.occupational): dose limits and investigation levels
    "occupational": ({"threshold": None, "window": "calendar_year", "algorithm": None, "site": None,
                      "department_id": None}, True, ("person",)),
}
COLUMNS = ("name", "kind", "severity", "quantity", "level", "parameters", "notify_roles", "patient_group")
OPTIONAL = {"lower", "upper", "increment", "algorithm", "site", "department_id"}  # may stay None
COUNTS = {"window_days", "exam_count", "baseline_exams", "recent_exams", "min_baseline_exams", "min_exams",
          "department_id"}
POSITIVE = {"k", "threshold", "lower", "upper", "increment", "tolerance_percent", "mean_factor", "trigger_factor", *COUNTS}


class AlertRuleError(ValueError):
    """A rule that could not be evaluated as written."""


@dataclass(frozen=True)
class RuleSpec:
    """An enabled rule, flattened once per evaluation batch."""

    id: int
    version: int
    name: str
    kind: str
    severity: str
    modality: str | None
    device_id: int | None
    standard_exam_id: int | None
    patient_group: str | None
    quantity: str | None
    level: str | None
    parameters: dict
    notify_roles: tuple[str, ...]
    snapshot: dict
    conditions: Rule | None = None  # parameters["conditions"] and ["exclude"], checked once
    exclude: Rule | None = None

    def param(self, name: str):
        """The parameter's value, or the kind's default when the rule leaves it unset."""
        value = self.parameters.get(name)
        return KINDS[self.kind][0].get(name) if value is None else value

    def applies_to(self, facts: StudyFacts) -> bool:
        """The study part of the scope (modality, device, exam, patient group)."""
        if self.modality and self.modality.upper() not in facts.modality:
            return False
        if self.device_id is not None and self.device_id != facts.device_id:
            return False
        if self.patient_group and self.patient_group != facts.patient_group:
            return False
        return True

    def selects(self, exam_id: int | None, context: dict) -> bool:
        """The value part of the scope: the standard exam of the value, and the conditions over its fields."""
        if self.standard_exam_id is not None and exam_id != self.standard_exam_id:
            return False
        if self.conditions and not matches(self.conditions, context):
            return False
        return not (self.exclude and matches(self.exclude, context))


def _as_rule(conditions: list | None) -> Rule | None:
    return Rule(0, "exam", 0, 0, conditions_of(conditions)) if conditions else None


def _positive(value, integral: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return False
    return not integral or float(value).is_integer()


def alert_rule_json(row: AlertRule) -> dict:
    """A rule as the REST API shows it, and as an alert keeps it (the version that fired)."""
    return {"id": row.id, "code": row.code, "name": row.name, "kind": row.kind, "enabled": row.enabled,
            "severity": row.severity, "modality": row.modality, "device_id": row.device_id,
            "standard_exam_id": row.standard_exam_id, "patient_group": row.patient_group, "quantity": row.quantity,
            "level": row.level, "parameters": row.parameters, "notify_roles": row.notify_roles, "source": row.source,
            "verification": row.verification, "notes": row.notes, "version": row.version, "updated_by": row.updated_by,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


def spec_of(row: AlertRule) -> RuleSpec:
    """The rule row as an immutable :class:`RuleSpec` (with the snapshot an alert keeps).

    Raises :class:`AlertRuleError` for a row that cannot be evaluated (checked as :func:`validated` checks a new rule).
    """
    fields = validated({name: getattr(row, name) for name in COLUMNS})
    parameters = fields["parameters"]
    return RuleSpec(row.id, row.version, row.name, row.kind, fields["severity"], row.modality, row.device_id,
                    row.standard_exam_id, row.patient_group, row.quantity, fields["level"], parameters,
                    tuple(fields["notify_roles"]), alert_rule_json(row), _as_rule(parameters.get("conditions")),
                    _as_rule(parameters.get("exclude")))


def validated(fields: dict) -> dict:
    """The rule fields, completed with the kind's defaults; raises :class:`AlertRuleError` for what cannot work.

    ``fields`` holds the columns of :class:`AlertRule` (``parameters`` a dict).
    """
    kind = fields.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise AlertRuleError(f"kind must be one of {', '.join(KINDS)}")
    defaults, needs_quantity, levels = KINDS[kind]
    if not fields.get("name"):
        raise AlertRuleError("a rule needs a name")
    fields.setdefault("severity", "warning")
    if fields["severity"] not in SEVERITIES:
        raise AlertRuleError(f"severity must be one of {', '.join(SEVERITIES)}")
    quantity = fields.get("quantity")
    if not fields.get("level"):  # the quantity says it: study totals are exam level, event fields exposure level
        exam = quantity in {q.key for q in exam_quantities()}
        fields["level"] = "exam" if exam and "exam" in levels else levels[0]
    if fields["level"] not in levels:
        raise AlertRuleError(f"a {kind} rule works at level {' or '.join(levels)}")
    if needs_quantity and not quantity:
        raise AlertRuleError(f"a {kind} rule needs a quantity")
    if quantity:
        # drift reads event values and judges them per exam (the median of its events on the protocol)
        # contrast media are no radiation dose: no alert rule compares them
        known = occupational.person_quantities() if fields["level"] == "person" else [
            q.key for q in (exam_quantities() if fields["level"] == "exam" and kind != "drift" else exposure_quantities())
            if q.is_radiation]
        if quantity not in known:
            raise AlertRuleError(f"{quantity!r} is not a quantity at level {fields['level']}; use one of {', '.join(known)}")
    if kind == "drift" and quantity not in DRIFT_QUANTITIES:
        raise AlertRuleError(f"drift watches one of {', '.join(DRIFT_QUANTITIES)}")
    given = fields.get("parameters") or {}
    if not isinstance(given, dict):
        raise AlertRuleError("parameters: must be an object")
    unknown = sorted(set(given) - set(defaults) - {"conditions", "exclude"})
    if unknown:
        raise AlertRuleError(f"parameters.{unknown[0]}: not a parameter of a {kind} rule "
                             f"({', '.join([*defaults, 'conditions', 'exclude'])})")
    parameters = {**defaults, **given}
    for name, value in parameters.items():
        if name in defaults and value is None and name not in OPTIONAL:
            raise AlertRuleError(f"a {kind} rule needs parameter {name!r}")
        if name in POSITIVE and value is not None and not _positive(value, integral=name in COUNTS):
            raise AlertRuleError(f"parameters.{name}: must be a positive {'whole ' if name in COUNTS else ''}number")
    if kind == "expected_range" and parameters["lower"] is None and parameters["upper"] is None:
        raise AlertRuleError("an expected range needs a lower and/or an upper bound")
    if kind == "expected_range" and None not in (parameters["lower"], parameters["upper"]) \
            and parameters["lower"] >= parameters["upper"]:
        raise AlertRuleError("the lower bound must be below the upper bound")
    if parameters.get("drl_kind", "any") not in DRL_KINDS:
        raise AlertRuleError(f"drl_kind must be one of {', '.join(DRL_KINDS)}")
    if kind == "achievable" and parameters["direction"] not in ("above", "below"):
        raise AlertRuleError("an achievable rule watches the median 'above' or 'below' the achievable dose")
    if kind == "achievable" and parameters["min_exams"] > parameters["exam_count"]:
        raise AlertRuleError("min_exams cannot exceed exam_count")
    if kind == "occupational":
        _validate_occupational(fields, parameters)
    if kind == "dose_check" and parameters["which"] not in ("alert", "notification"):
        raise AlertRuleError("a dose_check rule watches the device's 'alert' or 'notification' values")
    for name in ("conditions", "exclude"):
        if parameters.get(name):
            try:
                parameters[name] = [c.as_json() for c in conditions_of(parameters[name], f"parameters.{name}")]
            except RuleError as exc:
                raise AlertRuleError(str(exc)) from None
    roles = fields.get("notify_roles") or []
    if not isinstance(roles, list) or any(r not in NOTIFY_ROLES for r in roles):
        raise AlertRuleError(f"notify_roles are among {', '.join(NOTIFY_ROLES)}")
    if fields.get("patient_group") not in (None, "adult", "paediatric"):
        raise AlertRuleError("patient_group must be adult, paediatric or empty (every patient)")
    fields["parameters"] = parameters
    fields["notify_roles"] = list(roles)
    return fields


def _validate_occupational(fields: dict, parameters: dict) -> None:
    """An occupational rule is about people: scoped by site or department, never by modality, device, exam or patient."""
    scoped = [name for name in ("modality", "device_id", "standard_exam_id", "patient_group") if fields.get(name)]
    scoped += [f"parameters.{name}" for name in ("conditions", "exclude") if parameters.get(name)]
    if scoped:
        raise AlertRuleError(f"{scoped[0]}: an occupational rule is scoped by parameters.site or "
                             "parameters.department_id, not by the studies' fields")
    if parameters["window"] not in occupational.WINDOWS:
        raise AlertRuleError(f"parameters.window must be one of {', '.join(occupational.WINDOWS)}")
    algorithms = occupational.two_dosimeter_methods()
    if parameters["algorithm"] is not None and parameters["algorithm"] not in algorithms:
        raise AlertRuleError(f"parameters.algorithm must be one of {', '.join(algorithms)}")
    if parameters["site"] is not None and (not isinstance(parameters["site"], str) or not parameters["site"].strip()):
        raise AlertRuleError("parameters.site: the site's name, as its departments give it")
