"""Loopback test servers: an SMTP server (aiosmtpd) and a webhook receiver (http.server) that keep what they get."""

import email
import email.policy
import http.server
import json
import threading

from aiosmtpd.controller import Controller


class Mailbox:
    """An SMTP server on 127.0.0.1:port; ``messages`` are parsed e-mails; ``refuse`` holds addresses answered 550."""

    def __init__(self, port: int):
        self.port = port
        self.messages = []
        self.refuse = set()
        self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self):
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST (headers and JSON body) and answers ``status``."""

    def __init__(self, port: int, status: int = 200):
        self.calls = []
        self.status = status
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                       "json": json.loads(body)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/hooks/kerma"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
