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
import json
import re
from collections.abc import Iterable

MIN_LENGTH = 4
REDACTED = "<redacted>"
# What one run may hold: past these, the run fails rather than keep (and match) more.
MAX_VALUES = 5_000
MAX_BYTES = 4 * 1024 * 1024


class TooManyValuesError(ValueError):
    """A run decrypted more values than it can keep out of its messages."""


class Redactor:
    """The decrypted values of one run, and the one way to scrub text of them."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()  # what scrub replaces
        self._known: set[str] = set()  # every value whole, however short
        self._bytes = 0
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def __bool__(self) -> bool:
        return bool(self._known)

    def add(self, values: Iterable[str], *, lines: bool = True) -> None:
        r"""Remember more values (each whole and in the forms messages quote it in).

        With ``lines``, each line of a value too; a whole file is added without
        (its lines, ``kind: Secret``, are no secret). A value is also matched
        base64-encoded, escaped as Go and JSON quote it (``\"``, ``\t``), with
        what is not printable shown as ``?`` (as excerpts show it), and as the
        decimal bytes Go prints for invalid text. TooManyValuesError past the caps.
        """
        before = len(self._values)
        for value in values:
            self._known.add(value.strip())
            for part in (value, *(value.splitlines() if lines else ())):
                part = part.strip()
                if len(part) < MIN_LENGTH:
                    continue
                for form in _forms(part):
                    if form not in self._values:
                        self._values.add(form)
                        self._bytes += len(form)
            if len(self._values) > MAX_VALUES or self._bytes > MAX_BYTES:
                raise TooManyValuesError(
                    f"the revision decrypts more than {MAX_VALUES} values or {MAX_BYTES} bytes "
                    "of them: more than Landlord can keep out of its messages"
                )
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
        self._bytes = 0
        self._pattern = None


def _forms(value: str) -> set[str]:
    escaped = json.dumps(value)[1:-1]
    return {
        value,
        base64.b64encode(value.encode()).decode(),
        escaped,
        escaped.replace("\\u", "\\x"),
        "".join(c if c.isprintable() else "?" for c in value),
        " ".join(str(b) for b in value.encode()),
    }
