"""Keep decrypted values out of every message Landlord writes.

A reconcile that decrypted a tenant's Secrets holds their plaintext until it
has applied them. Whatever it reports afterwards — a condition message, an
Event, a log line, an error raised to the controller — may quote what the
apiserver or a tool answered, and those answers can echo a value (an invalid
field, a conflict). :class:`Redactor` knows the run's decrypted values and
replaces each of them, and its base64 form, by ``<redacted>`` in any text.

Values shorter than :data:`MIN_LENGTH` characters are not replaced: cutting
every ``a`` or ``1`` out of a message would make it unreadable and hide
nothing worth hiding.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

MIN_LENGTH = 4
REDACTED = "<redacted>"


class Redactor:
    """The decrypted values of one run, and the one way to scrub text of them."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()  # what scrub replaces
        self._known: set[str] = set()  # every value whole, however short
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def __bool__(self) -> bool:
        return bool(self._known)

    def add(self, values: Iterable[str], *, lines: bool = True) -> None:
        """Remember more values (each whole and base64-encoded; with ``lines``, line by line).

        A whole file is added without ``lines``: its lines (``kind: Secret``) are no secret.
        """
        before = len(self._values)
        for value in values:
            self._known.add(value.strip())
            for part in (value, *(value.splitlines() if lines else ())):
                part = part.strip()
                if len(part) < MIN_LENGTH:
                    continue
                self._values.add(part)
                self._values.add(base64.b64encode(part.encode()).decode())
        if len(self._values) != before:
            self._pattern = None

    def __contains__(self, value: str) -> bool:
        """Whether ``value`` is one of the decrypted values (whole)."""
        return value.strip() in self._known

    def scrub(self, text: str) -> str:
        """``text`` with every known value replaced by ``<redacted>``."""
        if not self._values or not text:
            return text
        if self._pattern is None:
            # Longest first: a value that contains another is replaced whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return self._pattern.sub(REDACTED, text)

    def forget(self) -> None:
        """Drop every value (the run is over)."""
        self._values.clear()
        self._known.clear()
        self._pattern = None
