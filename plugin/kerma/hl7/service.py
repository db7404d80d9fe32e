"""The HL7 listener as a process of its own, beside Orthanc.

HL7 parsing (hl7apy) is CPU work in pure Python: in Orthanc's process it
competes for the GIL with dose ingestion (a 10,000-message flood took the
C-STORE ratio to 0.49).  In a separate process it only shares the CPU.  The
process needs no Orthanc, only the database; it ends when Orthanc ends, even
after a ``kill -9`` (it watches its parent).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time

log = logging.getLogger("kerma.hl7")

SYSTEM_PYTHON = "/usr/bin/python3"  # Orthanc's plugin embeds Debian's Python; sys.executable is Orthanc itself


def serve(host: str, port: int, database_url: str, patient_id_authority: str | None, parent_pid: int) -> None:
    """Run the MLLP listener until the parent process is gone (the child's entry point)."""
    from ..db.engine import make_engine, make_sessionmaker
    from .mllp import MllpServer
    from .receiver import Hl7Receiver

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="Kerma HL7: %(message)s")
    os.nice(10)  # on a busy machine, images being stored come first; HL7 senders wait for their ACK a little longer
    receiver = Hl7Receiver(make_sessionmaker(make_engine(database_url)), patient_id_authority)
    server = MllpServer(host, port, receiver, receiver.refuse_frame).start()
    log.info("listening on %s:%d", host, server.port)
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    server.stop()


class Hl7Process:
    """Start and stop :func:`serve` in a spawned process running Debian's Python."""

    def __init__(self, host: str, port: int, database_url: str, patient_id_authority: str | None):
        self.args = (host, port, database_url, patient_id_authority, os.getpid())
        self.process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        if os.path.exists(SYSTEM_PYTHON):
            context.set_executable(SYSTEM_PYTHON)
        self.process = context.Process(target=serve, args=self.args, name="kerma-hl7", daemon=True)
        self.process.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
