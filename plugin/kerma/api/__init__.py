"""The REST API under /kerma/api/: pure handlers over requests, registered in :mod:`router`."""

from . import acceptance, alerts, audit, backfill, core, corrections, derived, drl, exams, hl7, manual, mpps, notifications, occupational, patients, quantities, reconciliation, registry, reports, screens, statistics  # noqa: F401  (each registers its routes)
from .router import Answer, ApiError, Context, Request, handle  # noqa: F401
