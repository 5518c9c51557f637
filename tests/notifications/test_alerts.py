"""A tenant's Alerts send its own syncs' events to its Providers, in each service's shape.

The recording server on loopback plays Slack, Teams, Discord, Alertmanager, a
signed generic webhook, GitHub and GitLab; each payload is checked against
the shape the service documents.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest

from landlord import api, kube
from landlord.api import conditions
from tests.fixtures.notify import Recorded, Recorder
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map

HMAC_KEY = "alert-signing-key-42"
SUMMARY = "production cluster"


def _apply(admin: kube.Kube, kind: str, namespace: str, name: str, spec: dict[str, Any]) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        },
        field_manager="tenant",
        force=True,
    )


def _secret(admin: kube.Kube, namespace: str, name: str, **data: str) -> None:
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        },
        field_manager="tenant",
        force=True,
    )


def _ready(admin: kube.Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, kind, name, namespace) or {}
        return body if conditions.ready_at_generation(body) else None

    try:
        return eventually(check, timeout=30, what=f"{kind} {namespace}/{name} Ready")
    except AssertionError:
        body = admin.get(api.API_VERSION, kind, name, namespace) or {}
        raise AssertionError(f"{kind} {name} not Ready: {body.get('status')}") from None


def _condition(admin: kube.Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, kind, name, namespace) or {}
    return conditions.get((body.get("status") or {}).get("conditions") or [], "Ready") or {}


PROVIDERS = {
    "slack": "/slack",
    "msteams": "/teams",
    "discord": "/discord",
    "alertmanager": "/am/api/v2/alerts",
    "generic-hmac": "/signed",
}


@pytest.fixture
def alerting(tenant_repo: TenantRepo, recorder: Recorder, admin: kube.Kube) -> TenantRepo:
    """The tenant's sync Ready; one Provider of each chat/alerting type, one Alert each."""
    sha = tenant_repo.push({"deploy/base.yaml": config_map("base", v="1")})
    tenant_repo.ready_at(sha)
    ns = tenant_repo.name
    _secret(admin, ns, "signing", token=HMAC_KEY)
    for kind, path in PROVIDERS.items():
        spec: dict[str, Any] = {"type": kind, "address": recorder.url(path)}
        if kind == "generic-hmac":
            spec["secretRef"] = {"name": "signing"}
        if kind == "slack":
            spec["channel"] = "#deploys"
        _apply(admin, "Provider", ns, kind, spec)
        _apply(
            admin,
            "Alert",
            ns,
            kind,
            {
                "providerRef": {"name": kind},
                "eventSources": [{"kind": "Kustomization", "name": ns}],
                "summary": SUMMARY,
            },
        )
    # One more Alert whose exclusion list drops the failure (its message names the file).
    _apply(admin, "Provider", ns, "filtered", {"type": "generic", "address": recorder.url("/f")})
    _apply(
        admin,
        "Alert",
        ns,
        "filtered",
        {
            "providerRef": {"name": "filtered"},
            "eventSources": [{"kind": "Kustomization", "name": "*"}],
            "exclusionList": [r"broken\.yaml"],
        },
    )
    for name in [*PROVIDERS, "filtered"]:
        _ready(admin, "Provider", ns, name)
        _ready(admin, "Alert", ns, name)
    return tenant_repo


def _check_shape(kind: str, request: Recorded, *, error: bool, revision: str) -> None:
    """Each service's documented shape (the fields it requires, with their types)."""
    body = request.json
    assert request.headers["content-type"] == "application/json"
    if kind == "slack":  # incoming webhooks: attachments with color, text
        (attachment,) = body["attachments"]
        assert attachment["color"] == ("danger" if error else "good")
        assert isinstance(attachment["text"], str)
        assert body["channel"] == "#deploys"
        fields = {f["title"]: f["value"] for f in attachment["fields"]}
        assert fields["summary"] == SUMMARY
        assert fields["revision"] == revision
    elif kind == "msteams":  # Workflows: a message with one Adaptive Card attachment
        assert body["type"] == "message"
        (attachment,) = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["version"] == "1.4"
        assert all(block["type"] in ("TextBlock", "FactSet") for block in card["body"])
        facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
        assert facts["summary"] == SUMMARY
    elif kind == "discord":  # execute webhook: embeds with title, description, int color
        (embed,) = body["embeds"]
        assert isinstance(embed["color"], int)
        assert embed["title"].startswith("kustomization/")
        assert len(embed["description"]) <= 4096
    elif kind == "alertmanager":  # POST /api/v2/alerts: a list of postable alerts
        (alert,) = body
        assert alert["labels"]["alertname"].startswith("LandlordKustomization")
        assert alert["labels"]["severity"] == ("error" if error else "info")
        assert alert["annotations"]["summary"] == SUMMARY
        assert alert["startsAt"].endswith("Z")
    elif kind == "generic-hmac":  # Flux's event, signed with the Provider's token
        expected = hmac.new(HMAC_KEY.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-signature"] == f"sha256={expected}"
        assert body["involvedObject"]["kind"] == "Kustomization"
        assert body["severity"] == ("error" if error else "info")
        assert body["metadata"]["revision"] == revision
        assert body["metadata"]["summary"] == SUMMARY


def test_a_failing_sync_alerts_once_per_transition_and_once_on_recovery(
    alerting: TenantRepo, recorder: Recorder
) -> None:
    repo = alerting
    broken = repo.push({"deploy/broken.yaml": "a: [unclosed\n"})
    repo.failed("BuildFailed", broken)
    for kind, path in PROVIDERS.items():
        (sent,) = recorder.wait(path, 1)
        _check_shape(kind, sent, error=True, revision=f"main@sha1:{broken}")
    time.sleep(3)  # the sync retries; the failure is the same: no second alert
    for path in PROVIDERS.values():
        assert len(recorder.at(path)) == 1

    fixed = repo.push({"deploy/broken.yaml": None, "deploy/base.yaml": config_map("base", v="2")})
    repo.ready_at(fixed)
    for kind, path in PROVIDERS.items():
        _first, recovered = recorder.wait(path, 2)
        _check_shape(kind, recovered, error=False, revision=f"main@sha1:{fixed}")
    time.sleep(2)
    for path in PROVIDERS.values():
        assert len(recorder.at(path)) == 2  # one failure, one recovery: nothing else
    # The exclusion list dropped the failure; the recovery went through.
    (only,) = recorder.wait("/f", 1)
    assert only.json["severity"] == "info"
    assert only.json["reason"] == "ReconciliationSucceeded"


def test_commit_statuses_are_posted_for_the_applied_revision(
    tenant_repo: TenantRepo, recorder: Recorder, admin: kube.Kube
) -> None:
    ns = tenant_repo.name
    _secret(admin, ns, "forge-token", token="ghp_example_token_0001")
    for kind in ("github", "gitlab"):
        _apply(
            admin,
            "Provider",
            ns,
            kind,
            {
                "type": kind,
                "address": recorder.url("/team/app.git"),
                "secretRef": {"name": "forge-token"},
            },
        )
        _apply(
            admin,
            "Alert",
            ns,
            kind,
            {
                "providerRef": {"name": kind},
                "eventSources": [{"kind": "Kustomization", "name": ns}],
            },
        )
        _ready(admin, "Alert", ns, kind)
    sha = tenant_repo.push({"deploy/base.yaml": config_map("base", v="3")})
    tenant_repo.ready_at(sha)

    (github,) = recorder.wait(f"/api/v3/repos/team/app/statuses/{sha}", 1)
    assert github.headers["authorization"] == "Bearer ghp_example_token_0001"
    assert github.json["state"] == "success"
    assert github.json["context"].startswith(f"kustomization/{ns}/")
    assert len(github.json["description"]) <= 140
    (gitlab,) = recorder.wait(f"/api/v4/projects/team%2Fapp/statuses/{sha}", 1)
    assert gitlab.headers["private-token"] == "ghp_example_token_0001"
    assert gitlab.json["state"] == "success"
    assert gitlab.json["name"].startswith(f"kustomization/{ns}/")
