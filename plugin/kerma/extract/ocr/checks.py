"""Cross-checks of what a screen says: a value that fails one is flagged ``needs_review`` with the reason.

* confidence: a value read with less than the engine's threshold (any character the glyph engine could not
  match exactly and uniquely; a tesseract word below ``MIN_TESSERACT_CONFIDENCE`` or two reads that disagree);
* sums: the events' values add up to the printed total (the layout's ``sums``), within the rounding of the
  printed digits;
* length: CTDIvol x scan length <= DLP <= CTDIvol x (scan length + the longest over-ranging), where the screen
  gives the range;
* headers: kVp and CTDIvol of the study's own images, per series (:func:`check_headers`, for the ingest).

Every function takes readings and returns new ones (frozen objects); none looks at pixels.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Mapping

from .layouts import Layout
from .screen import Reading, ScreenEvent, ScreenResult

MIN_GLYPH_CONFIDENCE = 1.0       # exact glyph matching is right or unsure, never "fairly sure"
MIN_TESSERACT_CONFIDENCE = 0.90  # tesseract's word confidence / 100; below, a person reads the value (at 0.80, 2 of
# 1,086 values of bench (o) --quick were wrong with both reads agreeing)
# DLP covers the irradiated length: the scanned range plus over-ranging of helical scans and the beam width of axial
# ones, at most one 160 mm wide-detector beam (Aquilion ONE, Revolution). A DLP outside that band was misread.
MAX_OVERRANGE_MM = 160.0


def half_unit(reading: Reading) -> float:
    """Half the last printed digit of a number (0.005 for ``17.95``): how far rounding may have moved it."""
    text = reading.text.strip()
    digits = text.rstrip("LSabl()")
    try:
        exponent = Decimal(digits).as_tuple().exponent
    except Exception:
        return 0.5
    return 0.5 * 10.0 ** int(exponent)


def check_confidence(reading: Reading, minimum: float) -> Reading:
    if reading.text and reading.confidence < minimum:
        return reading.flag(f"read with confidence {reading.confidence:.2f} (below {minimum:.2f})")
    return reading


def check_sums(layout: Layout, totals: dict[str, Reading], events: list[dict[str, Reading]]) -> None:
    """Flag, in place, a total and its parts when the parts do not add up to it (or cannot be added)."""
    for rule in layout.sums:
        total = totals.get(rule.total)
        if total is None or total.value is None:
            continue
        parts = [e[rule.of] for e in events if rule.of in e]
        unread = [i + 1 for i, p in enumerate(parts) if p.value is None and p.text != "-"]
        if unread:
            totals[rule.total] = total.flag(f"cannot be checked: row(s) {unread} {rule.of} unread")
            continue
        values = [p for p in parts if p.value is not None]
        added = sum(float(p.value) for p in values)
        slack = half_unit(total) + sum(half_unit(p) for p in values) + 1e-9
        if abs(added - float(total.value)) > slack:
            reason = f"the rows' {rule.of} add up to {added:g}, the total reads {total.text}"
            totals[rule.total] = total.flag(reason)
            for e in events:
                if rule.of in e and e[rule.of].value is not None:
                    e[rule.of] = e[rule.of].flag(reason)


def check_length(event: dict[str, Reading]) -> None:
    """CTDIvol x scanned length against DLP, in place, where the row gives a scan range."""
    names = ("ctdivol_mGy", "dlp_mGycm", "z_start_mm", "z_end_mm")
    if not all(n in event and event[n].value is not None for n in names):
        return
    ctdi, dlp, start, end = (event[n] for n in names)
    length_cm = abs(float(end.value) - float(start.value)) / 10
    low = (float(ctdi.value) - half_unit(ctdi)) * length_cm
    high = (float(ctdi.value) + half_unit(ctdi)) * (length_cm + MAX_OVERRANGE_MM / 10)
    d_low, d_high = float(dlp.value) - half_unit(dlp), float(dlp.value) + half_unit(dlp)
    if d_high < low * 0.999 or d_low > high:
        reason = (f"CTDIvol {ctdi.text} x scan length {length_cm:g} cm does not give DLP {dlp.text} "
                  f"(expected {low:.1f} to {high:.1f})")
        for n in names:
            event[n] = event[n].flag(reason)


def check_headers(result: ScreenResult, series: Mapping[object, Mapping[str, float]]) -> ScreenResult:
    """Compare the screen with the study's image headers, series by series, and flag disagreements.

    Parameters
    ----------
    result : ScreenResult
        What the screen says.
    series : mapping
        Series number -> header values of that series' images: ``kvp`` (kV) and ``ctdivol_mGy`` (mGy, the mean
        of its slices). Series the screen does not list, and values a header lacks, are not compared.

    Returns
    -------
    ScreenResult
        The same result, with each disagreeing value ``needs_review`` ("the images of series 3 say 120 kV").
        kVp must be equal; CTDIvol must agree within the rounding of the printed digits (and 1 % for slices
        whose CTDIvol varies along z).
    """
    events = []
    for event in result.events:
        number = event.readings.get("series_number")
        header = series.get(number.value) if number is not None and number.value is not None else None
        if header is None and number is not None and number.value is not None:
            header = series.get(str(number.value))
        if not header:
            events.append(event)
            continue
        readings = dict(event.readings)
        kvp = readings.get("kvp")
        if kvp is not None and kvp.value is not None and header.get("kvp") is not None:
            if abs(float(kvp.value) - float(header["kvp"])) > 0.5:
                readings["kvp"] = kvp.flag(f"the images of series {number.value} say {header['kvp']:g} kV")
        ctdi = readings.get("ctdivol_mGy")
        if ctdi is not None and ctdi.value is not None and header.get("ctdivol_mGy") is not None:
            allowed = half_unit(ctdi) + 0.01 * float(header["ctdivol_mGy"])
            if abs(float(ctdi.value) - float(header["ctdivol_mGy"])) > allowed:
                readings["ctdivol_mGy"] = ctdi.flag(
                    f"the images of series {number.value} say CTDIvol {header['ctdivol_mGy']:g} mGy")
        events.append(ScreenEvent(readings, event.row))
    return replace(result, events=tuple(events))
