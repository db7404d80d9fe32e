"""The HTTP side of /kerma/api/ (pure): what a request must be before any handler runs, what every answer carries.

* **Bodies are bounded before they are parsed**: at most :data:`MAX_BODY_BYTES`, nested at most
  :data:`MAX_JSON_DEPTH` deep.  Orthanc runs REST callbacks on web-server threads with a small C stack, where
  ``json.loads`` of a body nested ~600 deep overflows it and kills Orthanc before Python could raise; the depth
  is counted by a scan that never recurses (brackets inside strings do not count).
* **Writes refuse cross-site requests** (a page elsewhere posting with the browser's cached credentials):
  every POST, PUT, DELETE needs ``Content-Type: application/json`` and ``X-Requested-With: kerma`` (which a
  cross-site form cannot send and a cross-site script cannot send without a CORS permission Orthanc never
  gives), and a ``Sec-Fetch-Site`` or ``Origin`` header, when the browser sends one, must say same origin.
  A refused request gets 403 before anything is read or changed.
* **Every answer is strict JSON** (no ``NaN``/``Infinity``): a non-finite number becomes ``null`` and the
  field's path (never its value) is logged.  A value of a type Kerma does not send (:mod:`kerma.jsonout`) is
  never sent as its text: the answer is a 500, and the log names the route and the type (never the value).
* **Security headers** on every answer: no framing, no sniffing, no referrer, not cached.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import jsonout
from . import idempotency
from .router import Answer, ApiError, Context, Request, handle, logged_as

log = logging.getLogger("kerma.api")

MAX_BODY_BYTES = 256 << 10  # the largest legitimate body (a rule, a DRL value) is a few kB; a 1 MB scan holds the GIL ~0.2-0.6 s
MAX_JSON_DEPTH = 32  # rules and filters nest 4 deep
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
CSRF_HEADER, CSRF_VALUE = "x-requested-with", "kerma"
SAME_ORIGIN_FETCH = ("same-origin",)  # Sec-Fetch-Site values a write may carry
INTERNAL_ERROR = "internal error, see Orthanc's log"  # a 500's whole answer: what failed is in the log, not sent

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # answers carry patient data
}
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCUMENT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"  # reports
UI_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

# a JSON string (escapes included; an unterminated one runs to the end, so a match never fails and backtracks)
# or a bracket: strings are skipped whole, so their brackets do not count
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    filename: str | None = None  # an attachment (CSV export)
    allowed: list[str] | None = None  # the methods a 405 names


def serve(ctx: Context, method: str, path: str, query: dict, headers: dict, body: bytes | None,
          user: str | None, roles: frozenset[str]) -> Response:
    """Answer one HTTP request for ``/kerma/api/<path>``; ``headers`` as Orthanc gives them (any case)."""
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    before_routing = f"{method} (before routing)"  # these answers are fixed texts: nothing to log
    if method in WRITE_METHODS:
        refusal = cross_site_refusal(headers)
        if refusal:
            return json_response(403, {"error": refusal}, before_routing)
    try:
        parsed = parse_body(body)
    except ApiError as exc:
        return json_response(exc.status, {"error": str(exc)}, before_routing)
    try:
        key = idempotency.valid_key(headers.get(idempotency.HEADER))
    except idempotency.BadKey as exc:
        return json_response(400, {"error": str(exc)}, before_routing)
    request = Request(method=method, path=path, query=query, body=parsed, user=user, roles=roles, idempotency_key=key)
    where = logged_as(method, path)
    try:
        status, answer = handle(ctx, request)  # an idempotent POST's answer is encoded (kept) in its transaction
        if isinstance(answer, Answer):
            text = answer.text.encode("utf-8") if isinstance(answer.text, str) else answer.text
            csp = DOCUMENT_CSP if answer.content_type.startswith("text/html") else API_CSP
            return Response(status, text, answer.content_type, security_headers(csp), filename=answer.filename)
        response = json_response(status, answer, where)
    except jsonout.Unencodable as exc:  # a bug, never sent as the value's text (default=str once sent reprs)
        log.error("answer to %s not sent: %s", where, exc)
        return json_response(500, {"error": INTERNAL_ERROR}, where)
    if status == 405:
        response.allowed = answer.get("allowed", ["GET"])
    return response


def cross_site_refusal(headers: dict) -> str | None:
    """Why a write with these (lower-case) headers may come from another site; None when it may not."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return "a write must be sent as Content-Type: application/json"
    if headers.get(CSRF_HEADER, "").strip().lower() != CSRF_VALUE:
        return f"a write must carry the header X-Requested-With: {CSRF_VALUE}"
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_ORIGIN_FETCH:
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
    origin = headers.get("origin")
    if origin is not None and not _same_origin(origin, headers):
        return "cross-site request refused (Origin is not this server)"
    return None


def _same_origin(origin: str, headers: dict) -> bool:
    """Whether ``Origin`` names the host the request was sent to (directly, or through a proxy that says so)."""
    try:
        netloc = urlsplit(origin.strip()).netloc.lower()
    except ValueError:
        return False
    hosts = {headers.get("host", "").strip().lower()}
    hosts |= {h.strip().lower() for h in headers.get("x-forwarded-host", "").split(",")}
    return bool(netloc) and netloc in hosts - {""}


def parse_body(body: bytes | str | None) -> Any:
    """The JSON value of a request body (None when empty), refused above the size or depth limit."""
    if not body:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    depth = json_depth(body, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ApiError(400, f"the request body is not JSON: {exc}") from None


def json_depth(body: bytes, stop_above: int) -> int:
    """How deep the arrays and objects of ``body`` nest, counting up to ``stop_above + 1`` at most.

    Linear, without recursion; a closing bracket with nothing open counts as too deep (not JSON anyway).
    """
    depth = deepest = 0
    for token in _TOKENS.finditer(body):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        elif char in (b"]", b"}"):
            depth -= 1
            if depth < 0:
                return stop_above + 1
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is beyond any finite number")
    return number


def json_response(status: int, value: Any, where: str) -> Response:
    """A JSON answer; ``where`` names it in the log (:func:`kerma.api.router.logged_as`)."""
    return Response(status, strict_json(value, where), "application/json", security_headers(API_CSP))


def security_headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, **COMMON_HEADERS}


def strict_json(value: Any, where: str) -> bytes:
    """``value`` as strict JSON; a non-finite number becomes null, and where it was (not what) is logged.

    A type :mod:`kerma.jsonout` does not know raises :class:`kerma.jsonout.Unencodable`.
    """
    try:
        return jsonout.dumps(value, allow_nan=False).encode()
    except ValueError:
        paths: list[str] = []
        cleaned = _finite(value, "", paths)
        log.warning("answer to %s: %d non-finite number(s) sent as null at %s", where, len(paths),
                    ", ".join(sorted(set(paths))[:10]))
        return jsonout.dumps(cleaned, allow_nan=False).encode()


def _finite(value: Any, path: str, found: list[str]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        found.append(path or "(the answer)")
        return None
    if isinstance(value, Mapping):  # a dict, or a typed record's mapping (kerma.record.Event), which jsonout sends
        return {k: _finite(v, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, f"{path}[]", found) for v in value]
    return value
