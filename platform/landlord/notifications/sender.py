"""POST one delivery to a tenant-chosen address, connected where the deny list approved.

The address (and the proxy, when the Provider names one) is checked before any
connection, like every URL a source fetches: an allowed scheme and the network
deny list (the apiserver always denied), and the socket goes to the very
addresses that were checked. Redirects are not followed (a webhook that moves
is a failed delivery, said so); the answer is read up to a small cap, within
the Provider's timeout.
"""

from __future__ import annotations

import dataclasses
import http.client
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable

from landlord import errors
from landlord.git import network, pinned
from landlord.notifications.payloads import Request

MAX_ANSWER = 64 * 1024
# Every failure to connect, refused by the deny list or not: the same words.
UNREACHABLE = "{shown} could not be reached (refused, unresolvable, or no answer in time)"
SCHEMES = ("http", "https")

# Decides one URL before a connection: where to connect (None: the system resolves),
# or raises (a scheme not allowed, an address the deny list refuses).
Checker = Callable[[str], network.Resolution | None]


class DeliveryError(errors.RetryableError):
    """A delivery failed; ``retry`` says whether sending it again may help."""

    reason = "DeliveryFailed"

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclasses.dataclass(frozen=True)
class Options:
    """How to connect: a CA to trust, a proxy, a time limit."""

    timeout: float = 15.0
    ca_pem: bytes | None = None
    proxy: str | None = None


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what messages show (a webhook's path is its secret)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an invalid URL"
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def post(request: Request, check: Checker, options: Options) -> int:
    """Send ``request``; its HTTP status when 2xx, else DeliveryError.

    A message never shows more of the address than scheme, host and port (a
    Slack or Teams URL's path is its credential), and every failure to connect
    reads the same (no port scan of the networks the deny list leaves open).
    """
    deadline = time.monotonic() + options.timeout
    shown = host_of(request.url)
    try:
        parts = urllib.parse.urlsplit(request.url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise DeliveryError(f"{shown} is not an http(s) URL", retry=False)
        if options.proxy:
            via = urllib.parse.urlsplit(options.proxy)
            if via.scheme != "http" or not via.hostname:
                raise DeliveryError(
                    "the proxy must be an http:// URL (CONNECT for https targets)", retry=False
                )
            check(request.url)  # the target too: a proxy is no way around the deny list
            resolution = check(options.proxy)
            if parts.scheme == "https":
                connection = _tunnel(via, parts, resolution, deadline, options.ca_pem)
                target = _path(parts)
            else:
                connection = pinned.connection(via, resolution, deadline, None)
                target = request.url  # absolute form, to the proxy
        else:
            resolution = check(request.url)
            connection = pinned.connection(parts, resolution, deadline, options.ca_pem)
            target = _path(parts)
    except DeliveryError:
        raise
    except errors.LandlordError:
        # Refused or unresolvable, not told apart; a lookup may fail once: retried.
        raise DeliveryError(UNREACHABLE.format(shown=shown), retry=True) from None
    except ssl.SSLError as error:
        raise DeliveryError(
            f"the Provider's CA cannot be used: {pinned.why(error)}", retry=False
        ) from None
    except (OSError, ValueError):
        raise DeliveryError(
            f"{shown}: the address or the proxy is not usable", retry=False
        ) from None
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), pinned.shut, (connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target, body=request.body, headers=dict(request.headers))
        response = connection.getresponse()
        response.read(MAX_ANSWER)
        status = response.status
    except ssl.SSLCertVerificationError as error:
        raise DeliveryError(f"{shown}: {pinned.why(error)}", retry=False) from None
    except (OSError, http.client.HTTPException, ValueError):
        raise DeliveryError(UNREACHABLE.format(shown=shown), retry=True) from None
    finally:
        watchdog.cancel()
        connection.close()
    if 200 <= status < 300:
        return status
    retry = status >= 500 or status == 429
    moved = " (redirects are not followed)" if 300 <= status < 400 else ""
    raise DeliveryError(f"{shown} answered HTTP {status}{moved}", retry=retry)


def _path(parts: urllib.parse.SplitResult) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _tunnel(
    via: urllib.parse.SplitResult,
    parts: urllib.parse.SplitResult,
    resolution: network.Resolution | None,
    deadline: float,
    ca_pem: bytes | None,
) -> http.client.HTTPConnection:
    """An HTTPS connection to ``parts`` through the proxy ``via`` (CONNECT), pinned to it."""
    left = max(0.1, deadline - time.monotonic())
    context = ssl.create_default_context()
    if ca_pem:
        context.load_verify_locations(cadata=ca_pem.decode())
    connection = http.client.HTTPSConnection(
        via.hostname or "", via.port, timeout=left, context=context
    )
    connection.set_tunnel(parts.hostname or "", parts.port or 443)
    plain = pinned.connection(via._replace(scheme="http"), resolution, deadline, None)
    connection._create_connection = plain._create_connection  # type: ignore[attr-defined]
    return connection
