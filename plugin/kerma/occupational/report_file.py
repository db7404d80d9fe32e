"""A dosimetry report as a table of text cells: its encoding, separator and header row found from its content.

Services write CSV in UTF-8 (with or without a byte-order mark), UTF-16 or Windows-1252 (µ and umlauts as single
bytes), separated by commas, semicolons (where the decimal separator is a comma), tabs or bars, often with title
lines above the header.  Nothing here guesses a number: cells stay text until the mapping says what they are.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from . import vocabulary

DELIMITERS = (";", "\t", ",", "|")  # in order of preference when two fit equally (";" before ",": decimal commas)
SNIFF_LINES = 40  # lines looked at for the separator and the header
MAX_COLUMNS = 200


class ReportError(ValueError):
    """A file that cannot be read as a table at all."""


@dataclass(frozen=True)
class ReportFile:
    encoding: str
    delimiter: str
    header_row: int  # index in rows of the header (title lines above it are skipped)
    rows: list[list[str]]  # every non-empty record, the header's included, cells stripped
    lines: list[int]  # the line of the file each row starts on (1-based: the row number a spreadsheet shows)

    @property
    def header(self) -> list[str]:
        """The header's cells, made unique (a repeated name gets `` (2)``, `` (3)``…) so a mapping can name each."""
        seen: dict[str, int] = {}
        out = []
        for cell in self.rows[self.header_row]:
            name = cell or "(unnamed)"
            seen[name] = seen.get(name, 0) + 1
            out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
        return out

    def records(self) -> list[tuple[int, list[str]]]:
        """(row number as a spreadsheet shows it, cells) of every non-empty record below the header."""
        return [(line, cells) for index, (line, cells) in enumerate(zip(self.lines, self.rows))
                if index > self.header_row]


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 or UTF-16 by their byte-order marks, else UTF-8 when it decodes, else Windows-1252
    (Latin-1 for the five bytes Windows-1252 leaves undefined)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def read_report(raw: bytes | str, delimiter: str | None = None, header_row: int | None = None) -> ReportFile:
    """The report's table; ``delimiter`` and ``header_row`` are found when not given.

    Raises :class:`ReportError` for a file with no rows or no separator that makes columns.
    """
    text, encoding = (raw, "text") if isinstance(raw, str) else decode(raw)
    text = text.replace("\x00", "")
    lines = [line for line in text.splitlines() if line.strip()][:SNIFF_LINES]
    if not lines:
        raise ReportError("the file is empty")
    if delimiter is None:
        delimiter = _delimiter(lines)
    rows, starts = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        previous = 0
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):  # a blank line is no row
                rows.append(cells)
                starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error as exc:
        raise ReportError(f"not a readable CSV table: {exc}") from None
    if max(len(row) for row in rows) > MAX_COLUMNS:
        raise ReportError(f"more than {MAX_COLUMNS} columns: not a dosimetry report")
    if header_row is None:
        header_row = _header_row(rows[:SNIFF_LINES])
    if not 0 <= header_row < len(rows):
        raise ReportError(f"header_row {header_row}: the file has {len(rows)} rows")
    return ReportFile(encoding, delimiter, header_row, rows, starts)


def _delimiter(lines: list[str]) -> str:
    """The separator that gives most lines the same number (at least two) of columns."""
    best, best_score = None, 0
    for candidate in DELIMITERS:
        counts = Counter(len(row) for row in csv.reader(lines, delimiter=candidate))
        width, lines_of_width = max(counts.items(), key=lambda item: (item[1], item[0]))
        score = lines_of_width if width >= 2 else 0
        if score > best_score:
            best, best_score = candidate, score
    if best is None:
        raise ReportError("no column separator found (comma, semicolon, tab or bar)")
    return best


def _header_row(rows: list[list[str]]) -> int:
    """The first row of the table's width whose cells name known fields or doses; else the first of that width."""
    width = Counter(len(row) for row in rows).most_common(1)[0][0]
    wide = [i for i, row in enumerate(rows) if len(row) == width]
    for index in wide:
        named = sum(1 for cell in rows[index] if _names_something(vocabulary.normalise(cell)))
        if named >= 2:
            return index
    return wide[0]


def _names_something(text: str) -> bool:
    return any(vocabulary.find(kind, text) for kind in ("field", "quantity"))
