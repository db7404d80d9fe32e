"""The ingest worker: follows Orthanc's /changes log and turns new instances into dose records.

Orthanc callbacks only call :meth:`IngestWorker.wake` (and :meth:`IngestWorker.deleted`).  The worker
reads a batch of changes after its cursor, extracts each new instance, and writes the records and the
new cursor in one transaction: a crash before the commit repeats the batch, a crash after it never sees
the batch again, and the ledger (one row per Orthanc instance) makes a repeat harmless.  One bad object
never holds the rest: whatever fails while reading it becomes its ``error`` row, and a batch the database
refuses is split until the object it refuses is found (see :meth:`IngestWorker.store`).  Only an outage
of the database leaves the cursor where it is.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Callable, Protocol

from sqlalchemy.orm import Session, sessionmaker

from .. import clock
from ..background import PeriodicThread
from ..db.outage import is_outage, reason
from ..extract import extract, reason_to_skip
from ..lease import LeaseLost
from ..pipeline import REFRESH_CHUNK, refresh_due
from ..record import DoseRecord
from .screens import QUEUED, queued
from .store import Deletion, Processed, read_cursor, store_batch

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
                 poll_seconds: float = 2.0, purge_deleted: bool = False, screens_queued=lambda: None,
                 fence: Callable[[Session], None] = lambda session: None):
        super().__init__(poll_seconds)
        self.fence = fence  # in a cluster, Lease.hold: a batch commits only while this node holds the lease
        self.source = source
        self.screens_queued = screens_queued  # wakes the OCR thread (kerma.ingest.screens.ScreenReader)
        self.sessions = sessions
        self.batch_size = batch_size
        self.purge_deleted = purge_deleted
        self.cursor = 0
        self._changed_at = -float("inf")  # time.monotonic() of the end of the last batch with changes
        self._busy = False  # a batch with changes is being processed
        self._deleted: deque[Deletion] = deque()  # from Orthanc's change callback; its durable log drops deletions

    def tick(self) -> bool:
        if self.ingest_batch():
            return True
        # the log is exhausted: studies changed elsewhere (HL7, an upgrade) are refreshed here, a chunk at a time,
        # so that no two refreshes of one study run at once
        with self.sessions() as session, session.begin():
            return refresh_due(session) == REFRESH_CHUNK

    def quiet_for(self) -> float:
        """Seconds since the last batch with changes was stored, 0 while one is being processed (work that yields to
        ingestion waits for a quiet moment: a batch of large reports can take longer than that moment)."""
        return 0.0 if self._busy else time.monotonic() - self._changed_at

    def deleted(self, orthanc_id: str) -> None:
        """Orthanc deleted this instance: its rows are marked (or purged) with the next batch."""
        self._deleted.append(Deletion(orthanc_id, clock.now()))
        self.wake()

    def ingest_batch(self) -> bool:
        """Process one batch of changes; True when more may be waiting (the log is not exhausted yet)."""
        with self.sessions() as session:
            cursor = read_cursor(session)
        page = self.source.changes(cursor, self.batch_size)
        changes = page.get("Changes", [])
        self._busy = bool(changes)  # not quiet while a batch is extracted and stored, however long that takes
        try:
            processed = [self._process(c) for c in changes if c.get("ChangeType") == "NewInstance"]
            processed = [p for p in processed if p is not None]
            last_seq = max([c["Seq"] for c in changes], default=cursor)
            deleted = [self._deleted.popleft() for _ in range(len(self._deleted))]
            try:
                new = self.store(processed, last_seq, deleted)
            except Exception:
                self._deleted.extendleft(reversed(deleted))  # applied with the retry
                raise
        finally:
            if changes:
                self._changed_at = time.monotonic()
            self._busy = False
        self.cursor = last_seq
        if any(p.record.status == QUEUED for p in processed):
            self.screens_queued()
        if new:
            log.info("ingested %d new object(s) up to change %d", new, last_seq)
        return bool(changes) and not page.get("Done", True)

    def store(self, items: list[Processed], last_seq: int, deleted: list[Deletion] = ()) -> int:
        """Store ``items`` and move the cursor to ``last_seq``; a batch that fails on its data is split.

        An outage is raised (the batch is tried again, the cursor stays).  Any other failure (the data, a
        constraint, a bug in refreshing the studies) is isolated by halving the batch until the one object
        that fails is found: it gets an ``error`` row with the reason, and everything else is stored.
        """
        try:
            with self.sessions() as session, session.begin():
                self.fence(session)
                return store_batch(session, items, last_seq, deleted, purge_deleted=self.purge_deleted)
        except Exception as exc:
            if is_outage(exc) or isinstance(exc, LeaseLost) or not items:
                raise
            why = reason(exc)
        if len(items) == 1:
            return self._store_failed(items[0], why, last_seq, deleted)
        half = len(items) // 2
        log.warning("a batch of %d object(s) up to change %d was not stored (%s): storing it in halves",
                    len(items), last_seq, _kind(why))
        return self.store(items[:half], items[half].change_seq - 1, deleted) + self.store(items[half:], last_seq)

    def _store_failed(self, item: Processed, why: str, last_seq: int, deleted: list[Deletion]) -> int:
        """The ledger row of an object whose records could not be stored: ``error`` with the database's reason."""
        log.error("change %d (Orthanc instance %s) not stored (%s): its error row says why",
                  item.change_seq, item.orthanc_id, _kind(why))
        record = item.record
        row = Processed(item.change_seq, item.orthanc_id,
                        DoseRecord("error", f"its records could not be stored: {why}", None, record.sop_instance_uid,
                                   record.sop_class_uid, modality=record.modality),
                        item.sop_instance_uid)
        try:
            with self.sessions() as session, session.begin():
                self.fence(session)
                return store_batch(session, [row], last_seq, deleted, purge_deleted=self.purge_deleted)
        except Exception as exc:
            if is_outage(exc) or isinstance(exc, LeaseLost):
                raise
        # even its identifiers were refused: the row keeps the Orthanc id only
        row.record = DoseRecord("error", row.record.reason)
        row.sop_instance_uid = None
        with self.sessions() as session, session.begin():
            self.fence(session)
            return store_batch(session, [row], last_seq, deleted, purge_deleted=self.purge_deleted)

    def _process(self, change: dict) -> Processed | None:
        """The record of one new instance; whatever fails here (Orthanc's lookups, the extractor) is its ``error`` row."""
        orthanc_id = change["ID"]
        summary: dict = {}
        try:
            summary = self.source.instance_summary(orthanc_id)
            if summary is None:
                return None  # deleted before we got to it: nothing to record
            skip = reason_to_skip(summary["sop_class_uid"]) if summary.get("sop_class_uid") else None
            if skip:
                record = DoseRecord("ignored", skip, None, summary.get("sop_instance_uid"), summary["sop_class_uid"])
            else:
                data = self.source.instance_file(orthanc_id)
                if data is None:
                    return None
                started = time.perf_counter()
                record = extract(data)
                if record.dose_screen:  # recognised from its header: its pixels are read off the ingest path
                    record = queued(record)
                log.debug("extracted %s in %.3f s: %s", orthanc_id, time.perf_counter() - started, record.status)
        except Exception as exc:  # e.g. OrthancException (17, 'Unknown resource') for metadata Orthanc cannot resolve
            log.error("change %d (Orthanc instance %s) not read (%s): its error row says why",
                      change["Seq"], orthanc_id, type(exc).__name__)
            record = DoseRecord("error", f"not read: {reason(exc)}", sop_class_uid=(summary or {}).get("sop_class_uid"))
        return Processed(change["Seq"], orthanc_id, record, (summary or {}).get("sop_instance_uid"))


def _kind(why: str) -> str:
    """The name of the error only: its text can quote the data (patient names), which stays out of the log."""
    return why.split(":", 1)[0]
