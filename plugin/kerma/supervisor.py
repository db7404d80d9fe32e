"""Listeners in processes of their own beside Orthanc (HL7 MLLP, DICOM MPPS), and the supervisor that keeps each running.

A listener parses what senders send: CPU work in pure Python that would compete with dose ingestion for
Orthanc's GIL (an HL7 flood took the C-STORE ratio to 0.49).  In a process of its own it only shares the
CPU.  The process needs no Orthanc, only the database; it ends when Orthanc ends, even after a ``kill -9``
(it watches its parent, :func:`serve_while_parent_lives`).  When it dies, :class:`ListenerSupervisor` (a
daemon thread in Orthanc's process) starts another, waiting longer after each quick death, and reports what
it sees in ``GET /kerma/api/health``.

A listener's entry point is a module-level function ``serve(*args, parent_pid, status)``: ``status`` is the
writing end of a pipe to the supervisor, sent ``("listening", port)`` once the port is bound and
``("failed", reason)`` when the listener cannot start or stops serving; the process then exits with 1.
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

from .clock import now as utc_now

log = logging.getLogger("kerma.listeners")

SYSTEM_PYTHON = "/usr/bin/python3"  # Orthanc's plugin embeds Debian's Python; sys.executable is Orthanc itself
WATCH_SECONDS = 0.5  # how often a listener looks at its parent and the supervisor at stop()


def listener_process(name: str) -> None:
    """Set up a listener's process: its log lines go to Orthanc's log (stderr) named for it, and it yields the CPU."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=f"Kerma {name}: %(message)s")
    os.nice(10)  # on a busy machine, images being stored come first; senders wait for their answer a little longer


def serve_while_parent_lives(parent_pid: int, serving: Callable[[], bool]) -> None:
    """Return when the parent (Orthanc) is gone or ``serving()`` says the listener stopped on its own."""
    while os.getppid() == parent_pid and serving():
        time.sleep(WATCH_SECONDS)


class ListenerSupervisor:
    """Runs ``target`` in a spawned process (Debian's Python) and starts it again whenever it dies.

    Parameters
    ----------
    name : str
        What the listener is, for the log and the process name ("HL7", "MPPS").
    target : callable
        The listener's entry point (see the module's docstring); called as
        ``target(*args, parent_pid, status)`` in the child.
    args : tuple
        Its arguments (picklable).
    port : int
        The port it listens on, for :meth:`state`.
    clock : callable
        The current time (UTC), for ``since`` in :meth:`state`.
    backoff : (float, float)
        Seconds before the first restart, and at most: the wait doubles after each death of a
        process that ran less than ``stable_seconds``, and starts over after a longer run.
    """

    def __init__(self, name: str, target: Callable, args: tuple, port: int, *,
                 clock: Callable[[], dt.datetime] = utc_now, backoff: tuple[float, float] = (1.0, 60.0),
                 stable_seconds: float = 60.0):
        self.name = name
        self.target = target
        self.args = (*args, os.getpid())
        self.port = port
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
            return {**self._state, "port": self.port}

    def start(self) -> None:
        """Start the listener process now, and the thread that watches it."""
        self._stopping.clear()
        self._set(state="starting")
        self._thread = threading.Thread(target=self._supervise, name=f"kerma-{self.name.lower()}-supervisor",
                                        daemon=True)
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
            log.error("%s listener process ended (%s); starting it again in %g s", self.name, ended, delay)
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
            process = context.Process(target=self.target, args=(*self.args, writer),
                                      name=f"kerma-{self.name.lower()}", daemon=True)
            with self._lock:
                if self._stopping.is_set():
                    return "stopped"
                process.start()
                self._process = process
            writer.close()  # the child holds the only writing end now: EOF when it dies
            log.info("%s listener process %d started for port %d", self.name, process.pid, self.port)
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
