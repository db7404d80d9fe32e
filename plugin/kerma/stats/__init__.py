"""Dose statistics per standard exam, device and period, against DRLs; the ESR's tables."""
