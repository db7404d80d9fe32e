"""The MLLP transport under hostile senders, over real sockets: framing in linear time, oversize messages, idle and
trickling connections, a full listener.  The handler acknowledges from the header alone: the transport is under test
here, the database in test_hl7.py."""

import socket
import threading
import time

import pytest

from hl7_factory import adt_update, control_id_of, message, msa, pid
from kerma.hl7.ack import acknowledgement
from kerma.hl7.messages import decode, read_header
from kerma.config import ListenerLimits
from kerma.hl7.mllp import END_BLOCK, START_BLOCK, Deframer, FrameReader, MllpServer, frame, send
from kerma.hl7.receiver import Hl7Receiver


def acknowledge(raw: bytes) -> bytes:
    return acknowledgement(read_header(decode(raw)), "AA").encode()


@pytest.fixture
def serve():
    servers = []

    def start(**limits) -> MllpServer:
        server = MllpServer("127.0.0.1", 0, acknowledge, Hl7Receiver(None).refuse_frame, ListenerLimits(**limits))
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def feed_in_chunks(stream: bytes, size: int, max_message_bytes: int = 1 << 20) -> list:
    deframer = Deframer(max_message_bytes)
    out = []
    for start in range(0, len(stream), size):
        out += deframer.feed(stream[start:start + size])
    return out


def test_frames_are_found_wherever_the_stream_is_cut():
    one, two, three = (adt_update(f"D{i}", "A^B", "19800101", "F") for i in range(3))
    stream = (frame(one) + b"\r\n" + b"junk" + frame(two) + START_BLOCK + b"MSH|cut short" + frame(three)
              + START_BLOCK + b"MSH|\x1cnot an end" + END_BLOCK)
    expected = [("message", one), ("outside", b"junk"), ("message", two), ("interrupted", b"MSH|cut short"),
                ("message", three), ("message", b"MSH|\x1cnot an end")]
    for size in range(1, len(stream) + 1):
        assert feed_in_chunks(stream, size) == expected, size


def test_an_oversize_frame_is_refused_once_and_its_rest_dropped():
    big = message("NTE|1||" + "x" * 5000)
    small = adt_update("D4", "A^B", "19800101", "F")
    stream = frame(big) + frame(small)
    for size in (1, 3, 64, 4096, len(stream)):
        answers = feed_in_chunks(stream, size, max_message_bytes=1000)
        assert [kind for kind, _ in answers] == ["oversize", "message"], size
        assert answers[0][1].startswith(big[:100]) and answers[1][1] == small
    deframer = Deframer(1000)
    deframer.feed(START_BLOCK + b"x" * 100_000)
    assert deframer.pending and len(deframer._frame) <= 1  # what is dropped is not held


def test_an_oversize_message_gets_an_ae_naming_it_and_the_connection_goes_on(serve):
    server = serve(max_message_bytes=10_000)
    big = message(pid("BIG1"), "NTE|1||" + "x" * 50_000)
    answers = send("127.0.0.1", server.port, [big, adt_update("P1", "A^B", "19800101", "F")])
    assert msa(answers[0])[1:3] == ["AE", control_id_of(big)]
    assert "larger than 10000 bytes" in msa(answers[0])[3]
    assert msa(answers[1])[1] == "AA"


class Trickler(threading.Thread):
    """A sender that connects and sends a message one byte every ``interval`` seconds; notes what it gets back."""

    def __init__(self, port: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.interval = interval
        self.received = b""
        self.closed_after: float | None = None
        self.started_at = time.monotonic()
        self.payload = frame(adt_update("SLOW", "S^LOW", "19800101", "M"))

    def run(self) -> None:
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        for byte in self.payload:
            if self.closed_after is not None:
                return
            try:
                self.socket.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(self.interval)

    def stop(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)  # wakes the reading thread; close() alone would not send FIN
        self.socket.close()

    def _read(self) -> None:
        while True:
            try:
                chunk = self.socket.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed_after = time.monotonic() - self.started_at
                return
            self.received += chunk


def closed_after(connection: socket.socket, timeout: float = 30) -> float:
    """Seconds until the listener closes ``connection`` (which sends nothing)."""
    started = time.monotonic()
    connection.settimeout(timeout)
    while connection.recv(4096):
        pass
    return time.monotonic() - started


def closed_within(connection: socket.socket, seconds: float) -> bool:
    connection.settimeout(seconds)
    try:
        return connection.recv(4096) == b""
    except socket.timeout:
        return False


def test_idle_and_trickling_connections_are_cut_after_their_timeouts(serve):
    server = serve(idle_seconds=2, message_seconds=3)
    trickler = Trickler(server.port, interval=1.0)  # one byte per second: never silent long enough for a frame timeout
    trickler.start()
    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        assert 2 <= closed_after(idle) < 5
    trickler.join(10)
    assert trickler.closed_after is not None and 3 <= trickler.closed_after < 7
    (answer,) = [trickler.received[1:-2]]
    assert msa(answer)[1] == "AE" and "not complete within 3 s" in msa(answer)[3]
    deadline = time.monotonic() + 5
    while server.connection_count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.connection_count == 0


def test_slow_clients_do_not_stop_other_senders(serve):
    server = serve(max_connections=3, evict_after_seconds=0.5)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    tricklers = [Trickler(server.port)]
    tricklers[0].start()
    time.sleep(1.0)  # every place taken; the idle ones idle for longer than evict_after_seconds
    started = time.monotonic()
    answers = send("127.0.0.1", server.port, [adt_update(f"Q{i}", "A^B", "19800101", "F") for i in range(3)])
    assert [msa(a)[1] for a in answers] == ["AA"] * 3
    assert time.monotonic() - started < 2
    assert sorted(closed_within(c, 1.0) for c in idle) == [False, True]  # the one idle longest gave way
    for connection in idle:
        connection.close()

    # every place taken by senders that are busy (trickling): a newcomer is told to come back, not left waiting
    tricklers += [Trickler(server.port) for _ in range(2)]
    for trickler in tricklers[1:]:
        trickler.start()
    time.sleep(0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as newcomer:
        answer = FrameReader(newcomer).next()
        assert msa(answer)[1] == "AE" and "too many connections (3 open)" in msa(answer)[3]
    for trickler in tricklers:
        trickler.stop()
    deadline = time.monotonic() + 5
    while server.connection_count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert msa(send("127.0.0.1", server.port, [adt_update("Q9", "A^B", "19800101", "F")])[0])[1] == "AA"
