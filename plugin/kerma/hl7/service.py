"""The HL7 listener's process: the entry point :class:`kerma.supervisor.ListenerSupervisor` runs and restarts.

HL7 parsing (hl7apy) is CPU work in pure Python: in Orthanc's process it
competes for the GIL with dose ingestion (a 10,000-message flood took the
C-STORE ratio to 0.49).  In a separate process it only shares the CPU.
"""

from __future__ import annotations

import logging
import sys

from ..config import ListenerLimits
from ..supervisor import listener_process, serve_while_parent_lives

log = logging.getLogger("kerma.hl7")


def serve(host: str, port: int, database_url: str, patient_id_authority: str | None, limits: ListenerLimits,
          parent_pid: int, status) -> None:
    """Run the MLLP listener until the parent process is gone (the child's entry point, see :mod:`kerma.supervisor`).

    The process exits with 1 when the listener cannot start or stops accepting on its own, so that the
    supervisor starts another.
    """
    from ..db.engine import make_engine, make_sessionmaker
    from .mllp import MllpServer
    from .receiver import Hl7Receiver

    listener_process("HL7")
    receiver = Hl7Receiver(make_sessionmaker(make_engine(database_url)), patient_id_authority)
    try:
        server = MllpServer(host, port, receiver, receiver.refuse_frame, limits).start()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        status.send(("failed", f"cannot listen on {host}:{port}: {exc.strerror or exc}"))
        sys.exit(1)
    status.send(("listening", server.port))
    log.info("listening on %s:%d", host, server.port)
    serve_while_parent_lives(parent_pid, lambda: server.accepting)
    server.stop()
    if server.error is not None:
        status.send(("failed", f"stopped accepting: {server.error}"))
        sys.exit(1)
