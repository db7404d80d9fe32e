"""What a check returns when a rule fires: the value, what it was compared with, and why, in words."""

from __future__ import annotations

from dataclasses import dataclass, field

from .facts import Measured, label_of, show, unit_of


@dataclass(frozen=True)
class Finding:
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
