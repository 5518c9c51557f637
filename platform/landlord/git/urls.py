"""Which Git URLs a source may use, one spelling per URL, and no credentials in messages.

:func:`normalise` gives every URL one canonical spelling before the policy
decides, so a deny line cannot be walked around by writing the same remote
differently (``HTTPS://EVIL.example.:443/a/../b`` is ``https://evil.example/b``).
The decision, the fetch and the status all use that spelling.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
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


DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


@dataclasses.dataclass(frozen=True, repr=False)
class SourceURL:
    """A source URL in its one canonical spelling, split into what each user needs.

    ``url`` (no userinfo) is what the policy decides on and status shows;
    ``fetch_url`` is what Git is given: the same, plus the SSH login name,
    which is not a secret but decides which account SSH logs in as.
    """

    scheme: str
    host: str  # lower case, no trailing dot; an IP literal in its compressed form
    port: int  # the effective port (the scheme's default when none was written)
    path: str
    user: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return f"SourceURL({self.url!r})"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"

    @property
    def fetch_url(self) -> str:
        if self.scheme == "ssh" and self.user:
            return (
                f"{self.scheme}://{urllib.parse.quote(self.user, safe='')}@{self.netloc}{self.path}"
            )
        return self.url


def normalise(url: str) -> SourceURL:
    r"""``url`` in its canonical spelling; :class:`InvalidSourceError` if it has none.

    Scheme and host are lower-cased, trailing dots leave the host, IDN hosts
    become punycode, numeric IPv4 spellings (``2130706433``, ``0x7f.1``) become
    dotted quads and IPv4-mapped IPv6 literals their IPv4 address; the
    scheme's default port is dropped; in the path, escapes of unreserved
    characters are decoded, others upper-cased, duplicate slashes collapsed and
    ``.``/``..`` segments removed (as curl itself does before it sends the
    request). Userinfo is split off. Refused: backslashes, a query or a
    fragment, an escaped ``/``, ``\`` or control character in the path.
    """
    if "\\" in url:
        raise InvalidSourceError("the source URL must not contain a backslash")
    if _CONTROL.search(url):
        raise InvalidSourceError("the source URL contains whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:
        raise InvalidSourceError(f"the source URL cannot be parsed: {error}") from None
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        raise InvalidSourceError(f"the source URL has no scheme or host: {redact(url)}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidSourceError(
            f"a Git remote URL has no query or fragment: {redact(strip_credentials(url))}"
        )
    _, at, hostport = parts.netloc.rpartition("@")
    user, password = url_credentials(url) if at else (None, None)
    host, port = _host_and_port(hostport, scheme)
    return SourceURL(
        scheme=scheme,
        host=host,
        port=port,
        path=_path(parts.path),
        user=user or None,
        password=password or None,
    )


def _host_and_port(hostport: str, scheme: str) -> tuple[str, int]:
    if hostport.startswith("["):
        literal, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise InvalidSourceError(
                f"the source URL's host is not a valid IPv6 literal: {hostport}"
            )
        host, port_text = _ipv6(literal), rest[1:]
    else:
        raw, _, port_text = hostport.partition(":")
        if ":" in port_text:
            raise InvalidSourceError(f"the source URL's host is not valid: {hostport}")
        host = _host_name(raw)
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidSourceError(f"the source URL's port is not valid: {port_text!r}")
        port = int(port_text)
    elif scheme in DEFAULT_PORTS:
        port = DEFAULT_PORTS[scheme]
    else:
        raise InvalidSourceError(f"the source URL has no port and {scheme!r} has no default")
    return host, port


def _ipv6(literal: str) -> str:
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise InvalidSourceError(
            f"the source URL's host is not a valid IPv6 literal: [{literal}]"
        ) from None
    if address.scope_id:
        raise InvalidSourceError("the source URL's host must not carry an IPv6 zone")
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else address.compressed


def _host_name(raw: str) -> str:
    host = urllib.parse.unquote(raw).rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidSourceError(f"the source URL's host is not a valid name: {raw}") from None
    host = host.lower().rstrip(".")
    if not _HOST_NAME.fullmatch(host):
        raise InvalidSourceError(f"the source URL's host is not a valid name: {raw}")
    labels = host.split(".")
    if all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise InvalidSourceError(
                f"the source URL's host is not a valid IPv4 address: {raw}"
            ) from None
    return host


def _path(raw: str) -> str:
    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        if char in _UNRESERVED:
            return char
        if char in "/\\" or ord(char) < 0x20 or ord(char) == 0x7F:
            raise InvalidSourceError(
                f"the source URL's path must not contain an escaped {match.group(0)!r}"
            )
        return match.group(0).upper()

    path = _ESCAPE.sub(decode, raw)
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in (".", ""):
            segments.append(segment)
    trailing = "/" if path.endswith(("/", "/.", "/..")) and segments else ""
    return "/" + "/".join(segments) + trailing
