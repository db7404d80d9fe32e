"""A child process of its own for CPU work that must not run in Orthanc's threads (OCR, dosimetry, month statistics).

In Orthanc's process, seconds of numpy and Python would hold the GIL that C-STORE needs.  :class:`ChildProcess`
keeps one spawned child (Debian's Python, as the report processes), niced, that answers each call it is sent with
``handler(*args)`` (a function named ``module:function``, imported in the child only).  Waiting for the answer
releases the GIL.  A child that dies or takes longer than the timeout is ended; that call gets an error, and the
next one a new child.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import sys

log = logging.getLogger("kerma")

SYSTEM_PYTHON = "/usr/bin/python3"  # the interpreter Orthanc's Python plugin embeds (and the venv's)

WATCH_SECONDS = 1.0  # how often an idle child looks whether its parent (Orthanc) is still there
START_SECONDS = 300.0  # for a child to start and import its modules (numpy, Pillow, pydicom) on a busy server
READY = b"ready"  # the child's first message, once its modules are imported: starting does not count as working


def interpreter() -> str:
    """The Python to spawn: this one, unless this process is not a Python interpreter (Orthanc).

    Inside Orthanc ``sys.executable`` is Orthanc itself: the child runs Debian's Python, which inherits ``sys.path``
    and so the venv.
    """
    return sys.executable if os.path.basename(sys.executable or "").startswith("python") else SYSTEM_PYTHON


class ChildFailed(Exception):
    """The call got no answer: the child took longer than the timeout (``timed_out``), died, or could not start."""

    def __init__(self, why: str, timed_out: bool = False):
        super().__init__(why)
        self.timed_out = timed_out


def _serve(connection: multiprocessing.connection.Connection, parent_pid: int, handler: str, preload: tuple) -> None:
    """The child: answer each call with ``handler(*args)``; end with the parent or when the pipe closes."""
    os.nice(10)  # images being stored come first
    module, name = handler.split(":")
    function = getattr(importlib.import_module(module), name)
    for other in preload:  # imported here, never in Orthanc's process
        importlib.import_module(other)
    connection.send_bytes(READY)
    while os.getppid() == parent_pid:
        if not connection.poll(WATCH_SECONDS):
            continue
        try:
            args = connection.recv()
        except EOFError:
            return
        connection.send(function(*args))


class ChildProcess:
    """One child answering ``handler(*args)``, started when first needed and again after it died.

    Parameters
    ----------
    handler : str
        ``module:function`` the child calls; it must not raise (its faults are its answer).
    name : str
        The process's name (``ps``, logs).
    timeout : float
        Seconds one call may take; a child still working after that is ended and :meth:`call` raises.
    preload : tuple of str
        Modules the child imports before it says it is ready.
    """

    def __init__(self, handler: str, name: str, timeout: float, preload: tuple[str, ...] = ()):
        self.handler = handler
        self.name = name
        self.timeout = timeout
        self.preload = preload
        self.started = 0  # children started so far (health: more than one means one died or was ended)
        self._child: multiprocessing.process.BaseProcess | None = None
        self._connection: multiprocessing.connection.Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None and self._child.is_alive() else None

    def call(self, *args):
        """The child's answer to ``handler(*args)``; :class:`ChildFailed` (the child ended) when there is none."""
        try:
            self._ensure()
            connection = self._connection  # stop() from another thread (Orthanc stopping) closes it under us
            connection.send(args)
            if connection.poll(self.timeout):
                return connection.recv()
            failed = ChildFailed(f"took longer than {self.timeout:g} s and was stopped", timed_out=True)
        except (EOFError, OSError) as exc:
            failed = ChildFailed(f"{type(exc).__name__}: {exc}")
        self.stop()
        raise failed

    def stop(self) -> None:
        """End the child (it is started again by the next :meth:`call`)."""
        child, self._child = self._child, None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if child is not None and child.is_alive():
            child.terminate()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join(5)

    def _ensure(self) -> None:
        """A child ready to work (started, its modules imported); an OSError when it cannot start."""
        if self._child is not None and self._child.is_alive():
            return
        if self._child is not None:
            log.warning("the %s process ended (exit code %s): starting another", self.name, self._child.exitcode)
        self.stop()
        context = multiprocessing.get_context("spawn")
        context.set_executable(interpreter())
        ours, theirs = context.Pipe()
        # daemon: at Orthanc's exit the child is ended, not waited for
        self._child = context.Process(target=_serve, args=(theirs, os.getpid(), self.handler, self.preload),
                                      name=self.name, daemon=True)
        self._child.start()
        theirs.close()
        self._connection = ours
        self.started += 1
        if not ours.poll(START_SECONDS) or ours.recv_bytes() != READY:
            raise EOFError(f"the {self.name} process did not start within {START_SECONDS:g} s")
