"""HTTP(S) connections to tenant-chosen URLs, made to the addresses the network policy checked.

:func:`connection` opens a connection whose socket goes to the very addresses
:meth:`landlord.git.network.NetworkPolicy.check` approved (no second DNS answer
can move it to the apiserver or a metadata address); :func:`shut` is the
watchdog that ends a receive blocked on it; :func:`shown` and :func:`why`
describe a URL and a failure without credentials. Used by the chart downloads
and by notification deliveries.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import time
import urllib.parse

from landlord.git import network


def connection(
    parts: urllib.parse.SplitResult,
    resolution: network.Resolution | None,
    deadline: float,
    ca_pem: bytes | None,
) -> http.client.HTTPConnection:
    host = parts.hostname or ""
    left = max(0.1, deadline - time.monotonic())
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if ca_pem:
            context.load_verify_locations(cadata=ca_pem.decode())
        connection = http.client.HTTPSConnection(host, parts.port, timeout=left, context=context)
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=left)
    if resolution is not None and not resolution.literal:
        pinned = resolution.addresses

        def connect(
            address: tuple[str, int], timeout: float | None = None, source: object = None
        ) -> socket.socket:
            last: OSError | None = None
            for candidate in pinned:
                try:
                    return socket.create_connection((candidate, address[1]), timeout)
                except OSError as error:
                    last = error
            raise last or OSError("no address to connect to")

        connection._create_connection = connect  # type: ignore[attr-defined]
    return connection


def shut(connection: http.client.HTTPConnection) -> None:
    """The watchdog: shut the socket, which ends any receive blocked on it."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def shown(url: str) -> str:
    """A URL without userinfo, query or fragment: safe for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def why(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({error.verify_message})"
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    return str(error) or type(error).__name__
