"""Push webhooks: a signed delivery makes the GitRepository its receiver names fetch at once."""

from __future__ import annotations

import base64
import time

import pytest

from landlord import api
from landlord.api import labels
from landlord.settings import PLATFORM_NAMESPACE
from tests.helpers import eventually
from tests.onboarding.conftest import Api

TOKEN = "webhook-secret-0123456789"


@pytest.fixture
def receiver(onboarding_api: Api, namespace: str) -> str:
    """A GitHub receiver that may trigger GitRepository ``app`` of the test's namespace."""
    name = "github-push"
    resources = f"- kind: GitRepository\n  name: app\n  namespace: {namespace}\n"
    onboarding_api.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": PLATFORM_NAMESPACE,
                "labels": {labels.RECEIVER: "true"},
            },
            "data": {
                "token": base64.b64encode(TOKEN.encode()).decode(),
                "type": base64.b64encode(b"github").decode(),
                "resources": base64.b64encode(resources.encode()).decode(),
            },
        },
        field_manager="tests",
    )
    return name


def _revision(onboarding_api: Api, namespace: str) -> str:
    body = onboarding_api.kube.get(api.API_VERSION, "GitRepository", "app", namespace) or {}
    return str(((body.get("status") or {}).get("artifact") or {}).get("revision") or "")


def test_a_signed_push_webhook_fetches_the_repository_at_once(
    onboarding_api: Api, receiver: str, namespace: str
) -> None:
    repo = f"hooked-{namespace}"
    onboarding_api.git.create(repo, public=True)
    onboarding_api.git.commit(repo, {"deploy/a.yaml": "kind: ConfigMap\n"})
    onboarding_api.source(namespace, repo)
    eventually(lambda: _revision(onboarding_api, namespace), timeout=30, what="the first fetch")
    fetches = onboarding_api.git.requests(repo, "fetch")
    sha = onboarding_api.git.commit(repo, {"deploy/b.yaml": "kind: ConfigMap\n"})
    payload = {"ref": "refs/heads/main", "repository": {"clone_url": onboarding_api.git.url(repo)}}

    sent = time.monotonic()
    status, body = onboarding_api.deliver(receiver, payload, TOKEN)
    assert status == 200, body
    assert body["matched"] == [f"{namespace}/app"]
    eventually(
        lambda: sha in _revision(onboarding_api, namespace),
        timeout=10,
        interval=0.02,
        what="the pushed commit fetched",
    )
    elapsed = time.monotonic() - sent
    print(f"webhook → new artifact in {elapsed:.2f}s")
    assert onboarding_api.git.requests(repo, "fetch") == fetches + 1


def test_a_bad_signature_is_401_and_fetches_nothing(
    onboarding_api: Api, receiver: str, namespace: str
) -> None:
    payload = {"repository": {"clone_url": "https://git.example.com/nobody.git"}}

    status, body = onboarding_api.deliver(receiver, payload, TOKEN, signature="sha256=" + "0" * 64)
    assert status == 401, body
    assert "signature" in body["error"]
    status, body = onboarding_api.deliver(receiver, payload, TOKEN, signature="")
    assert status == 401, body
    status, body = onboarding_api.deliver("no-such-receiver", payload, TOKEN)
    assert status == 404, body
    exposition = onboarding_api.landlord.metrics.exposition().decode()
    assert f'landlord_receiver_events_total{{receiver="{receiver}",result="unauthorized"}}' in (
        exposition
    )
