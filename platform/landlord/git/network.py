"""Which network addresses a tenant's source may reach, decided after DNS resolution.

A tenant chooses the URL of its source, so without a check the operator
would connect wherever a tenant points it: the apiserver, the cloud's
metadata service at ``169.254.169.254``, a Service inside the cluster, or a
port on the operator's own host. The platform sets a deny list of networks
(optionally narrowed to one port) and an allow list of exceptions; the
apiserver's own address and port is always denied. Every address a host
name resolves to must pass, and the fetch is then pinned to those addresses
(:class:`Resolution`), so DNS cannot answer one address to the check and
another to Git.

Every refusal looks the same to the tenant as a refused, timed-out or TLS-
failed connection (:data:`UNREACHABLE`, :func:`unreachable_message`): a
source must not become a port scanner of the platform's network. The detail
goes to the operator's log only.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
import urllib.parse
from collections.abc import Callable, Iterable, Sequence

from landlord import errors

log = logging.getLogger(__name__)

UNREACHABLE = "SourceUnreachable"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


def unreachable_message(url: str) -> str:
    """The one message a tenant sees for every transport failure, denied addresses included."""
    return f"could not fetch from {url}; check the URL, the network and the credentials"


class BlockedAddressError(errors.RetryableError):
    """A source's host is denied, or cannot be resolved; ``detail`` is for the operator's log."""

    reason = UNREACHABLE

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(unreachable_message(url))
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of a deny or allow list: a network, optionally only one port of it."""

    network: IPNetwork
    port: int | None = None

    def matches(self, address: IPAddress, port: int) -> bool:
        return address in self.network and self.port in (None, port)

    def __str__(self) -> str:
        if self.port is None:
            return str(self.network)
        return (
            f"[{self.network}]:{self.port}"
            if self.network.version == 6
            else (f"{self.network}:{self.port}")
        )

    @classmethod
    def parse(cls, text: str) -> Entry:
        """``10.0.0.0/16``, ``::1``, ``127.0.0.1:6443``, ``10.0.0.0/16:443``, ``[::1]:6443``."""
        text = text.strip()
        port: str | None = None
        if text.startswith("["):
            network, bracket, rest = text[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"not a network entry: {text!r}")
            port = rest[1:] or None
        elif text.count(":") == 1:
            network, _, port = text.partition(":")
        else:
            network = text
        try:
            parsed = ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(
                f"not a network entry: {text!r} (use a CIDR, an address, or either with :port)"
            ) from None
        if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"not a port in network entry {text!r}")
        return cls(parsed, int(port) if port is not None else None)


# IPv6 prefixes that carry an IPv4 address in their last 32 bits and can reach
# it: NAT64 (RFC 6052) and IPv4-compatible addresses (deprecated, still routed
# by some stacks). 6to4 (2002::/16) carries it in bits 16-48.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def canonical(address: str) -> IPAddress:
    """``address`` as the address a connection really reaches.

    IPv4-mapped (``::ffff:a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``),
    IPv4-compatible (``::a.b.c.d``) and 6to4 (``2002:aabb:ccdd::``) spellings
    become the IPv4 address inside them, so a deny line for ``169.254.0.0/16``
    or ``127.0.0.0/8`` cannot be dodged by writing it in IPv6.
    """
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if not isinstance(parsed, ipaddress.IPv6Address):
        return parsed
    if parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    if parsed.sixtofour is not None:
        return parsed.sixtofour
    if parsed in _NAT64 or (parsed in _IPV4_COMPATIBLE and int(parsed) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(parsed) & 0xFFFFFFFF)
    return parsed


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The addresses a source's host was checked at; the fetch connects to exactly these."""

    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def literal(self) -> bool:
        """True when the host already is an address (nothing to pin)."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class NetworkPolicy:
    """The platform's deny and allow lists, and the apiserver's address that is always denied."""

    def __init__(
        self,
        *,
        denied: Sequence[Entry],
        allowed: Sequence[Entry] = (),
        always_denied: Sequence[Entry] = (),
        resolver: Resolver = system_resolver,
    ) -> None:
        self.denied = tuple(denied)
        self.allowed = tuple(allowed)
        self.always_denied = tuple(always_denied)
        self.resolver = resolver

    @classmethod
    def from_settings(
        cls,
        *,
        denied: Iterable[str],
        allowed: Iterable[str] = (),
        apiserver: str | None = None,
        resolver: Resolver = system_resolver,
    ) -> NetworkPolicy:
        """Parse the settings' lists; ``apiserver`` is the operator's apiserver URL."""
        return cls(
            denied=[Entry.parse(item) for item in denied],
            allowed=[Entry.parse(item) for item in allowed],
            always_denied=apiserver_entries(apiserver, resolver) if apiserver else [],
            resolver=resolver,
        )

    def refusal(self, address: str, port: int) -> str | None:
        """Which entry refuses ``address:port``, or None when a source may connect there."""
        parsed = canonical(address)
        for entry in self.always_denied:
            if entry.matches(parsed, port):
                return f"{parsed} port {port} is the apiserver ({entry})"
        if any(entry.matches(parsed, port) for entry in self.allowed):
            return None
        for entry in self.denied:
            if entry.matches(parsed, port):
                return f"{parsed} port {port} is in the denied network {entry}"
        return None

    def check(self, url: str, host: str, port: int) -> Resolution:
        """Resolve ``host``; every address must pass, else :class:`BlockedAddressError`."""
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as error:
            raise BlockedAddressError(url, f"cannot resolve {host}: {error}") from None
        if not addresses:
            raise BlockedAddressError(url, f"{host} resolves to no address")
        for address in addresses:
            refused = self.refusal(address, port)
            if refused:
                raise BlockedAddressError(url, f"{host} resolves to {refused}")
        return Resolution(host, port, tuple(addresses))


def apiserver_entries(server: str, resolver: Resolver = system_resolver) -> list[Entry]:
    """The apiserver's ``address:port`` entries, from the server URL of a kubeconfig."""
    parts = urllib.parse.urlsplit(server)
    if not parts.hostname:
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(canonical(parts.hostname))]
    except ValueError:
        try:
            addresses = resolver(parts.hostname, port)
        except OSError as error:
            log.warning(
                "cannot resolve the apiserver %s (%s): only the deny lists keep sources from it",
                parts.hostname,
                error,
            )
            addresses = []
    entries = []
    for address in addresses:
        parsed = canonical(address)
        if parsed.is_loopback:
            # An apiserver reached on loopback may listen on every address of this
            # host, whose other addresses no default entry covers: its port is
            # denied everywhere.
            return [
                Entry(ipaddress.ip_network("0.0.0.0/0"), port),
                Entry(ipaddress.ip_network("::/0"), port),
            ]
        entries.append(Entry(ipaddress.ip_network(parsed), port))
    return entries
