"""The pseudonymisation key: outside the dose database, in a file only Orthanc's user can read.

Whoever has the key can recompute a patient's pseudonym from a guessed patient ID (10⁷ IDs take
seconds), so the key never sits beside the data it protects: a database backup alone reveals
nothing.  It comes from ``Kerma.PseudonymisationKey`` (64 hexadecimal digits) when set, else from
the file ``Kerma.PseudonymisationKeyFile`` (default ``<IndexDirectory>/kerma-pseudonymisation.key``),
created with mode 0600 and a random key on first use.

**Rotation** (:func:`rotate`, ``kerma key rotate``): a new random key replaces the old one, which is
kept beside it as ``<file>.retired-<UTC time>`` (mode 0600).  Exports made afterwards carry new
pseudonyms and UID hashes; exports made before keep theirs, and cannot be linked with the new ones
except by whoever keeps the retired key (delete it to make that impossible).

Kerma before this version kept the key in the database (``kerma_setting``); :func:`move_out_of_database`
moves it to the key file at start-up (so earlier pseudonyms stay valid) and deletes the row.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.orm import Session

from ..config import Settings
from ..db.models import Setting

log = logging.getLogger("kerma.privacy")

KEY_BYTES = 32
DATABASE_KEY = "pseudonymisation_key"  # the kerma_setting row of earlier versions


class KeyUnavailable(RuntimeError):
    """No usable key: none configured, or a key file that cannot be read or holds no key."""


def key(settings: Settings) -> bytes:
    """The site's key: the configured value, else the key file's (created on first use)."""
    if settings.pseudonymisation_key:
        return _parse(settings.pseudonymisation_key, "Kerma.PseudonymisationKey")
    return read_or_create(Path(settings.pseudonymisation_key_file))


def read_or_create(path: Path) -> bytes:
    """The key in ``path``; a new random one written there (mode 0600) when the file does not exist."""
    try:
        return _write_new(path, secrets.token_bytes(KEY_BYTES))
    except FileExistsError:
        pass
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:  # readable by others than Orthanc's user: close it, and say so
        os.chmod(path, 0o600)
        log.warning("pseudonymisation key file %s was readable by others (mode %o): set to 0600", path, mode)
    return _parse(path.read_text(encoding="ascii", errors="replace"), str(path))


def rotate(path: Path, now: dt.datetime) -> Path:
    """Replace the key in ``path`` with a new random one; returns where the old key is kept (mode 0600)."""
    old = read_or_create(path)
    retired = path.with_name(f"{path.name}.retired-{now.strftime('%Y%m%dT%H%M%SZ')}")
    _write_new(retired, old)
    fresh = path.with_name(f"{path.name}.new")
    fresh.unlink(missing_ok=True)
    _write_new(fresh, secrets.token_bytes(KEY_BYTES))
    os.replace(fresh, path)  # atomic: an export sees the old key or the new one, never a partial file
    return retired


def move_out_of_database(session: Session, settings: Settings) -> str | None:
    """Move a key an earlier version kept in the database to the key file, and delete the row.

    Returns what was done (for the log), None when the database holds no key.  When another key is
    already in use (a key file with another key, or a configured key), the database's key is kept in
    ``<file>.from-database`` so that pseudonyms made with it can still be linked by the site.
    """
    row = session.get(Setting, DATABASE_KEY)
    if row is None:
        return None
    old = _parse(row.value, "the key in the database")
    session.delete(row)
    path = Path(settings.pseudonymisation_key_file)
    if settings.pseudonymisation_key is None:
        try:
            _write_new(path, old)
            return f"pseudonymisation key moved from the database to {path}"
        except FileExistsError:
            if read_or_create(path) == old:
                return f"pseudonymisation key removed from the database (the same key is in {path})"
    elif _parse(settings.pseudonymisation_key, "Kerma.PseudonymisationKey") == old:
        return "pseudonymisation key removed from the database (the same key is configured)"
    kept = path.with_name(f"{path.name}.from-database")
    try:
        _write_new(kept, old)
    except FileExistsError:
        pass
    return f"pseudonymisation key removed from the database; another key is in use, the old one is kept in {kept}"


def _write_new(path: Path, value: bytes) -> bytes:
    """Create ``path`` (FileExistsError if it exists) readable and writable by its owner only, holding ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as f:
        f.write(value.hex() + "\n")
    return value


def _parse(text: str, where: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        raise KeyUnavailable(f"{where} does not hold a key in hexadecimal digits") from None
    if len(value) < 16:
        raise KeyUnavailable(f"{where} holds a key of {len(value)} bytes; at least 16 are needed")
    return value
