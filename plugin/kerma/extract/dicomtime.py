"""DICOM DA/TM/DT/AS values as ISO 8601 strings and numbers."""

from __future__ import annotations

import datetime as dt


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²" and other digits ``int()`` refuses."""
    return text.isascii() and text.isdigit()


def iso_date(value: str | None) -> str | None:
    if not value:
        return None
    digits = value.replace("-", "").replace(".", "").strip()
    if len(digits) != 8 or not _digits(digits):
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).isoformat()
    except ValueError:
        return None


def iso_time(value: str | None) -> str | None:
    if not value:
        return None
    main, _, fraction = value.strip().replace(":", "").partition(".")
    if not _digits(main) or len(main) not in (2, 4, 6):
        return None
    parts = [main[i : i + 2] for i in range(0, len(main), 2)] + ["00"] * ((6 - len(main)) // 2)
    text = ":".join(parts)
    return f"{text}.{fraction}" if _digits(fraction) else text


def iso_datetime(value: str | None) -> str | None:
    """``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` → ``YYYY-MM-DDTHH:MM:SS.FFFFFF``; offsets are dropped, partial values kept."""
    if not value:
        return None
    value = value.strip()
    for sign in "+-":
        if sign in value[8:]:
            value = value[: 8 + value[8:].index(sign)]
    date = iso_date(value[:8])
    if date is None:
        return None
    time = iso_time(value[8:]) if len(value) > 8 else None
    return f"{date}T{time}" if time else date


def age_in_years(age_string: str | None) -> float | None:
    """A DICOM Age String (``063Y``, ``006M``, ``012W``, ``020D``) in years."""
    if not age_string or len(age_string) < 2 or not _digits(age_string[:-1].strip()):
        return None
    number, unit = int(age_string[:-1]), age_string[-1].upper()
    per_year = {"Y": 1, "M": 12, "W": 52.1775, "D": 365.25}.get(unit)
    return round(number / per_year, 3) if per_year else None


def age_between(birth: str | None, on: str | None) -> float | None:
    """Whole years between two ISO dates."""
    if not birth or not on:
        return None
    b, d = dt.date.fromisoformat(birth), dt.date.fromisoformat(on[:10])
    years = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
    return float(years) if years >= 0 else None
