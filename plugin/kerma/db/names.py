"""How a person calls a stored thing (the answers' names beside ids, kerma.api.names; the statistics' order by name)."""

from __future__ import annotations

from .models import Device


def device_label(device: Device) -> str:
    """How a person calls the device: its station name, else manufacturer and model, else its serial number."""
    maker = " ".join(p for p in (device.manufacturer, device.model) if p)
    return device.station_name or maker or device.serial_number or device.device_observer_uid or "unnamed device"
