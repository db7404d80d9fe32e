"""Reading one dose screen: pixels -> text (exact glyph engine, else tesseract) -> layout -> checked readings.

Pure and stateless (fonts and layouts are read once per process and cached), free of Orthanc and the database,
so a ``multiprocessing`` spawn child can call :func:`read_dose_screen` on bytes it was handed.
"""

from __future__ import annotations

from typing import Sequence

from . import glyphs, tesseract
from .checks import MIN_GLYPH_CONFIDENCE, MIN_TESSERACT_CONFIDENCE, check_confidence, check_length, check_sums
from .layouts import Layout, layouts as shipped_layouts
from .parse import find_layout, read_rows, read_totals
from .pixels import PixelError, Screen, ink, load
from .screen import LAYOUT_UNKNOWN, READ, UNREADABLE, ScreenEvent, ScreenResult
from .text import Line

GLYPH = "glyph"
TESSERACT = "tesseract"
ENGINES = (GLYPH, TESSERACT)
# the exact engine is taken when its glyphs explain at least this share of the screen's ink columns (the rest:
# logos, boxes, a character the glyph set lacks)
MIN_EXPLAINED = 0.97
LAYOUT_UNKNOWN_REASON = "dose screen, layout unknown"


def read_dose_screen(source, *, engines: Sequence[str] = ENGINES, layouts: Sequence[Layout] | None = None) -> ScreenResult:
    """What a dose screen says, each value ``ok`` or ``needs_review``; never raises for a bad screen.

    Parameters
    ----------
    source : bytes, pydicom.Dataset or numpy.ndarray
        A DICOM object (Part 10 bytes or a dataset) whose pixels show a dose screen, or its pixels.
    engines : sequence of str
        Which engines to try, in order: ``glyph`` (exact matching of a vendor font), ``tesseract``.
    layouts : sequence of Layout, optional
        The layouts to recognise (default: the shipped ``data/layouts/*.toml``).
    """
    candidates = tuple(layouts if layouts is not None else shipped_layouts())
    try:
        screen = load(source)
    except PixelError as exc:
        return ScreenResult(UNREADABLE, f"dose screen without readable pixels: {exc}")
    if not any(ink(frame).any() for frame in screen.frames):
        return ScreenResult(UNREADABLE, "dose screen without text (its pixels are blank)")
    ordered = _by_manufacturer(candidates, screen.manufacturer)
    if GLYPH in engines:
        result = _read_with_glyphs(screen, ordered)
        if result is not None:
            return result
    if TESSERACT in engines:
        if not tesseract.available():
            return ScreenResult(UNREADABLE, "dose screen in no known screen font, and tesseract is not installed")
        lines = tuple(line for frame in screen.frames for line in tesseract.read_text(frame))
        match, titled = find_layout(lines, ordered)
        if match is not None:
            return _result(lines, match, TESSERACT, None, MIN_TESSERACT_CONFIDENCE, tolerance=6)
        return _unknown(lines, titled, TESSERACT)
    return ScreenResult(UNREADABLE, "dose screen in no known screen font (only the glyph engine was allowed)")


def _by_manufacturer(candidates: Sequence[Layout], manufacturer: str) -> list[Layout]:
    """Layouts of the object's manufacturer first (Canon screens are Toshiba's family)."""
    name = manufacturer.upper()
    aliases = {"CANON": "TOSHIBA", "GE MEDICAL": "GE"}
    for alias, vendor in aliases.items():
        if alias in name:
            name += " " + vendor
    return sorted(candidates, key=lambda layout: layout.vendor.upper() not in name)


def _read_with_glyphs(screen: Screen, ordered: Sequence[Layout]) -> ScreenResult | None:
    tried: set[tuple[str, ...]] = set()
    for layout in ordered:
        if layout.fonts in tried:
            continue
        tried.add(layout.fonts)
        fonts = tuple(glyphs.load_font(name) for name in layout.fonts)
        readings = [glyphs.read_text(ink(frame), fonts, MIN_EXPLAINED) for frame in screen.frames]
        ink_columns = sum(r.ink_columns for r in readings)
        explained = ink_columns - sum(r.unexplained_columns for r in readings)
        if not ink_columns or explained < MIN_EXPLAINED * ink_columns:
            continue
        lines = tuple(line for r in readings for line in r.lines)
        match, titled = find_layout(lines, ordered)  # any layout may be printed in these fonts
        if match is None:
            return _unknown(lines, titled, GLYPH)
        return _result(lines, match, GLYPH, readings[0].font, MIN_GLYPH_CONFIDENCE, tolerance=2)
    return None


def _unknown(lines: tuple[Line, ...], titled: list[Layout], engine: str) -> ScreenResult:
    reason = LAYOUT_UNKNOWN_REASON
    if titled:
        reason += f" (title of {', '.join(l.name for l in titled)} found, its table heading not)"
    vendor = titled[0].vendor if titled else None
    return ScreenResult(LAYOUT_UNKNOWN, reason, vendor=vendor, engine=engine, lines=tuple(l.text for l in lines))


def _result(lines, match, engine: str, font: str | None, minimum: float, tolerance: int) -> ScreenResult:
    events, table = read_rows(lines, match, tolerance)
    rows = [{k: check_confidence(r, minimum) for k, r in e.readings.items()} for e in events]
    totals = {k: check_confidence(r, minimum) for k, r in read_totals(lines, match.layout, table).items()}
    check_sums(match.layout, totals, rows)
    for row in rows:
        check_length(row)
    return ScreenResult(
        READ, vendor=match.layout.vendor, layout=match.layout.name, engine=engine, font=font, totals=totals,
        events=tuple(ScreenEvent(r, e.row) for r, e in zip(rows, events)), lines=tuple(l.text for l in lines),
    )
