"""The web UI's one HTML document, served by Kerma with its security headers.

The UI's other files (scripts, style sheet) are static and Orthanc's C++ ServeFolders plugin serves them
(without a Python call each), but it cannot add headers; the document is what the Content-Security-Policy must
come with, so this module serves it (one Python call per page load).  It also tells the UI who is signed in and
with which roles, in a ``<meta>`` element: the policy lets no inline script run.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from . import access
from .api.http import UI_CSP, Response, security_headers

TEMPLATE = Path(__file__).with_name("ui_page.html")
USER_MARK = "<!-- kerma-user -->"


def ui_page(user: str | None, roles: frozenset[str]) -> Response:
    """The UI document for ``user``: 200 text/html with the UI's security headers."""
    who = json.dumps({"user": user, "roles": [r for r in access.ROLES if r in roles], "may": access.may(roles)})
    document = TEMPLATE.read_text(encoding="utf-8").replace(
        USER_MARK, f'<meta name="kerma-user" content="{html.escape(who, quote=True)}">')
    return Response(200, document.encode("utf-8"), "text/html; charset=utf-8", security_headers(UI_CSP))
