"""Derived doses: effective dose, SSDE and peak skin dose computed from a study's records, stored with their inputs.

After a study's dose is recorded or changes (a later report, a corrected weight or height, a mapping that changes
its exam region), the ingest worker marks it ``dosimetry_due``; the dosimetry thread (:mod:`kerma.ingest.dosimetry`)
gathers its inputs (:mod:`.inputs`), and when their fingerprint differs from the one its rows were computed from,
has them computed by the dosimetry process (:mod:`.compute`, in a child process of its own) and stored
(:mod:`.store`): one ``derived_dose`` row per estimate, or ``not_estimated`` with the reason.  Others read them
through :mod:`.reader`:

    from kerma.derived import derived_doses, study_summaries
    derived_doses(session, [study_id])[study_id]       # {"effective_dose": {...} | None, "ssde": [...], "skin_dose": [...]}
    study_summaries(session, [study_id])[study_id]     # the few numbers a list or a timeline shows
"""

from __future__ import annotations

from .reader import KINDS, derived_doses, skin_map_png, study_summaries

__all__ = ["KINDS", "derived_doses", "skin_map_png", "study_summaries"]
