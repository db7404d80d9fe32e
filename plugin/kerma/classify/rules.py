"""Mapping rules as pure code: a rule's conditions against a study's or an event's fields.

A condition is ``{"field": ..., "op": "equals" | "contains" | "regex" | "range", "value": ...}``
(``range`` takes ``"min"`` and/or ``"max"``).  Text compares case-insensitively.
When a field holds several values (the protocols of an exam), the condition
holds if one of them satisfies it.  Rules are tried device-specific first,
then by priority (lower first), then by id; the first rule whose conditions
all hold names the standard exam.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

OPERATORS = ("equals", "contains", "regex", "range")
LEVELS = ("exam", "exposure")


class RuleError(ValueError):
    """A rule that cannot be evaluated (unknown operator, bad regex, missing bound)."""


@dataclass(frozen=True)
class Rule:
    id: int
    level: str
    priority: int
    standard_exam_id: int
    conditions: tuple[dict, ...]
    modality: str | None = None
    device_id: int | None = None

    def order(self) -> tuple:
        return (self.device_id is None, self.priority, self.id)


def validate(conditions: list[dict]) -> None:
    """Raise :class:`RuleError` for a condition list that could never be evaluated."""
    if not isinstance(conditions, list) or not conditions:
        raise RuleError("a rule needs at least one condition")
    for c in conditions:
        if not isinstance(c, dict) or not c.get("field"):
            raise RuleError(f"condition without a field: {c!r}")
        op = c.get("op")
        if op not in OPERATORS:
            raise RuleError(f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
        if op == "range":
            if c.get("min") is None and c.get("max") is None:
                raise RuleError(f"range on {c['field']} needs min and/or max")
        elif c.get("value") in (None, ""):
            raise RuleError(f"{op} on {c['field']} needs a value")
        if op == "regex":
            _regex(str(c["value"]))


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise RuleError(f"invalid regular expression {pattern!r}: {exc}") from None


def _holds(condition: dict, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (list, tuple, set)):
        return any(_holds(condition, v) for v in value)
    op = condition["op"]
    if op == "range":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        low, high = condition.get("min"), condition.get("max")
        return (low is None or number >= float(low)) and (high is None or number <= float(high))
    text = str(value).strip().casefold()
    wanted = str(condition["value"]).strip().casefold()
    if op == "equals":
        return text == wanted
    if op == "contains":
        return wanted in text
    return _regex(str(condition["value"])).search(str(value)) is not None


def matches(rule: Rule, context: dict) -> bool:
    if rule.modality and rule.modality.upper() not in _as_set(context.get("modality")):
        return False
    if rule.device_id is not None and rule.device_id not in _as_set(context.get("device_id")):
        return False
    return all(_holds(c, context.get(c["field"])) for c in rule.conditions)


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
