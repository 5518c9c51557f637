"""Webhook signatures and repository URLs, without a cluster."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from landlord.onboarding import receivers, webhooks

BODY = b'{"repository": {"clone_url": "https://GitHub.com/team/app.git"}}'


def _sign(token: str, body: bytes) -> str:
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def test_github_signature() -> None:
    headers = {"x-hub-signature-256": _sign("t0ken", BODY)}
    assert webhooks.verify("github", "t0ken", headers, BODY)
    assert not webhooks.verify("github", "other", headers, BODY)
    assert not webhooks.verify("github", "t0ken", headers, BODY + b" ")
    assert not webhooks.verify("github", "t0ken", {}, BODY)


def _generic(token: str, body: bytes, stamp: int) -> dict[str, str]:
    return {"x-timestamp": str(stamp), "x-signature": _sign(token, f"{stamp}.".encode() + body)}


def test_generic_signature_covers_a_fresh_timestamp() -> None:
    now = int(time.time())
    assert webhooks.verify("generic", "k", _generic("k", BODY, now), BODY)
    assert not webhooks.verify("generic", "k", {"x-hub-signature-256": _sign("k", BODY)}, BODY)
    # The body alone signed (no timestamp under the signature) is not enough.
    assert not webhooks.verify("generic", "k", {"x-signature": _sign("k", BODY)}, BODY)
    moved = {**_generic("k", BODY, now), "x-timestamp": str(now + 1)}
    assert not webhooks.verify("generic", "k", moved, BODY)


def test_a_stale_generic_delivery_is_refused_with_its_age() -> None:
    headers = _generic("k", BODY, 1_000_000)
    why = webhooks.refusal("generic", "k", headers, BODY, now=1_000_000 + 301, window=300)
    assert why is not None
    assert "301s from now" in why
    assert webhooks.refusal("generic", "k", headers, BODY, now=1_000_000 + 299, window=300) is None


def test_delivery_ids_name_the_delivery_and_its_signed_content() -> None:
    github = webhooks.delivery_ids("github", {"x-github-delivery": "d-1"}, BODY)
    assert "id:d-1" in github
    assert any(key.startswith("body:") for key in github)
    # A replay under a fresh delivery id still carries the same body.
    again = webhooks.delivery_ids("github", {"x-github-delivery": "d-2"}, BODY)
    assert set(github) & set(again)
    gitlab = webhooks.delivery_ids("gitlab", {"x-gitlab-event-uuid": "u-1"}, BODY)
    assert "id:u-1" in gitlab
    assert webhooks.has_delivery_id("github", {"x-github-delivery": "d-1"})
    assert not webhooks.has_delivery_id("github", {})
    assert not webhooks.has_delivery_id("gitlab", {"x-gitlab-event-uuid": "a\nb"})
    assert webhooks.has_delivery_id("generic", {})


def test_deliveries_are_remembered_for_the_window_and_bounded() -> None:
    now = [0.0]
    seen = webhooks.Deliveries(10.0, limit=3, clock=lambda: now[0])
    assert seen.claim(["a", "b"])
    assert not seen.claim(["b", "c"])  # one id seen: nothing of it is taken
    assert seen.claim(["c"])
    seen.release(["c"])  # acting on it failed: the sender's retry counts
    assert seen.claim(["c"])
    now[0] = 10.5
    assert seen.claim(["a"])  # forgotten after the window
    for key in ("x", "y", "z", "w"):
        assert seen.claim([key])
    assert len(seen._seen) <= 3


def test_resources_follow_flux_receiver_shape() -> None:
    found = receivers.parse_resources(
        "- kind: GitRepository\n  name: app\n  namespace: team-a\n"
        "- apiVersion: landlord.dev/v1alpha1\n  kind: GitRepository\n  name: '*'\n"
        "  matchLabels: {hook: 'yes'}\n",
        default_namespace="landlord-system",
    )
    assert found[0] == receivers.Resource("app", "team-a")
    assert found[1].namespace == "landlord-system"  # the receiver's own, as in Flux
    assert found[1].selector == "hook=yes"
    app = {"metadata": {"name": "app", "namespace": "team-a"}}
    assert found[0].selects(app)
    assert not found[0].selects({"metadata": {"name": "app", "namespace": "team-b"}})
    assert not found[1].selects({"metadata": {"name": "x", "namespace": "landlord-system"}})
    assert found[1].selects(
        {"metadata": {"name": "x", "namespace": "landlord-system", "labels": {"hook": "yes"}}}
    )
    assert receivers.parse_resources("", default_namespace="x") == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("- {kind: Kustomization, name: a}", "kind must be GitRepository"),
        ("- {kind: GitRepository, name: '*'}", "needs matchLabels"),
        ("- {kind: GitRepository, name: 'A_B'}", "DNS-1123"),
        ("- {kind: GitRepository, name: a, namespace: '../x'}", "DNS-1123"),
        ("- {kind: GitRepository, name: a, selector: {}}", "unknown fields"),
        ("- {kind: GitRepository, name: a, apiVersion: source.toolkit.fluxcd.io/v1}", "apiVersion"),
        ("kind: GitRepository", "must be a list"),
        ("[", "not YAML"),
    ],
)
def test_resources_that_do_not_say_what_they_mean_are_refused(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        receivers.parse_resources(raw, default_namespace="landlord-system")


def test_gitlab_token() -> None:
    assert webhooks.verify("gitlab", "k", {"x-gitlab-token": "k"}, BODY)
    assert not webhooks.verify("gitlab", "k", {"x-gitlab-token": "K"}, BODY)
    assert not webhooks.verify("gitlab", "k", {}, BODY)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/team/app.git",
        "https://GitHub.com/team/app",
        "https://user:secret@github.com/team/app.git/",
        "ssh://git@github.com/team/app.git",
        "git@github.com:team/app.git",
    ],
)
def test_urls_of_one_repository_normalize_alike(url: str) -> None:
    assert webhooks.normalize(url) == "github.com/team/app"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com.:443/team/app.git",  # trailing dot, default port
        "https://github.com/team/./docs/../app",  # dot segments
        "https://github.com/team/%61pp.git",  # an escaped unreserved character
    ],
)
def test_urls_are_spelled_as_the_sources_reconciler_spells_them(url: str) -> None:
    """A GitRepository and a delivery agree on a repository however either writes it."""
    assert webhooks.normalize(url) == "github.com/team/app"


def test_repository_urls_by_format() -> None:
    github = {
        "repository": {
            "clone_url": "https://github.com/a/b.git",
            "ssh_url": "git@github.com:a/b.git",
        }
    }
    gitlab = {"project": {"git_http_url": "https://gitlab.com/a/c.git"}}
    generic = {"url": "https://git.example.com/a/d"}
    assert webhooks.repository_urls("github", github) == {"github.com/a/b"}
    assert webhooks.repository_urls("gitlab", gitlab) == {"gitlab.com/a/c"}
    assert webhooks.repository_urls("generic", generic) == {"git.example.com/a/d"}
    assert webhooks.repository_urls("github", {"repository": "nope"}) == set()


def test_only_pushes_act() -> None:
    assert webhooks.is_push("github", "push")
    assert not webhooks.is_push("github", "ping")
    assert webhooks.is_push("gitlab", "Tag Push Hook")
    assert not webhooks.is_push("gitlab", "Merge Request Hook")
