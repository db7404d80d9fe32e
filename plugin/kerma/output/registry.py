"""Dose reports to a dose registry (IHE REM, RAD-63 Submit Dose Information), de-identified, through a durable
outbox: every RDSR Kerma records gets one ``registry_submission`` row; the sender (a daemon thread) de-identifies
each pending report in a child process (pydicom walks a large SR for seconds: never in Orthanc's threads) and sends
it through Orthanc's modality (``/modalities/{name}/store-straight``: the site's DICOM routing and TLS apply,
nothing is stored in the PACS).  A row is ``sent`` only after the registry answered the C-STORE; a registry that is
down leaves it ``pending`` with the error, tried again later, none lost.  The de-identified report's UIDs are
derived from the original's (:mod:`kerma.output.deidentify`), so a repeat after a crash between the registry's
answer and the commit is the same object to the registry: stored once.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import io
import multiprocessing
from typing import Protocol

from sqlalchemy import exists, select

from .. import clock
from ..background import PeriodicThread
from ..config import RegistrySettings
from ..db.models import DoseObject, RegistrySubmission
from ..child import interpreter

BATCH = 20
DEIDENTIFY_TIMEOUT_SECONDS = 300


class NotSent(RuntimeError):
    """A report the registry did not take (down, refusing): the sender backs off and tries again."""


class Registry(Protocol):
    def instance_file(self, orthanc_id: str) -> bytes | None: ...

    def store(self, modality: str, data: bytes) -> None:
        """Send ``data`` to the modality by C-STORE; raises when it is not taken."""


def deidentified(data: bytes, secret: bytes, settings: RegistrySettings, when) -> tuple[bytes, str, str]:
    """(the de-identified report, its SOP Instance UID, its De-identification Method): run in the child process."""
    import pydicom

    from .deidentify import Policy, deidentify

    policy = Policy(secret, patient=settings.patient, dates=settings.dates, descriptions=settings.descriptions,
                    purpose=settings.purpose)
    result = deidentify(pydicom.dcmread(io.BytesIO(data)), policy, when)
    out = io.BytesIO()
    result.save_as(out, enforce_file_format=True)
    return out.getvalue(), str(result.SOPInstanceUID), ", ".join(result.DeidentificationMethod)


class RegistrySender(PeriodicThread):
    """Enqueues every recorded RDSR for the registry and sends the pending ones, oldest first."""

    name = "kerma-registry"

    def __init__(self, sessions, registry: Registry, settings: RegistrySettings, secret, interval: float = 10.0):
        super().__init__(interval)
        self.sessions, self.registry, self.settings, self.secret = sessions, registry, settings, secret
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def tick(self) -> bool:
        with self.sessions() as session, session.begin():
            self._enqueue(session)
        with self.sessions() as session:
            pending = session.execute(
                select(RegistrySubmission.id, DoseObject.orthanc_id).join(DoseObject)
                .where(RegistrySubmission.status == "pending", RegistrySubmission.modality == self.settings.modality)
                .order_by(RegistrySubmission.id).limit(BATCH)).all()
        for submission_id, orthanc_id in pending:
            error = self._send(submission_id, orthanc_id)
            if error is not None:  # the registry refused or is down: the rest waits, tried again with back-off
                raise NotSent(f"registry {self.settings.modality}: submission {submission_id} not sent: {error}")
        return len(pending) == BATCH

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _enqueue(self, session) -> None:
        registry = self.settings.modality
        new = session.scalars(select(DoseObject.id).where(
            DoseObject.status == "ok", DoseObject.source == "rdsr", DoseObject.deleted_in_pacs_at.is_(None),
            ~exists().where(RegistrySubmission.dose_object_id == DoseObject.id,
                            RegistrySubmission.modality == registry)).order_by(DoseObject.id).limit(1000)).all()
        session.add_all(RegistrySubmission(modality=registry, dose_object_id=i, status="pending", attempts=0)
                        for i in new)

    def _send(self, submission_id: int, orthanc_id: str | None) -> str | None:
        """Send one report; None when the registry took it or the report itself cannot be sent (``failed`` with the
        reason: it must not hold up the others), else the kind of the registry's error (the row stays pending)."""
        try:
            data = self.registry.instance_file(orthanc_id) if orthanc_id else None
            if data is None:
                raise LookupError("the report is no longer in Orthanc")
            report, uid, method = self._deidentify(data)
        except concurrent.futures.process.BrokenProcessPool as exc:  # the child died: tried again
            return self._record(submission_id, "pending", exc)
        except Exception as exc:  # unreadable, or its de-identification refused (a Leak): never sent as it is
            self._record(submission_id, "failed", exc)
            return None
        try:
            self.registry.store(self.settings.modality, report)
        except Exception as exc:  # the registry is down or refused it: pending, the rest of the round waits
            return self._record(submission_id, "pending", exc)
        self._record(submission_id, "sent", None, uid=uid, method=method)
        return None

    def _record(self, submission_id: int, status: str, error: Exception | None, **sent) -> str | None:
        with self.sessions() as session, session.begin():
            row = session.get(RegistrySubmission, submission_id)
            row.attempts += 1
            row.status = status
            row.last_error = None if error is None else f"{type(error).__name__}: {error}"[:2000]
            if status == "sent":
                row.sent_at, row.sent_sop_instance_uid, row.method = clock.now(), sent["uid"], sent["method"]
        return None if error is None else type(error).__name__

    def _deidentify(self, data: bytes) -> tuple[bytes, str, str]:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            context.set_executable(interpreter())
            self._pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context)
        future = self._pool.submit(deidentified, data, self.secret(), self.settings, clock.now())
        try:
            return future.result(timeout=DEIDENTIFY_TIMEOUT_SECONDS)
        except concurrent.futures.process.BrokenProcessPool:
            self._pool = None  # started again for the next one
            raise
