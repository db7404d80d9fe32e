"""What a rule kind's finder returns when a rule fires (the value, what it was compared with, and why, in words), and what an
evaluation returns: the new alerts, each with whom its rule tells, the known ones found again and those no longer found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..numbers import show
from ..quantities import label_of, unit_of
from .facts import Measured, StudyFacts

if TYPE_CHECKING:
    from ..db.models import Alert
    from .environment import Environment
    from .rules import RuleSpec


@dataclass(frozen=True)
class Finding:
    """One firing of a rule: ``subject`` keeps it unique per rule and study across re-evaluations."""

    subject: str  # unique within the rule and study: re-evaluating the study finds the same alert
    reason: str
    quantity: str | None = None
    value: float | None = None
    threshold: float | None = None
    standard_exam_id: int | None = None
    reference: dict = field(default_factory=dict)

    @property
    def unit(self) -> str | None:
        return unit_of(self.quantity) or None if self.quantity else None


@dataclass(frozen=True)
class Raised:
    """A new alert and whom to tell (the outbox's part, :func:`kerma.notify.outbox.enqueue_alerts`)."""

    alert: "Alert"
    roles: tuple[str, ...]  # the rule's notify_roles
    site: str | None = None  # an alert on a person: the person's site (a study's is its institution)


@dataclass(frozen=True)
class Cleared:
    """A known alert whose value no longer crosses its threshold when its study is evaluated again, with the value
    its subject now has (None when the study no longer has it)."""

    alert: "Alert"
    value: float | None


@dataclass
class Evaluation:
    """What evaluating studies again found: new alerts, known ones that fired again, known ones that no longer do."""

    raised: list[Raised] = field(default_factory=list)
    again: list["Alert"] = field(default_factory=list)
    cleared: list[Cleared] = field(default_factory=list)


def where(m: Measured) -> str:
    """Which part of the study a value belongs to, for a reason text."""
    if m.subject == "exam":
        return "the examination"
    protocol = m.context.get("protocol")
    part = "series" if m.subject.startswith("series:") else "acquisition"
    return f"the {part} '{protocol}'" if protocol else f"one {part}"


def measured_text(m: Measured) -> str:
    """``DLP 1234 mGy·cm of the examination``."""
    return f"{label_of(m.quantity)} {show(m.value, m.quantity)} of {where(m)}"


class Finder(Protocol):
    """What every rule kind's finder is: ``find(rule, facts, env) -> list[Finding]``."""

    def __call__(self, rule: "RuleSpec", facts: StudyFacts, env: "Environment") -> list[Finding]:
        """Evaluate one rule over one study.

        Parameters
        ----------
        rule : RuleSpec
            The enabled rule; its scope already matched the study (modality, device, patient group).
        facts : StudyFacts
            The study, resolved and classified.
        env : Environment
            The DRLs in force and the history queries of this batch.

        Returns
        -------
        list of Finding
            One per value that fired, each with its subject, value, threshold and reason.
        """
