"""Kerma: a radiation dose management system that lives inside Orthanc."""

__version__ = "0.1.0"
