"""MLLP (Minimal Lower Layer Protocol) listener: <VT> message <FS><CR> over TCP, one answer per message.

Daemon threads only (a non-daemon thread makes Orthanc hang on shutdown); one
thread per connection, because HIS interface engines keep one connection open
and send message after message.  The handler gets the message bytes and returns
the acknowledgement bytes; it must not raise.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"

log = logging.getLogger("kerma.hl7")


class MllpServer:
    """A TCP listener speaking MLLP.

    Parameters
    ----------
    host, port : str, int
        Where to listen (port 0: any free port, see :attr:`port`).
    handler : callable
        ``handler(message: bytes) -> bytes``: the acknowledgement to send back.
    refuse : callable
        ``refuse(reason: str) -> bytes``: the negative acknowledgement for a frame that never
        became a message (no end block in time, a new start block before the end, data
        outside a frame).
    frame_timeout : float
        Seconds an unfinished frame may wait for its next bytes before it is refused.
    max_message_bytes : int
        A larger frame is refused and its connection closed.
    """

    def __init__(self, host: str, port: int, handler: Callable[[bytes], bytes], refuse: Callable[[str], bytes],
                 frame_timeout: float = 10.0, max_message_bytes: int = 1 << 20):
        self.host = host
        self.handler = handler
        self.refuse = refuse
        self.frame_timeout = frame_timeout
        self.max_message_bytes = max_message_bytes
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        """The port listened on."""
        return self._socket.getsockname()[1]

    def start(self) -> "MllpServer":
        """Bind, listen and accept on a daemon thread; raises OSError when the port is taken."""
        listener = socket.create_server((self.host, self._requested_port), reuse_port=False)
        listener.settimeout(0.5)  # lets the accept loop see stop()
        self._socket = listener
        self._stopping.clear()
        threading.Thread(target=self._accept_loop, name="kerma-mllp", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every open connection."""
        self._stopping.set()
        if self._socket is not None:
            self._socket.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _close(connection)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except socket.timeout:
                continue
            except OSError:
                break  # closed by stop()
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one small ACK per message
            with self._lock:
                self._connections.add(connection)
            threading.Thread(target=self._serve, args=(connection,), name="kerma-mllp-connection", daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            self._read_frames(connection)
        except OSError:
            pass  # the peer went away, or stop() closed the socket
        except Exception as exc:  # never let a connection thread die with a traceback in Orthanc's log
            log.error("MLLP connection failed: %s", type(exc).__name__)
        finally:
            with self._lock:
                self._connections.discard(connection)
            _close(connection)

    def _read_frames(self, connection: socket.socket) -> None:
        buffer = b""
        last_bytes_at = time.monotonic()
        connection.settimeout(0.5)  # lets the loop see stop() and unfinished frames
        while not self._stopping.is_set():
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                if buffer and time.monotonic() - last_bytes_at > self.frame_timeout:
                    reason = (f"incomplete MLLP frame: no end block (FS CR) within {self.frame_timeout:g} s"
                              if buffer.startswith(START_BLOCK) else "data outside an MLLP frame")
                    connection.sendall(_frame(self.refuse(reason)))
                    buffer = b""
                continue
            if not chunk:
                if buffer.strip():
                    log.warning("MLLP connection closed inside a frame (%d bytes dropped)", len(buffer))
                return
            last_bytes_at = time.monotonic()
            buffer = self._answer_complete_frames(connection, buffer + chunk)
            if len(buffer) > self.max_message_bytes:
                connection.sendall(_frame(self.refuse(f"message larger than {self.max_message_bytes} bytes")))
                return

    def _answer_complete_frames(self, connection: socket.socket, buffer: bytes) -> bytes:
        """Answer every complete frame at the start of ``buffer``; return what is left."""
        while True:
            start = buffer.find(START_BLOCK)
            if start < 0:
                return buffer
            if start > 0:
                if buffer[:start].strip():  # bytes between frames: not MLLP, say so once
                    connection.sendall(_frame(self.refuse("data outside an MLLP frame")))
                buffer = buffer[start:]
            end = buffer.find(END_BLOCK)
            restart = buffer.find(START_BLOCK, 1)
            if 0 <= restart and (end < 0 or restart < end):  # a new frame began before this one ended
                connection.sendall(_frame(self.refuse("incomplete MLLP frame: a new message began before its end block")))
                buffer = buffer[restart:]
                continue
            if end < 0:
                return buffer
            connection.sendall(_frame(self.handler(buffer[1:end])))
            buffer = buffer[end + len(END_BLOCK):]


def _frame(payload: bytes) -> bytes:
    return START_BLOCK + payload + END_BLOCK


def _close(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()


def send(host: str, port: int, messages: list[bytes], timeout: float = 30.0) -> list[bytes]:
    """Send ``messages`` over one MLLP connection, each after the previous one's answer; return the answers.

    A small client for tests, the benchmark and manual checks.
    """
    answers = []
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = FrameReader(connection)
        for message in messages:
            connection.sendall(_frame(message))
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
