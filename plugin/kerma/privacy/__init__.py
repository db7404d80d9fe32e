"""What an export may carry: identified, pseudonymised or anonymised rows.

* **identified**: the rows as the API shows them to an authorised user.
* **pseudonymised**: patient ID and accession number replaced by a keyed hash (the same patient gets the
  same pseudonym in every export made with one key), names and birth dates removed; UIDs, exact dates and
  times, ages and weights stay, so the rows can be linked back by whoever holds the key *or* the PACS.
  A monitored worker's staff identifier and dosimeter number become a keyed hash of their own (``S-``…:
  a staff identifier that equals some patient ID does not get that patient's pseudonym).
* **anonymised**: no name, identifier, accession number or free text that can hold a name; every UID
  (a field ending in ``_uid``, or a UID within any text) replaced by a keyed hash (``2.25.<n>``:
  the same UID gives the same hash within one key, so events stay grouped by study); every date reduced
  to its month and every time removed; ages, weights and heights in bands.

What happens to each named field is data (``data/export_fields.csv``, with the reason); the UID and date
rules look at every value, so a field added later is covered too.  The key is :mod:`kerma.privacy.key`'s.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

IDENTIFIED, PSEUDONYMISED, ANONYMISED = "identified", "pseudonymised", "anonymised"
LEVELS = (IDENTIFIED, PSEUDONYMISED, ANONYMISED)
FIELDS = Path(__file__).with_name("data") / "export_fields.csv"
# a DICOM UID inside any text ("event:1.2.840...", a folded acquisition's key): at least four arcs and ten
# characters, or three arcs and twenty (2.25.<UUID>); "1.2.3.4" (a software version) is no UID
UID_TOKEN = re.compile(r"(?<![\d.])[0-2](?:\.(?:0|[1-9]\d*)){2,}(?![\d.])")
DATE_VALUE = re.compile(r"(\d{4}-\d{2})-\d{2}([T ][0-9:.+\-Z]*)?")  # ISO date or date-time
BANDS = {  # treatment -> (field suffix, band edges); the last band is open
    "age_band": ("years", (0, 1, 5, 10, 15, 18, 30, 40, 50, 60, 70, 80, 90)),  # paediatric DRL bands (EU RP 185), then decades
    "weight_band": ("kg", tuple(range(0, 151, 10))),
    "height_band": ("m", tuple(round(0.1 * i, 1) for i in range(0, 21))),
}


def _treatments() -> dict[str, dict[str, str]]:
    with FIELDS.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {level: {r["field"]: r[level] for r in rows} for level in (PSEUDONYMISED, ANONYMISED)}


TREATMENTS = _treatments()


def pseudonym(secret: bytes, value: str | None, purpose: str | None = None) -> str | None:
    """A patient ID or accession number as a keyed hash (``P-`` and 20 hex digits; as every earlier version made it
    for exports).  Another ``purpose`` (a registry) gives other pseudonyms, so that what two recipients get cannot be
    linked by the pseudonym alone."""
    if value is None:
        return None
    if purpose is None:
        return "P-" + hmac.new(secret, str(value).encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:20]
    return "P-" + _mac(secret, purpose, str(value))[:20]


def staff_pseudonym(secret: bytes, value: str | None) -> str | None:
    """A monitored worker's identifier as a keyed hash (``S-`` and 20 hex digits), apart from patients' pseudonyms."""
    if value is None:
        return None
    return "S-" + _mac(secret, "staff", str(value))[:20]


def hashed_uid(secret: bytes, uid: str, purpose: str = "uid") -> str:
    """A UID as a keyed hash, itself a valid UID under the UUID-derived root ``2.25`` (at most 44 characters); one
    ``purpose`` per recipient, as for :func:`pseudonym`."""
    return "2.25." + str(int(_mac(secret, purpose, uid)[:32], 16))


def keyed_days(secret: bytes, purpose: str, value: str, days: int) -> int:
    """A number of days in 1..``days`` fixed by the key and ``value`` (a patient's date shift: the same for all their
    objects, so that intervals between them stay true, and unknown without the key)."""
    return 1 + int(_mac(secret, purpose, value)[:12], 16) % days


def band(value: Any, treatment: str) -> str | None:
    """``value`` as the half-open band it falls in (``"18-<30"``, ``"70-<80"``, ``"90+"``); None when it is no number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    edges = BANDS[treatment][1]
    for low, high in zip(edges, edges[1:]):
        if value < high:
            return f"{low}-<{high}"
    return f"{edges[-1]}+"


def protect(level: str, secret: bytes | None, row: dict) -> dict:
    """The row as ``level`` allows (see the module's description); ``secret`` is needed unless identified."""
    if level == IDENTIFIED:
        return row
    if level not in LEVELS or secret is None:
        raise ValueError(f"unknown privacy level {level!r} or no key")
    return _protect_dict(level, secret, row)


def _protect_dict(level: str, secret: bytes, row: dict) -> dict:
    out = {}
    treatments = TREATMENTS[level]
    for name, value in row.items():
        treatment = treatments.get(name, "keep")
        if treatment == "remove":
            continue
        if treatment == "pseudonym":
            out[name] = pseudonym(secret, value)
        elif treatment == "staff_pseudonym":
            out[name] = staff_pseudonym(secret, value)
        elif treatment in BANDS:
            out[f"{name.rsplit('_', 1)[0]}_band_{BANDS[treatment][0]}"] = band(value, treatment)
        elif level == ANONYMISED and name.endswith("_uid") and isinstance(value, str):
            out[name] = hashed_uid(secret, value)
        else:
            out[name] = _protect_value(level, secret, value)
    return out


def _protect_value(level: str, secret: bytes, value: Any) -> Any:
    if isinstance(value, dict):
        return _protect_dict(level, secret, value)
    if isinstance(value, list):
        return [_protect_value(level, secret, v) for v in value]
    if level == ANONYMISED and isinstance(value, str):
        date = DATE_VALUE.fullmatch(value)
        if date:
            return date.group(1)
        return UID_TOKEN.sub(lambda m: hashed_uid(secret, m.group()) if _is_uid(m.group()) else m.group(), value)
    return value


def _is_uid(token: str) -> bool:
    arcs = token.count(".") + 1
    return (arcs >= 4 and len(token) >= 10) or len(token) >= 20


def _mac(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA-256 of ``value`` for one purpose (a UID's hash is not its pseudonym)."""
    return hmac.new(secret, f"{purpose}\x00{value}".encode("utf-8", "replace"), hashlib.sha256).hexdigest()
