"""The SR content tree as light typed nodes (PS3.3 C.17.3), built from :mod:`dicomfile`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

from .dicomfile import DicomObject, Element

CONTENT_SEQUENCE = 0x0040A730
CONCEPT_NAME = 0x0040A043
CONCEPT_CODE = 0x0040A168
VALUE_TYPE = 0x0040A040
RELATIONSHIP = 0x0040A010
MEASURED_VALUE = 0x0040A300
NUMERIC_VALUE = 0x0040A30A
FLOATING_VALUE = 0x0040A161
UNITS = 0x004008EA
TEXT_VALUE = 0x0040A160
UID_VALUE = 0x0040A124
DATETIME_VALUE = 0x0040A120
DATE_VALUE = 0x0040A121
TIME_VALUE = 0x0040A122
PERSON_NAME = 0x0040A123
CODE_VALUE = 0x00080100
LONG_CODE_VALUE = 0x00080119
URN_CODE_VALUE = 0x00080120
SCHEME = 0x00080102
MEANING = 0x00080104
# value types whose value is one string attribute of the content item
TEXT_VALUE_TAGS = {
    "TEXT": TEXT_VALUE,
    "UIDREF": UID_VALUE,
    "DATETIME": DATETIME_VALUE,
    "DATE": DATE_VALUE,
    "TIME": TIME_VALUE,
    "PNAME": PERSON_NAME,
}


class Code(NamedTuple):
    scheme: str
    value: str
    meaning: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.scheme, self.value)


@dataclass(slots=True)
class ContentItem:
    value_type: str
    relationship: str | None
    concept: Code | None
    value: object = None  # float (NUM), Code (CODE), str (TEXT, UIDREF, DATETIME, PNAME ...)
    unit: str | None = None  # UCUM code of a NUM
    children: list["ContentItem"] = field(default_factory=list)

    def walk(self) -> Iterator["ContentItem"]:
        for child in self.children:
            yield child
            yield from child.walk()


def _code(obj: DicomObject, item: dict[int, Element], codes: dict) -> Code | None:
    """The code of a code sequence item, decoded once per item in ``codes``.

    A dose report names the same few dozen codes thousands of times (a 316-event report: 27,000 code items), and the
    parser hands out one dict for the items with the same bytes (:meth:`dicomfile._Parser.item`).
    """
    try:
        return codes[id(item)]  # every item stays alive in ``obj`` while the tree is built: no id is reused
    except KeyError:
        pass
    value = obj.text(item, CODE_VALUE) or obj.text(item, LONG_CODE_VALUE) or obj.text(item, URN_CODE_VALUE)
    code = None if value is None else Code(obj.text(item, SCHEME) or "", value, obj.text(item, MEANING) or "")
    codes[id(item)] = code
    return code


def _first_code(obj: DicomObject, item: dict[int, Element], tag: int, codes: dict) -> Code | None:
    seq = obj.items(item, tag)
    return _code(obj, seq[0], codes) if seq else None


def build(obj: DicomObject, item: dict[int, Element]) -> ContentItem:
    """The content item ``item`` (the document root included) with all its descendants."""
    return _build(obj, item, {})


def _build(obj: DicomObject, item: dict[int, Element], codes: dict) -> ContentItem:
    text = obj.text
    value_type = text(item, VALUE_TYPE) or "CONTAINER"
    node = ContentItem(value_type, text(item, RELATIONSHIP), _first_code(obj, item, CONCEPT_NAME, codes))
    if value_type == "NUM":
        measured = obj.items(item, MEASURED_VALUE)
        if measured:
            mv = measured[0]
            number = obj.number(mv, FLOATING_VALUE)
            node.value = number if number is not None else obj.number(mv, NUMERIC_VALUE)
            unit = _first_code(obj, mv, UNITS, codes)
            node.unit = unit.value if unit else None
    elif value_type == "CODE":
        node.value = _first_code(obj, item, CONCEPT_CODE, codes)
    elif value_type in TEXT_VALUE_TAGS:
        node.value = text(item, TEXT_VALUE_TAGS[value_type])
    node.children = [_build(obj, child, codes) for child in obj.items(item, CONTENT_SEQUENCE)]
    return node
