"""Mutated DICOM objects for fuzzing the extractor, reproducible from a seed.

Two families of damage, drawn from corpus files:

* byte level, as a bad disk, network or writer would do it: bit flips, truncation, inserted, deleted and
  duplicated bytes, element lengths overwritten with hostile values;
* structured, written with pydicom so that the object stays well formed around the damage: non-finite and
  absurd numbers (DS ``NaN``, ``inf``, ``1e309``, negative doses, FD NaN), wrong VRs, sequences where strings
  are expected and strings where sequences are, sequences nested thousands deep, bad character sets and
  undecodable text, broken Patient's Age, absurd multiplicities, missing elements.

Used by ``tests/test_extract_fuzz.py`` (a bounded run in CI) and ``bench/fuzz.py`` (100,000 and more).
"""

from __future__ import annotations

import io
import math
import random
import re
import struct
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom import config
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

BYTE_KINDS = ("flip", "truncate", "insert", "delete", "duplicate", "length")
STRUCTURED_KINDS = ("number", "wrong_vr", "sequence_for_string", "string_for_sequence", "nesting", "charset",
                    "age", "multiplicity", "drop")
KINDS = BYTE_KINDS + STRUCTURED_KINDS
STRUCTURED_MAX_BYTES = 400_000  # seeds with a larger header take only byte-level damage (pydicom writes them slowly)

# DS/IS strings no dose value may become: non-finite, overflowing, negative, absurd, not numbers at all
HOSTILE_NUMBER_STRINGS = (
    "NaN", "nan", "-NaN", "inf", "-inf", "+Infinity", "1e309", "-1e309", "1e308", "9e307\\9e307", "-1", "-5e3",
    "1e12", "1e300", "1e-320", "-0", "0", "", " ", "abc", "1_0", "0x10", "1e5000", "--1", "1.2.3",
    "99999999999999999999999", "12\\NaN", "NaN\\12",
)
HOSTILE_BINARY = (math.nan, math.inf, -math.inf, 1e308, -1e308, -1.0, 3.4e38, 1e-320)
# where dose and patient-size numbers live, tried first by "number"
DOSE_TAGS = (
    0x0040A30A,  # Numeric Value (every SR measurement)
    0x0040A161,  # Floating Point Value
    0x00189345,  # CTDIvol
    0x0018115E,  # Image and Fluoroscopy Area Dose Product
    0x00400316,  # Organ Dose
    0x00400302,  # Entrance Dose
    0x00181074,  # Radionuclide Total Dose
    0x00101030,  # Patient's Weight
    0x00101020,  # Patient's Size
    0x00180060,  # KVP
    0x00181152,  # Exposure
)
CHARSETS = (
    "ISO_IR 999", "ISO 2022 IR 87", "ISO_IR 192", "GB18030", "\\\\\\", "ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159",
    "ISO_IR 100\\ISO_IR 192", "ISO 2022 IR 13\\ISO 2022 IR 87", "utf-8", "ISO-IR 100", "\x00\x01",
)
UNDECODABLE = (b"\xff\xfe\x80\x81", b"\x1b$B\xff\xff\x1b(B", b"\xc3\x28\xa0\xa1", b"\x1b%G\xe2\x82", b"\x8e\xa1\xa1\x00")
AGES = (b"\xb2\xb2Y", b"999Y", b"-01Y", b"Y", b"1e3Y", b"\x00\x00\x00Y", b"0100M", b"12", b"\xd9\xa3Y", b"00 Y",
        b"NaNY", b"\xbd\xbdD")
ALL_VRS = ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
           "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV")
_LONG_VRS = ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV")  # 4-byte lengths
NESTING_DEPTHS = (8, 63, 65, 200, 600, 2000, 20000)
HOSTILE_LENGTHS = (0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0xFFFF, 0xFFFE, 1, 3, 0)


@dataclass(frozen=True, slots=True)
class Mutant:
    kind: str
    seed: str  # the corpus file it came from
    data: bytes


@dataclass(frozen=True, slots=True)
class _Place:
    """Where one element is in a seed's bytes (header included), and what it is."""

    start: int
    end: int
    tag: int
    vr: str
    item: int  # start of the first element of the dataset holding it: where a new element can go


@dataclass
class _Seed:
    name: str
    data: bytes
    header_end: int  # where the pixel data starts (byte damage there is invisible to dose extraction)
    element_headers: list[int] | None = None  # offsets of explicit-VR element headers, for "length"
    written: bytes | None = None  # the seed as pydicom writes it, every sequence and item of undefined length
    places: list[_Place] | None = None
    implicit: bool = False
    little: bool = True


@contextmanager
def lenient_pydicom():
    """pydicom reads and writes hostile values without validating them (restored afterwards)."""
    reading, writing = config.settings.reading_validation_mode, config.settings.writing_validation_mode
    config.settings.reading_validation_mode = config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        config.settings.reading_validation_mode, config.settings.writing_validation_mode = reading, writing


class Mutator:
    """Mutants of ``seeds`` (paths of DICOM files), the same sequence for the same ``seed``."""

    def __init__(self, seeds: list[Path], seed: int, structured_share: float = 0.5):
        self.rng = random.Random(seed)
        self.structured_share = structured_share
        self.seeds = [_Seed(p.name, data, _header_end(data)) for p in seeds for data in [p.read_bytes()]]
        self.structured_seeds = [s for s in self.seeds if s.header_end <= STRUCTURED_MAX_BYTES]

    def mutants(self, count: int):
        for _ in range(count):
            yield self.mutant()

    def mutant(self) -> Mutant:
        rng = self.rng
        if rng.random() < self.structured_share:
            seed = rng.choice(self.structured_seeds)
            kind = rng.choice(STRUCTURED_KINDS)
            data = self._structured(seed, kind)
            if data is not None:
                return Mutant(kind, seed.name, data)
        seed = rng.choice(self.seeds)
        kind = rng.choice(BYTE_KINDS)
        return Mutant(kind, seed.name, getattr(self, f"_{kind}")(seed))

    # --- byte level --------------------------------------------------------------------------------

    def _position(self, seed: _Seed) -> int:
        """A byte offset, mostly in the header (what the extractor reads), sometimes anywhere."""
        rng = self.rng
        limit = seed.header_end if rng.random() < 0.8 else len(seed.data)
        if rng.random() < 0.3:
            limit = min(limit, 2048)  # the meta group and the identifying header
        return rng.randrange(max(limit, 1))

    def _flip(self, seed: _Seed) -> bytes:
        data = bytearray(seed.data)
        for _ in range(self.rng.randint(1, 8)):
            pos = self._position(seed)
            if pos < len(data):
                data[pos] = data[pos] ^ (1 << self.rng.randrange(8)) if self.rng.random() < 0.7 else self.rng.randrange(256)
        return bytes(data)

    def _truncate(self, seed: _Seed) -> bytes:
        return seed.data[: self._position(seed)]

    def _insert(self, seed: _Seed) -> bytes:
        pos = self._position(seed)
        junk = self.rng.choice((
            bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 64))),
            b"\xfe\xff\x00\xe0\xff\xff\xff\xff",  # an item header out of place
            b"\xfe\xff\xdd\xe0\x00\x00\x00\x00",  # a sequence delimiter out of place
            b"\x00" * self.rng.randint(1, 16),
        ))
        return seed.data[:pos] + junk + seed.data[pos:]

    def _delete(self, seed: _Seed) -> bytes:
        pos = self._position(seed)
        return seed.data[:pos] + seed.data[pos + self.rng.randint(1, 64):]

    def _duplicate(self, seed: _Seed) -> bytes:
        start = self._position(seed)
        chunk = seed.data[start:start + self.rng.randint(8, 512)]
        pos = self._position(seed)
        return seed.data[:pos] + chunk + seed.data[pos:]

    def _length(self, seed: _Seed) -> bytes:
        """Overwrite the length field of an explicit-VR element header with a hostile value."""
        if seed.element_headers is None:
            seed.element_headers = [m.start() - 4 for m in _VR_AFTER_TAG.finditer(seed.data, 136, seed.header_end)
                                    if m.start() + 8 <= len(seed.data)]
        if not seed.element_headers:
            return self._flip(seed)
        data = bytearray(seed.data)
        at = self.rng.choice(seed.element_headers)
        length = self.rng.choice(HOSTILE_LENGTHS)
        if bytes(data[at + 4:at + 6]) in _LONG_VR_BYTES:
            struct.pack_into("<L", data, at + 8, length)
        else:
            struct.pack_into("<H", data, at + 6, length & 0xFFFF)
        return bytes(data)

    # --- structured (pydicom) ----------------------------------------------------------------------
    # Each seed is written once by pydicom with every sequence and item of undefined length, so that one
    # element can then be replaced, dropped or inserted without rewriting the whole object (pydicom takes
    # ~0.1 s per object to write, too slow for 100,000 mutants); the replacement elements are encoded by
    # pydicom's own writer in the seed's transfer syntax.

    def _structured(self, seed: _Seed, kind: str) -> bytes | None:
        with lenient_pydicom():
            if seed.places is None and not self._prepare(seed):
                return None
            patches = getattr(self, f"_s_{kind}")(seed)
        if not patches:
            return None
        data = seed.written
        for start, end, new in sorted(patches, key=lambda p: p[0], reverse=True):
            data = data[:start] + new + data[end:]
        return data

    def _prepare(self, seed: _Seed) -> bool:
        try:
            ds = pydicom.dcmread(io.BytesIO(seed.data), force=True)
            if ds.file_meta.get("TransferSyntaxUID") == "1.2.840.10008.1.2.1.99":
                raise ValueError("deflated: element offsets are not file offsets")
            seed.implicit, seed.little = ds.original_encoding if ds.original_encoding[0] is not None else (True, True)
            _undefined_lengths(ds)
            buffer = io.BytesIO()
            if "TransferSyntaxUID" in ds.file_meta:
                ds.save_as(buffer, enforce_file_format=True)
            else:
                pydicom.dcmwrite(buffer, ds, implicit_vr=seed.implicit, little_endian=seed.little)
            seed.written = buffer.getvalue()
            written = pydicom.dcmread(io.BytesIO(seed.written), force=True)
            places: list[_Place] = []
            top = [e for e in written._dict.values() if e.tag < 0x7FE00010]
            first = _value_start(top[0]) - _header_size(top[0], seed.implicit)
            _place_elements(seed.written, top, first, seed.implicit, seed.little, places)
        except Exception:  # pydicom cannot read, write or locate this seed: byte-level damage only
            self.structured_seeds.remove(seed)
            return False
        seed.places = places
        return bool(places)

    def _encode(self, seed: _Seed, tag: int, vr: str, value) -> bytes:
        """One element in the seed's encoding, by pydicom's writer; ``value`` bytes are written as they are."""
        fp = DicomBytesIO()
        fp.is_implicit_VR, fp.is_little_endian = seed.implicit, seed.little
        if isinstance(value, bytes):
            value += b" " * (len(value) % 2)
            element = RawDataElement(Tag(tag), vr, len(value), value, 0, seed.implicit, seed.little)
        else:
            element = DataElement(tag, vr, value)
        write_data_element(fp, element)
        return fp.getvalue()

    def _pick(self, seed: _Seed, tags=(), where=None) -> _Place | None:
        """A random element, one of ``tags`` when the seed has one (most of the time)."""
        places = [p for p in seed.places if where is None or where(p)]
        if tags:
            wanted = [p for p in places if p.tag in tags]
            if wanted and self.rng.random() < 0.8:
                return self.rng.choice(wanted)
        return self.rng.choice(places) if places else None

    def _replace(self, seed: _Seed, place: _Place, vr: str, value) -> list:
        return [(place.start, place.end, self._encode(seed, place.tag, vr, value))]

    def _s_number(self, seed: _Seed):
        place = self._pick(seed, DOSE_TAGS, lambda p: p.vr != "SQ")
        if place is None:
            return None
        if place.vr in ("FD", "FL", "OD", "OF"):
            fmt = ("<" if seed.little else ">") + ("d" if place.vr in ("FD", "OD") else "f")
            value = self.rng.choice(HOSTILE_BINARY)
            try:
                raw = struct.pack(fmt, value)
            except OverflowError:  # beyond a 32-bit float: its infinity
                raw = struct.pack(fmt, math.inf)
            return self._replace(seed, place, place.vr, raw)
        text = self.rng.choice(HOSTILE_NUMBER_STRINGS).encode("latin-1")
        return self._replace(seed, place, place.vr if place.vr in ("DS", "IS") else "DS", text)

    def _s_wrong_vr(self, seed: _Seed):
        place = self._pick(seed, DOSE_TAGS + (0x00080016, 0x0040A040, 0x00080100, 0x00080005, 0x00101010))
        if place is None:
            return None
        value = self.rng.choice((b"", b"\x00" * self.rng.randrange(1, 17), bytes(self.rng.randrange(256) for _ in range(6)),
                                 b"12.5", b"\x01\x02\x03"))
        return self._replace(seed, place, self.rng.choice(ALL_VRS), value)

    def _s_sequence_for_string(self, seed: _Seed):
        important = (0x00080005, 0x00101010, 0x00100010, 0x00080016, 0x0040A040, 0x00080100, 0x00080102, 0x00080060,
                     0x0020000D, 0x00181030, 0x00321060) + DOSE_TAGS
        place = self._pick(seed, important, lambda p: p.vr != "SQ")
        if place is None:
            return None
        inner = Dataset()
        inner.CodeValue, inner.CodeMeaning = "1", "nested"
        return self._replace(seed, place, "SQ", Sequence([inner] * self.rng.randint(0, 3)))

    def _s_string_for_sequence(self, seed: _Seed):
        place = self._pick(seed, where=lambda p: p.vr == "SQ")
        if place is None:
            return None
        value = self.rng.choice((b"NOT A SEQUENCE", b"", b"\xfe\xff\x00\xe0", b"1.2.3\x00"))
        return self._replace(seed, place, self.rng.choice(("LO", "UN", "OB", "CS", "UT")), value)

    def _s_nesting(self, seed: _Seed):
        """A sequence nested thousands deep (undefined lengths), as the first element of a random dataset."""
        at = self.rng.choice(seed.places).item
        depth = self.rng.choice(NESTING_DEPTHS)
        value = _nested(depth, seed.implicit, seed.little)
        e = "<" if seed.little else ">"
        header = struct.pack(e + "HH", 0x0040, 0xA730) + (b"" if seed.implicit else b"SQ\x00\x00")
        return [(at, at, header + struct.pack(e + "L", 0xFFFFFFFF) + value)]

    def _s_charset(self, seed: _Seed):
        top = [p for p in seed.places if p.item == seed.places[0].item]
        charset = next((p for p in top if p.tag == 0x00080005), None)
        span = (charset.start, charset.end) if charset else (top[0].start, top[0].start)
        if self.rng.random() < 0.25:
            value = Sequence([Dataset()])
            new = self._encode(seed, 0x00080005, "SQ", value)
        else:
            new = self._encode(seed, 0x00080005, "CS", self.rng.choice(CHARSETS).encode("latin-1"))
        patches = [(*span, new)]
        for place in top:
            if place.tag in (0x00100010, 0x00081030, 0x00080080, 0x00181030) and self.rng.random() < 0.7:
                value = self.rng.choice(UNDECODABLE) + b"^" + self.rng.choice(UNDECODABLE)
                patches += self._replace(seed, place, place.vr if place.vr in ("PN", "LO") else "LO", value)
        return patches

    def _s_age(self, seed: _Seed):
        top = [p for p in seed.places if p.item == seed.places[0].item]
        age = next((p for p in top if p.tag == 0x00101010), None)
        span = (age.start, age.end) if age else (top[0].start, top[0].start)
        return [(*span, self._encode(seed, 0x00101010, "AS", self.rng.choice(AGES)))]

    def _s_multiplicity(self, seed: _Seed):
        place = self._pick(seed, DOSE_TAGS, lambda p: p.vr != "SQ")
        if place is None:
            return None
        value = b"\\".join([b"1e2"] * self.rng.choice((2, 100, 20000)))
        return self._replace(seed, place, "UT" if len(value) > 0xFFFE else "DS", value)

    def _s_drop(self, seed: _Seed):
        place = self._pick(seed, (0x00080016, 0x0040A040, 0x0040A043, 0x004008EA, 0x00080100, 0x0040A300, 0x00080060))
        return None if place is None else [(place.start, place.end, b"")]


_VR_BYTES = frozenset(vr.encode() for vr in ALL_VRS)
_VR_AFTER_TAG = re.compile(b"(?=" + b"|".join(sorted(_VR_BYTES)) + b")")
_LONG_VR_BYTES = frozenset(vr.encode() for vr in _LONG_VRS)


def _undefined_lengths(dataset: Dataset) -> None:
    """Every sequence and item of ``dataset`` written with undefined length (delimiters, no length fields)."""
    for element in dataset:
        if element.VR == "SQ":
            element.value.is_undefined_length = True
            element.is_undefined_length = True
            for item in element.value:
                item.is_undefined_length_sequence_item = True
                _undefined_lengths(item)


def _value_start(element) -> int:
    return element.value_tell if isinstance(element, RawDataElement) else element.file_tell


def _header_size(element, implicit: bool) -> int:
    return 8 if implicit or (element.VR or "UN") not in _LONG_VRS else 12


def _place_elements(data: bytes, elements: list, item: int, implicit: bool, little: bool, out: list[_Place]) -> int:
    """Append the place of each of ``elements`` (contiguous from ``item`` in ``data``, as pydicom read them); their end."""
    pos = item
    for element in elements:
        value = _value_start(element)
        start = value - _header_size(element, implicit)
        if start != pos:
            raise ValueError(f"element {element.tag} at {start}, expected at {pos}")
        size = 4 if implicit or start + 12 == value else 2
        (length,) = struct.unpack_from(("<" if little else ">") + ("L" if size == 4 else "H"), data, value - size)
        if length != 0xFFFFFFFF:
            end = value + length
        elif isinstance(element.value, Sequence):  # undefined length: its items, then the sequence delimiter
            end = value
            for dataset in element.value:
                end = _place_elements(data, list(dataset._dict.values()), dataset.file_tell + 8, implicit, little, out) + 8
            end += 8
        else:
            raise ValueError(f"undefined-length {element.VR} {element.tag} outside the pixel data")
        out.append(_Place(start, end, int(element.tag), element.VR or "UN", item))
        pos = end
    return pos


def _nested(depth: int, implicit: bool, little: bool) -> bytes:
    """The value of an undefined-length sequence: ``depth`` levels of one item holding one sequence.

    Without the outermost sequence delimiter, which pydicom writes after an undefined-length value.
    """
    e = "<" if little else ">"
    item = struct.pack(e + "HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_end = struct.pack(e + "HHL", 0xFFFE, 0xE00D, 0)
    seq_end = struct.pack(e + "HHL", 0xFFFE, 0xE0DD, 0)
    if implicit:
        inner = struct.pack(e + "HHL", 0x0040, 0xA730, 0xFFFFFFFF)
    else:
        inner = struct.pack(e + "HH", 0x0040, 0xA730) + b"SQ\x00\x00" + struct.pack(e + "L", 0xFFFFFFFF)
    return (item + inner) * (depth - 1) + item + item_end + (seq_end + item_end) * (depth - 1)


def _header_end(data: bytes) -> int:
    """Offset of the (last) Pixel Data element, or the whole length."""
    at = max(data.rfind(b"\xe0\x7f\x10\x00"), data.rfind(b"\x7f\xe0\x00\x10"))
    return at if at > 0 else len(data)


def non_finite_numbers(node, path: str = "") -> list[str]:
    """Paths of every NaN or infinite float anywhere in ``node`` (records are dicts of dicts and lists)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += non_finite_numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += non_finite_numbers(value, f"{path}[{index}]")
    elif isinstance(node, float) and not math.isfinite(node):
        found.append(path)
    return found
