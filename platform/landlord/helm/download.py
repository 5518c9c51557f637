"""HTTP(S) GETs of tenant-chosen URLs: every hop checked, connected where it was checked.

A chart repository's index and archives are fetched by the operator, so every
URL passes the same checks as a Git source before a connection is opened —
the scheme allow-list, the policy's ``source`` point and the network deny list
(:class:`~landlord.git.network.NetworkPolicy`) — and the connection goes to
the very addresses the deny list approved (no second DNS answer can move it to
the apiserver or a metadata address). Redirects are followed a few times, each
hop checked the same way; credentials never follow a redirect to another host.
The body is read in chunks up to a cap; a timeout bounds the whole fetch.
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable

from landlord import errors
from landlord.git import network, pinned

MAX_REDIRECTS = 5
CHUNK = 64 * 1024

# Decides one URL before it is fetched: the addresses to connect to (None: any,
# resolved by the system), or raises (policy denial, blocked address, bad URL).
Checker = Callable[[str], network.Resolution | None]


class DownloadError(errors.RetryableError):
    """A fetch failed; ``reason`` says how (the message never holds credentials)."""

    def __init__(self, message: str, *, reason: str = "FetchFailed") -> None:
        super().__init__(message)
        self.reason = reason


class TooLargeError(DownloadError):
    def __init__(self, message: str) -> None:
        super().__init__(message, reason="ArtifactTooLarge")


@dataclasses.dataclass(frozen=True)
class Auth:
    """Basic credentials for the repository's own host, and a CA to trust."""

    username: str | None = None
    password: str | None = None
    ca_pem: bytes | None = None


@dataclasses.dataclass(frozen=True)
class Response:
    """A fetched body, where it was finally fetched from, and its validator."""

    url: str
    body: bytes
    etag: str | None


def get(
    url: str,
    *,
    check: Checker,
    max_bytes: int,
    timeout: float,
    auth: Auth | None = None,
    credentials_host: str | None = None,
    user_agent: str = "landlord-helm",
) -> Response:
    """GET ``url`` (following checked redirects) within ``max_bytes`` and ``timeout`` seconds.

    ``credentials_host``: the only host basic credentials are sent to.
    """
    deadline = time.monotonic() + timeout
    current = url
    first = urllib.parse.urlsplit(url)
    # Credentials go to the repository's own scheme, host and port, never further.
    home = (first.scheme, credentials_host or first.hostname, first.port)
    for _ in range(MAX_REDIRECTS + 1):
        resolution = check(current)
        parts = urllib.parse.urlsplit(current)
        headers = {"User-Agent": user_agent, "Accept": "*/*"}
        if (
            auth is not None
            and auth.username is not None
            and (parts.scheme, parts.hostname, parts.port) == home
        ):
            pair = f"{auth.username}:{auth.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        try:
            connection = pinned.connection(
                parts, resolution, deadline, auth.ca_pem if auth else None
            )
        except (OSError, ValueError, ssl.SSLError) as error:
            raise DownloadError(
                f"the repository's CA cannot be used: {pinned.why(error)}"
            ) from None
        # Whatever the server does (a byte every few seconds, headers that never end),
        # the connection is closed at the deadline.
        watchdog = threading.Timer(
            max(0.0, deadline - time.monotonic()), pinned.shut, (connection,)
        )
        watchdog.daemon = True
        watchdog.start()
        try:
            path = parts.path or "/"
            connection.request(
                "GET", path + (f"?{parts.query}" if parts.query else ""), headers=headers
            )
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise DownloadError(f"{pinned.shown(current)} redirected without a Location")
                current = urllib.parse.urljoin(current, location)
                continue
            if response.status != 200:
                raise DownloadError(
                    f"{pinned.shown(current)} answered HTTP {response.status} {response.reason}",
                    reason="AuthenticationFailed"
                    if response.status in (401, 403)
                    else "FetchFailed",
                )
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise TooLargeError(
                    f"{pinned.shown(current)} is {length} bytes; the limit is {max_bytes}"
                )
            body = _read(response, max_bytes, deadline, current)
            return Response(current, body, response.getheader("ETag"))
        except (OSError, http.client.HTTPException, ValueError) as error:
            if time.monotonic() >= deadline:
                raise DownloadError(
                    f"{pinned.shown(current)} took longer than the timeout", reason="Timeout"
                ) from None
            raise DownloadError(
                f"{pinned.shown(current)} could not be fetched: {pinned.why(error)}"
            ) from None
        finally:
            watchdog.cancel()
            connection.close()
    raise DownloadError(f"{pinned.shown(url)} redirected more than {MAX_REDIRECTS} times")


def _read(response: http.client.HTTPResponse, max_bytes: int, deadline: float, url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise DownloadError(
                f"{pinned.shown(url)} took longer than the timeout", reason="Timeout"
            )
        chunk = response.read1(CHUNK)  # what one receive brings: the deadline is checked often
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise TooLargeError(f"{pinned.shown(url)} is larger than {max_bytes} bytes")
        chunks.append(chunk)


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of a fetched body."""
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()
