"""The MPPS SCP: pynetdicom's association server with Kerma's access rule and N-CREATE / N-SET handlers.

Only declared modalities may open an association (:class:`kerma.modalities.Gate`: calling AE title, and the
address when Orthanc checks hosts), calling Kerma's MPPS AE title; others are rejected before any message.
Presentation contexts: Modality Performed Procedure Step and Verification (C-ECHO, to test the link).  Each
request runs in one database transaction (:mod:`kerma.mpps.steps`); what cannot be read gets its status and
the association goes on; a database that cannot be reached gets ``0x0110`` with "send it again" and nothing of
the request is kept, so the SCU's retry is applied whole.
"""

from __future__ import annotations

import logging
from typing import Callable

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, Verification
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from .. import clock
from ..db.outage import is_outage
from ..modalities import Gate
from . import steps

log = logging.getLogger("kerma.mpps")

REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED = 0x01, 0x01, 0x03
ATTEMPTS = 3  # a request that collides with a concurrent write of the same study or instance is tried again


class MppsScp:
    """Builds and runs the association server.

    Parameters
    ----------
    sessions : sessionmaker
        The dose database.
    ae_title : str
        Kerma's MPPS AE title (what SCUs must call).
    gate : Gate
        Who may call.
    max_associations : int
        Associations served at once.
    now : callable
        The clock (UTC) for the instances' times.
    """

    def __init__(self, sessions: sessionmaker, ae_title: str, gate: Gate, max_associations: int = 10,
                 now: Callable = clock.now):
        self.sessions = sessions
        self.gate = gate
        self.now = now
        self.ae = AE(ae_title=ae_title)
        self.ae.require_called_aet = True
        self.ae.maximum_associations = max_associations
        self.ae.add_supported_context(ModalityPerformedProcedureStep)
        self.ae.add_supported_context(Verification)
        self.server = None

    def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port) in a thread; returns the port. Raises OSError when it cannot."""
        handlers = [(evt.EVT_REQUESTED, self._on_requested), (evt.EVT_N_CREATE, self._on_n_create),
                    (evt.EVT_N_SET, self._on_n_set)]
        self.server = self.ae.start_server((host, port), block=False, evt_handlers=handlers)
        return self.server.server_address[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()

    # --- handlers (run on pynetdicom's association threads) --------------------------------------------------

    def _on_requested(self, event) -> None:
        requestor = event.assoc.requestor
        calling = requestor.primitive.calling_ae_title
        if not self.gate.admits(calling, requestor.address):
            log.warning("association from %s at %s rejected: not a declared modality", calling, requestor.address)
            event.assoc.acse.send_reject(REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED)

    def _on_n_create(self, event):
        request = event.request
        uid = request.AffectedSOPInstanceUID or generate_uid()
        answer = self._apply("N-CREATE", event, lambda s, attributes, caller: steps.create(s, uid, attributes, caller, self.now()),
                             lambda: event.attribute_list)
        created = Dataset()
        if answer.ok and request.AffectedSOPInstanceUID is None:
            created.AffectedSOPInstanceUID = uid  # the SCP made the UID: the response names it (PS3.7 10.1.5.1.4)
        return _status(answer), created if answer.ok else None

    def _on_n_set(self, event):
        uid = event.request.RequestedSOPInstanceUID
        answer = self._apply("N-SET", event, lambda s, modifications, caller: steps.update(s, uid, modifications, caller, self.now()),
                             lambda: event.modification_list)
        return _status(answer), None

    def _apply(self, operation: str, event, apply: Callable, dataset: Callable[[], Dataset]) -> steps.Answer:
        caller = event.assoc.requestor.ae_title
        try:
            received = dataset().to_json_dict()  # decodes every element now: a broken one is this request's failure
        except Exception as exc:
            log.warning("%s from %s: attribute list unreadable (%s)", operation, caller, type(exc).__name__)
            return steps.Answer(steps.PROCESSING_FAILURE, f"the data set could not be decoded: {type(exc).__name__}"[:64])
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.sessions() as session, session.begin():
                    answer = apply(session, received, caller)
                    step_id = answer.step.id if answer.step is not None else None
                    outcome = _outcome(answer)
                break
            except IntegrityError as exc:  # a concurrent write took the row first: look again
                if is_outage(exc) or attempt == ATTEMPTS:
                    return self._failed(operation, caller, exc)
            except Exception as exc:
                return self._failed(operation, caller, exc)
        log.info("%s from %s (step %s): status 0x%04X, %s", operation, caller, step_id if step_id else "-",
                 answer.status, outcome)
        return answer

    def _failed(self, operation: str, caller: str, exc: Exception) -> steps.Answer:
        if is_outage(exc):
            log.error("%s from %s not applied: database unavailable (%s)", operation, caller, type(exc).__name__)
            return steps.Answer(steps.PROCESSING_FAILURE, "database unavailable: send it again")
        log.error("%s from %s not applied: %s: %s", operation, caller, type(exc).__name__, str(exc)[:200])
        return steps.Answer(steps.PROCESSING_FAILURE, f"not applied: {type(exc).__name__}"[:64])


def _outcome(answer: steps.Answer) -> str:
    """What the log says happened (no patient data)."""
    if not answer.ok:
        return answer.comment or "refused"
    step = answer.step
    if step.state == "in_progress":
        return "in progress"
    return f"{step.state}, " + ("dose record stored" if step.dose_object is not None else "no dose values")


def _status(answer: steps.Answer) -> Dataset:
    status = Dataset()
    status.Status = answer.status
    if answer.comment:
        status.ErrorComment = answer.comment[:64]  # LO
    if answer.error_id is not None:
        status.ErrorID = answer.error_id
    return status
