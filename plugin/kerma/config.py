"""Kerma's settings: the ``"Kerma"`` section of Orthanc's configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str
    enabled: bool = True
    batch_size: int = 100
    poll_seconds: float = 2.0

    @classmethod
    def from_orthanc(cls, configuration: dict) -> "Settings":
        section = configuration.get("Kerma") or {}
        default_db = Path(configuration.get("IndexDirectory") or configuration.get("StorageDirectory") or ".") / "kerma.sqlite"
        return cls(
            database_url=section.get("DatabaseUrl") or f"sqlite:///{default_db.resolve()}",
            enabled=bool(section.get("Enabled", True)),
            batch_size=int(section.get("BatchSize", 100)),
            poll_seconds=float(section.get("PollSeconds", 2.0)),
        )
