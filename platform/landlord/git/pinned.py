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


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def connection(
    parts: urllib.parse.SplitResult,
    resolution: network.Resolution | None,
    deadline: float,
    ca_pem: bytes | None,
    *,
    context: ssl.SSLContext | None = None,
) -> http.client.HTTPConnection:
    """A connection to ``parts``' host, its socket to the addresses ``resolution`` checked.

    The port is always given (``http.client`` would otherwise read the last
    ``:NN`` of an IPv6 literal as one, and connect where nothing was checked),
    and the socket always goes to the checked addresses on the checked port,
    literals included. ``context``: a TLS context made by the caller (a client
    certificate, say); ``ca_pem`` is then ignored.
    """
    host = parts.hostname or ""
    port = parts.port or default_port(parts.scheme)
    left = max(0.1, deadline - time.monotonic())
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        if context is None:
            context = ssl.create_default_context()
            if ca_pem:
                context.load_verify_locations(cadata=ca_pem.decode())
        connection = http.client.HTTPSConnection(host, port, timeout=left, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=left)
    if resolution is not None:
        pinned = resolution.addresses or (host,)
        checked_port = resolution.port

        def connect(
            address: tuple[str, int], timeout: float | None = None, source: object = None
        ) -> socket.socket:
            last: OSError | None = None
            for candidate in pinned:
                try:
                    return socket.create_connection((candidate, checked_port), timeout)
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
