"""Push webhooks: a signed delivery makes the GitRepository its receiver names fetch at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest

from landlord import api, kube
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


def _as_tenant_namespace(kube_client: kube.Kube, namespace: str) -> None:
    """What provisioning gives a tenant namespace and the Receiver needs: its reconciler."""
    kube_client.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": labels.RECONCILER_SERVICE_ACCOUNT, "namespace": namespace},
        },
        field_manager="tests",
    )
    kube_client.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reconciler", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": labels.RECONCILER_SERVICE_ACCOUNT,
                    "namespace": namespace,
                }
            ],
        },
        field_manager="tests",
    )


def _receiver_status(onboarding_api: Api, namespace: str, name: str) -> dict[str, Any]:
    body = onboarding_api.kube.get(api.API_VERSION, "Receiver", name, namespace) or {}
    return body.get("status") or {}


def _hook(
    onboarding_api: Api, path: str, payload: dict[str, Any], token: str
) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(payload).encode()
    digest = hmac.new(token.encode(), raw, hashlib.sha256).hexdigest()
    status, body, _ = onboarding_api.call(
        "POST",
        path,
        None,
        raw=raw,
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={digest}",
        },
    )
    return status, body


def test_a_receiver_gets_flux_s_path_and_a_signed_push_triggers_only_its_resources(
    onboarding_api: Api, namespace: str
) -> None:
    kube_client = onboarding_api.kube
    _as_tenant_namespace(kube_client, namespace)
    repo = f"kind-{namespace}"
    onboarding_api.git.create(repo, public=True)
    onboarding_api.git.commit(repo, {"deploy/a.yaml": "kind: ConfigMap\n"})
    onboarding_api.source(namespace, repo)
    kube_client.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": "other", "namespace": namespace},
            "spec": {"url": onboarding_api.git.url(repo), "interval": "1h"},
        },
        field_manager="tests",
    )
    kube_client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hook-token", "namespace": namespace},
            "data": {"token": base64.b64encode(TOKEN.encode()).decode()},
        },
        field_manager="tests",
    )
    kube_client.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Receiver",
            "metadata": {"name": "push", "namespace": namespace},
            "spec": {
                "type": "github",
                "events": ["push"],
                "resources": [{"kind": "GitRepository", "name": "app"}],
                "secretRef": {"name": "hook-token"},
            },
        },
        field_manager="tests",
    )
    status = eventually(
        lambda: (
            s
            if (s := _receiver_status(onboarding_api, namespace, "push")).get("webhookPath")
            else None
        ),
        timeout=30,
        what="the Receiver's webhook path",
    )
    expected = "/hook/" + hashlib.sha256(f"{TOKEN}push{namespace}".encode()).hexdigest()
    assert status["webhookPath"] == expected

    payload = {"ref": "refs/heads/main", "repository": {"clone_url": onboarding_api.git.url(repo)}}
    code, body = _hook(onboarding_api, expected, payload, TOKEN)
    assert code == 200, body
    assert body["matched"] == [f"{namespace}/app"]
    other = kube_client.get(api.API_VERSION, "GitRepository", "other", namespace) or {}
    assert labels.REQUESTED_AT not in (other["metadata"].get("annotations") or {})

    code, body = _hook(onboarding_api, expected, payload, "not-the-token")
    assert code == 401, body
    code, body = _hook(onboarding_api, "/hook/" + "0" * 64, payload, TOKEN)
    assert code == 404, body


def test_a_receiver_naming_another_tenants_source_gets_no_path(
    onboarding_api: Api, namespace: str
) -> None:
    kube_client = onboarding_api.kube
    _as_tenant_namespace(kube_client, namespace)
    kube_client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hook-token", "namespace": namespace},
            "data": {"token": base64.b64encode(TOKEN.encode()).decode()},
        },
        field_manager="tests",
    )
    kube_client.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Receiver",
            "metadata": {"name": "reach", "namespace": namespace},
            "spec": {
                "type": "github",
                "resources": [
                    {"kind": "GitRepository", "name": "app", "namespace": "someone-else"}
                ],
                "secretRef": {"name": "hook-token"},
            },
        },
        field_manager="tests",
    )
    ready = eventually(
        lambda: next(
            (
                c
                for c in _receiver_status(onboarding_api, namespace, "reach").get("conditions")
                or []
                if c["type"] == "Ready"
            ),
            None,
        ),
        timeout=30,
        what="the Receiver checked",
    )
    assert ready["reason"] == "PolicyDenied"
    assert "someone-else/app" in ready["message"]
    assert not _receiver_status(onboarding_api, namespace, "reach").get("webhookPath")


def test_a_delivery_to_a_labelled_secret_receiver_says_it_is_deprecated(
    onboarding_api: Api, receiver: str
) -> None:
    payload = {"repository": {"clone_url": "https://git.example.com/nobody.git"}}
    status, _ = onboarding_api.deliver(receiver, payload, TOKEN)
    assert status == 200
    found = eventually(
        lambda: [
            e
            for e in onboarding_api.kube.list_objects("v1", "Event", namespace=PLATFORM_NAMESPACE)
            if e.get("reason") == "DeprecatedReceiver"
            and (e.get("involvedObject") or {}).get("name") == receiver
        ],
        timeout=10,
        what="the deprecation Event",
    )
    assert "status.webhookPath" in found[0]["message"]
