"""The GitRepository reconciler in a running operator, against the real Git server."""

from __future__ import annotations

import base64
import datetime
import json
import time
from typing import Any

import pytest

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.demo import GitServer
from landlord.kube import events
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.sources.conftest import PASSWORD, USER


def _secret(admin: kube.Kube, namespace: str, name: str, **values: str) -> None:
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
        },
        field_manager="test",
        force=True,
    )


def _source(admin: kube.Kube, namespace: str, name: str, url: str, **spec: Any) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": url, "secretRef": {"name": "git-auth"}, **spec},
        },
        field_manager="test",
        force=True,
    )


def _status(admin: kube.Kube, namespace: str, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, "GitRepository", name, namespace) or {}
    return body.get("status") or {}


def _revision(
    admin: kube.Kube, namespace: str, name: str, revision: str, timeout: float = 30
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status = _status(admin, namespace, name)
        ready = conditions.is_true(status.get("conditions") or [], "Ready")
        if ready and (status.get("artifact") or {}).get("revision") == revision:
            return status
        return None

    return eventually(check, timeout=timeout, what=f"{name} at {revision}")


def _reason(admin: kube.Kube, namespace: str, name: str, reason: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        ready = conditions.get(_status(admin, namespace, name).get("conditions") or [], "Ready")
        return ready if ready and ready["reason"] == reason else None

    return eventually(check, timeout=30, what=f"{name} Ready reason {reason}")


@pytest.fixture
def source_ns(admin: kube.Kube, namespace: str, operator: OperatorProcess) -> str:
    _secret(admin, namespace, "git-auth", username=USER, password=PASSWORD)
    return namespace


def test_a_new_commit_is_picked_up_within_one_interval(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    first = git_server.commit(repo, {"a.yaml": "1"})
    _source(admin, source_ns, "app", git_server.url(repo), interval="2s")
    status = _revision(admin, source_ns, "app", f"main@sha1:{first}")
    assert status["artifact"]["digest"].startswith("sha256:")

    second = git_server.commit(repo, {"a.yaml": "2"})
    began = time.monotonic()
    _revision(admin, source_ns, "app", f"main@sha1:{second}", timeout=15)
    print(f"push → new artifact in {time.monotonic() - began:.2f}s (interval 2s)")

    reasons = [
        e["message"]
        for e in events.list_for(admin, "GitRepository", "app", source_ns)
        if e["reason"] == "NewArtifact"
    ]
    assert any(second in message for message in reasons)


def test_requested_at_fetches_at_once(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    first = git_server.commit(repo, {"a.yaml": "1"})
    _source(admin, source_ns, "app", git_server.url(repo), interval="1h")
    _revision(admin, source_ns, "app", f"main@sha1:{first}")
    second = git_server.commit(repo, {"a.yaml": "2"})

    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    admin.merge_patch(
        api.API_VERSION,
        "GitRepository",
        "app",
        {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
        source_ns,
    )

    status = _revision(admin, source_ns, "app", f"main@sha1:{second}", timeout=10)
    assert status["lastHandledReconcileAt"] == stamp


def test_an_unchanged_remote_costs_one_lookup_and_no_fetch(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    sha = git_server.commit(repo, {"a.yaml": "1"})
    _source(admin, source_ns, "app", git_server.url(repo), interval="1s")
    _revision(admin, source_ns, "app", f"main@sha1:{sha}")
    time.sleep(1.5)
    fetches, lookups = git_server.requests(repo, "fetch"), git_server.requests(repo, "ls-refs")

    time.sleep(5)

    new_lookups = git_server.requests(repo, "ls-refs") - lookups
    print(
        f"5s of 1s polls on an unchanged remote: {new_lookups} ref lookups, "
        f"{git_server.requests(repo, 'fetch') - fetches} fetches"
    )
    assert git_server.requests(repo, "fetch") == fetches
    assert 3 <= new_lookups <= 7


def test_failures_keep_the_last_artifact(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    git_server.commit(repo, {"a.yaml": "1"}, branch="release")
    sha = git_server.commit(repo, {"a.yaml": "2"}, branch="release")
    _source(admin, source_ns, "app", git_server.url(repo), interval="1s", ref={"branch": "release"})
    good = _revision(admin, source_ns, "app", f"release@sha1:{sha}")["artifact"]

    _secret(admin, source_ns, "git-auth", username=USER, password="not-the-password")
    denied = _reason(admin, source_ns, "app", "AuthenticationFailed")
    assert "not-the-password" not in denied["message"]
    assert _status(admin, source_ns, "app")["artifact"] == good

    _secret(admin, source_ns, "git-auth", username=USER, password=PASSWORD)
    git_server.delete_branch(repo, "release")
    missing = _reason(admin, source_ns, "app", "RefNotFound")
    assert "branch 'release' not found" in missing["message"]
    assert _status(admin, source_ns, "app")["artifact"] == good

    _source(admin, source_ns, "app", "http://127.0.0.1:9/unreachable.git", interval="1s")
    unreachable = _reason(admin, source_ns, "app", "SourceUnreachable")
    assert "127.0.0.1" in unreachable["message"]
    assert _status(admin, source_ns, "app")["artifact"] == good


def test_a_cap_breach_fails_only_that_source(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    git_server.create(f"{repo}-big")
    git_server.commit(f"{repo}-big", {"huge.bin": b"\0" * (17 * 1024 * 1024)})
    sha = git_server.commit(repo, {"a.yaml": "1"})
    _source(admin, source_ns, "big", git_server.url(f"{repo}-big"), interval="1s")
    _source(admin, source_ns, "small", git_server.url(repo), interval="1s")

    too_large = _reason(admin, source_ns, "big", "FileTooLarge")

    assert "huge.bin" in too_large["message"]
    _revision(admin, source_ns, "small", f"main@sha1:{sha}")


def test_semver_follows_the_highest_matching_tag(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    git_server.commit(repo, {"v": "1.0"}, tag="v1.0.0")
    wanted = git_server.commit(repo, {"v": "1.4"}, tag="v1.4.2")
    git_server.commit(repo, {"v": "2.0"}, tag="v2.0.0")

    _source(
        admin,
        source_ns,
        "app",
        git_server.url(repo),
        interval="1s",
        ref={"semver": ">=1.0.0 <2.0.0"},
    )

    _revision(admin, source_ns, "app", f"v1.4.2@sha1:{wanted}")


def test_credentials_never_leak(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str, operator: OperatorProcess
) -> None:
    url_token, secret_token = "urltoken-5f1e2d3c", "secrettoken-9a8b7c6d"
    _secret(admin, source_ns, "git-auth", bearerToken=secret_token)
    leaky_url = git_server.url(repo).replace("http://", f"http://{USER}:{url_token}@")
    _source(admin, source_ns, "leaky", leaky_url, interval="1s")
    _reason(admin, source_ns, "leaky", "AuthenticationFailed")
    _source(admin, source_ns, "leaky2", git_server.url(repo), interval="1s")
    _reason(admin, source_ns, "leaky2", "AuthenticationFailed")
    time.sleep(2)  # a few more failing polls

    body = admin.get(api.API_VERSION, "GitRepository", "leaky", source_ns)
    haystacks = {
        "status": json.dumps(_status(admin, source_ns, "leaky"))
        + json.dumps(_status(admin, source_ns, "leaky2")),
        "events": json.dumps(
            events.list_for(admin, "GitRepository", "leaky", source_ns)
            + events.list_for(admin, "GitRepository", "leaky2", source_ns)
        ),
        "operator log": operator.log(),
        "metrics": operator.metrics(),
    }
    assert body is not None
    for where, text in haystacks.items():
        for secret in (url_token, secret_token):
            assert secret not in text, f"{secret} leaked into {where}"
    assert "AuthenticationFailed" in haystacks["metrics"]


def test_a_suspended_source_is_not_fetched(
    admin: kube.Kube, git_server: GitServer, repo: str, source_ns: str
) -> None:
    first = git_server.commit(repo, {"a.yaml": "1"})
    _source(admin, source_ns, "app", git_server.url(repo), interval="1s")
    _revision(admin, source_ns, "app", f"main@sha1:{first}")
    admin.merge_patch(
        api.API_VERSION, "GitRepository", "app", {"spec": {"suspend": True}}, source_ns
    )
    time.sleep(1.5)
    lookups = git_server.requests(repo, "ls-refs")

    second = git_server.commit(repo, {"a.yaml": "2"})
    time.sleep(3)

    assert git_server.requests(repo, "ls-refs") == lookups
    assert _status(admin, source_ns, "app")["artifact"]["revision"] == f"main@sha1:{first}"
    admin.merge_patch(
        api.API_VERSION, "GitRepository", "app", {"spec": {"suspend": False}}, source_ns
    )
    _revision(admin, source_ns, "app", f"main@sha1:{second}", timeout=15)
