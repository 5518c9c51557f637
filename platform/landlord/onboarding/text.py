r"""Caller-controlled text made safe for commit trailers, Git authors and annotations.

A user name comes from whatever authenticated the caller (a TokenReview, and
behind it an OIDC provider, a webhook or a certificate); nothing bounds what it
holds. Written into a commit message as ``Landlord-Requested-By: <name>``, a
newline in it would start a second trailer of the caller's choosing
(``Landlord-Approved-By: root``), and the audit trail reads trailers. So every
such value becomes one printable line: control, format and line-separator
characters are shown escaped (``\n``, ``\x00``, ``\u202e``), backslashes
doubled so an escape cannot be faked, and the length is bounded.
"""

from __future__ import annotations

import re
import unicodedata

# Room for the longest service-account user: 22 + 63 (namespace) + 1 + 253 (name).
MAX_LENGTH = 512
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_AUTHOR_UNSAFE = str.maketrans({"<": "‹", ">": "›"})


def _shown(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    category = unicodedata.category(char)
    if category[0] == "C" or category in ("Zl", "Zp"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def one_line(value: str, *, limit: int = MAX_LENGTH) -> str:
    """``value`` as one printable line of at most ``limit`` characters (``…`` when cut)."""
    text = "".join(_shown(char) for char in value).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or "<empty>"


def author_name(user: str) -> str:
    """A Git author name: one line, without the ``<`` ``>`` that delimit the e-mail."""
    return one_line(user).translate(_AUTHOR_UNSAFE)


def author_email(user: str) -> str:
    """The user name if it is a plain e-mail address, else ``<name>@users.landlord.invalid``."""
    if _EMAIL.match(user) and len(user) <= 254:
        return user
    local = "".join(c if c.isascii() and (c.isalnum() or c in "-._") else "." for c in user)
    return f"{local.strip('.')[:64] or 'user'}@users.landlord.invalid"
