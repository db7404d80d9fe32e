"""The JSON Kerma sends and keeps (API answers, answers kept for a repeat, webhooks, JSON in CSV cells, the derived
doses' input fingerprint): the types it hands over, and no others.

``json.dumps(default=str)`` once sent a ledger row's events as their Python repr, a string, where the UI expected
objects (the events had become :class:`kerma.record.Event`, a read-only mapping), and nothing failed until someone
looked.  :func:`default` converts, each explicitly, the few types Kerma legitimately hands to the encoder, and
refuses any other with :class:`Unencodable`, which names the type and never the value (it may hold patient data).
Where a route builds a value itself, it converts it there; this is the net below.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any


class Unencodable(TypeError):
    """A value of a type Kerma does not send as JSON reached the encoder (a bug: a route must convert it first)."""

    def __init__(self, value: Any):
        kind = type(value)
        self.type_name = f"{kind.__module__}.{kind.__qualname__}"
        super().__init__(f"a {self.type_name} is not sent as JSON (kerma.jsonout knows mappings and dates only)")


def default(value: Any) -> Any:
    """``json.dumps``'s ``default``: a value that is not a JSON type, as JSON; :class:`Unencodable` for the unknown."""
    if isinstance(value, Mapping):  # a typed record's read-only mapping (kerma.record.Event, Totals): its object
        return dict(value.items())  # through items(): dict(mapping) reads a non-dict Mapping key by key
    if isinstance(value, (dt.date, dt.time)):  # a datetime is a date; str(): the text default=str gave ("a b", not "aTb")
        return str(value)
    raise Unencodable(value)


def dumps(value: Any, **options) -> str:
    """``json.dumps`` with :func:`default` (``options`` as json.dumps takes them)."""
    return json.dumps(value, default=default, **options)
