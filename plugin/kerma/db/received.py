"""The column type of every string Kerma receives from a modality or the HIS (DICOM, HL7).

Such text is whatever the sender wrote: longer than its value representation allows (a 925-character
Software Versions), with NUL padding inside, or with characters no encoding can store.  None of that may
fail an insert.  Free text is unbounded (``ReceivedText()``); where a length is kept on purpose, because
the value is an identifier that is indexed and compared (DICOM UIDs: 64 characters), a longer value is
shortened deterministically to its start, ``~`` and a hash of the whole (:func:`shorten`): it still fits,
two long values stay distinct, and a lookup by the long value finds the stored one, since queries go
through the same type.  The ingest ledger says when a value was shortened (``kerma.ingest.store``).
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

HASH_CHARACTERS = 16
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # what a decoder's surrogateescape leaves of an undecodable byte


def shorten(value: str, limit: int) -> str:
    """``value`` if it fits in ``limit`` characters, else its start, ``~`` and a hash of the whole, in ``limit``."""
    if len(value) <= limit:
        return value
    digest = min(HASH_CHARACTERS, limit // 2)
    whole = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{value[:limit - digest - 1]}~{whole[:digest]}"


def storable(value: str) -> str:
    """``value`` without what no database column can hold: NUL characters, lone surrogates (as U+FFFD)."""
    return LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))


class ReceivedText(TypeDecorator):
    """A string from DICOM or HL7: unbounded ``TEXT``, or ``VARCHAR(length)`` with longer values shortened."""

    impl = Text
    cache_ok = True

    def __init__(self, length: int | None = None):
        super().__init__()
        self.length = length
        if length is not None:
            self.impl = String(length)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = storable(value if isinstance(value, str) else str(value))
        return shorten(value, self.length) if self.length else value

    def stored(self, value):
        """``value`` as the column stores it."""
        return self.process_bind_param(value, None)

    def too_long(self, value) -> bool:
        """Whether ``value`` is stored shortened."""
        return self.length is not None and isinstance(value, str) and len(storable(value)) > self.length
