"""Kerma's one clock: every "now" and "today" the product uses comes from here.

Time is an input.  In Orthanc the clock is the system's; a test pins it with
:func:`use` (for example ``clock.use(clock.starting_at(moment))``), and the
whole suite is also run under fake system dates (libfaketime, see
``scripts/test.sh``).  Rows whose time matters (an alert's creation, a
dose object's processing, an audit entry) take their timestamp from here in
Python, not from the database's ``now()``, so what the product decides and
what it stores agree on the moment.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from typing import Callable, Iterator

Source = Callable[[], dt.datetime]


def system() -> dt.datetime:
    """The system clock, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


_source: Source = system


def now() -> dt.datetime:
    """The current moment, timezone-aware UTC."""
    return _source()


def local_now() -> dt.datetime:
    """The current moment in the site's local time zone, naive (the digest hour and report periods are the site's)."""
    return now().astimezone().replace(tzinfo=None)


def today() -> dt.date:
    """The site's local date."""
    return local_now().date()


def starting_at(moment: dt.datetime) -> Source:
    """A clock that reads ``moment`` now and advances in real time from there (a naive moment is UTC)."""
    start = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    origin = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - origin)


@contextmanager
def use(source: Source) -> Iterator[Source]:
    """Read time from ``source`` inside the block (tests), the previous clock again after it."""
    global _source
    previous, _source = _source, source
    try:
        yield source
    finally:
        _source = previous
