"""A daemon thread that repeats one piece of work until stopped (Orthanc hangs on non-daemon threads).

The ingest worker, the outbox poller, the report scheduler and the back-fill runner are such threads.  In a cluster
each has a ``gate`` (:meth:`kerma.lease.Lease.held`): it works only on the node that holds the lease.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from .db.errors import describe

log = logging.getLogger("kerma")


class PeriodicThread:
    """Calls :meth:`tick` again at once while it reports more work, else after ``interval`` seconds or a wake-up."""

    name = "kerma-periodic"

    def __init__(self, interval: float):
        self.interval = interval
        self.gate: Callable[[], bool] | None = None  # when set, a round runs only while it says True (kerma.lease)
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        """Do one round of work; True when there may be more right away."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` within :meth:`tick`, unless the thread is stopped first; True when it is to stop."""
        return self._stop.wait(seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            if self.gate is not None and not self.gate():  # another node's work: look again later or when woken
                self._wake.wait(self.interval)
                self._wake.clear()
                continue
            try:
                more = self.tick()
                self.last_error = None
                backoff = 1.0
            except Exception as exc:  # database down, Orthanc busy: the same work is tried again later
                self.last_error = describe(exc)  # shown by health and logged: never a statement's values
                log.error("%s failed, will retry: %s", self.name, self.last_error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if not more:
                self._wake.wait(self.interval)
                self._wake.clear()
