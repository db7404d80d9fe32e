"""How fast a back-fill may go: it must never starve live C-STORE (pure; the clock is an input).

A job does one DICOM operation at a time (one C-FIND, or one retrieve of a series' dose objects).  Besides:

* **rates**: C-FINDs at most ``queries_per_second``, retrieved instances at most ``instances_per_second`` on average;
* **live studies first**: the job waits until ``quiet_seconds`` have passed since Orthanc last stored an instance
  that the job did not ask for (a modality storing: the job goes on in the pauses between live studies), and while
  Orthanc's change log is more than ``max_lag`` changes ahead of Kerma's ingest (what it would retrieve would only
  queue behind live studies, and their records would come later);
* **back-off**: after a refusal of the remote (or of Orthanc), waits that double up to :data:`MAX_BACKOFF_S`.
"""

from __future__ import annotations

import time
from typing import Callable

LAG_WAIT_S = 1.0  # how long to wait before looking at the ingest's lag again
MAX_BACKOFF_S = 300.0


class Throttle:
    """When the next operation may start.

    Parameters
    ----------
    queries_per_second, instances_per_second : float
        The job's rates (> 0).
    max_lag : int
        Changes of Orthanc's log not yet ingested above which the job waits.
    quiet_seconds : float
        How long after the last live instance (one the job did not ask for) the job waits; 0: it does not.
    monotonic : callable
        The clock (seconds); ``time.monotonic`` unless a test pins it.
    """

    def __init__(self, queries_per_second: float, instances_per_second: float, max_lag: int,
                 quiet_seconds: float = 0.0, monotonic: Callable[[], float] = time.monotonic):
        self.query_interval = 1.0 / queries_per_second
        self.instance_interval = 1.0 / instances_per_second
        self.max_lag = max_lag
        self.quiet_seconds = quiet_seconds
        self.monotonic = monotonic
        self._not_before = monotonic()
        self._live_at: float | None = None

    def live(self) -> None:
        """Orthanc has just stored an instance that the job did not ask for: a modality is storing."""
        self._live_at = self.monotonic()

    def delay(self, lag: int | None) -> float:
        """Seconds to wait before the next operation, given the ingest's lag now (None: unknown, not waited for)."""
        if lag is not None and lag > self.max_lag:
            return LAG_WAIT_S
        now = self.monotonic()
        quiet = 0.0 if self._live_at is None else self._live_at + self.quiet_seconds - now
        return max(0.0, self._not_before - now, quiet)

    def queried(self, count: int = 1) -> None:
        """``count`` C-FINDs are about to be made (counted before, so that their own time is part of the budget)."""
        self._spend(count * self.query_interval)

    def retrieved(self, instances: int) -> None:
        """A retrieve of ``instances`` instances is about to be made."""
        self._spend(instances * self.instance_interval)

    def _spend(self, seconds: float) -> None:
        self._not_before = max(self._not_before, self.monotonic()) + seconds


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` refusals in a row: 2, 4, 8... up to :data:`MAX_BACKOFF_S`."""
    return min(MAX_BACKOFF_S, 2.0 ** max(1, failures))
