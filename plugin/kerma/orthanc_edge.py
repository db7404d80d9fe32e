"""The only module that imports ``orthanc``: wires Kerma's pure core into Orthanc.

* a change callback that only wakes the ingest worker (no Python on the C-STORE path);
* a daemon worker thread that follows /changes (see :mod:`kerma.ingest.worker`);
* REST routes under /kerma/api/, behind Orthanc's own authentication;
* the back-fill runner (:mod:`kerma.backfill`), a daemon thread that retrieves the dose objects of a remote PACS
  through Orthanc's modalities;
* the HL7 MLLP listener (:mod:`kerma.hl7.service`) when ``Kerma.Hl7Port`` is set, and the MPPS SCP
  (:mod:`kerma.mpps.service`) when ``Kerma.MppsPort`` is set, each in a process of its own, started with Orthanc,
  started again when it dies, stopped with Orthanc (:mod:`kerma.supervisor`).

Every callback catches everything: an exception escaping into Orthanc can
leak memory or stop it.
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import math
import urllib.parse
from pathlib import Path

import orthanc

from . import __version__, access
from .api import Context
from .api.http import INTERNAL_ERROR, Response, json_response, serve
from .api.router import logged_as
from .auth_profile import UserProfiles
from .backfill.remote import RemoteError
from .backfill.runner import BackfillRunner
from .config import Settings
from .db.engine import make_engine, make_sessionmaker
from .db.errors import describe
from .db.schema import upgrade
from .db.states import mark_months_stale
from .drl.sets import load_table
from .evaluate.shipped import load_shipped_rules
from .hl7 import service as hl7_service
from .mpps import service as mpps_service
from .ingest.store import read_cursor
from .ingest.dosimetry import DosimetryProcess, DosimetryThread
from .ingest.ocr_process import OcrProcess
from .ingest.screens import ScreenReader
from .ingest.worker import IngestWorker
from .lease import Lease, LeaseKeeper
from .startup import start_line
from .privacy.key import key as pseudonymisation_key, move_out_of_database
from .supervisor import ListenerSupervisor
from .stats.refresher import StatisticsProcess, SummaryRefresher
from .ui_page import ui_page
from .notify.poller import OutboxPoller, configure as configure_notifications
from .output.registry import RegistrySender
from .reports.scheduler import Scheduler


class _OrthancLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = "Kerma: " + self.format(record)
            if record.levelno >= logging.ERROR:
                orthanc.LogError(message)
            elif record.levelno >= logging.WARNING:
                orthanc.LogWarning(message)
            else:
                orthanc.LogInfo(message)
        except Exception:
            pass


log = logging.getLogger("kerma")


class OrthancInstances:
    """:class:`kerma.ingest.worker.InstanceSource` over Orthanc's in-process REST API."""

    @staticmethod
    def changes(since: int, limit: int) -> dict:
        return json.loads(orthanc.RestApiGet(f"/changes?since={since}&limit={limit}"))

    @staticmethod
    def last_seq() -> int:
        return json.loads(orthanc.RestApiGet("/changes?last"))["Last"]

    @staticmethod
    def instance_summary(orthanc_id: str) -> dict | None:
        """Raises what else Orthanc raises: the worker gives the instance an ``error`` row and goes on."""
        try:
            tags = json.loads(orthanc.RestApiGet(f"/instances/{orthanc_id}"))["MainDicomTags"]
        except orthanc.OrthancException as exc:
            if _unknown_resource(exc):
                return None  # deleted before Kerma read it
            raise
        try:
            sop_class = orthanc.RestApiGet(f"/instances/{orthanc_id}/metadata/SopClassUid").decode() or None
        except orthanc.OrthancException as exc:
            if not _unknown_resource(exc):
                raise
            sop_class = None  # Orthanc could not resolve it (e.g. the UID only nested): the file is read instead
        return {"sop_instance_uid": tags.get("SOPInstanceUID"), "sop_class_uid": sop_class}

    @staticmethod
    def instance_file(orthanc_id: str) -> bytes | None:
        try:
            return orthanc.RestApiGet(f"/instances/{orthanc_id}/file")
        except orthanc.OrthancException as exc:
            if _unknown_resource(exc):
                return None
            raise


class OrthancRegistry(OrthancInstances):
    """:class:`kerma.output.registry.Registry`: reports from Orthanc's store, sent through its modalities (C-STORE
    of a body: ``store-straight``, nothing stored in the PACS)."""

    @staticmethod
    def store(modality: str, data: bytes) -> None:
        orthanc.RestApiPost(f"/modalities/{urllib.parse.quote(modality, safe='')}/store-straight", data)


def _unknown_resource(exc: Exception) -> bool:
    """Orthanc's answer for a resource it does not have: ``OrthancException (17, 'Unknown resource')``."""
    return bool(exc.args) and exc.args[0] == orthanc.ErrorCode.UNKNOWN_RESOURCE


class OrthancRestApi:
    """:class:`kerma.reconcile.orthanc_sync.OrthancRest` and :class:`kerma.images.OrthancReader` over Orthanc's
    in-process REST API."""

    @staticmethod
    def get(uri: str) -> object:
        return json.loads(orthanc.RestApiGet(uri))

    @staticmethod
    def post(uri: str, body) -> object:
        return json.loads(orthanc.RestApiPost(uri, body if isinstance(body, str) else json.dumps(body)))


class OrthancModalities:
    """:class:`kerma.backfill.remote.RemotePacs` over Orthanc's REST API: its modalities' C-FIND and C-MOVE (as
    jobs, so that no SDK call lasts a retrieve), its jobs and its instances."""

    def find(self, modality: str, level: str, keys: dict, timeout: float) -> list[dict]:
        query = self._query(modality, level, keys, timeout)
        try:
            return _remote(orthanc.RestApiGet, f"/queries/{query}/answers?expand&simplify")
        finally:
            self._forget(query)

    def retrieve(self, modality: str, level: str, keys: dict, timeout: float) -> str:
        """C-FIND for exactly these objects, then C-MOVE of every answer to Orthanc's own AE title (Orthanc 1.10's
        ``/modalities/{id}/move`` cannot run as a job; a query's ``retrieve`` can, on every version since)."""
        query = self._query(modality, level, keys, timeout)
        try:
            return _remote(orthanc.RestApiPost, f"/queries/{query}/retrieve", {"Asynchronous": True})["ID"]
        finally:
            self._forget(query)  # the job keeps its own copy of the answers

    def job(self, job_id: str) -> dict | None:
        try:
            return json.loads(orthanc.RestApiGet(f"/jobs/{urllib.parse.quote(job_id, safe='')}"))
        except orthanc.OrthancException as exc:
            if _unknown_resource(exc):
                return None
            raise

    def has_instance(self, sop_instance_uid: str) -> bool:
        found = json.loads(orthanc.RestApiPost("/tools/lookup", sop_instance_uid))
        return any(match.get("Type") == "Instance" for match in found)

    @staticmethod
    def _query(modality: str, level: str, keys: dict, timeout: float) -> str:
        return _remote(orthanc.RestApiPost, f"/modalities/{urllib.parse.quote(modality, safe='')}/query",
                       {"Level": level, "Query": keys, "Timeout": math.ceil(timeout)})["ID"]  # 1.10: an integer

    @staticmethod
    def _forget(query: str) -> None:
        try:
            orthanc.RestApiDelete(f"/queries/{query}")
        except orthanc.OrthancException:
            pass  # Orthanc drops old queries itself (QueryRetrieveSize)


def _remote(call, uri: str, body: dict | None = None):
    """An Orthanc REST call on a remote modality's behalf; Orthanc's refusal (network, DIMSE status, unknown
    modality) is a :class:`RemoteError`."""
    try:
        return json.loads(call(uri) if body is None else call(uri, json.dumps(body)))
    except orthanc.OrthancException as exc:
        raise RemoteError(f"Orthanc: {exc}") from None


EXPLORER_EXTENSION = Path(__file__).resolve().parents[2] / "webui" / "explorer-extension.js"

_worker: IngestWorker | None = None
_screens: ScreenReader | None = None
_dosimetry: DosimetryThread | None = None
_context: Context | None = None
_outbox: OutboxPoller | None = None
_jobs: Scheduler | None = None
_hl7_listener: ListenerSupervisor | None = None
_mpps_listener: ListenerSupervisor | None = None
_summaries: SummaryRefresher | None = None
_profiles: UserProfiles | None = None
_backfill: BackfillRunner | None = None
_registry: RegistrySender | None = None
_lease: LeaseKeeper | None = None


def start() -> None:
    global _worker, _screens, _dosimetry, _context, _hl7_listener, _mpps_listener, _outbox, _jobs, _summaries, _profiles, _backfill
    global _registry, _lease
    handler = _OrthancLogHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False

    settings = Settings.from_orthanc(json.loads(orthanc.GetConfiguration()))
    if not settings.enabled:
        log.warning("disabled by configuration (Kerma.Enabled = false)")
        return
    upgrade(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session, session.begin():
        moved = move_out_of_database(session, settings)  # earlier versions kept the pseudonymisation key there
        if load_table(session):  # the shipped national DRL sets, once
            mark_months_stale(session)
        load_shipped_rules(session)  # the shipped alert rules and criteria, once each
    if moved:
        log.warning(moved)
    configure_notifications(settings)
    if settings.user_profile_url and settings.token_headers:
        _profiles = UserProfiles(settings.user_profile_url, settings.token_headers)
    _outbox = OutboxPoller(sessions, settings)  # e-mails and webhooks, outside every ingest transaction
    _jobs = Scheduler(sessions, settings)  # daily digest and reports (rendered in child processes)
    _summaries = SummaryRefresher(sessions, process=StatisticsProcess(settings.database_url))  # off Orthanc's GIL
    source = OrthancInstances()
    # dose screens: read in the OCR process, one at a time, by this thread; their studies refreshed by the worker
    _screens = ScreenReader(source, sessions, OcrProcess(settings.ocr_timeout_seconds), poll_seconds=settings.poll_seconds)
    _worker = IngestWorker(source, sessions, batch_size=settings.batch_size, poll_seconds=settings.poll_seconds,
                           purge_deleted=settings.purge_deleted_from_pacs, screens_queued=_screens.wake)
    _screens.recorded, _screens.give_way.ingest_quiet = _worker.wake, _worker.quiet_for  # OCR yields to C-STORE
    if settings.dosimetry:  # derived doses in the dosimetry process, when the studies' inputs change
        _dosimetry = DosimetryThread(source, sessions, DosimetryProcess().compute, poll_seconds=settings.poll_seconds,
                                     ingest_quiet=_worker.quiet_for)
    _backfill = BackfillRunner(sessions, OrthancModalities(), settings.backfill, lag=_ingest_lag)
    if settings.registry is not None:  # de-identified dose reports to the dose registry (IHE REM)
        _registry = RegistrySender(sessions, OrthancRegistry(), settings.registry,
                                   lambda: pseudonymisation_key(settings), interval=settings.outbox_poll_seconds)
    if settings.node_name:  # one of several nodes: the work that runs once runs on the lease's holder
        lease = Lease(sessions, settings.node_name, settings.lease_seconds)
        once = [thread for thread in (_worker, _screens, _dosimetry, _summaries, _outbox, _jobs, _backfill, _registry)
                if thread is not None]
        for thread in once:
            thread.gate = lease.held
        _worker.fence = lease.hold
        _lease = LeaseKeeper(lease, on_taken=lambda: [thread.wake() for thread in once])
    _context = Context(sessions, orthanc_last_seq=source.last_seq, worker_error=lambda: _worker.last_error,
                       settings=settings, orthanc=OrthancRestApi(), ocr_state=_screens.state,
                       statistics_state=_summaries.state)
    if _dosimetry is not None:
        _context.dosimetry_state = _dosimetry.state
    if settings.hl7_port:
        _hl7_listener = ListenerSupervisor("HL7", hl7_service.serve, (
            settings.hl7_bind_address, settings.hl7_port, settings.database_url, settings.hl7_patient_id_authority,
            settings.hl7_limits), settings.hl7_port)
        _hl7_listener.start()  # now: it needs only the database, and senders may connect as soon as Orthanc answers
        _context.hl7_state = _hl7_listener.state
    if settings.mpps_port:
        _mpps_listener = ListenerSupervisor("MPPS", mpps_service.serve, (
            settings.mpps_bind_address, settings.mpps_port, settings.mpps_ae_title, settings.database_url,
            settings.mpps_modalities, settings.mpps_check_host, settings.mpps_max_associations), settings.mpps_port)
        _mpps_listener.start()
        _context.mpps_state = _mpps_listener.state
    orthanc.RegisterOnChangeCallback(_on_change)
    orthanc.RegisterRestCallback("/kerma/api/(.*)", _on_rest)
    orthanc.RegisterRestCallback("/kerma/ui/?", _to_index)  # Orthanc drops the trailing slash: no page at /kerma/ui/
    orthanc.RegisterRestCallback("/kerma/ui/index\\.html", _on_ui_page)  # the UI's other files: ServeFolders (webui/)
    orthanc.ExtendOrthancExplorer(EXPLORER_EXTENSION.read_text(encoding="utf-8"))
    # What is loaded by now (modules, mappers, DICOM and HL7 dictionaries) lives as long as Orthanc: out of the cycle
    # collector's sight.  Its full collections scanned it all again every few large reports, 100-180 ms holding the
    # GIL each, in the middle of storing (the ORM's objects leave cycles: about 10,000 collected each time)
    gc.collect()
    gc.freeze()


def _on_change(change_type, level, resource_id) -> None:
    try:
        if change_type == orthanc.ChangeType.ORTHANC_STARTED:
            _log_start()
            if _lease is not None:
                _lease.start()
            _worker.start()  # after Orthanc is serving: the worker uses its REST API
            _screens.start()
            if _dosimetry is not None:
                _dosimetry.start()
            _summaries.start()
            _outbox.start()
            _jobs.start()
            _backfill.start()
            if _registry is not None:
                _registry.start()
        elif change_type == orthanc.ChangeType.ORTHANC_STOPPED:
            for listener in (_hl7_listener, _mpps_listener):
                if listener is not None:
                    listener.stop()
            if _lease is not None:
                _lease.stop()
            _worker.stop()
            _screens.stop()
            if _dosimetry is not None:
                _dosimetry.stop()
            _summaries.stop()
            _outbox.stop()
            _jobs.stop()
            _backfill.stop()
            if _registry is not None:
                _registry.stop()
        elif change_type == orthanc.ChangeType.DELETED and level == orthanc.ResourceType.INSTANCE:
            _worker.deleted(resource_id)  # Orthanc's durable log drops a deleted resource's changes: only this says so
        elif change_type == orthanc.ChangeType.NEW_INSTANCE:
            _backfill.arrived()  # a modality storing: a back-fill gives way
            _worker.wake()
        else:  # any change moves the log; waking on all of them keeps the cursor (and lag) current
            _worker.wake()
    except Exception as exc:
        log.error("change callback failed: %s", exc)


def _ingest_lag() -> int:
    """Changes of Orthanc's log that Kerma's ingest has not yet recorded (the back-fill waits while there are many)."""
    with _context.sessions() as session:
        return _context.orthanc_last_seq() - read_cursor(session)


def _log_start() -> None:
    """One line in Orthanc's log: version, database (no password), cursor, lag. At warning level, as Orthanc's own
    start-up lines, so that it shows without --verbose."""
    try:
        with _context.sessions() as session:
            cursor = read_cursor(session)
        log.warning(start_line(__version__, _context.settings.database_url, cursor, _context.orthanc_last_seq()))
    except Exception as exc:  # the line is information: never a reason not to ingest
        log.error("start line not written: %s: %s", type(exc).__name__, exc)


def _on_rest(output, uri, **request) -> None:
    method, path = request.get("method", "GET"), urllib.parse.unquote(request.get("groups", [""])[0])
    try:
        headers = request.get("headers") or {}
        user, roles = _identity(headers)
        _send(output, serve(
            _context,
            method=method,
            path=path,
            # Orthanc 1.10 hands the arguments over still percent-encoded ("new%2Cclosed")
            query={urllib.parse.unquote(k): urllib.parse.unquote(v) for k, v in (request.get("get") or {}).items()},
            headers=headers,
            body=request.get("body"),
            user=user,
            roles=roles,
        ))
    except Exception as exc:
        where = logged_as(method, path)  # not the uri: it may hold a patient id
        log.error("REST %s failed: %s", where, describe(exc))
        try:
            _send(output, json_response(500, {"error": INTERNAL_ERROR}, where))
        except Exception:
            pass


def _send(output, response: Response) -> None:
    for name, value in response.headers.items():
        output.SetHttpHeader(name, value)
    if response.filename:
        output.SetHttpHeader("Content-Disposition", f'attachment; filename="{response.filename}"')
    if response.status == 200:
        output.AnswerBuffer(response.body, response.content_type)
    elif response.status == 405:
        output.SendMethodNotAllowed(",".join(response.allowed or ["GET"]))
    else:  # plugin 4.0: (status, str, size in bytes); strict_json is ASCII
        output.SendHttpStatus(response.status, response.body.decode("ascii", "replace"), len(response.body))


def _to_index(output, uri, **request) -> None:
    try:
        output.Redirect("/kerma/ui/index.html")
    except Exception as exc:
        log.error("UI redirect failed: %s", exc)


def _on_ui_page(output, uri, **request) -> None:
    try:
        if request.get("method", "GET") != "GET":
            output.SendMethodNotAllowed("GET")
            return
        _send(output, ui_page(*_identity(request.get("headers") or {})))
    except Exception as exc:
        log.error("UI page failed: %s: %s", type(exc).__name__, exc)


def _identity(headers: dict) -> tuple[str | None, frozenset[str]]:
    """Who asks (Orthanc checked the password, or the authorization plugin the token) and their roles in Kerma."""
    settings = _context.settings
    profile = _profiles.profile(headers) if _profiles is not None else None
    return access.identify(_user(headers), profile, settings.roles, settings.profile_roles, settings.default_role)


def _user(headers: dict) -> str | None:
    """The HTTP Basic user name Orthanc authenticated (it checked the password)."""
    value = headers.get("authorization") or headers.get("Authorization") or ""
    if not value.lower().startswith("basic "):
        return None
    try:
        return base64.b64decode(value[6:]).decode("utf-8").split(":", 1)[0]
    except ValueError:
        return None
