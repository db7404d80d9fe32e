"""Regular expressions that users write (mapping rules, alert rule conditions, placeholder patients), in linear time.

Python's ``re`` backtracks: ``^(.+)+Q$`` over a 30-character protocol name takes seconds and holds the
GIL while it does (a rule preview blocked ``health`` for 9.7 s; a saved rule runs in the ingest worker).
RE2 (``google-re2``) matches in time linear in the text and refuses what it cannot match that way
(back-references, look-around): such a pattern is refused when the rule is written, with RE2's reason.
Matching is case-insensitive, as the rules are.
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN = 1_000  # characters; RE2 bounds its memory too (max_mem) and refuses a larger program


class PatternError(ValueError):
    """A pattern RE2 cannot compile (syntax, a feature it does not have, too large)."""


class Pattern:
    """A compiled case-insensitive pattern; :meth:`search` never raises, whatever the text."""

    def __init__(self, source: str):
        if not isinstance(source, str) or not source:
            raise PatternError("a regular expression must be a non-empty text")
        if len(source) > MAX_PATTERN:
            raise PatternError(f"a regular expression is at most {MAX_PATTERN} characters")
        options = re2.Options()
        options.case_sensitive = False
        options.log_errors = False  # RE2 would print to Orthanc's stderr; the reason goes to the caller instead
        try:
            self._compiled = re2.compile(source, options)
        except (re2.error, UnicodeEncodeError, TypeError) as exc:
            raise PatternError(f"invalid regular expression {source!r}: {_reason(exc)}") from None
        self.source = source

    def search(self, text: str) -> bool:
        """Whether the pattern occurs in ``text`` (a lone surrogate in ``text`` is searched as "?")."""
        try:
            return self._compiled.search(text) is not None
        except UnicodeEncodeError:
            return self._compiled.search(text.encode("utf-8", "replace").decode("utf-8")) is not None


@lru_cache(maxsize=1024)
def compile_pattern(source: str) -> Pattern:
    """The pattern compiled once per text (rules are evaluated for every study)."""
    return Pattern(source)


def _reason(exc: Exception) -> str:
    message = exc.args[0] if exc.args else str(exc)
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
