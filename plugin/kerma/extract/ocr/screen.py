"""What reading a dose screen gives: typed, frozen, with every value's confidence and check status.

A value is either ``ok`` or ``needs_review`` with the reasons; nothing read from pixels is passed on without one
of the two (the issue's "never a silent wrong number").  Field names and units are the record's own
(``ctdivol_mGy``, ``dlp_mGycm``, ``kvp``, ``ct_dlp_total_mGycm``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping, Union

OK = "ok"
NEEDS_REVIEW = "needs_review"

# outcomes of reading a screen
READ = "read"                       # a layout matched: totals and events below
LAYOUT_UNKNOWN = "layout_unknown"   # a dose screen whose layout no layout file describes
UNREADABLE = "unreadable"           # no pixels to read (undecodable pixel data, no text, no OCR engine)

Value = Union[float, int, str, None]


@dataclass(frozen=True, slots=True)
class Reading:
    """One value read from the screen.

    Attributes
    ----------
    value : float, int, str or None
        In the unit of the field's name; None when the screen shows the value as absent ("-") or it could not be
        read (then ``status`` is ``needs_review``).
    text : str
        The characters as read, for the reviewer.
    confidence : float
        0..1: the glyph engine's 1.0 for an exact, unambiguous match of every character (0.5 ambiguous, 0 for ink
        no glyph explains); tesseract's lowest word confidence / 100, 0 when two reads disagree.
    status : str
        ``ok`` or ``needs_review``.
    reasons : tuple of str
        Why the value needs review (empty when ``ok``).
    """

    value: Value
    text: str
    confidence: float
    status: str = OK
    reasons: tuple[str, ...] = ()

    def flag(self, reason: str) -> "Reading":
        """The same reading marked ``needs_review`` for ``reason`` (reasons accumulate)."""
        if reason in self.reasons:
            return self
        return replace(self, status=NEEDS_REVIEW, reasons=self.reasons + (reason,))

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> dict:
        return {"value": self.value, "text": self.text, "confidence": round(self.confidence, 3),
                "status": self.status, "reasons": list(self.reasons)}


def _frozen(mapping: Mapping[str, Reading]) -> Mapping[str, Reading]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ScreenEvent:
    """One row of the screen's table: one acquisition (or series) with its readings, by record field."""

    readings: Mapping[str, Reading]
    row: str  # the row's text as read

    def __post_init__(self):
        object.__setattr__(self, "readings", _frozen(self.readings))

    @property
    def values(self) -> dict[str, Value]:
        """field -> value, as a record event takes them."""
        return {k: r.value for k, r in self.readings.items()}

    @property
    def review(self) -> dict[str, tuple[str, ...]]:
        """field -> reasons, for the values that need review."""
        return {k: r.reasons for k, r in self.readings.items() if not r.ok}


@dataclass(frozen=True)
class ScreenResult:
    """What one dose screen says, or why it says nothing.

    Attributes
    ----------
    status : str
        ``read``, ``layout_unknown`` or ``unreadable``.
    reason : str or None
        For ``layout_unknown`` and ``unreadable``: why (stored as the ledger row's reason).
    vendor, layout : str or None
        The layout family and layout that matched (``GE``, ``GE Dose Report``).
    engine : str or None
        ``glyph`` (exact matching of the vendor's font) or ``tesseract``.
    font : str or None
        The glyph set that read most of the screen (glyph engine only).
    totals : mapping of field -> Reading
    events : tuple of ScreenEvent
    lines : tuple of str
        The recognised text, line by line, for the reviewer and for an admin looking at an unknown layout.
    """

    status: str
    reason: str | None = None
    vendor: str | None = None
    layout: str | None = None
    engine: str | None = None
    font: str | None = None
    totals: Mapping[str, Reading] = field(default_factory=dict)
    events: tuple[ScreenEvent, ...] = ()
    lines: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "totals", _frozen(self.totals))

    @property
    def total_values(self) -> dict[str, Value]:
        return {k: r.value for k, r in self.totals.items()}

    @property
    def needs_review(self) -> bool:
        return any(not r.ok for r in self.totals.values()) or any(e.review for e in self.events)

    def readings(self):
        """Every reading with where it is: (event index or None for totals, field, reading)."""
        for name, r in self.totals.items():
            yield None, name, r
        for i, event in enumerate(self.events):
            for name, r in event.readings.items():
                yield i, name, r

    def to_json(self) -> dict:
        return {
            "status": self.status, "reason": self.reason, "vendor": self.vendor, "layout": self.layout,
            "engine": self.engine, "font": self.font, "needs_review": self.needs_review,
            "totals": {k: r.to_json() for k, r in self.totals.items()},
            "events": [{"row": e.row, "values": {k: r.to_json() for k, r in e.readings.items()}} for e in self.events],
            "lines": list(self.lines),
        }
