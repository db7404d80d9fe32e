"""A minimal, fast reader of DICOM Part 10 files for dose extraction.

Why not pydicom's ``dcmread``: a large RDSR (thousands of content items in
nested, often undefined-length sequences) costs pydicom about one second to
walk, five times what DCMTK needs.  Dose extraction reads a handful of
attributes per content item, so this reader does one linear pass over the
bytes, builds plain dicts of ``tag -> Element`` and leaves value decoding to
the caller (through :mod:`pydicom` for character sets).  Pixel data is never
read.

Supported transfer syntaxes: implicit VR little endian, explicit VR little
endian (and every encapsulated syntax, whose dataset is explicit little
endian), deflated explicit VR little endian and explicit VR big endian.
Binary values (US, SS, UL, SL, FL, FD, AT, SV, UV and the OW/OF/OD/OL/OV
words) are handed out little endian whatever the transfer syntax: the parser
swaps them when it reads a big-endian dataset, so their decoders never need to
know where a value came from (undefined-length UN sequences are implicit VR
little endian in every transfer syntax, PS3.5 6.2.2).
"""

from __future__ import annotations

import struct
import zlib
from array import array
from dataclasses import dataclass
from typing import Union

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR

PIXEL_DATA = 0x7FE00010
ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
TRANSFER_SYNTAX_UID = 0x00020010
SPECIFIC_CHARACTER_SET = 0x00080005

IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"
DEFLATED_LITTLE = "1.2.840.10008.1.2.1.99"
MAX_INFLATED = 16 * 2**20  # bytes of a deflated dataset inflated at most (the largest dose header is 3.3 MB)
# deepest sequence nesting read: SR content trees and image headers stay below 20; deeper is refused before
# it can exhaust Python's recursion here or in the tree walks after
MAX_DEPTH = 64
# sequence items at most this long are parsed once per distinct bytes (and depth) and then shared: an SR names the
# same few dozen codes in tens of thousands of code items (the 316-event report: 27,000 of its 50,000 items)
SHARED_ITEM_BYTES = 256

LONG_LENGTH_VRS = frozenset(
    (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")
)

Value = Union[bytes, list]

# byte width of one value of each binary VR, for turning big-endian values little endian (OB and UN are bytes)
BINARY_WIDTH = {
    "US": 2, "SS": 2, "OW": 2, "AT": 2,  # AT: a (group, element) pair of 16-bit words
    "UL": 4, "SL": 4, "FL": 4, "OF": 4, "OL": 4,
    "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8,
}
_ARRAY_TYPE = {2: "H", 4: "I", 8: "Q"}  # array item codes of 2, 4 and 8 bytes


class DicomFormatError(ValueError):
    """The bytes are not a DICOM object this reader can follow."""


@dataclass(slots=True)
class Element:
    vr: str
    value: Value  # raw bytes, or a list of item dicts for a sequence


_implicit_vr_cache: dict[int, str] = {}


def _implicit_vr(tag: int) -> str:
    vr = _implicit_vr_cache.get(tag)
    if vr is None:
        if tag & 0xFFFF == 0 or (tag >> 16) & 1:  # group length or private
            vr = "UN"
        else:
            try:
                vr = dictionary_VR(tag).split(" ")[0]
            except KeyError:
                vr = "UN"
        _implicit_vr_cache[tag] = vr
    return vr


class _Parser:
    def __init__(self, buf: bytes, explicit: bool, little: bool):
        self.buf = buf
        self.explicit = explicit
        self.big_endian = not little
        e = "<" if little else ">"
        self.tag_len = struct.Struct(e + "HHL")  # implicit: group, element, 4-byte length
        self.tag_vr_len2 = struct.Struct(e + "HH2sH")  # explicit short form
        self.len4 = struct.Struct(e + "L")
        self.delimiter = self.tag_len.pack(ITEM_DELIMITER >> 16, ITEM_DELIMITER & 0xFFFF, 0)
        # (depth, defined length?, the item's bytes) -> (its dict, bytes consumed): see sequence()
        self.seen: dict[tuple[int, bool, bytes], tuple[dict[int, Element], int]] = {}

    def dataset(self, pos: int, end: int, stop_at: int = PIXEL_DATA, depth: int = 0) -> tuple[dict[int, Element], int]:
        """Parse elements from ``pos`` until ``end`` or an item delimiter; ``depth``: sequences around it."""
        buf = self.buf
        out: dict[int, Element] = {}
        explicit, big_endian = self.explicit, self.big_endian
        unpack_implicit = self.tag_len.unpack_from
        unpack_explicit = self.tag_vr_len2.unpack_from
        unpack_len4 = self.len4.unpack_from
        size = len(buf)
        while pos < end:
            if pos + 8 > size:
                raise DicomFormatError(f"truncated element header at byte {pos}")
            if explicit:
                group, elem, vr_b, length = unpack_explicit(buf, pos)
            else:
                group, elem, length = unpack_implicit(buf, pos)
            tag = (group << 16) | elem
            if group == 0xFFFE:  # an item header or delimiter (no VR, 8 bytes) where an element could be
                pos += 8
                if tag == ITEM_DELIMITER and depth:
                    return out, pos
                continue  # a stray one (some writers leave one after an empty sequence): the dataset goes on
            if explicit:
                if vr_b in LONG_LENGTH_VRS:
                    (length,) = unpack_len4(buf, pos + 8)
                    pos += 12
                else:
                    pos += 8
                vr = vr_b.decode("ascii", "replace")
            else:
                pos += 8
                vr = _implicit_vr_cache.get(tag) or _implicit_vr(tag)
            if tag >= stop_at:
                return out, size
            if length == UNDEFINED:
                if vr in ("OB", "OW") or tag == PIXEL_DATA:  # encapsulated pixel data (e.g. an icon image)
                    pos = self.skip_fragments(pos)
                    out[tag] = Element(vr, b"")
                    continue
                if vr == "UN" and explicit and not self._explicit_item_follows(pos):
                    # PS3.5 6.2.2: an undefined-length UN is an implicit VR little endian sequence
                    items, pos = _Parser(buf, False, True).sequence(pos, None, depth + 1)
                else:  # some writers keep explicit VR inside such a UN: read it as it is
                    items, pos = self.sequence(pos, None, depth + 1)
                out[tag] = Element("SQ", items)
                continue
            value_end = pos + length
            if value_end > size:
                raise DicomFormatError(f"value of ({group:04X},{elem:04X}) runs past the end of the data")
            if vr == "SQ":
                items, _ = self.sequence(pos, value_end, depth + 1)
                out[tag] = Element("SQ", items)
            elif big_endian and vr in BINARY_WIDTH:
                out[tag] = Element(vr, _little_endian(buf[pos:value_end], BINARY_WIDTH[vr]))
            else:
                out[tag] = Element(vr, buf[pos:value_end])
            pos = value_end
        return out, pos

    def _explicit_item_follows(self, pos: int) -> bool:
        """Does the first item at ``pos`` start with an explicit-VR element?"""
        vr = self.buf[pos + 12 : pos + 14]
        return len(vr) == 2 and vr.isalpha() and vr.isupper()

    def skip_fragments(self, pos: int) -> int:
        unpack = self.tag_len.unpack_from
        while True:
            if pos + 8 > len(self.buf):
                raise DicomFormatError("encapsulated pixel data without its delimiter: the data is truncated")
            group, elem, length = unpack(self.buf, pos)
            pos += 8
            if (group << 16) | elem == SEQUENCE_DELIMITER:
                return pos
            pos += length

    def sequence(self, pos: int, end: int | None, depth: int) -> tuple[list[dict[int, Element]], int]:
        if depth > MAX_DEPTH:
            raise DicomFormatError(f"sequences nested deeper than {MAX_DEPTH} levels")
        buf = self.buf
        unpack = self.tag_len.unpack_from
        items: list[dict[int, Element]] = []
        size = len(buf)
        limit = size if end is None else end
        while pos < limit:
            if pos + 8 > size:
                raise DicomFormatError(f"truncated sequence at byte {pos}")
            group, elem, length = unpack(buf, pos)
            tag = (group << 16) | elem
            pos += 8
            if tag == SEQUENCE_DELIMITER:
                return items, pos
            if tag != ITEM:
                raise DicomFormatError(f"expected a sequence item at byte {pos - 8}, found ({group:04X},{elem:04X})")
            item, pos = self.item(pos, length, depth)
            items.append(item)
        if end is None:
            raise DicomFormatError("sequence without its delimiter: the data is truncated")
        return items, pos

    def item(self, pos: int, length: int, depth: int) -> tuple[dict[int, Element], int]:
        """The sequence item whose value starts at ``pos`` and where it ends; a short item already parsed is shared.

        Parsing is a function of the bytes read, the depth and the parser: an item of ``length`` bytes that was read
        within them, or an undefined-length one whose bytes up to the first item delimiter equal those of an item
        that ended there, gives the same dict, so the one already made is handed out again (no one changes them).
        """
        buf = self.buf
        defined = length != UNDEFINED
        if defined:
            key = (depth, True, buf[pos:pos + length]) if length <= SHARED_ITEM_BYTES else None
        else:
            found = buf.find(self.delimiter, pos, pos + SHARED_ITEM_BYTES + 8)
            key = (depth, False, buf[pos:found]) if found >= 0 else None
        if key is not None and key in self.seen:
            item, consumed = self.seen[key]
            return item, pos + consumed
        item, end = self.dataset(pos, pos + length if defined else len(buf), 0xFFFFFFFF, depth)
        consumed = end - pos
        if consumed <= SHARED_ITEM_BYTES + (0 if defined else 8):
            if defined and consumed == length:  # read within its own bytes
                self.seen[(depth, True, buf[pos:end])] = item, consumed
            elif not defined and end - 8 >= pos and self.tag_len.unpack_from(buf, end - 8)[:2] == (0xFFFE, 0xE00D):
                self.seen[(depth, False, buf[pos:end - 8])] = item, consumed
        return item, end


class DicomObject:
    """Parsed top-level dataset with decoding helpers."""

    __slots__ = ("elements", "file_meta", "encodings", "warnings")

    def __init__(self, elements: dict[int, Element], file_meta: dict[int, Element]):
        self.elements = elements
        self.file_meta = file_meta
        self.warnings: list[str] = []  # what the object gets wrong that decoding worked around
        self.encodings = self._encodings(elements.get(SPECIFIC_CHARACTER_SET))

    def _encodings(self, charset: Element | None) -> list[str]:
        if charset is None:
            return convert_encodings([""])
        if charset.vr == "SQ":
            self.warnings.append("Specific Character Set (0008,0005) is a sequence, not a code string: text read as ASCII")
            return convert_encodings([""])
        terms = [t.strip() for t in charset.value.decode("ascii", "replace").split("\\")]
        try:
            return convert_encodings(terms)
        except Exception:  # pydicom raises only in its strict mode; an unknown character set still lets us read ASCII
            self.warnings.append("Specific Character Set (0008,0005) names no known character set: text read as ASCII")
            return convert_encodings([""])

    @property
    def transfer_syntax_uid(self) -> str | None:
        return _transfer_syntax(self.file_meta)

    def text(self, item: dict[int, Element], tag: int) -> str | None:
        """Decoded, stripped string value of ``tag`` in ``item``; ``None`` when absent or empty."""
        el = item.get(tag)
        if el is None or el.vr == "SQ":
            return None
        raw = el.value
        if not raw:
            return None
        if raw.isascii() and 0x1B not in raw:  # no character set changes ASCII without an escape sequence
            value = raw.decode("ascii")
        elif el.vr in ("PN", "LO", "SH", "ST", "LT", "UT", "UC"):
            try:
                value = decode_bytes(raw, self.encodings, {0x5C, 0x3D, 0x5E} if el.vr == "PN" else {0x5C})
            except (UnicodeError, LookupError):  # pydicom's strict mode: bytes its character sets cannot decode
                value = raw.decode("latin-1")
        else:
            value = raw.decode("latin-1")
        value = _strip(value)
        return value or None

    def number(self, item: dict[int, Element], tag: int) -> float | None:
        """First numeric value of a DS/IS or binary numeric element, ``None`` when absent or unreadable.

        A non-finite value (an IEEE NaN, or a DS ``"inf"``) is returned as it is: refusing it, with a
        warning that names the field, is :mod:`plausible`'s job.
        """
        el = item.get(tag)
        if el is None or not el.value or el.vr == "SQ":
            return None
        raw = el.value
        fmt = _BINARY_NUMBERS.get(el.vr)
        try:
            if fmt is not None:
                return float(struct.unpack_from("<" + fmt, raw)[0])
            text = _strip(raw.decode("latin-1").split("\\")[0])  # padded with NUL by some writers (DRGEM)
            return None if "_" in text else float(text)  # Python's float() reads "1_0"; a DS or IS never has "_"
        except (ValueError, struct.error):
            return None

    @staticmethod
    def items(item: dict[int, Element], tag: int) -> list[dict[int, Element]]:
        el = item.get(tag)
        if el is None or el.vr != "SQ":
            return []
        return el.value


_BINARY_NUMBERS = {"FD": "d", "FL": "f", "US": "H", "UL": "L", "SS": "h", "SL": "l", "SV": "q", "UV": "Q"}


def _little_endian(raw: bytes, width: int) -> bytes:
    """Big-endian values of ``width`` bytes each, little endian (a ragged tail is left as it is)."""
    whole = len(raw) - len(raw) % width
    words = array(_ARRAY_TYPE[width], raw[:whole])
    words.byteswap()
    return words.tobytes() + raw[whole:]


def _strip(value: str) -> str:
    return value.strip(" \x00")


def read(data: bytes) -> DicomObject:
    """Parse a DICOM Part 10 file (or a bare implicit-VR dataset) up to its pixel data."""
    try:
        return _read(data)
    except struct.error as exc:
        raise DicomFormatError(f"truncated or corrupt DICOM data ({exc})") from None


def _read(data: bytes) -> DicomObject:
    if len(data) >= 132 and data[128:132] == b"DICM":
        pos = 132
    elif data[:4] == b"DICM":
        pos = 4
    else:
        pos = None
    file_meta: dict[int, Element] = {}
    if pos is not None:
        meta_parser = _Parser(data, True, True)
        # the meta group is explicit little endian; read element by element while the group is 0002
        while pos + 8 <= len(data) and data[pos : pos + 2] == b"\x02\x00":
            one, pos = meta_parser.dataset(pos, _next_element_end(data, pos))
            file_meta.update(one)
        if not file_meta:
            raise DicomFormatError("DICM prefix without a file meta information group")
    else:
        # a bare dataset (no preamble) starts with a low group: 0002 meta or 0008 identification
        if len(data) < 8 or struct.unpack_from("<H", data, 0)[0] not in (0x0002, 0x0008):
            raise DicomFormatError("not a DICOM file (no DICM preamble, no leading DICOM element)")
        pos = 0
    ts = _transfer_syntax(file_meta)
    ts = IMPLICIT_LITTLE if ts is None else ts
    body = data
    if ts == DEFLATED_LITTLE:
        try:
            # bounded: the dataset up to its pixel data is far smaller, and a deflate bomb stops here
            body = zlib.decompressobj(-15).decompress(data[pos:], MAX_INFLATED)
        except zlib.error as exc:
            raise DicomFormatError(f"deflated dataset cannot be inflated ({exc})") from None
        pos = 0
    parser = _Parser(body, ts != IMPLICIT_LITTLE, ts != EXPLICIT_BIG)
    elements, _ = parser.dataset(pos, len(body))
    if not elements:
        raise DicomFormatError("no data elements after the file meta information")
    return DicomObject(elements, file_meta)


def _transfer_syntax(file_meta: dict[int, Element]) -> str | None:
    el = file_meta.get(TRANSFER_SYNTAX_UID)
    if el is None or el.vr == "SQ":
        return None
    return _strip(el.value.decode("ascii", "replace"))


def _next_element_end(data: bytes, pos: int) -> int:
    vr = data[pos + 4 : pos + 6]
    if vr in LONG_LENGTH_VRS:
        return pos + 12 + struct.unpack_from("<L", data, pos + 8)[0]
    return pos + 8 + struct.unpack_from("<H", data, pos + 6)[0]
