"""Which addresses a tenant's source may reach: entries, resolution, the apiserver."""

from __future__ import annotations

import ipaddress

import pytest

from landlord.git import network
from landlord.settings import SourcesSettings

DEFAULTS = SourcesSettings()


def _policy(
    answers: dict[str, list[str]] | None = None,
    *,
    allowed: tuple[str, ...] = (),
    apiserver: str | None = "https://127.0.0.1:6443",
) -> network.NetworkPolicy:
    answers = answers or {}

    def resolver(host: str, port: int) -> list[str]:
        if host in answers:
            return answers[host]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise OSError(f"[Errno -2] Name or service not known: {host}") from None

    return network.NetworkPolicy.from_settings(
        denied=[*DEFAULTS.denied_networks, *DEFAULTS.cluster_networks],
        allowed=allowed,
        apiserver=apiserver,
        resolver=resolver,
    )


@pytest.mark.parametrize(
    ("text", "network_", "port"),
    [
        ("10.0.0.0/16", "10.0.0.0/16", None),
        ("127.0.0.1", "127.0.0.1/32", None),
        ("127.0.0.1:6443", "127.0.0.1/32", 6443),
        ("10.0.0.0/16:443", "10.0.0.0/16", 443),
        ("::1", "::1/128", None),
        ("fe80::/10", "fe80::/10", None),
        ("[::1]:6443", "::1/128", 6443),
        ("[fd00::/8]:22", "fd00::/8", 22),
    ],
)
def test_entries(text: str, network_: str, port: int | None) -> None:
    entry = network.Entry.parse(text)

    assert (str(entry.network), entry.port) == (network_, port)
    assert network.Entry.parse(str(entry)) == entry


@pytest.mark.parametrize("text", ["git.example.com", "10.0.0.0/33", "1.2.3.4:0", "[::1", "::1:x:"])
def test_bad_entries_are_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        network.Entry.parse(text)


@pytest.mark.parametrize(
    ("address", "port"),
    [
        ("127.0.0.1", 8080),
        ("127.9.9.9", 80),
        ("::1", 443),
        ("0.0.0.0", 80),  # noqa: S104 - an address a source might name, not a bind
        ("::", 80),
        ("169.254.169.254", 80),
        ("fe80::1", 443),
        ("10.0.0.1", 443),  # the local control plane's Service range
        ("10.0.2.7", 80),  # its kwok Pods
        ("10.96.0.1", 443),  # kubeadm's Services
        ("10.244.1.5", 80),  # kubeadm's Pods
        ("::ffff:127.0.0.1", 80),  # IPv4-mapped: reaches 127.0.0.1
        ("::ffff:169.254.169.254", 80),
        ("64:ff9b::a9fe:a9fe", 80),  # NAT64: reaches 169.254.169.254
        ("::7f00:1", 80),  # IPv4-compatible: reaches 127.0.0.1
        ("2002:a9fe:a9fe::1", 80),  # 6to4: reaches 169.254.169.254
        ("100.100.100.200", 80),  # a metadata service in the shared address space
        ("fd00:ec2::254", 80),  # an IPv6 metadata address
    ],
)
def test_the_defaults_refuse(address: str, port: int) -> None:
    assert _policy().refusal(address, port)


@pytest.mark.parametrize("address", ["140.82.112.3", "2606:50c0:8000::153", "192.168.1.10"])
def test_the_defaults_allow_the_internet_and_other_private_ranges(address: str) -> None:
    assert _policy().refusal(address, 443) is None


def test_an_allow_entry_is_an_exception_to_the_deny_list_only() -> None:
    policy = _policy(allowed=("127.0.0.1:8081", "10.0.5.5"))

    assert policy.refusal("127.0.0.1", 8081) is None
    assert policy.refusal("127.0.0.1", 8082) == (
        "127.0.0.1 port 8082 is in the denied network 127.0.0.0/8"
    )
    assert policy.refusal("10.0.5.5", 22) is None
    assert policy.refusal("10.0.5.6", 22)


def test_the_apiserver_is_denied_whatever_is_allowed() -> None:
    policy = _policy(allowed=("127.0.0.0/8", "0.0.0.0/0"))

    assert policy.refusal("127.0.0.1", 6443) == (
        "127.0.0.1 port 6443 is the apiserver (0.0.0.0/0:6443)"
    )
    # A loopback apiserver may listen on every address of the host.
    assert policy.refusal("192.0.2.2", 6443)
    assert policy.refusal("127.0.0.1", 6444) is None


def test_a_remote_apiserver_is_denied_at_its_address_and_port() -> None:
    policy = _policy(
        {"kube.example.com": ["192.0.2.10", "2001:db8::10"]},
        apiserver="https://kube.example.com:6443",
    )

    assert policy.refusal("192.0.2.10", 6443)
    assert policy.refusal("2001:db8::10", 6443)
    assert policy.refusal("192.0.2.10", 443) is None
    assert policy.refusal("192.0.2.11", 6443) is None


def test_every_resolved_address_must_pass() -> None:
    policy = _policy({"mixed.example": ["140.82.112.3", "169.254.169.254"]})

    with pytest.raises(network.BlockedAddressError) as blocked:
        policy.check("https://mixed.example/x.git", "mixed.example", 443)

    assert blocked.value.reason == "SourceUnreachable"
    assert blocked.value.message == (
        "could not fetch from https://mixed.example/x.git; "
        "check the URL, the network and the credentials"
    )
    assert "169.254.0.0/16" in blocked.value.detail
    assert "169.254" not in blocked.value.message


def test_the_checked_addresses_are_what_the_fetch_is_pinned_to() -> None:
    policy = _policy({"git.example.com": ["140.82.112.3", "2606:50c0:8000::153"]})

    resolution = policy.check("https://git.example.com/x.git", "git.example.com", 443)

    assert resolution.addresses == ("140.82.112.3", "2606:50c0:8000::153")
    assert not resolution.literal
    assert policy.check("https://140.82.112.3/x.git", "140.82.112.3", 443).literal


def test_an_unresolvable_name_reads_like_an_unreachable_host() -> None:
    with pytest.raises(network.BlockedAddressError) as blocked:
        _policy().check("https://nowhere.invalid/x.git", "nowhere.invalid", 443)

    assert blocked.value.message == network.unreachable_message("https://nowhere.invalid/x.git")
    assert "cannot resolve nowhere.invalid" in blocked.value.detail
