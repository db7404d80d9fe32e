"""The HL7 listener as a process of its own beside Orthanc, and the supervisor that keeps it running.

HL7 parsing (hl7apy) is CPU work in pure Python: in Orthanc's process it
competes for the GIL with dose ingestion (a 10,000-message flood took the
C-STORE ratio to 0.49).  In a separate process it only shares the CPU.  The
process needs no Orthanc, only the database; it ends when Orthanc ends, even
after a ``kill -9`` (it watches its parent).  When it dies, :class:`Hl7Supervisor`
(a daemon thread in Orthanc's process) starts another, waiting longer after each
quick death, and reports what it sees in ``GET /kerma/api/health``.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from typing import Callable

from ..clock import now as utc_now
from .mllp import ListenerLimits

log = logging.getLogger("kerma.hl7")

SYSTEM_PYTHON = "/usr/bin/python3"  # Orthanc's plugin embeds Debian's Python; sys.executable is Orthanc itself
WATCH_SECONDS = 0.5  # how often the listener looks at its parent and the supervisor at stop()


def serve(host: str, port: int, database_url: str, patient_id_authority: str | None, limits: ListenerLimits,
          parent_pid: int, status) -> None:
    """Run the MLLP listener until the parent process is gone (the child's entry point).

    ``status`` is the writing end of a pipe to the supervisor: ``("listening", port)`` once
    the port is bound, ``("failed", reason)`` when it cannot be.  The process exits with 1 when
    the listener cannot start or stops accepting on its own, so that the supervisor starts another.
    """
    from ..db.engine import make_engine, make_sessionmaker
    from .mllp import MllpServer
    from .receiver import Hl7Receiver

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="Kerma HL7: %(message)s")
    os.nice(10)  # on a busy machine, images being stored come first; HL7 senders wait for their ACK a little longer
    receiver = Hl7Receiver(make_sessionmaker(make_engine(database_url)), patient_id_authority)
    try:
        server = MllpServer(host, port, receiver, receiver.refuse_frame, limits).start()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        status.send(("failed", f"cannot listen on {host}:{port}: {exc.strerror or exc}"))
        sys.exit(1)
    status.send(("listening", server.port))
    log.info("listening on %s:%d", host, server.port)
    while os.getppid() == parent_pid and server.accepting:
        time.sleep(WATCH_SECONDS)
    server.stop()
    if server.error is not None:
        status.send(("failed", f"stopped accepting: {server.error}"))
        sys.exit(1)


class Hl7Supervisor:
    """Runs :func:`serve` in a spawned process (Debian's Python) and starts it again whenever it dies.

    Parameters
    ----------
    host, port, database_url, patient_id_authority, limits
        What :func:`serve` needs.
    clock : callable
        The current time (UTC), for ``since`` in :meth:`state`.
    backoff : (float, float)
        Seconds before the first restart, and at most: the wait doubles after each death of a
        process that ran less than ``stable_seconds``, and starts over after a longer run.
    """

    def __init__(self, host: str, port: int, database_url: str, patient_id_authority: str | None,
                 limits: ListenerLimits = ListenerLimits(), *, clock: Callable[[], dt.datetime] = utc_now,
                 backoff: tuple[float, float] = (1.0, 60.0), stable_seconds: float = 60.0):
        self.args = (host, port, database_url, patient_id_authority, limits, os.getpid())
        self.clock = clock
        self.backoff = backoff
        self.stable_seconds = stable_seconds
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._thread: threading.Thread | None = None
        self._state = {"state": "stopped", "restarts": 0, "since": None, "pid": None, "last_exit": None,
                       "error": None}

    def state(self) -> dict:
        """``{"state": "starting"|"listening"|"restarting"|"stopped", "restarts", "since", "pid", "port",
        "last_exit", "error"}`` (``since``: when the state began, ISO 8601 UTC)."""
        with self._lock:
            return {**self._state, "port": self.args[1]}

    def start(self) -> None:
        """Start the listener process now, and the thread that watches it."""
        self._stopping.clear()
        self._set(state="starting")
        self._thread = threading.Thread(target=self._supervise, name="kerma-hl7-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and end the listener process (with Orthanc)."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout)
            if process.is_alive():
                process.kill()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set(state="stopped", pid=None)

    def _supervise(self) -> None:
        delay = self.backoff[0]
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                ended = self._run_once()
            except Exception as exc:  # the process could not even be started (no memory, no descriptors)
                ended = f"not started: {type(exc).__name__}: {exc}"
            if self._stopping.is_set():
                break
            if time.monotonic() - started >= self.stable_seconds:
                delay = self.backoff[0]
            log.error("HL7 listener process ended (%s); starting it again in %g s", ended, delay)
            self._set(state="restarting", pid=None, last_exit=ended)
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, self.backoff[1])
            with self._lock:
                self._state["restarts"] += 1

    def _run_once(self) -> str:
        """Start one listener process and watch it; how it ended."""
        context = multiprocessing.get_context("spawn")
        if os.path.exists(SYSTEM_PYTHON):
            context.set_executable(SYSTEM_PYTHON)
        reader, writer = context.Pipe(duplex=False)
        try:
            process = context.Process(target=serve, args=(*self.args, writer), name="kerma-hl7", daemon=True)
            with self._lock:
                if self._stopping.is_set():
                    return "stopped"
                process.start()
                self._process = process
            writer.close()  # the child holds the only writing end now: EOF when it dies
            log.info("HL7 MLLP listener process %d started for %s:%d", process.pid, *self.args[:2])
            waiting = [process.sentinel, reader]
            while process.sentinel in waiting and not self._stopping.is_set():
                for ready in multiprocessing.connection.wait(waiting, timeout=WATCH_SECONDS):
                    if ready is reader:
                        self._read_status(reader, waiting, process.pid)
                    else:
                        waiting.remove(ready)
            while reader in waiting and reader.poll():  # what a failing process said before it exited
                self._read_status(reader, waiting, process.pid)
            process.join(WATCH_SECONDS)
            return _exit_reason(process.exitcode)
        finally:
            writer.close()
            reader.close()

    def _read_status(self, reader, waiting: list, pid: int) -> None:
        try:
            kind, detail = reader.recv()
        except (EOFError, OSError):
            waiting.remove(reader)
            return
        if kind == "listening":
            self._set(state="listening", pid=pid, error=None)
        else:
            self._set(error=detail)

    def _set(self, **changes) -> None:
        with self._lock:
            if "state" in changes and changes["state"] != self._state["state"]:
                self._state["since"] = self.clock().isoformat()
            self._state.update(changes)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
