"""Reconciliation of dose records with the HIS/RIS: worklists (no order, no dose, mismatch,
unknown patients) in :mod:`lists`, reversible corrections in :mod:`actions`, and the same
correction applied to the study in Orthanc in :mod:`orthanc_sync`.
"""
