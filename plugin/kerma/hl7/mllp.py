"""MLLP (Minimal Lower Layer Protocol) listener: <VT> message <FS><CR> over TCP, one answer per message.

Daemon threads only (a non-daemon thread makes Orthanc hang on shutdown); one
thread per connection, because HIS interface engines keep one connection open
and send message after message.  The handler gets the message bytes and returns
the acknowledgement bytes; it must not raise.

A sender holds only what :class:`kerma.config.ListenerLimits` allows: a bounded number of
connections (the one idle longest gives way to a new one, else the new one is
told to come back), a message size, an idle time and a time to deliver each
message.  Running out of file descriptors or buffers (EMFILE, ENFILE, ENOBUFS...)
pauses accepting, with back-off, and never ends it.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from typing import Callable

from ..config import ListenerLimits

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"
POLL_SECONDS = 0.5  # how often a waiting thread looks at its deadlines and at stop()

# accept() failures that say nothing about the listening socket: the peer left, or the process or the system
# is short of descriptors or memory for a moment (Debian's orthanc.service leaves the soft limit at 1,024)
RETRY_AT_ONCE = frozenset({errno.ECONNABORTED, errno.EINTR, errno.EAGAIN, errno.EPROTO, errno.EPERM})
RETRY_AFTER_PAUSE = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
MAX_PAUSE_SECONDS = 1.0

log = logging.getLogger("kerma.hl7")


# --- framing --------------------------------------------------------------------------------------------

MESSAGE = "message"
REFUSALS = {
    "outside": "data outside an MLLP frame",
    "interrupted": "incomplete MLLP frame: a new message began before its end block",
}


class Deframer:
    """Splits a byte stream into MLLP frames, in time linear in the bytes received.

    :meth:`feed` returns ``(kind, data)`` pairs: ``("message", payload)`` for each
    complete frame, else a refusal (``"outside"``, ``"interrupted"``, ``"oversize"``)
    with the first bytes of what was refused (enough to find its control ID).  Bytes
    of an oversize frame are dropped as they come; at most ``max_message_bytes`` are
    held.
    """

    FRAGMENT_BYTES = 4096

    def __init__(self, max_message_bytes: int):
        self.max_message_bytes = max_message_bytes
        self._frame = bytearray()  # the current frame after its start block
        self._in_frame = False
        self._discarding = False  # the current frame is oversize: its rest is dropped up to its end
        self._outside = bytearray()  # the first non-blank bytes seen outside a frame

    @property
    def pending(self) -> bool:
        """True while part of a message (or of data outside a frame) has come and its end has not."""
        return self._in_frame or bool(self._outside)

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        position, size = 0, len(data)
        while position < size:
            if not self._in_frame:
                start = data.find(START_BLOCK, position)
                self._keep_outside(data[position:size if start < 0 else start])
                if start < 0:
                    break
                if self._outside:  # bytes between frames: not MLLP, said once
                    out.append(("outside", bytes(self._outside)))
                    self._outside.clear()
                self._in_frame, self._discarding = True, False
                self._frame.clear()
                position = start + 1
                continue
            if self._frame.endswith(END_BLOCK[:1]) and data[position:position + 1] == END_BLOCK[1:]:
                del self._frame[-1:]  # the end block was split between two reads
                if not self._discarding:
                    out.append((MESSAGE, bytes(self._frame)))
                self._in_frame = False
                position += 1
                continue
            end, restart = data.find(END_BLOCK, position), data.find(START_BLOCK, position)
            if 0 <= restart and (end < 0 or restart < end):  # a new frame began before this one ended
                self._append(data[position:restart], out)
                if not self._discarding:
                    out.append(("interrupted", bytes(self._frame[:self.FRAGMENT_BYTES])))
                self._in_frame = False
                position = restart
            elif end >= 0:
                self._append(data[position:end], out)
                if not self._discarding:  # an oversize frame had its answer when it became too large
                    out.append((MESSAGE, bytes(self._frame)))
                self._in_frame = False
                position = end + len(END_BLOCK)
            else:
                self._append(data[position:], out)
                position = size
        return out

    def abandon(self) -> tuple[str, bytes] | None:
        """Give up the unfinished message: its refusal (kind, first bytes), or None when it had one already."""
        if self._in_frame:
            refusal = None if self._discarding else ("incomplete", bytes(self._frame[:self.FRAGMENT_BYTES]))
        else:
            refusal = ("outside", bytes(self._outside)) if self._outside else None
        self._frame.clear()
        self._outside.clear()
        self._in_frame = self._discarding = False
        return refusal

    def _append(self, data: bytes, out: list) -> None:
        if self._discarding:
            if data:
                self._frame[:] = data[-1:]  # only a possible first half of the end block is kept
            return
        self._frame += data
        if len(self._frame) > self.max_message_bytes:
            out.append(("oversize", bytes(self._frame[:self.FRAGMENT_BYTES])))
            self._discarding = True
            self._frame[:] = self._frame[-1:]

    def _keep_outside(self, data: bytes) -> None:
        room = self.FRAGMENT_BYTES - len(self._outside)
        if room > 0 and data:
            self._outside += (data if self._outside else data.lstrip())[:room]


def frame(payload: bytes) -> bytes:
    return START_BLOCK + payload + END_BLOCK


# --- the listener ---------------------------------------------------------------------------------------


class _Connection:
    """One accepted connection and what the limits look at."""

    __slots__ = ("socket", "last_message_at", "busy")

    def __init__(self, connection: socket.socket, now: float):
        self.socket = connection
        self.last_message_at = now  # when it opened, then when its last message was answered
        self.busy = False  # part of a message is held, or its answer is being made


class MllpServer:
    """A TCP listener speaking MLLP.

    Parameters
    ----------
    host, port : str, int
        Where to listen (port 0: any free port, see :attr:`port`).
    handler : callable
        ``handler(message: bytes) -> bytes``: the acknowledgement to send back.
    refuse : callable
        ``refuse(reason: str, fragment: bytes) -> bytes``: the negative acknowledgement for
        bytes that never became a message (no end block in time, a new start block before
        the end, data outside a frame, too large, no room for the connection); ``fragment``
        is their start, where the control ID may be found.
    limits : ListenerLimits
    """

    def __init__(self, host: str, port: int, handler: Callable[[bytes], bytes],
                 refuse: Callable[[str, bytes], bytes], limits: ListenerLimits = ListenerLimits()):
        self.host = host
        self.handler = handler
        self.refuse = refuse
        self.limits = limits
        self.error: OSError | None = None  # why accepting ended, when not by stop()
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._accepting = threading.Event()
        self._shortage: tuple[float, int, int] | None = None  # (since, errno, failed accepts) while short

    @property
    def port(self) -> int:
        """The port listened on."""
        return self._socket.getsockname()[1]

    @property
    def accepting(self) -> bool:
        """False once the accept loop has ended (stop(), or an error on the listening socket itself)."""
        return self._accepting.is_set()

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def start(self) -> "MllpServer":
        """Bind, listen and accept on a daemon thread; raises OSError when the port is taken."""
        listener = socket.create_server((self.host, self._requested_port), reuse_port=False)
        listener.settimeout(POLL_SECONDS)  # lets the accept loop see stop()
        self._socket = listener
        self._stopping.clear()
        self._accepting.set()
        threading.Thread(target=self._accept_loop, name="kerma-mllp", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every open connection."""
        self._stopping.set()
        if self._socket is not None:
            self._socket.close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            _close(connection.socket)

    # accepting

    def _accept_loop(self) -> None:
        pause = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    connection, _ = self._socket.accept()
                except socket.timeout:
                    continue
                except OSError as exc:
                    if self._stopping.is_set():
                        break  # closed by stop()
                    if exc.errno in RETRY_AT_ONCE:
                        continue
                    if exc.errno not in RETRY_AFTER_PAUSE:
                        self.error = exc
                        log.error("MLLP listener stopped accepting: %s", exc)
                        break
                    pause = min(max(pause * 2, 0.05), MAX_PAUSE_SECONDS)
                    self._short_of(exc.errno)
                    self._stopping.wait(pause)
                    continue
                pause = 0.0
                self._no_longer_short()
                self._admit(connection)
        finally:
            self._accepting.clear()

    def _admit(self, connection: socket.socket) -> None:
        now = time.monotonic()
        entry = _Connection(connection, now)
        with self._lock:
            evicted = None
            if len(self._connections) >= self.limits.max_connections:
                evicted = self._idle_longest(now)
                if evicted is None:
                    entry = None
                else:
                    self._connections.discard(evicted)
            if entry is not None:
                self._connections.add(entry)
        if evicted is not None:
            log.info("MLLP connection idle for %.0f s closed to make room for a new one", now - evicted.last_message_at)
            _close(evicted.socket)
        if entry is None:
            self._turn_away(connection)
            return
        try:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one small ACK per message
            threading.Thread(target=self._serve, args=(entry,), name="kerma-mllp-connection", daemon=True).start()
        except (OSError, RuntimeError) as exc:  # the peer left already, or no thread could be started
            log.warning("MLLP connection dropped: %s", type(exc).__name__)
            self._forget(entry)

    def _idle_longest(self, now: float) -> _Connection | None:
        idle = [c for c in self._connections
                if not c.busy and now - c.last_message_at >= self.limits.evict_after_seconds]
        return min(idle, key=lambda c: c.last_message_at, default=None)

    def _turn_away(self, connection: socket.socket) -> None:
        try:  # the refusal is logged by ``refuse``
            connection.settimeout(POLL_SECONDS)
            connection.sendall(frame(self.refuse(
                f"too many connections ({self.limits.max_connections} open); send again later", b"")))
        except OSError:
            pass
        _close(connection)

    def _short_of(self, code: int) -> None:
        if self._shortage is None:
            self._shortage = (time.monotonic(), code, 0)
            log.error("MLLP listener cannot accept (%s): pausing, then accepting again", errno.errorcode.get(code, code))
        since, first, count = self._shortage
        self._shortage = (since, first, count + 1)

    def _no_longer_short(self) -> None:
        if self._shortage is not None:
            since, code, count = self._shortage
            log.warning("MLLP listener accepting again after %.1f s of %s (%d failed accepts)",
                        time.monotonic() - since, errno.errorcode.get(code, code), count)
            self._shortage = None

    def _forget(self, entry: _Connection) -> None:
        with self._lock:
            self._connections.discard(entry)
        _close(entry.socket)

    # one connection

    def _serve(self, entry: _Connection) -> None:
        try:
            self._exchange(entry)
        except OSError:
            pass  # the peer went away, or stop() or a newcomer closed the socket
        except Exception as exc:  # never let a connection thread die with a traceback in Orthanc's log
            log.error("MLLP connection failed: %s", type(exc).__name__)
        finally:
            self._forget(entry)

    def _exchange(self, entry: _Connection) -> None:
        limits, connection = self.limits, entry.socket
        deframer = Deframer(limits.max_message_bytes)
        connection.settimeout(POLL_SECONDS)
        pending_since = last_bytes_at = 0.0
        while not self._stopping.is_set():
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                chunk = None
            now = time.monotonic()
            if chunk == b"":
                if deframer.pending:
                    log.warning("MLLP connection closed inside a frame")
                return
            if chunk:
                was_pending, last_bytes_at = deframer.pending, now
                entry.busy = True
                frames = deframer.feed(chunk)
                for kind, data in frames:
                    answer = self.handler(data) if kind == MESSAGE else self.refuse(self._reason(kind), data)
                    connection.sendall(frame(answer))
                    entry.last_message_at = time.monotonic()
                if frames or not was_pending:
                    pending_since = now
                entry.busy = deframer.pending
            if deframer.pending:
                if now - pending_since > limits.message_seconds:
                    refusal = deframer.abandon()
                    if refusal is not None:
                        connection.sendall(frame(self.refuse(
                            f"message not complete within {limits.message_seconds:g} s", refusal[1])))
                    log.warning("MLLP connection closed: a message took longer than %g s to arrive",
                                limits.message_seconds)
                    return
                if now - last_bytes_at > limits.frame_seconds:
                    refusal = deframer.abandon()
                    entry.busy = False
                    if refusal is not None:
                        connection.sendall(frame(self.refuse(self._reason(refusal[0]), refusal[1])))
            elif limits.idle_seconds and now - entry.last_message_at > limits.idle_seconds:
                log.info("MLLP connection closed after %g s without a message", limits.idle_seconds)
                return

    def _reason(self, kind: str) -> str:
        if kind == "oversize":
            return f"message larger than {self.limits.max_message_bytes} bytes"
        if kind == "incomplete":
            return f"incomplete MLLP frame: no end block (FS CR) within {self.limits.frame_seconds:g} s"
        return REFUSALS[kind]


def _close(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()


# --- a client -------------------------------------------------------------------------------------------


def send(host: str, port: int, messages: list[bytes], timeout: float = 30.0) -> list[bytes]:
    """Send ``messages`` over one MLLP connection, each after the previous one's answer; return the answers.

    A small client for tests, the benchmark and manual checks.
    """
    answers = []
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = FrameReader(connection)
        for message in messages:
            connection.sendall(frame(message))
            answers.append(reader.next())
    return answers


class FrameReader:
    """Reads MLLP frames from a connected socket, one at a time."""

    def __init__(self, connection: socket.socket):
        self.connection = connection
        self.buffer = b""

    def next(self) -> bytes:
        """The next frame's payload; raises ConnectionError when the peer closes first."""
        while END_BLOCK not in self.buffer:
            chunk = self.connection.recv(65536)
            if not chunk:
                raise ConnectionError("MLLP peer closed the connection before a complete answer")
            self.buffer += chunk
        end = self.buffer.index(END_BLOCK)
        payload = self.buffer[self.buffer.index(START_BLOCK) + 1:end]
        self.buffer = self.buffer[end + len(END_BLOCK):]
        return payload
