"""What a back-fill needs from Orthanc: its modalities' C-FIND and C-MOVE, its jobs, its instances.

The plugin edge implements it over Orthanc's REST API (``kerma.orthanc_edge.OrthancModalities``); tests over a
second Orthanc, or a stand-in.
"""

from __future__ import annotations

from typing import Mapping, Protocol


class RemoteError(Exception):
    """The remote modality or Orthanc refused an operation (network, DIMSE status, unknown modality)."""


class RemotePacs(Protocol):
    def find(self, modality: str, level: str, keys: Mapping[str, str], timeout: float) -> list[dict]:
        """C-FIND at ``level`` (Study, Series, Instance) with ``keys`` (matching values, ``""`` to be returned);
        the answers as ``{keyword: value}``.  Raises :class:`RemoteError`."""

    def retrieve(self, modality: str, level: str, keys: Mapping[str, str], timeout: float) -> str:
        """Have the modality send every object matching ``keys`` to Orthanc itself (C-MOVE); an Orthanc job runs it
        and its id is returned at once.  Raises :class:`RemoteError`."""

    def job(self, job_id: str) -> dict | None:
        """Orthanc's job: ``{"State": "Pending" | "Running" | "Success" | "Failure" | ..., "ErrorDetails"...}``;
        None when Orthanc no longer knows it (e.g. after a restart)."""

    def has_instance(self, sop_instance_uid: str) -> bool:
        """Whether Orthanc holds an instance with this SOP Instance UID."""
