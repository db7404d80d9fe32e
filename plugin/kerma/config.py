"""Kerma's settings: the ``"Kerma"`` section of Orthanc's configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# patient IDs or names that a modality or the RIS uses for a patient not yet identified
DEFAULT_PLACEHOLDER_PATTERNS = ("UNKNOWN", "UNBEKANNT", "EMERGENCY", "NOTFALL", "TRAUMA", "ANONYMOUS", "^NN", "^X+$",
                                "MOTORBIKE", "ACCIDENT", "^DOE\\^JOHN", "^DOE\\^JANE")


@dataclass(frozen=True)
class Settings:
    database_url: str
    enabled: bool = True
    batch_size: int = 100
    poll_seconds: float = 2.0
    hl7_port: int = 0  # 0: no HL7 listener
    hl7_bind_address: str = "127.0.0.1"
    hl7_patient_id_authority: str | None = None  # which PID-3 identifier is the DICOM Patient ID
    no_dose_delay_hours: float = 24.0
    apply_corrections_to_orthanc: bool = False
    placeholder_patterns: tuple[str, ...] = DEFAULT_PLACEHOLDER_PATTERNS

    @classmethod
    def from_orthanc(cls, configuration: dict) -> "Settings":
        section = configuration.get("Kerma") or {}
        default_db = Path(configuration.get("IndexDirectory") or configuration.get("StorageDirectory") or ".") / "kerma.sqlite"
        return cls(
            database_url=section.get("DatabaseUrl") or f"sqlite:///{default_db.resolve()}",
            enabled=bool(section.get("Enabled", True)),
            batch_size=int(section.get("BatchSize", 100)),
            poll_seconds=float(section.get("PollSeconds", 2.0)),
            hl7_port=int(section.get("Hl7Port", 0)),
            hl7_bind_address=str(section.get("Hl7BindAddress", "127.0.0.1")),
            hl7_patient_id_authority=section.get("Hl7PatientIdAuthority") or None,
            no_dose_delay_hours=float(section.get("NoDoseDelayHours", 24.0)),
            apply_corrections_to_orthanc=bool(section.get("ApplyCorrectionsToOrthanc", False)),
            placeholder_patterns=tuple(section.get("PlaceholderPatientPatterns", DEFAULT_PLACEHOLDER_PATTERNS)),
        )

    @classmethod
    def defaults(cls) -> "Settings":
        """The settings of an empty ``"Kerma"`` section (tests, tools without Orthanc)."""
        return cls.from_orthanc({})
