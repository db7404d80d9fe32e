"""The ingest worker: follows Orthanc's /changes log and turns new instances into dose records.

Orthanc callbacks only call :meth:`IngestWorker.wake`.  The worker reads a
batch of changes after its cursor, extracts each new instance, and writes
the records and the new cursor in one transaction: a crash before the commit
repeats the batch, a crash after it never sees the batch again, and the
unique SOP Instance UID makes a repeat harmless.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from sqlalchemy.orm import sessionmaker

from ..background import PeriodicThread
from ..extract import extract, reason_to_skip
from .store import Processed, read_cursor, store_batch

log = logging.getLogger("kerma.ingest")


class InstanceSource(Protocol):
    """What the worker needs from Orthanc (the plugin edge implements it over the SDK)."""

    def changes(self, since: int, limit: int) -> dict: ...

    def instance_summary(self, orthanc_id: str) -> dict | None:
        """``{"sop_instance_uid", "sop_class_uid"}``, or None when the instance is gone."""

    def instance_file(self, orthanc_id: str) -> bytes | None: ...


class IngestWorker(PeriodicThread):
    name = "kerma-ingest"

    def __init__(self, source: InstanceSource, sessions: sessionmaker, *, batch_size: int = 100,
                 poll_seconds: float = 2.0):
        super().__init__(poll_seconds)
        self.source = source
        self.sessions = sessions
        self.batch_size = batch_size
        self.cursor = 0

    def tick(self) -> bool:
        return not self.run_once()

    def run_once(self) -> bool:
        """Process one batch of changes; True when the log is exhausted."""
        with self.sessions() as session:
            cursor = read_cursor(session)
        page = self.source.changes(cursor, self.batch_size)
        changes = page.get("Changes", [])
        processed = [self._process(c) for c in changes if c.get("ChangeType") == "NewInstance"]
        processed = [p for p in processed if p is not None]
        last_seq = max([c["Seq"] for c in changes], default=cursor)
        with self.sessions() as session, session.begin():
            new = store_batch(session, processed, last_seq)
        self.cursor = last_seq
        if new:
            log.info("ingested %d new object(s) up to change %d", new, last_seq)
        return bool(page.get("Done", True)) or not changes

    def _process(self, change: dict) -> Processed | None:
        orthanc_id = change["ID"]
        summary = self.source.instance_summary(orthanc_id)
        if summary is None:
            return None  # deleted before we got to it: nothing to record
        skip = reason_to_skip(summary["sop_class_uid"]) if summary.get("sop_class_uid") else None
        if skip:
            record = {"status": "ignored", "reason": skip, "source": None, **summary}
        else:
            data = self.source.instance_file(orthanc_id)
            if data is None:
                return None
            started = time.perf_counter()
            record = extract(data)
            if not record.get("sop_instance_uid"):
                record["sop_instance_uid"] = summary.get("sop_instance_uid")
            log.debug("extracted %s in %.3f s: %s", orthanc_id, time.perf_counter() - started, record["status"])
        return Processed(change["Seq"], orthanc_id, record)
