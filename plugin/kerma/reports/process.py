"""Starting a report job in a separate process (multiprocessing ``spawn``), never in Orthanc's threads.

The child runs :func:`kerma.child.interpreter` (Debian's Python inside Orthanc).  Waiting on the child releases the
GIL: Orthanc's ingestion is not held up.
"""

from __future__ import annotations

import logging
import multiprocessing

from ..child import interpreter

TIMEOUT_SECONDS = 900

log = logging.getLogger("kerma.reports")

def _child(database_url: str, run_id: int) -> None:
    from .job import run  # imported in the child only: Orthanc's process never loads matplotlib

    run(database_url, run_id)


def make_report(database_url: str, run_id: int, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Run :func:`kerma.reports.job.run` in a child process; True when it finished well."""
    context = multiprocessing.get_context("spawn")
    context.set_executable(interpreter())
    # daemon: at Orthanc's exit the child is terminated, not waited for (shutdown must not hang on a report)
    child = context.Process(target=_child, args=(database_url, run_id), name=f"kerma-report-{run_id}", daemon=True)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.terminate()
        child.join(10)
        log.error("report %d took longer than %d s and was stopped", run_id, timeout)
        return False
    if child.exitcode != 0:
        log.error("report %d failed (exit code %s); its error is kept with the report", run_id, child.exitcode)
    return child.exitcode == 0
