"""The REST API under /kerma/api/: pure handlers over requests, registered in :mod:`router`."""

from . import core  # noqa: F401  (registers the core routes)
from .router import Answer, ApiError, Context, Request, handle  # noqa: F401
