"""Webhook signatures and repository URLs, without a cluster."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from landlord.onboarding import receivers

BODY = b'{"repository": {"clone_url": "https://GitHub.com/team/app.git"}}'


def _sign(token: str, body: bytes) -> str:
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def test_github_signature() -> None:
    headers = {"x-hub-signature-256": _sign("t0ken", BODY)}
    assert receivers.verify("github", "t0ken", headers, BODY)
    assert not receivers.verify("github", "other", headers, BODY)
    assert not receivers.verify("github", "t0ken", headers, BODY + b" ")
    assert not receivers.verify("github", "t0ken", {}, BODY)


def test_generic_signature_uses_its_own_header() -> None:
    assert receivers.verify("generic", "k", {"x-signature": _sign("k", BODY)}, BODY)
    assert not receivers.verify("generic", "k", {"x-hub-signature-256": _sign("k", BODY)}, BODY)


def test_gitlab_token() -> None:
    assert receivers.verify("gitlab", "k", {"x-gitlab-token": "k"}, BODY)
    assert not receivers.verify("gitlab", "k", {"x-gitlab-token": "K"}, BODY)
    assert not receivers.verify("gitlab", "k", {}, BODY)


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
    assert receivers.normalize(url) == "github.com/team/app"


def test_repository_urls_by_format() -> None:
    github = {
        "repository": {
            "clone_url": "https://github.com/a/b.git",
            "ssh_url": "git@github.com:a/b.git",
        }
    }
    gitlab = {"project": {"git_http_url": "https://gitlab.com/a/c.git"}}
    generic = {"url": "https://git.example.com/a/d"}
    assert receivers.repository_urls("github", github) == {"github.com/a/b"}
    assert receivers.repository_urls("gitlab", gitlab) == {"gitlab.com/a/c"}
    assert receivers.repository_urls("generic", generic) == {"git.example.com/a/d"}
    assert receivers.repository_urls("github", {"repository": "nope"}) == set()


def test_only_pushes_act() -> None:
    assert receivers.is_push("github", "push")
    assert not receivers.is_push("github", "ping")
    assert receivers.is_push("gitlab", "Tag Push Hook")
    assert not receivers.is_push("gitlab", "Merge Request Hook")
