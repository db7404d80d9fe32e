"""Kerma's settings: the ``"Kerma"`` section of Orthanc's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import access
from .modalities import Modality, declared

# patient IDs or names that a modality or the RIS uses for a patient not yet identified
DEFAULT_PLACEHOLDER_PATTERNS = ("UNKNOWN", "UNBEKANNT", "EMERGENCY", "NOTFALL", "TRAUMA", "ANONYMOUS", "^NN", "^X+$",
                                "MOTORBIKE", "ACCIDENT", "^DOE\\^JOHN", "^DOE\\^JANE")


@dataclass(frozen=True)
class ListenerLimits:
    """What senders may hold of the listener (the ``Kerma`` keys in brackets).

    Attributes
    ----------
    max_connections : int
        Open connections at most (``Hl7MaxConnections``).  When all are taken, a new
        connection takes the place of the one idle longest (idle at least
        ``evict_after_seconds``); when none is idle, it gets an AE saying to come back.
    idle_seconds : float
        A connection that completes no message for this long is closed
        (``Hl7IdleTimeoutSeconds``; 0: never).  Senders open a new one for their next message.
    message_seconds : float
        A message must arrive whole within this long of its first byte, or it gets an
        AE and its connection is closed: a sender trickling bytes holds nothing for long
        (``Hl7MessageTimeoutSeconds``).
    frame_seconds : float
        Silence inside an unfinished frame for this long: the frame gets an AE and the
        connection goes on.
    max_message_bytes : int
        A larger message gets an AE as soon as it is too large; the rest of it is read
        and dropped, and the connection goes on (``Hl7MaxMessageBytes``).
    evict_after_seconds : float
        How long a connection must have been idle before a new one may take its place.
    """

    max_connections: int = 32
    idle_seconds: float = 300.0
    message_seconds: float = 60.0
    frame_seconds: float = 10.0
    max_message_bytes: int = 1 << 20
    evict_after_seconds: float = 1.0

    @classmethod
    def from_section(cls, section: dict) -> "ListenerLimits":
        """The limits of a ``"Kerma"`` configuration section (defaults for the keys it lacks)."""
        defaults = cls()
        return cls(max_connections=max(1, int(section.get("Hl7MaxConnections", defaults.max_connections))),
                   idle_seconds=float(section.get("Hl7IdleTimeoutSeconds", defaults.idle_seconds)),
                   message_seconds=float(section.get("Hl7MessageTimeoutSeconds", defaults.message_seconds)),
                   max_message_bytes=int(section.get("Hl7MaxMessageBytes", defaults.max_message_bytes)))


@dataclass(frozen=True)
class SmtpSettings:
    """``Kerma.Smtp``: the mail server that alert, digest and report e-mails go through."""

    host: str | None = None  # None: no e-mail is sent (messages wait in the outbox)
    port: int = 25
    sender: str = "kerma@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_section(cls, section: dict) -> "SmtpSettings":
        return cls(host=section.get("Host") or None, port=int(section.get("Port", 25)),
                   sender=str(section.get("From", "kerma@localhost")), user=section.get("User") or None,
                   password=section.get("Password") or None, starttls=bool(section.get("StartTls", False)))


@dataclass(frozen=True)
class BackfillSettings:
    """How fast a back-fill from a remote PACS may go (``kerma.backfill.throttle``): it must not starve live C-STORE."""

    instances_per_second: float = 10.0  # retrieved instances, on average
    queries_per_second: float = 5.0  # C-FINDs
    max_lag: int = 100  # the job waits while more changes of Orthanc's log than this are not yet ingested
    quiet_seconds: float = 2.0  # the job waits until this long after the last live instance stored (0: it does not)
    timeout_seconds: float = 60.0  # of each C-FIND, and of each C-MOVE's silence

    @classmethod
    def from_section(cls, section: dict) -> "BackfillSettings":
        return cls(instances_per_second=_positive(section.get("BackfillInstancesPerSecond", cls.instances_per_second),
                                                  "BackfillInstancesPerSecond"),
                   queries_per_second=_positive(section.get("BackfillQueriesPerSecond", cls.queries_per_second),
                                                "BackfillQueriesPerSecond"),
                   max_lag=int(section.get("BackfillMaxLag", cls.max_lag)),
                   quiet_seconds=_not_negative(section.get("BackfillQuietSeconds", cls.quiet_seconds),
                                               "BackfillQuietSeconds"),
                   timeout_seconds=_positive(section.get("BackfillTimeoutSeconds", cls.timeout_seconds),
                                             "BackfillTimeoutSeconds"))


@dataclass(frozen=True)
class RegistrySettings:
    """``Kerma.Registry``: where de-identified dose reports go (an Orthanc modality) and how they are de-identified
    (:class:`kerma.output.deidentify.Policy`)."""

    modality: str
    patient: str = "pseudonym"
    dates: str = "keep"
    descriptions: str = "keep"
    purpose: str = "registry"

    @classmethod
    def from_section(cls, section: dict | None) -> "RegistrySettings | None":
        if not section or not section.get("Modality"):
            return None
        return cls(str(section["Modality"]), str(section.get("Patient", cls.patient)),
                   str(section.get("Dates", cls.dates)), str(section.get("Descriptions", cls.descriptions)),
                   str(section.get("Purpose", cls.purpose)))


@dataclass(frozen=True)
class Settings:
    database_url: str
    enabled: bool = True
    batch_size: int = 100
    poll_seconds: float = 2.0
    purge_deleted_from_pacs: bool = False  # True: an instance Orthanc deletes takes its dose records along (audited)
    ocr_timeout_seconds: float = 300.0  # one dose screen's OCR (wall time); longer, it is stopped and the screen is an error
    dosimetry: bool = True  # derived doses (effective dose, SSDE, skin dose) computed in the dosimetry process
    hl7_port: int = 0  # 0: no HL7 listener
    hl7_bind_address: str = "127.0.0.1"
    hl7_patient_id_authority: str | None = None  # which PID-3 identifier is the DICOM Patient ID
    hl7_limits: ListenerLimits = ListenerLimits()  # connections, idle and message time, message size
    mpps_port: int = 0  # 0: no MPPS listener
    mpps_ae_title: str = "KERMA"
    mpps_bind_address: str = "127.0.0.1"
    mpps_modalities: tuple[Modality, ...] = ()  # who may send MPPS (default: Orthanc's DicomModalities)
    mpps_check_host: bool = False  # Orthanc's DicomCheckModalityHost: the calling address must be the declared host
    mpps_max_associations: int = 10
    no_dose_delay_hours: float = 24.0
    apply_corrections_to_orthanc: bool = False
    placeholder_patterns: tuple[str, ...] = DEFAULT_PLACEHOLDER_PATTERNS
    smtp: SmtpSettings = SmtpSettings()
    base_url: str = "http://localhost:8042"  # links to studies in Kerma: <BaseUrl>/kerma/ui/#/studies/<uid>
    webhooks: tuple[dict, ...] = ()  # {"Url": ..., "Secret": ...} (a plain string is a URL)
    outbox_poll_seconds: float = 5.0
    # alerts on studies older than this many days are recorded, not e-mailed or posted (0: all are): a back-fill of
    # Orthanc's history tells no one about years-old studies, while reports arriving days late are still told
    notify_within_days: int = 14
    digest_hour: int = 7  # local hour of each working day at which the daily digest is sent
    digest_roles: tuple[str, ...] = ("mpe", "rpo")
    # the key of pseudonyms and UID hashes in exports (kerma.privacy.key): 64 hex digits, else this file's
    pseudonymisation_key: str | None = None
    pseudonymisation_key_file: str = "kerma-pseudonymisation.key"  # from_orthanc: beside the index, absolute
    roles: dict = field(default_factory=dict)  # Orthanc user -> Kerma roles (kerma.access)
    default_role: str = access.VIEWER  # the role of a user not in ``roles`` ("none": no access)
    user_profile_url: str | None = None  # the authorization plugin's user-profile route (kerma.auth_profile)
    token_headers: tuple[str, ...] = ()  # the headers that carry its tokens (Authorization.TokenHttpHeaders)
    profile_roles: dict = field(default_factory=dict)  # a profile's group or permission -> Kerma role
    backfill: BackfillSettings = BackfillSettings()
    registry: RegistrySettings | None = None  # the dose registry de-identified dose reports go to (IHE REM)
    # several Orthanc nodes sharing one index and this dose database: this node's own name turns the lease on (kerma.lease)
    node_name: str | None = None
    lease_seconds: float = 15.0  # the lease lasts this long after its holder's last renewal: the bound on a take-over

    @classmethod
    def from_orthanc(cls, configuration: dict) -> "Settings":
        section = configuration.get("Kerma") or {}
        data_directory = Path(configuration.get("IndexDirectory") or configuration.get("StorageDirectory") or ".")
        default_db = data_directory / "kerma.sqlite"
        return cls(
            database_url=section.get("DatabaseUrl") or f"sqlite:///{default_db.resolve()}",
            enabled=bool(section.get("Enabled", True)),
            batch_size=int(section.get("BatchSize", 100)),
            poll_seconds=float(section.get("PollSeconds", 2.0)),
            purge_deleted_from_pacs=bool(section.get("PurgeDeletedFromPacs", False)),
            ocr_timeout_seconds=float(section.get("OcrTimeoutSeconds", cls.ocr_timeout_seconds)),
            dosimetry=bool(section.get("Dosimetry", True)),
            hl7_port=int(section.get("Hl7Port", 0)),
            hl7_bind_address=str(section.get("Hl7BindAddress", "127.0.0.1")),
            hl7_patient_id_authority=section.get("Hl7PatientIdAuthority") or None,
            hl7_limits=ListenerLimits.from_section(section),
            mpps_port=int(section.get("MppsPort", 0)),
            mpps_ae_title=str(section.get("MppsAeTitle", "KERMA")),
            mpps_bind_address=str(section.get("MppsBindAddress", "127.0.0.1")),
            mpps_modalities=declared(_or(section.get("MppsModalities"), configuration.get("DicomModalities")) or {}),
            mpps_check_host=bool(configuration.get("DicomCheckModalityHost", False)),
            mpps_max_associations=int(section.get("MppsMaxAssociations", 10)),
            no_dose_delay_hours=float(section.get("NoDoseDelayHours", 24.0)),
            apply_corrections_to_orthanc=bool(section.get("ApplyCorrectionsToOrthanc", False)),
            placeholder_patterns=tuple(section.get("PlaceholderPatientPatterns", DEFAULT_PLACEHOLDER_PATTERNS)),
            smtp=SmtpSettings.from_section(section.get("Smtp") or {}),
            base_url=str(section.get("BaseUrl") or "http://localhost:8042"),
            webhooks=tuple(w if isinstance(w, dict) else {"Url": w} for w in section.get("Webhooks") or ()),
            outbox_poll_seconds=float(section.get("OutboxPollSeconds", 5.0)),
            notify_within_days=int(section.get("NotifyWithinDays", cls.notify_within_days)),
            digest_hour=int(section.get("DigestHour", 7)),
            digest_roles=tuple(section.get("DigestRoles", ("mpe", "rpo"))),
            pseudonymisation_key=section.get("PseudonymisationKey") or None,
            pseudonymisation_key_file=str(Path(section.get("PseudonymisationKeyFile")
                                               or data_directory / "kerma-pseudonymisation.key").resolve()),
            roles=access.parse_roles(section.get("Roles") or {}),
            default_role=_default_role(section.get("DefaultRole", access.VIEWER)),
            user_profile_url=section.get("UserProfileUrl") or _plugin_profile_url(configuration),
            token_headers=tuple(str(h).lower() for h in (configuration.get("Authorization") or {}).get("TokenHttpHeaders", ())),
            profile_roles={str(k): access.role_name(v) for k, v in (section.get("ProfileRoles") or {}).items()},
            backfill=BackfillSettings.from_section(section),
            registry=RegistrySettings.from_section(section.get("Registry")),
            node_name=str(section.get("NodeName") or "") or None,
            lease_seconds=_positive(section.get("LeaseSeconds", cls.lease_seconds), "LeaseSeconds"),
        )

    @classmethod
    def defaults(cls) -> "Settings":
        """The settings of an empty ``"Kerma"`` section (tests, tools without Orthanc)."""
        return cls.from_orthanc({})


def _or(value, default):
    """``value`` unless it is absent (an empty list or object is a value: nobody)."""
    return default if value is None else value


def _positive(value, key: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(f"Kerma.{key} must be a positive number, not {value!r}")
    return number


def _not_negative(value, key: str) -> float:
    number = float(value)
    if not 0 <= number < float("inf"):
        raise ValueError(f"Kerma.{key} must be a number of 0 or more, not {value!r}")
    return number


def _default_role(name: str) -> str:
    return access.NO_ROLE if str(name).strip().lower() == access.NO_ROLE else access.role_name(name)


def _plugin_profile_url(configuration: dict) -> str | None:
    """Orthanc's own /auth/user/profile when the authorization plugin is configured (an ``Authorization`` section)."""
    if not configuration.get("Authorization"):
        return None
    return f"http://127.0.0.1:{int(configuration.get('HttpPort', 8042))}/auth/user/profile"
