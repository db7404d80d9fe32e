"""The lease of a cluster's nodes (kerma.lease) on SQLite and PostgreSQL, the clock pinned: one holder at a time, a
take-over only once the holder's lease has expired, and no batch committed by a node that lost it.
The two-node end-to-end test with real Orthancs is tests/test_orthanc_cluster.py."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kerma import clock
from kerma.db.models import DoseObject, NodeLease
from kerma.ingest.store import Processed, read_cursor
from kerma.ingest.worker import IngestWorker
from kerma.lease import Lease, LeaseLost
from kerma.record import DoseRecord

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
TTL = 15.0


@pytest.fixture
def moment():
    """The clock, moved by hand: ``moment[0] += dt.timedelta(...)``."""
    now = [T0]
    with clock.use(lambda: now[0]):
        yield now


def test_one_holder_until_its_lease_expires(sessions, moment):
    a, b = Lease(sessions, "node-a", TTL), Lease(sessions, "node-b", TTL)
    assert a.renew() and a.held()
    assert not b.renew() and not b.held()
    moment[0] += dt.timedelta(seconds=TTL - 1)
    assert a.renew()  # renewed: 15 s from now again
    moment[0] += dt.timedelta(seconds=TTL - 1)
    assert not b.renew()  # 29 s after the first renewal, 14 s after the last one: still a's
    moment[0] += dt.timedelta(seconds=2)  # a stopped renewing (killed) 16 s ago
    assert b.renew() and b.held()
    assert not a.renew() and not a.held()
    with sessions() as session:
        row = session.get(NodeLease, "kerma")
        assert (row.holder, row.acquired_at.replace(tzinfo=dt.timezone.utc)) == ("node-b", moment[0])


def test_a_node_restarted_under_its_name_takes_its_lease_back_at_once(sessions, moment):
    assert Lease(sessions, "node-a", TTL).renew()
    moment[0] += dt.timedelta(seconds=3)
    assert Lease(sessions, "node-a", TTL).renew()  # a new process, the same name
    assert not Lease(sessions, "node-b", TTL).renew()


def test_a_node_that_lost_the_lease_commits_no_batch(sessions, moment):
    """Node a stalls past its lease, b takes over: a's pending batch is refused whole (no ledger row, cursor unmoved),
    b's is stored."""
    a, b = Lease(sessions, "node-a", TTL), Lease(sessions, "node-b", TTL)
    worker_a = IngestWorker(source=None, sessions=sessions, fence=a.hold)
    worker_b = IngestWorker(source=None, sessions=sessions, fence=b.hold)
    batch = [Processed(7, "orthanc-7", DoseRecord("ignored", "not a dose object",
                                                  sop_instance_uid="1.2.826.0.1.3680043.10.543.7"))]
    assert a.renew()
    moment[0] += dt.timedelta(seconds=TTL + 1)
    assert b.renew()
    with pytest.raises(LeaseLost):
        worker_a.store(batch, 7)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DoseObject)) == 0
        assert read_cursor(session) == 0
    assert worker_b.store(batch, 7) == 1
    with sessions() as session:
        assert session.scalar(select(DoseObject.orthanc_id)) == "orthanc-7"
        assert read_cursor(session) == 7
        # storing renewed b's lease: 15 s from the batch
        assert session.get(NodeLease, "kerma").expires_at.replace(tzinfo=dt.timezone.utc) == moment[0] + dt.timedelta(seconds=TTL)


def test_a_batch_longer_than_the_lease_keeps_it(sessions, moment):
    """The commit renews the lease: node b, trying after a's batch began + 15 s, finds it renewed at a's commit."""
    a, b = Lease(sessions, "node-a", TTL), Lease(sessions, "node-b", TTL)
    assert a.renew()
    with sessions() as session, session.begin():
        a.hold(session)
        moment[0] += dt.timedelta(seconds=TTL + 5)  # the batch's work takes longer than the lease
    assert not b.renew()
    with sessions() as session:
        assert session.get(NodeLease, "kerma").expires_at.replace(tzinfo=dt.timezone.utc) == moment[0] + dt.timedelta(seconds=TTL)
