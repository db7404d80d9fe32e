"""Pseudonymisation of exports: patient identifiers replaced by a keyed hash.

The key is random per database (kept in ``kerma_setting``), so the same
patient gets the same pseudonym across exports of one site and cannot be
recovered without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db.models import Setting

KEY_NAME = "pseudonymisation_key"
IDENTIFYING = ("patient_id", "patient_name", "name", "patient_birth_date", "birth_date", "accession_number")


def key(session: Session) -> bytes:
    """The site's pseudonymisation key, created (and committed on its own) on first use."""
    setting = session.get(Setting, KEY_NAME)
    if setting is None:
        try:
            with Session(session.get_bind()) as own, own.begin():  # a read-only request must still keep the key
                own.add(Setting(name=KEY_NAME, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another request created it first
        setting = session.get(Setting, KEY_NAME, populate_existing=True)
    return bytes.fromhex(setting.value)


def pseudonym(secret: bytes, value: str | None) -> str | None:
    if value is None:
        return None
    return "P-" + hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def pseudonymise(secret: bytes, row: dict) -> dict:
    """The row with patient ID and accession number pseudonymised, name and birth date removed."""
    out = dict(row)
    for name in IDENTIFYING:
        if name not in out:
            continue
        out[name] = pseudonym(secret, out[name]) if name in ("patient_id", "accession_number") else None
    if isinstance(out.get("patient"), dict):
        out["patient"] = pseudonymise(secret, out["patient"])
    return out
