"""The MPPS listener's process: the entry point :class:`kerma.supervisor.ListenerSupervisor` runs and restarts.

pynetdicom decodes every N-CREATE and N-SET in pure Python; in a process of its own that work never holds
Orthanc's GIL.
"""

from __future__ import annotations

import logging
import sys

from ..modalities import Gate, Modality
from ..supervisor import listener_process, serve_while_parent_lives

log = logging.getLogger("kerma.mpps")


def serve(host: str, port: int, ae_title: str, database_url: str, modalities: tuple[Modality, ...], check_host: bool,
          max_associations: int, parent_pid: int, status) -> None:
    """Run the MPPS SCP until the parent process is gone (the child's entry point, see :mod:`kerma.supervisor`)."""
    from ..db.engine import make_engine, make_sessionmaker
    from .scp import MppsScp

    listener_process("MPPS")
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # one line per association and message otherwise
    scp = MppsScp(make_sessionmaker(make_engine(database_url)), ae_title, Gate(modalities, check_host),
                  max_associations)
    try:
        bound = scp.start(host, port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        status.send(("failed", f"cannot listen on {host}:{port}: {exc.strerror or exc}"))
        sys.exit(1)
    status.send(("listening", bound))
    log.info("AE title %s listening on %s:%d for %d declared modalities", ae_title, host, bound, len(modalities))
    serve_while_parent_lives(parent_pid, lambda: True)
    scp.stop()
