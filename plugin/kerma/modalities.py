"""Declared modalities: who may open a DICOM association with Kerma's own listeners (the MPPS SCP).

The same rule as the shipped Orthanc configuration (README, "Which modalities may store"): only the modalities
of ``DicomModalities`` are accepted, by calling AE title, and by IP address too when ``DicomCheckModalityHost``
is true.  Orthanc writes an entry as ``["AET", "host", port]`` (optionally a fourth, the manufacturer) or as an
object ``{"AET": ..., "Host": ..., "Port": ...}``; both are read here.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Modality:
    """A declared modality: its AE title and the host it calls from (an IP address or a name)."""

    ae_title: str
    host: str

    def addresses(self) -> frozenset[str]:
        """The IP addresses of ``host`` (itself when it is one; empty when a name does not resolve)."""
        try:
            return frozenset({str(ipaddress.ip_address(self.host))})
        except ValueError:
            pass
        try:
            return frozenset(info[4][0] for info in socket.getaddrinfo(self.host, None))
        except OSError:
            return frozenset()


def declared(entries) -> tuple[Modality, ...]:
    """The modalities of a ``DicomModalities`` value (a dict of name -> entry, or a list of entries).

    Raises ValueError for an entry without an AE title and a host.
    """
    values = entries.values() if isinstance(entries, dict) else (entries or ())
    found = []
    for entry in values:
        if isinstance(entry, dict):
            aet, host = entry.get("AET"), entry.get("Host")
        elif isinstance(entry, (list, tuple)) and len(entry) >= 2:
            aet, host = entry[0], entry[1]
        else:
            aet = host = None
        if not (isinstance(aet, str) and aet.strip() and isinstance(host, str) and host.strip()):
            raise ValueError(f"a declared modality needs an AE title and a host, not {entry!r}")
        found.append(Modality(aet.strip(), host.strip()))
    return tuple(found)


class Gate:
    """Whether a calling AE title from an IP address is a declared modality.

    Host names are resolved once, when the gate is made (as the listener starts).
    """

    def __init__(self, modalities: tuple[Modality, ...], check_host: bool):
        self.check_host = check_host
        self._allowed: dict[str, frozenset[str]] = {}
        for modality in modalities:
            self._allowed[modality.ae_title] = self._allowed.get(modality.ae_title, frozenset()) | modality.addresses()

    def admits(self, calling_ae: str, address: str) -> bool:
        addresses = self._allowed.get(calling_ae.strip())
        if addresses is None:
            return False
        return not self.check_host or address in addresses
