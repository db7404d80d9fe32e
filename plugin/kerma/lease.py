"""One node of a cluster at a time: the lease on the work that must run once.

Large sites run several Orthanc nodes behind a load balancer, sharing one index (Debian's ``orthanc-postgresql``)
and so one change log, each with Kerma writing one PostgreSQL dose database.  Every node answers the REST API and
runs its HL7 and MPPS listeners (a message is written once, by the node that received it).  The rest runs on one
node only, the lease's holder: the ingest worker that follows Orthanc's change log (one log, one cursor), the month
statistics, the outbox, the reports, the registry sender, the OCR queue, derived doses and back-fill.

The lease is a row of ``node_lease``: its holder and when it expires.  A node takes it when it is free or expired
and renews it every ``ttl / 3`` seconds (:class:`LeaseKeeper`); the holder keeps it ``ttl`` seconds past its last
renewal.  When the holder dies (``kill -9``, a power cut, the network), its lease expires and the next node to try
takes it: another node takes over within ``ttl + ttl / 3`` seconds.  Every batch of the ingest worker checks and
renews the lease in its own transaction, the row locked until the commit (:meth:`Lease.hold`): a node that lost the
lease while it was stalled for longer than ``ttl`` cannot commit a batch that another node has taken up.

A node's name (``Kerma.NodeName``) must be its own: a node restarted under its name takes its lease back at once,
and two nodes of one name would both believe they hold it.  Times come from :mod:`kerma.clock`: the nodes' clocks
must agree to well within ``ttl`` (NTP does).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable

from sqlalchemy import case, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import clock
from .background import PeriodicThread
from .db.models import NodeLease

log = logging.getLogger("kerma.lease")

NAME = "kerma"  # the one lease: the work that runs once per cluster
NEVER = -float("inf")


class LeaseLost(RuntimeError):
    """This node does not hold the lease (any more): the work it was about to commit is another node's."""


class Lease:
    """This node's view of the lease; :meth:`held` is what the background threads ask before each round.

    Parameters
    ----------
    sessions : sessionmaker
        The dose database, shared by the nodes.
    holder : str
        This node's name (``Kerma.NodeName``).
    ttl_seconds : float
        How long the lease lasts after its last renewal: the bound on a take-over.
    """

    def __init__(self, sessions: sessionmaker, holder: str, ttl_seconds: float = 15.0):
        self.sessions = sessions
        self.holder = holder
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self._valid_until = NEVER  # time.monotonic() until which this node acts as the holder

    def held(self) -> bool:
        """Whether this node holds the lease now (as of its last renewal, on its own monotonic clock)."""
        return time.monotonic() < self._valid_until

    def renew(self) -> bool:
        """Take the lease if it is free or expired, or keep it; whether this node holds it now."""
        started = time.monotonic()
        try:
            with self.sessions() as session, session.begin():
                taken = self._take(session)
        except Exception:
            self._valid_until = NEVER  # unknown: another node may take it meanwhile
            raise
        self._valid_until = started + self.ttl.total_seconds() if taken else NEVER
        return taken

    def hold(self, session: Session) -> None:
        """In the caller's transaction: :class:`LeaseLost` unless this node holds the lease; else renew it.

        The row stays locked until the caller commits (PostgreSQL), so that no other node takes the lease between
        this check and the commit of the work it protects, and the commit renews it once more: another node waiting
        for the row then finds it renewed, however long the work took.
        """
        row = session.scalars(select(NodeLease).where(NodeLease.name == NAME).with_for_update()).first()
        now = clock.now()
        if row is None or row.holder != self.holder or _aware(row.expires_at) <= now:
            self._valid_until = NEVER
            raise LeaseLost(f"node {self.holder} does not hold the lease (holder: {row.holder if row else 'none'})")

        def renew(_session) -> None:  # and again as it commits: a batch longer than the lease does not lose it
            row.expires_at = clock.now() + self.ttl
            self._valid_until = time.monotonic() + self.ttl.total_seconds()
        renew(session)
        event.listen(session, "before_commit", renew, once=True)

    def _take(self, session: Session) -> bool:
        now = clock.now()
        taken = session.execute(
            update(NodeLease)
            .where(NodeLease.name == NAME, or_(NodeLease.holder == self.holder, NodeLease.expires_at < now))
            .values(acquired_at=case((NodeLease.holder == self.holder, NodeLease.acquired_at), else_=now),
                    holder=self.holder, expires_at=now + self.ttl)
            .execution_options(synchronize_session=False))
        if taken.rowcount:
            return True
        if session.get(NodeLease, NAME) is not None:
            return False  # another node holds it
        try:
            with session.begin_nested():  # the first node ever: two may try at once, one row wins
                session.add(NodeLease(name=NAME, holder=self.holder, expires_at=now + self.ttl, acquired_at=now))
            return True
        except IntegrityError:
            return False


class LeaseKeeper(PeriodicThread):
    """Takes or renews the lease every ``ttl / 3`` seconds; ``on_taken()`` when this node becomes the holder."""

    name = "kerma-lease"

    def __init__(self, lease: Lease, on_taken: Callable[[], None] = lambda: None):
        super().__init__(lease.ttl.total_seconds() / 3)
        self.lease = lease
        self.on_taken = on_taken

    def tick(self) -> bool:
        before = self.lease.held()
        now = self.lease.renew()
        if now and not before:
            log.warning("node %s holds the lease: it follows Orthanc's change log and runs the background jobs",
                        self.lease.holder)
            self.on_taken()
        elif before and not now:
            log.warning("node %s lost the lease to another node", self.lease.holder)
        return False


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
