"""Mapping rules as pure code: a rule's conditions against a study's or an event's fields.

A condition is ``{"field": ..., "op": "equals" | "contains" | "regex" | "range", "value": ...}``
(``range`` takes ``"min"`` and/or ``"max"``, numbers).  Text compares case-insensitively; regular
expressions run on RE2 (:mod:`kerma.patterns`), in linear time.
When a field holds several values (the protocols of an exam), the condition
holds if one of them satisfies it.  Rules are tried device-specific first,
then by priority (lower first), then by id; the first rule whose conditions
all hold names the standard exam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..patterns import Pattern, PatternError, compile_pattern

OPERATORS = ("equals", "contains", "regex", "range")
LEVELS = ("exam", "exposure")
KEYS = {"equals": {"field", "op", "value"}, "contains": {"field", "op", "value"}, "regex": {"field", "op", "value"},
        "range": {"field", "op", "min", "max"}}
MAX_VALUE = 1_000  # characters of a compared text


class RuleError(ValueError):
    """A rule that cannot be evaluated (unknown operator or key, bad regex, a bound that is no number)."""


@dataclass(frozen=True)
class Condition:
    """One checked condition; :meth:`holds` never raises, whatever the value it is given."""

    field: str
    op: str
    value: str | int | float | None = None  # as written (not for range)
    wanted: str | None = None  # equals, contains: the text, casefolded
    pattern: Pattern | None = None  # regex
    low: float | None = None  # range
    high: float | None = None

    @classmethod
    def parse(cls, raw: Any, where: str = "condition") -> "Condition":
        """The condition as written in a rule, checked in full; raises :class:`RuleError` naming the key at fault."""
        if not isinstance(raw, dict):
            raise RuleError(f"{where}: a condition is an object with field, op and value (or min/max)")
        if not isinstance(raw.get("field"), str) or not raw["field"].strip():
            raise RuleError(f"{where}.field: a condition needs the name of a field")
        op = raw.get("op")
        if op not in OPERATORS:
            raise RuleError(f"{where}.op: unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
        unknown = sorted(set(raw) - KEYS[op])
        if unknown:
            raise RuleError(f"{where}.{unknown[0]}: not a key of a {op} condition ({', '.join(sorted(KEYS[op]))})")
        if op == "range":
            low, high = _bound(raw.get("min"), f"{where}.min"), _bound(raw.get("max"), f"{where}.max")
            if low is None and high is None:
                raise RuleError(f"{where}: range on {raw['field']} needs min and/or max")
            if low is not None and high is not None and low > high:
                raise RuleError(f"{where}.min: above max")
            return cls(raw["field"], op, low=low, high=high)
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
            raise RuleError(f"{where}.value: {op} on {raw['field']} needs a text or number value")
        if isinstance(value, float) and not math.isfinite(value):
            raise RuleError(f"{where}.value: numbers must be finite")
        if len(str(value)) > MAX_VALUE:
            raise RuleError(f"{where}.value: at most {MAX_VALUE} characters")
        if op == "regex":
            try:
                return cls(raw["field"], op, value, pattern=compile_pattern(str(value)))
            except PatternError as exc:
                raise RuleError(f"{where}.value: {exc}") from None
        return cls(raw["field"], op, value, wanted=str(value).strip().casefold())

    def as_json(self) -> dict:
        """The condition as stored: bounds as numbers, values as written."""
        if self.op == "range":
            return {"field": self.field, "op": "range", **{k: v for k, v in (("min", self.low), ("max", self.high))
                                                               if v is not None}}
        return {"field": self.field, "op": self.op, "value": self.value}

    def holds(self, value: Any) -> bool:
        if value is None:
            return False
        if isinstance(value, (list, tuple, set)):
            return any(self.holds(v) for v in value)
        if self.op == "range":
            number = _number(value)
            return (number is not None and (self.low is None or number >= self.low)
                    and (self.high is None or number <= self.high))
        if self.op == "regex":
            return self.pattern.search(str(value))
        text = str(value).strip().casefold()
        return text == self.wanted if self.op == "equals" else self.wanted in text


def conditions_of(raw: Any, where: str = "conditions") -> tuple[Condition, ...]:
    """A rule's condition list, checked in full (see :meth:`Condition.parse`)."""
    if not isinstance(raw, list) or not raw:
        raise RuleError(f"{where}: a rule needs at least one condition")
    return tuple(Condition.parse(c, f"{where}[{i}]") for i, c in enumerate(raw))


def _bound(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    number = _number(value)
    if number is None:
        raise RuleError(f"{where}: must be a number, not {value!r}")
    return number


def _number(value: Any) -> float | None:
    """``value`` as a finite number (numbers, or text such as "7.5"), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Rule:
    id: int
    level: str
    priority: int
    standard_exam_id: int
    conditions: tuple[Condition, ...]
    modality: str | None = None
    device_id: int | None = None

    def order(self) -> tuple:
        return (self.device_id is None, self.priority, self.id)


def matches(rule: Rule, context: dict) -> bool:
    if rule.modality and rule.modality.upper() not in _as_set(context.get("modality")):
        return False
    if rule.device_id is not None and rule.device_id not in _as_set(context.get("device_id")):
        return False
    return all(c.holds(context.get(c.field)) for c in rule.conditions)


def choose(rules: list[Rule], context: dict, level: str) -> Rule | None:
    """The rule that names the standard exam of ``context`` at ``level``, or None."""
    for rule in sorted((r for r in rules if r.level == level), key=Rule.order):
        if matches(rule, context):
            return rule
    return None


def _as_set(value) -> set:
    if value is None:
        return set()
    if isinstance(value, (list, tuple, set)):
        return {v.upper() if isinstance(v, str) else v for v in value}
    return {value.upper() if isinstance(value, str) else value}
