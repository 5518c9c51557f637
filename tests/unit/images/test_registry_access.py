"""Which registry URLs a namespace's image scans may reach, decided before any connection."""

from __future__ import annotations

import re
from typing import Any

import pytest

from landlord.git import network
from landlord.images import access
from landlord.oci import reference
from landlord.policy import Gate
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from landlord.runtime.namespaces import NamespaceLabels

LINES = """
g, tenant:*, role:tenant
p, role:tenant, source, *://**, allow
p, tenant:a, source, oci://registry.example/forbidden/**, deny
p, tenant:a, source, https://evil.example/**, deny
"""


class _NoKube:
    """Every namespace these tests use is in the watch cache: the apiserver is never asked."""

    def get(self, *_: Any, **__: Any) -> None:
        raise AssertionError("no apiserver call expected")


def _access(network_policy: network.NetworkPolicy | None = None) -> access.Access:
    model = (DEFAULTS / "model.conf").read_text()
    gate = Gate(Policy(Snapshot(model, LINES, "test")))
    namespaces = NamespaceLabels()
    namespaces.update("team-a", {"landlord.dev/tenant": "a"})
    namespaces.update("landlord-system", {})
    return access.Access(
        _NoKube(),  # type: ignore[arg-type]
        gate=gate,
        namespaces=namespaces,
        platform_namespace="landlord-system",
        network_policy=network_policy,
    )


def test_a_denied_registry_repository_is_refused_before_anything_else() -> None:
    denied = reference.Repository("registry.example", "forbidden/app")

    with pytest.raises(access.DeniedError, match=re.escape("oci://registry.example/forbidden/app")):
        _access().decide_registry("team-a", denied)
    _access().decide_registry("team-a", reference.Repository("registry.example", "team-a/app"))
    _access().decide_registry("landlord-system", denied)  # the platform's own: not gated


def test_a_token_realm_elsewhere_is_decided_on_its_own_url_without_its_query() -> None:
    check = _access().checker(
        "team-a", reference.Repository("registry.example", "team-a/app"), insecure=False
    )

    assert check("https://registry.example/v2/team-a/app/tags/list?n=1000") is None
    assert check("https://auth.example/token?scope=repository:team-a/app:pull") is None
    with pytest.raises(access.DeniedError, match=re.escape("https://evil.example/token")):
        check("https://evil.example/token?service=x")


@pytest.mark.parametrize("url", ["http://registry.example/v2/", "file:///etc/passwd", "ftp://x/"])
def test_only_https_is_followed_unless_insecure(url: str) -> None:
    check = _access().checker(
        "team-a", reference.Repository("registry.example", "team-a/app"), insecure=False
    )

    with pytest.raises(access.DeniedError):
        check(url)


def test_every_url_passes_the_network_deny_list() -> None:
    policy = network.NetworkPolicy.from_settings(
        denied=["10.0.0.0/8"], resolver=lambda host, port: ["10.1.2.3"]
    )
    check = _access(policy).checker(
        "team-a", reference.Repository("registry.example", "team-a/app"), insecure=False
    )

    with pytest.raises(network.BlockedAddressError):
        check("https://registry.example/v2/")
