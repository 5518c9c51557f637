"""Which Git URLs a source may use, and keeping credentials out of every message."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

from landlord import errors

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class InvalidSourceError(errors.TerminalError):
    """The source's URL or ref can never work as written."""

    reason = "InvalidSource"


def validate_url(url: str, allowed_schemes: Iterable[str]) -> urllib.parse.SplitResult:
    """Parse ``url`` and refuse anything but a plain remote of an allowed scheme.

    Refused: other schemes (``file``, ``ext::``, ``git``…), option-looking
    values (``-u…``, ``--upload-pack=…``), whitespace and control characters,
    a missing host, and ``file``/``ext`` transports hidden behind ``::``.
    """
    allowed = sorted({scheme.lower() for scheme in allowed_schemes})
    if url.startswith("-"):
        raise InvalidSourceError(f"the source URL must not start with '-': {redact(url)}")
    if _CONTROL.search(url):
        raise InvalidSourceError("the source URL contains whitespace or control characters")
    if "::" in url.split("/", 1)[0] or url.lower().startswith("ext:"):
        raise InvalidSourceError("remote helpers such as ext:: are not allowed")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in allowed:
        raise InvalidSourceError(
            f"URL scheme {scheme or '(none)'!r} is not allowed (allowed: {', '.join(allowed)})",
            hint="use an https:// or ssh:// URL; the platform may allow more with "
            "LANDLORD_SOURCES__ALLOWED_SCHEMES",
        )
    if scheme != "file" and not parts.hostname:
        raise InvalidSourceError(f"the source URL has no host: {redact(url)}")
    if parts.hostname and parts.hostname.startswith("-"):
        raise InvalidSourceError("the source URL's host must not start with '-'")
    if parts.username and parts.username.startswith("-"):
        raise InvalidSourceError("the source URL's user must not start with '-'")
    return parts


def strip_credentials(url: str) -> str:
    """``url`` without any ``user:password@`` part."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def url_credentials(url: str) -> tuple[str | None, str | None]:
    """The username and password embedded in ``url``, if any."""
    parts = urllib.parse.urlsplit(url)
    return (
        urllib.parse.unquote(parts.username) if parts.username else None,
        urllib.parse.unquote(parts.password) if parts.password else None,
    )


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL userinfo and every known secret value replaced by ``***``."""
    cleaned = _USERINFO.sub(r"\g<scheme>***@", text)
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        cleaned = cleaned.replace(secret, "***")
    return cleaned
