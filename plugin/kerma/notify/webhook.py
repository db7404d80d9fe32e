"""Webhook delivery: a JSON POST, signed with HMAC-SHA256 when the target has a secret."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request

from .. import jsonout
from .smtp import PermanentFailure

TIMEOUT_SECONDS = 15


def post(url: str, payload: dict, secret: str | None, delivery_id: str) -> None:
    """POST ``payload``; a 2xx answer is delivered, 4xx (except 408/429) is permanent, anything else is retried.

    ``X-Kerma-Delivery`` is the same on every attempt of one message, so a receiver can drop repeats.
    """
    body = jsonout.dumps(payload).encode()  # a type it does not know raises (the message is retried, not sent as a repr)
    headers = {"Content-Type": "application/json", "User-Agent": "Kerma", "X-Kerma-Delivery": delivery_id}
    if secret:
        headers["X-Kerma-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise PermanentFailure(f"HTTP {exc.code} {exc.reason}") from exc
        raise
