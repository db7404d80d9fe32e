"""Who a token belongs to, when Orthanc runs its authorization plugin.

With the authorization plugin, requests carry a token (in one of the headers of the plugin's
``Authorization.TokenHttpHeaders``) rather than a Basic user, and the plugin answers ``GET /auth/user/profile``
with the profile of the token the request carries: ``{"name", "groups", "permissions", ...}``.  Kerma asks that
route with the token of each request (over Orthanc's own HTTP port; the plugin, or its web service, is the
authority, so a made-up token gets no profile) and keeps each answer a minute.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Callable

NO_PROFILE: dict = {}  # a token the profile service does not know: no user, no role


class UserProfiles:
    def __init__(self, url: str, token_headers: tuple[str, ...], ttl_s: float = 60.0, timeout_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, max_cached: int = 1000):
        self.url = url
        self.token_headers = tuple(h.lower() for h in token_headers)
        self.ttl_s, self.timeout_s, self.clock, self.max_cached = ttl_s, timeout_s, clock, max_cached
        self._cache: dict[tuple[str, str], tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def token(self, headers: dict) -> tuple[str, str] | None:
        """The first token header the request carries (Basic credentials are Orthanc's users, not tokens)."""
        lower = {str(k).lower(): str(v) for k, v in headers.items()}
        for name in self.token_headers:
            value = lower.get(name, "").strip()
            if value and not value.lower().startswith("basic "):
                return name, value
        return None

    def profile(self, headers: dict) -> dict | None:
        """The profile of the request's token; None without a token, :data:`NO_PROFILE` for an unknown one."""
        token = self.token(headers)
        if token is None:
            return None
        now = self.clock()
        with self._lock:
            cached = self._cache.get(token)
        if cached and cached[0] > now:
            return cached[1]
        found = self._ask(*token)
        with self._lock:
            if len(self._cache) >= self.max_cached:
                self._cache.clear()
            self._cache[token] = (now + self.ttl_s, found)
        return found

    def _ask(self, header: str, value: str) -> dict:
        request = urllib.request.Request(self.url, headers={header: value, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                profile = json.loads(answer.read(1 << 16))
        except (OSError, ValueError):  # refused (HTTPError is an OSError), unreachable, or not a profile
            return NO_PROFILE
        return profile if isinstance(profile, dict) and isinstance(profile.get("name"), str) else NO_PROFILE
