"""Cells of a dosimetry report read as numbers, doses, dates and monitoring periods, or refused with the reason.

A number has the report's decimal separator and no other (``1.234`` in a decimal-comma report is refused, not read as
1234 or 1.234); a dose may be reported below the recording level (``<0,1``, ``M``, ``n.n.``: counted as 0, flagged)
or absent (empty, ``-``, ``n/a``: the dosimeter does not measure it); NaN, infinity and negative doses are refused.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass

from . import vocabulary

# day first before month first where both read a date ("01/02/2026"): the proposal says it is ambiguous
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y%m%d", "%d.%m.%y")
EARLIEST = dt.date(1900, 1, 1)
LONGEST_PERIOD_TEXT = 80  # characters: two dates with times and words between; Python's re backtracks over longer runs
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")
_RANGE = re.compile(r"\s*(?:\s-\s|–|—|\.\.|\bto\b|\bbis\b|\bau\b|\btot\b)\s*", re.IGNORECASE)
_NUMBER = {".": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"), ",": re.compile(r"[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?")}
_NON_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message is the reason."""


@dataclass(frozen=True)
class Dose:
    """A dose cell in mSv: ``value`` None when absent or below the recording level (``below`` True, ``level`` the
    level the report gives, in mSv, or None)."""

    value: float | None
    below: bool = False
    level: float | None = None

    @property
    def absent(self) -> bool:
        return self.value is None and not self.below


def number(text: str, decimal: str) -> float:
    """A finite number written with ``decimal`` as its decimal separator (spaces as thousands separators allowed)."""
    compact = text.replace("\u00a0", "").replace(" ", "").replace("'", "")
    if _NON_FINITE.fullmatch(compact):
        raise CellError("not a finite number")
    if not _NUMBER[decimal].fullmatch(compact):
        other = "," if decimal == "." else "."
        if _NUMBER[other].fullmatch(compact):
            raise CellError(f"written with {other!r} as decimal separator, the report's is {decimal!r}")
        raise CellError("not a number")
    value = float(compact.replace(",", "."))
    if not math.isfinite(value):
        raise CellError("not a finite number")
    return value


def dose(text: str, decimal: str, to_mSv: float, quantity: str) -> Dose:
    """A dose cell converted to mSv; raises :class:`CellError` for what no dosimeter reads."""
    cell = text.strip()
    words = vocabulary.normalise(cell)
    if not words or words in _tokens("absent"):
        return Dose(None)
    if words in _tokens("below"):
        return Dose(None, below=True)
    if cell.startswith("<"):
        rest = cell[1:].strip()
        return Dose(None, below=True, level=_checked(number(rest, decimal) * to_mSv, quantity) if rest else None)
    return Dose(_checked(number(cell, decimal) * to_mSv, quantity))


def _checked(value: float, quantity: str) -> float:
    if value < 0:
        raise CellError("a negative dose")
    limit = vocabulary.quantities()[quantity]
    if limit.plausible_max is not None and value > limit.plausible_max:
        raise CellError(f"above {limit.plausible_max:g} mSv: {limit.plausible_reason}")
    return value


def _tokens(kind: str) -> set[str]:
    return {term for _, term in vocabulary.terms().get(kind, [])}


def date(text: str, fmt: str) -> dt.date:
    """A date in ``fmt`` (a time after it is ignored)."""
    cell = _TIME.sub("", _bounded(text))
    try:
        day = dt.datetime.strptime(cell, fmt).date()
    except ValueError:
        raise CellError(f"not a date as {shown_format(fmt)}") from None
    if day < EARLIEST:
        raise CellError(f"before {EARLIEST.isoformat()}")
    return day


def shown_format(fmt: str) -> str:
    return fmt.replace("%Y", "YYYY").replace("%y", "YY").replace("%m", "MM").replace("%d", "DD")


def date_formats_reading(values: list[str]) -> list[str]:
    """The formats of :data:`DATE_FORMATS` that read the most of ``values`` (several: the values are ambiguous)."""
    scores = {}
    for fmt in DATE_FORMATS:
        scores[fmt] = sum(1 for v in values if _reads(v, fmt))
    best = max(scores.values(), default=0)
    return [fmt for fmt in DATE_FORMATS if best and scores[fmt] == best]


def _reads(value: str, fmt: str) -> bool:
    try:
        date(value, fmt)
    except CellError:
        return False
    return True


_QUARTER = (re.compile(r"(\d{4})[-/]?q([1-4])"), re.compile(r"q([1-4])[-/]?(\d{4})"))
_MONTH = (re.compile(r"(\d{4})[-/.](\d{1,2})"), re.compile(r"(\d{4})(\d{2})"), re.compile(r"(\d{1,2})[-/.](\d{4})"))


def period(text: str, date_format: str | None) -> tuple[dt.date, dt.date]:
    """A monitoring period written in one cell: a month (``2026-03``, ``03/2026``, ``März 2026``), a quarter
    (``2026-Q1``, ``Q1 2026``) or a range of two dates in ``date_format`` (``01.03.2026 - 31.03.2026``)."""
    cell = _bounded(text)
    parts = range_of(cell)
    if parts and date_format:
        return date(parts[0], date_format), date(parts[1], date_format)
    compact = re.sub(r"\s+", "", cell).casefold()
    for pattern in _QUARTER:
        match = pattern.fullmatch(compact)
        if match:
            year, quarter = sorted(match.groups(), key=len, reverse=True)
            return _months(int(year), 3 * int(quarter) - 2, 3)
    for pattern in _MONTH:
        match = pattern.fullmatch(compact)
        if match:
            year, month = sorted(match.groups(), key=len, reverse=True)
            return _months(int(year), int(month), 1)
    named = vocabulary.normalise(cell).split()
    if len(named) == 2 and named[1].isdigit() and len(named[1]) == 4:
        month = next((int(v) for v, term in vocabulary.terms()["month"] if term == named[0]), None)
        if month:
            return _months(int(named[1]), month, 1)
    raise CellError("not a period (a month such as 2026-03 or 03/2026, a quarter such as 2026-Q1, or two dates)")


def range_of(text: str) -> list[str] | None:
    """The two date texts of a range cell (``01.03.2026 - 31.03.2026``); None for any other cell."""
    cell = text.strip()
    if len(cell) > LONGEST_PERIOD_TEXT:
        return None
    parts = _RANGE.split(cell)
    return parts if len(parts) == 2 else None


def _bounded(text: str) -> str:
    """The cell stripped, refused when too long to be a date or a period (before any pattern backtracks over it)."""
    cell = text.strip()
    if len(cell) > LONGEST_PERIOD_TEXT:
        raise CellError(f"longer than {LONGEST_PERIOD_TEXT} characters: not a date or a period")
    return cell


def _months(year: int, month: int, count: int) -> tuple[dt.date, dt.date]:
    if not 1 <= month <= 12 or not EARLIEST.year <= year <= 2999:
        raise CellError("not a month of a year")
    last_month = month + count - 1
    return dt.date(year, month, 1), dt.date(year, last_month, calendar.monthrange(year, last_month)[1])
