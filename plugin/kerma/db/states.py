"""The states a row can be in, spelt once below the packages that set them and those that read them.

An imaging order's ``status`` (:class:`kerma.db.models.ImagingOrder`) is set by :mod:`kerma.hl7.orders` from the
HIS's order messages and read by :mod:`kerma.reconcile` (worklists of orders without dose, doses without orders).
"""

from __future__ import annotations

CANCELLED = "cancelled"
COMPLETED = "completed"
IN_PROGRESS = "in_progress"
SCHEDULED = "scheduled"
