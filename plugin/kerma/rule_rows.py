"""Rule rows read from the database: the ones that can be evaluated, and the others with their reason.

Rules are checked in full when they are written over REST, but a row can still be wrong (written by
hand or by an older version).  Such a row is left out, so every study is classified and evaluated
without it and ingestion goes on; it is logged once per version and shown by ``GET health``.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, TypeVar

log = logging.getLogger("kerma.rules")
_reported: set[tuple[str, int, int]] = set()  # (what, rule id, version) already logged

T = TypeVar("T")


def refusal(row, convert: Callable[[object], object], error: type[Exception]) -> str | None:
    """Why ``convert`` refuses ``row`` (it cannot be evaluated, so :func:`evaluable` leaves it out), or None."""
    try:
        convert(row)
    except error as exc:
        return str(exc)
    return None


def evaluable(rows: Iterable, convert: Callable[[object], T], error: type[Exception], what: str) -> tuple[list[T], list[dict]]:
    """``convert`` applied to each row: the results, and ``{"id", "version", "reason"}`` of the rows it refused.

    Parameters
    ----------
    rows
        Rule rows with ``id`` and ``version``.
    convert
        Row → evaluable rule; raises ``error`` for a row that cannot be evaluated.
    what
        The kind of rule, for the log (``"mapping rule"``).
    """
    good, bad = [], []
    for row in rows:
        try:
            good.append(convert(row))
        except error as exc:
            bad.append({"id": row.id, "version": row.version, "reason": str(exc)})
            if (what, row.id, row.version) not in _reported:
                _reported.add((what, row.id, row.version))
                log.error("%s %d (version %d) left out, it cannot be evaluated: %s", what, row.id, row.version, exc)
    return good, bad
