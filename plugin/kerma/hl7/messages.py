"""HL7 v2.3–2.8 messages in, plain dataclasses out.

hl7apy reads the header (encoding characters, version, structure) and parses
each segment Kerma uses; everything else in the message is kept only as text
(the raw message is stored for audit).  hl7apy builds an object per component,
which costs 30–90 ms for a large ADT message; fields Kerma does not read are
blanked before parsing, which brings that to a few milliseconds
(``bench/hl7.py`` measures it).  What hl7apy builds is bounded too (segments,
repetitions, components: see ``MAX_ELEMENTS``), so reading any message takes a
bounded time, whatever a sender sends.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from hl7apy import SUPPORTED_LIBRARIES
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import get_message_info, parse_segment

from .. import quantities
from ..extract.concepts import header_rows
from ..extract.units import convert

UPDATE_EVENTS = frozenset({"A01", "A04", "A08", "A31"})
MERGE_EVENTS = frozenset({"A18", "A34", "A39", "A40"})
IDENTIFIER_CHANGE_EVENTS = frozenset({"A47"})
ORDER_MESSAGES = frozenset({("ORM", "O01"), ("OMI", "O23"), ("ORU", "R01")})
RESULT_MESSAGES = frozenset({("ORU", "R01")})  # a result updates an order Kerma has (its status, its contrast), never creates one

# the fields read per segment; the others are blanked before hl7apy parses the segment
FIELDS_READ = {
    "MSH": (3, 4, 5, 6, 9, 10, 11, 12, 18),
    "PID": (2, 3, 5, 7, 8),
    "MRG": (1, 4),
    "OBX": (3, 4, 5, 6, 11),
    "PV1": (3, 10),
    "ORC": (1, 2, 3, 5, 7, 9, 13, 17),
    "OBR": (2, 3, 4, 6, 7, 13, 18, 24, 25, 27, 31, 36, 44),
    "TQ1": (7,),
    "IPC": (1, 3, 5),
    "ZDS": (1,),  # IHE scheduled workflow: Study Instance UID in ORM
    "DG1": (3, 4),
}

# hl7apy builds an object per segment (~1-3 ms), repetition, component and subcomponent (~0.2 ms each) and
# rewrites every escape character (~5 us); these bounds keep the time to read any message short (5,000 PID-3
# repetitions took 30 s, a name of 1,000,000 backslashes 5 s)
MAX_SEGMENTS = 200  # segments of the types Kerma reads (FIELDS_READ) in a message; the others cost next to nothing
MAX_REPETITIONS = 100  # repetitions of one field Kerma reads (PID-3 lists a patient's identifiers)
MAX_ELEMENTS = 2000  # repetitions, components, subcomponents and escape characters in all the fields Kerma reads
SALVAGE_BYTES = 4096  # where an MSH is looked for in a message that could not be read

# MSH-18 character sets (HL7 table 0211) and the Python codecs that read them
CHARACTER_SETS = {
    "ASCII": "ascii", "8859/1": "latin-1", "8859/2": "iso8859-2", "8859/3": "iso8859-3", "8859/4": "iso8859-4",
    "8859/5": "iso8859-5", "8859/6": "iso8859-6", "8859/7": "iso8859-7", "8859/8": "iso8859-8",
    "8859/9": "iso8859-9", "8859/15": "iso8859-15", "UNICODE": "utf-8", "UNICODE UTF-8": "utf-8",
    "UNICODE UTF-16": "utf-16", "UNICODE UTF-32": "utf-32", "ISO IR6": "ascii", "ISO IR100": "latin-1",
    "ISO IR192": "utf-8", "ISO IR87": "iso2022_jp", "GB 18030-2000": "gb18030", "KS X 1001": "euc-kr",
    "BIG-5": "big5", "CNS 11643-1992": "big5",
}

HEIGHT_CODES = {"8302-2", "8306-3", "8308-9", "3137-7"}  # LOINC body height
WEIGHT_CODES = {"29463-7", "3141-9", "3142-7", "8335-2"}  # LOINC body weight
LENGTH_IN_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "[in_i]": 0.0254, "in": 0.0254}
MASS_IN_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237}
SEX_CODES = {"M": "M", "F": "F", "O": "O", "A": "O", "N": "O", "X": "O"}  # HL7 0001 -> DICOM; U: unknown


class Hl7Error(Exception):
    """A message Kerma cannot take: the text is the reason sent back in the NAK.

    ``ack_code`` is AE (error in the message) or AR (rejected: a type, event or
    version Kerma does not process); ``error_code`` is from HL7 table 0357.
    """

    def __init__(self, text: str, ack_code: str = "AE", error_code: str = "207"):
        super().__init__(text)
        self.ack_code = ack_code
        self.error_code = error_code


@dataclass(frozen=True)
class Encoding:
    """The separators the message declares in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def msh2(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


@dataclass
class Header:
    """MSH: who sent what."""

    encoding: Encoding = field(default_factory=Encoding)
    control_id: str | None = None
    message_code: str | None = None  # MSH-9.1, "ADT"
    trigger: str | None = None  # MSH-9.2, "A08"
    version: str | None = None  # MSH-12 as sent
    sending_application: str | None = None
    sending_facility: str | None = None
    receiving_application: str | None = None
    receiving_facility: str | None = None
    processing_id: str | None = None
    character_set: str | None = None  # MSH-18 as sent

    @property
    def message_type(self) -> str | None:
        return "^".join(p for p in (self.message_code, self.trigger) if p) or None


@dataclass(frozen=True)
class Identifier:
    """One CX: an identifier, the authority that assigned it, and its type (MR, PI, SS...)."""

    value: str
    authority: str | None = None
    type_code: str | None = None


@dataclass
class Patient:
    patient_id: str
    issuer: str | None = None
    identifiers: list[Identifier] = field(default_factory=list)
    name: str | None = None  # DICOM PN order: family^given^middle^prefix^suffix
    birth_date: dt.date | None = None
    sex: str | None = None  # DICOM M, F, O
    height_m: float | None = None
    weight_kg: float | None = None


@dataclass
class Merge:
    """One PID/MRG pair: ``prior_patient_id``'s records belong to ``survivor`` from now on."""

    survivor: Patient
    prior_patient_id: str


@dataclass
class Order:
    control: str | None = None  # ORC-1: NW, CA, SC, XO...
    placer_order_number: str | None = None
    filler_order_number: str | None = None
    accession_number: str | None = None
    order_status: str | None = None  # ORC-5: SC, IP, CM, CA, DC...
    result_status: str | None = None  # OBR-25: O, S, I, P, F, C, X...
    procedure_code: str | None = None
    procedure_scheme: str | None = None
    procedure_text: str | None = None
    clinical_indication: str | None = None
    ordering_department: str | None = None
    modality: str | None = None
    study_instance_uid: str | None = None
    scheduled_at: dt.datetime | None = None
    transaction_at: dt.datetime | None = None  # ORC-9
    patient_location: str | None = None  # PV1-3 point of care, else PV1-10 service
    has_request: bool = False  # an OBR or IPC names the requested procedure
    contrast: list[dict] | None = None  # contrast administrations its OBX state, one per OBX-4 sub-ID (_read_obx)


@dataclass
class Message:
    header: Header
    text: str  # the decoded message, segments separated by CR
    kind: str  # "update", "merge", "identifier" or "order"
    patient: Patient | None = None
    merges: list[Merge] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


def read_message(raw: bytes, patient_id_authority: str | None = None) -> Message:
    """Decode, check and parse one HL7 message (the bytes between the MLLP frame markers).

    Parameters
    ----------
    raw : bytes
        The message; segments may end in CR, LF or CRLF; a UTF-8 byte order mark is skipped.
    patient_id_authority : str, optional
        The assigning authority (HD namespace or universal ID) of the PID-3 identifier
        that modalities write as Patient ID; without it, the first identifier of type MR,
        else the first one.

    Returns
    -------
    Message

    Raises
    ------
    Hl7Error
        With the reason to send back: not HL7, a version, type or event Kerma does not
        process, or required content missing.
    """
    text = decode(raw)
    return parse(text, read_header(text), patient_id_authority)


def parse(text: str, header: Header, patient_id_authority: str | None = None) -> Message:
    """The message whose decoded ``text`` has this ``header`` (see :func:`read_message`)."""
    if _library(header.version) is None:
        raise Hl7Error(f"HL7 version (MSH-12) {header.version or 'missing'!r} is not supported: 2.3 to 2.8",
                       ack_code="AR", error_code="203")
    if not header.message_code or not header.trigger:
        raise Hl7Error("MSH-9 (message type) missing", error_code="101")
    kind = _kind(header)
    segments = _parsed_segments(text, header)
    message = Message(header=header, text=text, kind=kind)
    if kind == "order":
        message.orders = _orders(segments, header.encoding)
        if (header.message_code, header.trigger) in RESULT_MESSAGES:
            for order in message.orders:
                order.has_request = False
        message.patient = _first_patient(segments, header.encoding, patient_id_authority, required=False)
        if not message.orders:
            raise Hl7Error("no order: ORC-2/ORC-3 (placer/filler order number) missing", error_code="101")
    elif kind == "update":
        message.patient = _first_patient(segments, header.encoding, patient_id_authority, required=True)
    else:
        message.merges = _merges(segments, header.encoding, patient_id_authority)
    return message


def decode(raw: bytes) -> str:
    """The message as text, in the character set MSH-18 declares, segments separated by CR."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    raw = raw.strip(b"\r\n\t \x00")
    if not raw.startswith(b"MSH") or len(raw) < 8:
        raise Hl7Error("not an HL7 v2 message: it does not begin with an MSH segment", error_code="100")
    separator = raw[3:4]
    first_segment = re.split(rb"[\r\n]", raw, maxsplit=1)[0]
    msh_fields = first_segment.split(separator)
    declared = msh_fields[17].split(raw[4:5])[0].decode("ascii", "replace").strip() if len(msh_fields) > 17 else ""
    if declared:
        codec = CHARACTER_SETS.get(declared.upper())
        if codec is None:
            raise Hl7Error(f"character set (MSH-18) {declared!r} is not supported", error_code="203")
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            raise Hl7Error(f"the message is not valid {declared} text (MSH-18)", error_code="102") from None
    else:  # HL7's default is ASCII; senders that say nothing mostly send UTF-8 or Latin-1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return "\r".join(s for s in re.split(r"\r\n|\r|\n", text) if s.strip())


def read_header(text: str) -> Header:
    """MSH of a decoded message, whatever its version and type (:func:`parse` checks those).

    Raises :class:`Hl7Error` when the encoding characters cannot be read.
    """
    try:
        encoding_chars, _, version = get_message_info(text)
    except (HL7apyException, IndexError) as exc:
        raise Hl7Error(f"MSH: unreadable encoding characters ({exc})", error_code="102") from None
    encoding = Encoding(encoding_chars["FIELD"], encoding_chars["COMPONENT"], encoding_chars["REPETITION"],
                        encoding_chars["ESCAPE"], encoding_chars["SUBCOMPONENT"])
    header = Header(encoding=encoding, version=version or None)
    fields = _fields_read("MSH", text.split("\r", 1)[0], encoding)
    _check_elements(_elements(fields, encoding))
    msh = _parse("MSH", fields, header, library=_library(version) or "2.5")
    header.control_id = _get(msh, 10, 1, encoding=encoding)
    header.sending_application = _get(msh, 3, 1, encoding=encoding)
    header.sending_facility = _get(msh, 4, 1, encoding=encoding)
    header.receiving_application = _get(msh, 5, 1, encoding=encoding)
    header.receiving_facility = _get(msh, 6, 1, encoding=encoding)
    header.message_code = (_get(msh, 9, 1, encoding=encoding) or "").upper() or None
    header.trigger = (_get(msh, 9, 2, encoding=encoding) or "").upper() or None
    header.processing_id = _get(msh, 11, 1, encoding=encoding)
    header.character_set = _get(msh, 18, 1, encoding=encoding)
    return header


def salvage_header(raw: bytes) -> Header | None:
    """What plain splitting can read of an MSH that :func:`decode` or :func:`read_header` refused.

    The negative acknowledgement of a message that could not be read still names its control
    ID (MSH-10), sender and type when an MSH is found in its first ``SALVAGE_BYTES`` bytes;
    None when there is none.
    """
    head = raw[:SALVAGE_BYTES]
    start = head.find(b"MSH")
    if start < 0:
        return None
    segment = re.split(rb"[\r\n]", head[start:], maxsplit=1)[0].decode("latin-1")
    separator = segment[3:4]
    if not separator or separator.isalnum() or separator.isspace():
        return None
    fields = segment.split(separator)
    declared = fields[1] if len(fields) > 1 else ""
    if not 0 < len(declared) <= 5 or any(c.isalnum() or c.isspace() for c in declared):
        return None  # no MSH-2: where MSH-10 is cannot be told
    usable = len(declared) >= 4 and len(set(declared[:4] + separator)) == 5
    encoding = Encoding(separator, *declared[:4]) if usable else Encoding(separator)
    if not usable and separator in Encoding().msh2:
        encoding = Encoding()

    def value(number: int, component: int = 0) -> str | None:  # MSH-number (MSH-2 is fields[1])
        text = fields[number - 1] if number - 1 < len(fields) else ""
        parts = text.split(encoding.repetition)[0].split(encoding.component)
        if component >= len(parts):
            return None
        return unescape(parts[component], encoding).strip() or None

    version = value(12)
    return Header(encoding=encoding, control_id=value(10), message_code=(value(9) or "").upper() or None,
                  trigger=(value(9, 1) or "").upper() or None,
                  version=version if version and re.fullmatch(r"2\.\d(\.\d+)?", version) else None,
                  sending_application=value(3), sending_facility=value(4), receiving_application=value(5),
                  receiving_facility=value(6), processing_id=value(11))


def _library(version: str | None) -> str | None:
    """The hl7apy library for an HL7 version 2.3–2.8.x (a patch level hl7apy lacks reads as its minor version)."""
    if not version or not re.fullmatch(r"2\.[3-8](\.\d+)?", version):
        return None
    if version in SUPPORTED_LIBRARIES:
        return version
    return version[:3] if version[:3] in SUPPORTED_LIBRARIES else None


def _kind(header: Header) -> str:
    code, trigger = header.message_code, header.trigger
    if code == "ADT":
        for kind, events in (("update", UPDATE_EVENTS), ("merge", MERGE_EVENTS), ("identifier", IDENTIFIER_CHANGE_EVENTS)):
            if trigger in events:
                return kind
        raise Hl7Error(f"ADT^{trigger} is not processed (ADT events: A01, A04, A08, A31, A18, A34, A39, A40, A47)",
                       ack_code="AR", error_code="201")
    if (code, trigger) in ORDER_MESSAGES:
        return "order"
    raise Hl7Error(f"{header.message_type} is not processed (message types: ADT, ORM^O01, OMI^O23, ORU^R01)",
                   ack_code="AR", error_code="200")


# --- segments -------------------------------------------------------------------------------------------


def _parsed_segments(text: str, header: Header) -> list:
    """hl7apy segments, in message order, of the segment types Kerma reads (within the bounds above)."""
    library = _library(header.version)
    encoding = header.encoding
    lines = [(line.split(encoding.field, 1)[0], line) for line in text.split("\r")[1:]]
    lines = [(name, line) for name, line in lines if name in FIELDS_READ]
    if len(lines) > MAX_SEGMENTS:
        raise Hl7Error(f"the message has {len(lines):,} segments of the types Kerma reads; at most {MAX_SEGMENTS}",
                       error_code="100")
    read = [(name, _fields_read(name, line, encoding)) for name, line in lines]
    _check_elements(sum(_elements(fields, encoding) for _, fields in read))
    return [_parse(name, fields, header, library) for name, fields in read]


def _fields_read(name: str, line: str, encoding: Encoding) -> str:
    """The segment with the fields Kerma does not read blanked; a field read may repeat ``MAX_REPETITIONS`` times."""
    parts = line.split(encoding.field)
    offset = 1 if name == "MSH" else 0  # MSH-1 is the separator itself: parts[n] is MSH-(n+1)
    keep = {n - offset for n in FIELDS_READ[name]}
    last = min(len(parts) - 1, max(keep))
    kept = [parts[0]] + [parts[i] if i in keep or (offset and i == 1) else "" for i in range(1, last + 1)]
    for number in FIELDS_READ[name]:
        repetitions = kept[number - offset].count(encoding.repetition) + 1 if number - offset <= last else 0
        if repetitions > MAX_REPETITIONS:
            raise Hl7Error(f"{name}-{number} has {repetitions:,} repetitions; Kerma reads at most {MAX_REPETITIONS}",
                           error_code="102")
    return encoding.field.join(kept)


def _elements(fields: str, encoding: Encoding) -> int:
    """How many repetitions, components and subcomponents hl7apy would build for these fields, and escapes to rewrite."""
    return sum(fields.count(char) for char in (encoding.repetition, encoding.component, encoding.subcomponent,
                                               encoding.escape))


def _check_elements(count: int) -> None:
    if count > MAX_ELEMENTS:
        raise Hl7Error(f"the fields Kerma reads hold {count:,} repetitions, components, subcomponents and escape "
                       f"characters; at most {MAX_ELEMENTS:,}", error_code="102")


def _parse(name: str, fields: str, header: Header, library: str):
    """One segment, its fields Kerma does not read already blanked (:func:`_fields_read`), parsed by hl7apy."""
    encoding = header.encoding
    chars = {"FIELD": encoding.field, "COMPONENT": encoding.component, "SUBCOMPONENT": encoding.subcomponent,
             "REPETITION": encoding.repetition, "ESCAPE": encoding.escape, "SEGMENT": "\r", "GROUP": "\r"}
    try:
        return parse_segment(fields, version=library, encoding_chars=chars)
    except Exception as exc:  # hl7apy also reports malformed content as IndexError/ValueError
        # the exception's own text may quote field values: patient data stays out of the reason
        raise Hl7Error(f"{name}: unreadable segment ({type(exc).__name__})", error_code="102") from None


def _repetitions(segment, number: int) -> list:
    # hl7apy keeps its children indexed by name: a scan of all children per lookup made reading
    # every repetition of a field quadratic in their number
    return segment.children.indexes.get(f"{segment.name}_{number}", [])


def _part(element, position: int):
    """Component or subcomponent ``position`` (1-based) of an hl7apy element, or None when empty.

    Composite types name their children ``CX_4``, ``HD_1``...; a primitive is wrapped in
    children named by its type, and a VARIES value splits into such children by position.
    """
    children = element.children
    if not children:
        return element if position == 1 else None
    suffix = f"_{position}"
    positional = [c for c in children if c.name and "_" in c.name]
    if positional:
        return next((c for c in positional if c.name.endswith(suffix)), None)
    return children[position - 1] if position <= len(children) else None


def _get(segment, number: int, *path: int, repetition: int = 0, encoding: Encoding) -> str | None:
    """The text at ``segment``-``number``.``path`` (e.g. PID-3.4.1), unescaped; None when empty."""
    repetitions = _repetitions(segment, number)
    if repetition >= len(repetitions):
        return None
    return _text(repetitions[repetition], path, encoding)


def _text(element, path: tuple[int, ...], encoding: Encoding) -> str | None:
    for position in path:
        element = _part(element, position)
        if element is None:
            return None
    while element.children:
        element = element.children[0]
    return unescape(element.to_er7(), encoding).strip() or None


def unescape(value: str, encoding: Encoding) -> str:
    """Resolve HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\, \\Xhh\\, \\.br\\); formatting ones are dropped."""
    escape = encoding.escape
    if escape not in value:
        return value
    named = {"F": encoding.field, "S": encoding.component, "T": encoding.subcomponent, "R": encoding.repetition,
             "E": escape, ".br": "\n", "H": "", "N": ""}

    def replace(match: re.Match) -> str:
        code = match.group(1)
        if code in named:
            return named[code]
        if code.startswith("X"):
            try:
                return bytes.fromhex(code[1:]).decode("latin-1")
            except ValueError:
                return ""
        return ""

    return re.sub(re.escape(escape) + r"([^" + re.escape(escape) + r"]*)" + re.escape(escape), replace, value)


def escape_text(value: str, encoding: Encoding) -> str:
    """``value`` with the separators escaped, for free text in a segment Kerma writes."""
    out = value.replace(encoding.escape, f"{encoding.escape}E{encoding.escape}")
    for char, code in ((encoding.field, "F"), (encoding.component, "S"), (encoding.subcomponent, "T"),
                       (encoding.repetition, "R")):
        out = out.replace(char, f"{encoding.escape}{code}{encoding.escape}")
    return out.replace("\r", " ").replace("\n", " ")


# --- patients -------------------------------------------------------------------------------------------


def _identifiers(segment, number: int, encoding: Encoding) -> list[Identifier]:
    found = []
    for index, _ in enumerate(_repetitions(segment, number)):
        value = _get(segment, number, 1, repetition=index, encoding=encoding)
        if value:
            authority = (_get(segment, number, 4, 1, repetition=index, encoding=encoding)
                         or _get(segment, number, 4, 2, repetition=index, encoding=encoding))
            found.append(Identifier(value, authority, _get(segment, number, 5, repetition=index, encoding=encoding)))
    return found


def choose_identifier(identifiers: list[Identifier], authority: str | None) -> Identifier | None:
    """The identifier modalities write as Patient ID: the configured authority's, else the first MR, else the first."""
    if not identifiers:
        return None
    if authority:
        return next((i for i in identifiers if i.authority == authority), None)
    return next((i for i in identifiers if (i.type_code or "").upper() == "MR"), identifiers[0])


def _patient(pid, observations: list, encoding: Encoding, authority: str | None) -> Patient | None:
    identifiers = _identifiers(pid, 3, encoding) or _identifiers(pid, 2, encoding)
    chosen = choose_identifier(identifiers, authority)
    if chosen is None:
        return None
    patient = Patient(patient_id=chosen.value, issuer=chosen.authority, identifiers=identifiers,
                      name=_person_name(pid, 5, encoding), birth_date=_date(_get(pid, 7, 1, encoding=encoding)),
                      sex=SEX_CODES.get((_get(pid, 8, 1, encoding=encoding) or "").upper()))
    for obx in observations:
        _add_body_measurement(patient, obx, encoding)
    return patient


def _person_name(segment, number: int, encoding: Encoding) -> str | None:
    """XPN (family^given^middle^suffix^prefix) as a DICOM person name (family^given^middle^prefix^suffix)."""
    repetitions = _repetitions(segment, number)
    if not repetitions:
        return None
    legal = next((r for r in repetitions if (_text(r, (7,), encoding) or "").upper() == "L"), repetitions[0])
    family, given, middle, suffix, prefix = (_text(legal, (position,), encoding) or "" for position in range(1, 6))
    return "^".join((family, given, middle, prefix, suffix)).rstrip("^") or None


def _add_body_measurement(patient: Patient, obx, encoding: Encoding) -> None:
    if (_get(obx, 11, 1, encoding=encoding) or "").upper() in ("D", "X", "W"):  # deleted, not obtained, wrong
        return
    code = _get(obx, 3, 1, encoding=encoding)
    try:
        value = float(_get(obx, 5, 1, encoding=encoding) or "")
    except ValueError:
        return
    unit = _get(obx, 6, 1, encoding=encoding) or ""
    if code in HEIGHT_CODES and unit in LENGTH_IN_M:
        patient.height_m = value * LENGTH_IN_M[unit]
    elif code in WEIGHT_CODES and unit in MASS_IN_KG:
        patient.weight_kg = value * MASS_IN_KG[unit]


def _first_patient(segments: list, encoding: Encoding, authority: str | None, required: bool) -> Patient | None:
    pids = [s for s in segments if s.name == "PID"]
    if not pids:
        if required:
            raise Hl7Error("PID segment missing", error_code="100")
        return None
    patient = _patient(pids[0], [s for s in segments if s.name == "OBX"], encoding, authority)
    if patient is None and required:
        raise Hl7Error("PID-3 has no patient identifier" + (f" of authority {authority!r}" if authority else ""),
                       error_code="101")
    return patient


def _merges(segments: list, encoding: Encoding, authority: str | None) -> list[Merge]:
    """Each MRG with the PID before it (A39/A40 may repeat the pair)."""
    merges, current = [], None
    for segment in segments:
        if segment.name == "PID":
            current = _patient(segment, [], encoding, authority)
        elif segment.name == "MRG":
            if current is None:
                raise Hl7Error("MRG without a PID (with a patient identifier) before it", error_code="100")
            prior = choose_identifier(_identifiers(segment, 1, encoding), authority)
            prior_id = prior.value if prior else _get(segment, 4, 1, encoding=encoding)
            if not prior_id:
                raise Hl7Error("MRG-1 has no prior patient identifier", error_code="101")
            merges.append(Merge(current, prior_id))
    if not merges:
        raise Hl7Error("MRG segment missing", error_code="100")
    return merges


# --- orders ---------------------------------------------------------------------------------------------


def _orders(segments: list, encoding: Encoding) -> list[Order]:
    """One order per ORC (or per OBR after an OBR), with the OBR, TQ1, IPC, ZDS and DG1 that follow it."""
    orders, current, department = [], None, None
    for segment in segments:
        name = segment.name
        if name == "PV1":
            department = _get(segment, 3, 1, encoding=encoding) or _get(segment, 10, 1, encoding=encoding)
        elif name == "ORC" or (name == "OBR" and (current is None or current.has_request)):
            current = Order()
            orders.append(current)
        if current is None:
            continue
        reader = _ORDER_READERS.get(name)
        if reader:
            reader(current, segment, encoding)
            current.has_request = current.has_request or name in ("OBR", "IPC")
    for order in orders:
        order.patient_location = department
    return [o for o in orders if o.placer_order_number or o.filler_order_number or o.accession_number]


def _read_orc(order: Order, orc, encoding: Encoding) -> None:
    get = _getter(orc, encoding)
    order.control = (get(1, 1) or "").upper() or None
    order.placer_order_number = get(2, 1)
    order.filler_order_number = get(3, 1)
    order.order_status = (get(5, 1) or "").upper() or None
    order.scheduled_at = _datetime(get(7, 4))
    order.transaction_at = _datetime(get(9, 1))
    order.ordering_department = get(17, 2) or get(17, 1) or get(13, 1)


def _read_obr(order: Order, obr, encoding: Encoding) -> None:
    get = _getter(obr, encoding)
    order.placer_order_number = order.placer_order_number or get(2, 1)
    order.filler_order_number = order.filler_order_number or get(3, 1)
    procedure = 44 if get(44, 1) else 4
    order.procedure_code, order.procedure_text, order.procedure_scheme = get(procedure, 1), get(procedure, 2), get(procedure, 3)
    order.accession_number = order.accession_number or get(18, 1)
    order.modality = order.modality or get(24, 1)
    order.result_status = (get(25, 1) or "").upper() or None
    order.scheduled_at = order.scheduled_at or _datetime(get(27, 4) or get(36, 1) or get(6, 1) or get(7, 1))
    reasons = [_text(r, (2,), encoding) or _text(r, (1,), encoding) for r in _repetitions(obr, 31)]
    order.clinical_indication = "; ".join(r for r in reasons if r) or get(13, 1) or order.clinical_indication


def _read_tq1(order: Order, tq1, encoding: Encoding) -> None:
    order.scheduled_at = _datetime(_get(tq1, 7, 1, encoding=encoding)) or order.scheduled_at


def _read_ipc(order: Order, ipc, encoding: Encoding) -> None:
    get = _getter(ipc, encoding)
    order.accession_number = get(1, 1) or order.accession_number
    order.study_instance_uid = get(3, 1) or order.study_instance_uid
    order.modality = get(5, 1) or order.modality


def _read_zds(order: Order, zds, encoding: Encoding) -> None:
    order.study_instance_uid = _get(zds, 1, 1, encoding=encoding) or order.study_instance_uid


def _read_dg1(order: Order, dg1, encoding: Encoding) -> None:
    if order.clinical_indication is None:  # OBR-31 (reason for study) comes first when present
        order.clinical_indication = _get(dg1, 4, 1, encoding=encoding) or _get(dg1, 3, 2, encoding=encoding)


def _read_obx(order: Order, obx, encoding: Encoding) -> None:
    """A contrast observation of the order (OBX-3 names a Contrast/Bolus attribute: :func:`contrast_observations`),
    into the administration of its OBX-4 sub-ID; a number in OBX-6's UCUM unit (else the attribute's) converted."""
    get = _getter(obx, encoding)
    row = contrast_observations().get((get(3, 1) or "").strip().upper()) or \
        contrast_observations().get((get(3, 2) or "").strip().upper())
    if row is None or (get(11, 1) or "").upper() in ("D", "X", "W"):  # deleted, not obtained, wrong
        return
    value = get(5, 1)
    if row.unit is not None:
        try:
            value = convert(float(value or ""), get(6, 1) or row.dicom_unit, row.unit)
        except ValueError:  # not a number, or a unit that is not this attribute's kind (UnitError is one)
            return
        bounds = quantities.get(row.field).plausible  # what no administration can be (as a header's value)
        if not math.isfinite(value) or (bounds and ((bounds.low is not None and value < bounds.low)
                                                    or (bounds.high is not None and value > bounds.high))):
            return
    order.contrast = order.contrast or []
    group = (get(4, 1) or "").strip()
    administration = next((a for a in order.contrast if a["sub_id"] == group), None)
    if administration is None:
        administration = {"sub_id": group}
        order.contrast.append(administration)
    administration[row.field] = value


@lru_cache(maxsize=1)
def contrast_observations() -> dict:
    """OBX-3 identifiers of contrast observations: no LOINC code names them, so an interface sends the DICOM attribute
    of the Contrast/Bolus module it fills, by keyword (``ContrastBolusVolume``) or tag (``0018,1041``, ``00181041``),
    in OBX-3.1 or OBX-3.2; the rows are header_attributes.csv's (one vocabulary for both sources)."""
    out = {}
    for row in header_rows():
        if row.scope == "contrast":
            group, element = f"{row.tag >> 16:04X}", f"{row.tag & 0xFFFF:04X}"
            for name in (row.keyword, f"{group},{element}", f"({group},{element})", group + element):
                out[name.upper()] = row
    return out


_ORDER_READERS = {"ORC": _read_orc, "OBR": _read_obr, "TQ1": _read_tq1, "IPC": _read_ipc, "ZDS": _read_zds,
                  "DG1": _read_dg1, "OBX": _read_obx}


def _getter(segment, encoding: Encoding):
    return lambda number, *path: _get(segment, number, *path, encoding=encoding)


# --- values ---------------------------------------------------------------------------------------------

_DTM = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")


def _datetime(value: str | None) -> dt.datetime | None:
    """An HL7 DTM/TS as the sender's wall-clock time (the UTC offset is dropped, as DICOM study times have none)."""
    match = _DTM.match(value or "")
    if not match:
        return None
    parts = [int(p) if p else default for p, default in zip(match.groups(), (0, 1, 1, 0, 0, 0))]
    try:
        return dt.datetime(*parts)
    except ValueError:
        return None


def _date(value: str | None) -> dt.date | None:
    moment = _datetime(value)
    return moment.date() if moment else None
