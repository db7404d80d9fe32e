"""The periods a patient's doses are summed over: the last N months or years up to a day, or the whole history.

A window is written ``12m`` (months), ``5y`` (years) or ``all``; it ends on the day asked for (by default the
site's today, :func:`kerma.clock.today`) and starts the day after the same date N months earlier, so ``12m``
ending 2026-12-02 holds 2025-12-03 to 2026-12-02, both included.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

DEFAULT = "12m"
MAX_MONTHS = 1200  # a century: longer than any patient's record
SPELLING = re.compile(r"(?P<n>[1-9]\d{0,3})(?P<unit>[my])|all")


@dataclass(frozen=True)
class Window:
    """A period ending on ``end`` (included); ``start`` None for the whole history."""

    name: str
    start: dt.date | None
    end: dt.date

    def holds(self, day: dt.date | None) -> bool:
        """Whether a study of ``day`` falls in the window (a study without a date falls only in ``all``)."""
        if day is None:
            return self.start is None
        return day <= self.end and (self.start is None or day >= self.start)

    def as_json(self) -> dict:
        return {"window": self.name, "date_from": self.start.isoformat() if self.start else None,
                "date_to": self.end.isoformat()}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same date ``months`` earlier (the month's last day when it is shorter: 31 March - 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def parse(text: str, end: dt.date) -> tuple[Window, ...]:
    """Windows from a comma-separated list (``12m,5y,all``) ending on ``end``; ValueError names what does not fit."""
    out = []
    for item in (part.strip().lower() for part in text.split(",")):
        match = SPELLING.fullmatch(item)
        if match is None:
            raise ValueError(f"{item[:20]!r} is no window: write months (12m), years (5y) or all")
        if item == "all":
            out.append(Window("all", None, end))
            continue
        months = int(match["n"]) * (12 if match["unit"] == "y" else 1)
        if months > MAX_MONTHS:
            raise ValueError(f"{item}: at most {MAX_MONTHS} months")
        out.append(Window(item, months_before(end, months) + dt.timedelta(days=1), end))
    if not out or len({w.name for w in out}) != len(out):
        raise ValueError("name each window once")
    return tuple(out)
