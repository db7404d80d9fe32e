"""support.orthanc.free_port under pytest-xdist (scripts/test.sh runs two workers): the workers' ports never meet."""

from support.orthanc import free_port


def test_each_xdist_worker_takes_ports_of_its_own_share_only(monkeypatch):
    taken = {}
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
        taken[worker] = {free_port() for _ in range(200)}
    assert len(taken["gw0"]) > 150 and len(taken["gw1"]) > 150  # still drawn from the whole free range
    assert not taken["gw0"] & taken["gw1"]
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert {free_port() // 2 % 2 for _ in range(200)} == {0, 1}  # one process alone takes any free port
