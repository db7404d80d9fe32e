"""The dates a report covers: the last complete week (Monday–Sunday), month or quarter."""

from __future__ import annotations

import datetime as dt

PERIODS = ("weekly", "monthly", "quarterly")


def last_complete(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the last ``period`` that ended before ``today``."""
    if period == "weekly":
        end = today - dt.timedelta(days=today.weekday() + 1)
        return end - dt.timedelta(days=6), end
    if period == "monthly":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if period == "quarterly":
        first_month = (today.month - 1) // 3 * 3 + 1
        end = today.replace(month=first_month, day=1) - dt.timedelta(days=1)
        return end.replace(month=(end.month - 1) // 3 * 3 + 1, day=1), end
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")


def months_back(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)
