"""Work that yields to live ingestion (OCR, dosimetry): it waits while instances are being stored, but not forever.

On a small server the CPU such work takes is taken from C-STORE: it starts once the ingest worker has had no new
change for ``QUIET_SECONDS``, or after ``MAX_DEFER_SECONDS`` of waiting (a server that never stops receiving still
gets its screens read and its doses derived).
"""

from __future__ import annotations

import time
from typing import Callable

QUIET_SECONDS = 2.0
MAX_DEFER_SECONDS = 60.0


class GiveWay:
    """``waiting()`` is True while the ingest worker is busy (at most ``MAX_DEFER_SECONDS`` since it first was).

    Parameters
    ----------
    ingest_quiet : callable
        Seconds since the ingest worker last had new changes (:meth:`kerma.ingest.worker.IngestWorker.quiet_for`).
    """

    def __init__(self, ingest_quiet: Callable[[], float]):
        self.ingest_quiet = ingest_quiet
        self._deferred_since: float | None = None

    def waiting(self) -> bool:
        now = time.monotonic()
        if self.ingest_quiet() >= QUIET_SECONDS:
            self._deferred_since = None
            return False
        if self._deferred_since is None:
            self._deferred_since = now
        if now - self._deferred_since >= MAX_DEFER_SECONDS:
            self._deferred_since = None
            return False
        return True
