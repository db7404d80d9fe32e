"""Recognised lines -> the layout they follow -> readings, by record field.

The parser works on :class:`~.text.Line` objects from either engine.  A layout is found by its title and its
table heading; the heading's words give each column's left edge, and every word of a row belongs to the column
whose heading starts at or before it.  Cells are read by format (``FORMATS``): a cell that is not well formed
for its column (digits, one decimal point, the column's usual number of decimals, a printed word the layout
knows) is kept as text and flagged, never coerced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Callable, Iterable, Sequence

from .layouts import Column, Layout, Total
from .screen import Reading, ScreenEvent
from .text import Char, Line, Word, fold

SIMILAR = 0.85          # folded labels at least this similar are the same label (OCR drops or swaps a character)
ABSENT = "-"            # what screens print in a cell that has no value (a scout's dose)
DIGITS = "0123456789"


def similar(a: str, b: str) -> bool:
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return fa == fb
    return fa == fb or SequenceMatcher(None, fa, fb).ratio() >= SIMILAR


# --- finding the layout --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    layout: Layout
    heading: int            # index of the heading line
    starts: tuple[int, ...]  # left edge (px) of each column
    units: int | None       # index of the units line, if the layout has one and it was found


def find_layout(lines: Sequence[Line], candidates: Iterable[Layout]) -> tuple[Match | None, list[Layout]]:
    """The layout whose title and table heading both appear; else None and the layouts whose title alone did."""
    titled: list[Layout] = []
    best: tuple[int, Match] | None = None
    for layout in candidates:
        title = fold(layout.title)
        title_at = next((i for i, line in enumerate(lines) if title in fold(line.text) or similar(line.text, layout.title)), None)
        if title_at is None:
            continue
        titled.append(layout)
        heading = "".join(c.label for c in layout.columns)
        for i in range(title_at + 1, len(lines)):
            if similar(lines[i].text, heading):
                starts = _column_starts(lines[i], layout.columns)
                if starts is None:
                    continue
                units = None
                if layout.has_units_line and i + 1 < len(lines) and similar(lines[i + 1].text, "".join(c.unit for c in layout.columns)):
                    units = i + 1
                match = Match(layout, i, starts, units)
                if best is None or len(title) > best[0]:
                    best = (len(title), match)
                break
    return (best[1] if best else None), titled


def _column_starts(heading: Line, columns: Sequence[Column]) -> tuple[int, ...] | None:
    """Left edge of each column: the heading's words given to the labels in order, by the length of each label."""
    words = list(heading.words)
    starts: list[int] = []
    k = 0
    for column in columns:
        want = len(fold(column.label))
        if want == 0:  # an unlabelled column (Siemens' protocol) starts at the left edge of the screen
            starts.append(0)
            continue
        if k >= len(words):
            return None
        starts.append(words[k].x0)
        got = 0
        while k < len(words) and (got == 0 or got < want - 1):
            got += len(fold(words[k].text))
            k += 1
    return tuple(starts)


# --- cells ---------------------------------------------------------------------------------------------------


def _chars(words: Sequence[Word]) -> list[Char]:
    out: list[Char] = []
    for i, w in enumerate(words):
        if i:
            out.append(Char(" ", " ", 1.0))
        out.extend(w.chars)
    return out


def _as_number_text(chars: Sequence[Char]) -> str:
    """The characters, taking a digit where the font draws a digit and a letter alike (Philips' ``0``/``O``)."""
    return "".join(next((a for a in c.alternatives if a in DIGITS), c.text) for c in chars)


def _confidence(chars: Sequence[Char]) -> float:
    return min((c.confidence for c in chars if c.text != " "), default=0.0)


def _decimal_pattern(decimals: Sequence[int]) -> re.Pattern:
    options = "|".join(r"\d+" if d == 0 else rf"\d+\.\d{{{d}}}" for d in decimals) or r"\d+"
    return re.compile(rf"(?:{options})")


def _number(text: str, decimals: Sequence[int]) -> tuple[float | None, str | None]:
    if _decimal_pattern(decimals).fullmatch(text):
        return float(text), None
    wanted = " or ".join("no decimals" if d == 0 else f"{d} decimals" for d in decimals) or "an integer"
    return None, f"'{text}' is not a well-formed number for this column ({wanted})"


# Usual CT tube voltages (IEC 60601-2-44 scanners offer these steps): a kV outside is read again by a person.
TUBE_VOLTAGES_KV = frozenset({70, 80, 90, 100, 110, 120, 130, 135, 140, 150})


def _cell_integer(column: Column, text: str) -> dict:
    if re.fullmatch(r"\d+", text):
        return {column.fields[0]: (int(text), None)}
    return {column.fields[0]: (None, f"'{text}' is not a well-formed integer")}


def _cell_integer_range(column: Column, text: str) -> dict:
    if re.fullmatch(r"\d+", text):
        return {column.fields[0]: (int(text), None)}
    if re.fullmatch(r"\d+-\d+", text):
        return {column.fields[0]: (text, None)}
    return {column.fields[0]: (None, f"'{text}' is not a well-formed number or range")}


def _cell_kv(column: Column, text: str) -> dict:
    out = _cell_integer(column, text)
    value, problem = out[column.fields[0]]
    if problem is None and value not in TUBE_VOLTAGES_KV:
        return {column.fields[0]: (value, f"{value} kV is not a tube voltage CT scanners offer")}
    return out


def _cell_decimal(column: Column, text: str) -> dict:
    out = {}
    if column.suffix_field:
        suffix = next((s for s in column.suffixes if text.endswith(s)), None)
        if suffix is None:
            out[column.suffix_field] = (None, f"'{text}' lacks the phantom letter ({', '.join(column.suffixes)})")
        else:
            out[column.suffix_field] = (column.suffixes[suffix], None)
            text = text[: -len(suffix)]
    out[column.fields[0]] = _number(text, column.decimals)
    return out


def _cell_word(column: Column, text: str) -> dict:
    for printed, meaning in column.values.items():
        if fold(printed) == fold(text):
            return {column.fields[0]: (meaning, None)}
    return {column.fields[0]: (None, f"'{text}' is not a value this column shows ({', '.join(column.values)})")}


def _cell_text(column: Column, text: str) -> dict:
    return {column.fields[0]: (text, None)}


_RANGE = re.compile(r"([SI])(\d+\.\d+)-([SI])(\d+\.\d+)")


def _cell_table_range(column: Column, text: str) -> dict:
    """GE's scan range, ``S19.250-I658.250``: superior positions positive, inferior negative, in mm."""
    m = _RANGE.fullmatch(text)
    start, end = column.fields
    if not m:
        problem = f"'{text}' is not a well-formed scan range (S/I position - S/I position)"
        return {start: (None, problem), end: (None, problem)}
    sign = {"S": 1.0, "I": -1.0}
    return {start: (sign[m.group(1)] * float(m.group(2)), None), end: (sign[m.group(3)] * float(m.group(4)), None)}


# format -> (cell reader, whether its characters are read as a number)
FORMATS: dict[str, tuple[Callable[[Column, str], dict], bool]] = {
    "integer": (_cell_integer, True),
    "integer_range": (_cell_integer_range, True),
    "kv": (_cell_kv, True),
    "decimal": (_cell_decimal, True),
    "word": (_cell_word, False),
    "text": (_cell_text, False),
    "table_range": (_cell_table_range, False),
}


def read_cell(column: Column, words: Sequence[Word]) -> dict[str, Reading]:
    """Readings of every field of one cell (absent: value None, ok; empty where a value belongs: needs review)."""
    chars = _chars(words)
    if not chars:
        return {f: Reading(None, "", 0.0).flag("empty cell") for f in _fields(column)}
    reader, numeric = FORMATS[column.format]
    text = _as_number_text(chars) if numeric else "".join(c.text for c in chars)
    confidence = _confidence(chars)
    if text == ABSENT and not any(w.doubt for w in words):
        return {f: Reading(None, text, confidence) for f in _fields(column)}
    out = {}
    for name, (value, problem) in reader(column, text).items():
        reading = Reading(value, text, confidence)
        for reason in [problem, *(w.doubt for w in words)]:
            if reason:
                reading = reading.flag(reason)
        out[name] = reading
    return out


def _fields(column: Column) -> tuple[str, ...]:
    return column.fields + ((column.suffix_field,) if column.suffix_field else ())


# --- rows and totals -----------------------------------------------------------------------------------------


def split_row(line: Line, starts: Sequence[int], tolerance: int) -> list[list[Word]]:
    """The words of a row by column: each word to the last column starting at or before it."""
    cells: list[list[Word]] = [[] for _ in starts]
    for word in line.words:
        index = 0
        for i, start in enumerate(starts):
            if start <= word.x0 + tolerance:
                index = i
        cells[index].append(word)
    return cells


def read_rows(lines: Sequence[Line], match: Match, tolerance: int) -> tuple[list[ScreenEvent], set[int]]:
    """The table's rows after the heading (and units line), up to the first line that is not a row."""
    layout = match.layout
    start = (match.units if match.units is not None else match.heading) + 1
    events: list[ScreenEvent] = []
    used: set[int] = set()
    for i in range(start, len(lines)):
        if _total_at(lines[i], layout.totals) is not None:
            break
        cells = split_row(lines[i], match.starts, tolerance)
        if sum(1 for c in cells if c) * 2 < len(cells):
            break
        readings: dict[str, Reading] = {}
        for column, words in zip(layout.columns, cells):
            readings.update(read_cell(column, words))
        events.append(ScreenEvent(readings, lines[i].text))
        used.add(i)
    return events, used


def _total_at(line: Line, totals: Sequence[Total]) -> tuple[int, int, Total] | None:
    """The first total whose label starts some word of the line: (first word, word after the label, total)."""
    words = line.words
    for i in range(len(words)):
        for total in totals:
            want = fold(total.label)
            text = ""
            for j in range(i, len(words)):
                text += fold(words[j].text)
                if len(text) >= len(want) - 1 and similar(text, want):
                    return i, j + 1, total
                if len(text) > len(want) + 1:
                    break
    return None


def read_totals(lines: Sequence[Line], layout: Layout, skip: set[int]) -> dict[str, Reading]:
    """Every total of the layout found on lines outside the table; a label without a readable value is flagged."""
    found: dict[str, Reading] = {}
    for index, line in enumerate(lines):
        if index in skip:
            continue
        words = list(line.words)
        while words:
            hit = _total_at(Line(tuple(words), line.y), layout.totals)
            if hit is None:
                break
            _, after, total = hit
            value_words = words[after : after + 1]
            if total.unit and value_words:
                value_words = [_strip_unit(value_words[0], total.unit)]
            column = Column(total.label, (total.field,), total.format, decimals=total.decimals)
            found.setdefault(total.field, read_cell(column, value_words)[total.field])
            words = words[after + 1 :]
    for total in layout.totals:
        if total.field not in found:
            found[total.field] = Reading(None, "", 0.0).flag(f"'{total.label}' not found on the screen")
    return found


def _strip_unit(word: Word, unit: str) -> Word:
    """A value with its unit written against it (``313mGy*cm``) without the unit."""
    text = word.text
    if len(text) > len(unit) and fold(text[-len(unit):]) == fold(unit):
        return Word(word.chars[: -len(unit)], word.x0, word.x1)
    return word
