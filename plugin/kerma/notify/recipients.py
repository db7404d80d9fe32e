"""Who is told: recipients by role, narrowed to a device or a site, above a severity."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Recipient
from ..evaluate.rules import SEVERITY_RANK


def recipients_for(session: Session, roles, *, device_id: int | None = None, site: str | None = None,
                   severity: str = "info", digest: bool = False) -> list[Recipient]:
    """Enabled recipients with one of ``roles`` whose device and site (when they name one) match.

    Parameters
    ----------
    roles : iterable of str
        The roles to tell (``mpe``, ``rpo``, ``radiologist``, ``radiographer``).
    device_id, site : optional
        The device and institution of what is reported; a recipient bound to another one is left out.
    severity : str
        The alert's severity; recipients asking for a higher minimum are left out.
    digest : bool
        Only recipients who asked for the daily digest.
    """
    roles = list(roles)
    if not roles:
        return []
    stmt = select(Recipient).where(Recipient.enabled.is_(True), Recipient.role.in_(roles)).order_by(Recipient.id)
    if digest:
        stmt = stmt.where(Recipient.daily_digest.is_(True))
    rank = SEVERITY_RANK.get(severity, 0)
    return [r for r in session.scalars(stmt)
            if (r.device_id is None or r.device_id == device_id)
            and (r.site is None or (site is not None and r.site.casefold() == site.casefold()))
            and SEVERITY_RANK.get(r.min_severity, 0) <= rank]


def recipient_json(r: Recipient) -> dict:
    """A recipient as the REST API shows it."""
    return {"id": r.id, "name": r.name, "role": r.role, "email": r.email, "device_id": r.device_id, "site": r.site,
            "min_severity": r.min_severity, "daily_digest": r.daily_digest, "enabled": r.enabled}
