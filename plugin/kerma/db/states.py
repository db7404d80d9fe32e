"""The states a row can be in, spelt once below the packages that set them and those that read them.

An imaging order's ``status`` (:class:`kerma.db.models.ImagingOrder`) is set by :mod:`kerma.hl7.orders` from the
HIS's order messages and read by :mod:`kerma.reconcile` (worklists of orders without dose, doses without orders).
A study's ``refresh_due`` is set by whatever changes what its dose depends on (:func:`mark_refresh_due`: HL7,
manual entries, dose screens, corrected reports) and cleared by the ingest worker once it has resolved, classified
and evaluated the study again (:func:`kerma.ingest.refresh.refresh_due`).  Its ``dosimetry_due`` is set by each
refresh and by a change of its standard exam (:func:`mark_dosimetry_due`) and cleared by the dosimetry thread
(:mod:`kerma.ingest.dosimetry`), which recomputes its derived doses when their inputs changed.
"""

from __future__ import annotations

CANCELLED = "cancelled"
COMPLETED = "completed"
IN_PROGRESS = "in_progress"
SCHEDULED = "scheduled"


def mark_refresh_due(studies) -> None:
    """Ask the ingest worker to resolve, classify and evaluate ``studies`` again (after a change made elsewhere).

    HL7 changes (the listener's own process) and upgrades only set the flag: the refresh itself runs in the
    worker's thread, between batches, so two refreshes of one study never race (alerts and month marks are
    written once).
    """
    for study in studies:
        study.refresh_due = True


def mark_dosimetry_due(studies) -> None:
    """Ask the dosimetry thread to look at ``studies`` again (it recomputes their derived doses only when the
    inputs' fingerprint changed: :mod:`kerma.derived.inputs`)."""
    for study in studies:
        study.dosimetry_due = True
