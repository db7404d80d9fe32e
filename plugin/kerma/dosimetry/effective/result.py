"""What an effective dose estimate gives: the study's value, each event's part, method, uncertainty, and what it is."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..uncertainty import Uncertainty, rounded

STATEMENT = ("Effective dose is a population-average quantity for a reference person (ICRP Publication 103): "
             "useful to compare examinations and techniques, not a measure of this patient's personal risk.")


def refused(value) -> str | None:
    """Why a dose quantity cannot be converted (not a finite, non-negative number), or None when it can."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return f"{value!r} is not a finite, non-negative number"
    return None


@dataclass(frozen=True)
class EventEstimate:
    """One irradiation event's effective dose: the quantity it came from × the coefficient, or why not.

    ``quantity`` names what was multiplied (``dlp_mGycm``, ``administered_activity_MBq``, ``dap_Gycm2``) and
    ``value`` its value; ``coefficient`` is in mSv per unit of it; ``category`` the coefficient's row
    (region and age group, radiopharmaceutical, examination).
    """

    index: int
    quantity: str
    value: float | None
    category: str | None
    coefficient: float | None
    effective_dose_mSv: float | None
    source: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"index": self.index, "quantity": self.quantity, "value": rounded(self.value),
                "category": self.category, "coefficient": self.coefficient,
                "effective_dose_mSv": rounded(self.effective_dose_mSv, 4), "source": self.source,
                "reason": self.reason}


@dataclass(frozen=True)
class EffectiveDose:
    """A study's effective dose (mSv): the sum of its events' estimates, or None when an event with dose has none.

    ``method`` says in one line what was multiplied by what; ``reasons`` why there is no estimate, when there is
    none; ``statement`` what an effective dose is and is not.
    """

    effective_dose_mSv: float | None
    method: str
    events: tuple[EventEstimate, ...]
    uncertainty: Uncertainty
    reasons: tuple[str, ...] = ()
    statement: str = STATEMENT

    def to_dict(self) -> dict:
        return {"effective_dose_mSv": rounded(self.effective_dose_mSv, 4), "method": self.method,
                "uncertainty": self.uncertainty.to_dict(), "reasons": list(self.reasons),
                "statement": self.statement, "events": [e.to_dict() for e in self.events]}

    def record_fields(self) -> dict:
        """The fields a dose record carries (``kerma extract --json``)."""
        return {"effective_dose_mSv": rounded(self.effective_dose_mSv, 4),
                "effective_dose_method": self.method if self.effective_dose_mSv is not None else "not estimated",
                "effective_dose_uncertainty": {**self.uncertainty.to_dict(), "statement": self.statement,
                                               "not_estimated": list(self.reasons)}}
