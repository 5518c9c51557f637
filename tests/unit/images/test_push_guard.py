"""The push guard compares repositories by host and path, whatever the spelling."""

from __future__ import annotations

import pytest

from landlord.images import guard

KNOWN = guard.gather(
    [
        ("landlord-system", "platform", "https://git.example/platform/fleet.git"),
        ("team-b", "app", "https://git.example/team-b/app"),
        ("team-a", "own", "https://git.example/team-a/app.git"),
        ("team-a2", "shared", "https://git.example/team-a/shared"),
    ],
    [("team-c", "ssh://git@git.example:2222/team-c/app.git")],
    owner_of=lambda namespace: {
        "landlord-system": "platform",
        "team-a": "tenant:a",
        "team-a2": "tenant:a",
    }.get(namespace, f"tenant:{namespace.removeprefix('team-')}"),
)


@pytest.mark.parametrize(
    ("url", "refused_by"),
    [
        ("https://git.example/platform/fleet.git", "GitRepository landlord-system/platform"),
        ("http://GIT.example:8080/Platform/fleet/", "GitRepository landlord-system/platform"),
        ("ssh://git@git.example/platform/fleet", "GitRepository landlord-system/platform"),
        ("https://git.example/team-b/app.git", "GitRepository team-b/app"),
        ("https://user:pw@git.example/team-b//app", "GitRepository team-b/app"),
        ("https://git.example/team-c/app", "Tenant team-c"),
    ],
)
def test_another_owners_repository_is_refused_in_any_spelling(url: str, refused_by: str) -> None:
    found = guard.refusal(url, "tenant:a", KNOWN)

    assert found is not None
    assert found.where == refused_by


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example/team-a/app.git",  # its own, in one namespace
        "https://git.example/team-a/shared.git",  # its own, in another of its namespaces
        "https://git.example/team-a/new",  # known to nobody
        "https://other.example/team-b/app",  # the same path elsewhere
    ],
)
def test_a_tenants_own_or_unknown_repository_passes(url: str) -> None:
    assert guard.refusal(url, "tenant:a", KNOWN) is None


def test_the_platform_is_refused_to_every_tenant_but_not_to_itself() -> None:
    url = "https://git.example/platform/fleet"

    assert guard.refusal(url, "namespace:scratch", KNOWN) is not None
    assert guard.refusal(url, "platform", KNOWN) is None


def test_an_unparseable_url_is_no_identity() -> None:
    assert guard.identity("https://git.example/a?b") is None
    assert guard.identity("https://git.example/A.git/") == ("git.example", "/a")
