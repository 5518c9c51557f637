"""OCIRepositories in a running operator, against the real registry: refs, updates, failures."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml

from landlord import api, kube
from landlord.api import conditions, labels, reasons
from landlord.demo import Registry
from landlord.kube import events
from tests.fixtures.oci import REGISTRY_PASSWORD, SecretMaker
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually

KIND = "OCIRepository"


def _configmap(name: str, value: str) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
    )


def _source(admin: kube.Kube, namespace: str, name: str, url: str, **spec: Any) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": KIND,
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "url": url,
                "interval": "1s",
                "secretRef": {"name": "registry-auth"},
                "certSecretRef": {"name": "registry-certs"},
                **spec,
            },
        },
        field_manager="test",
        force=True,
    )


def _status(admin: kube.Kube, namespace: str, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, KIND, name, namespace) or {}
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

    try:
        return eventually(check, timeout=timeout, what=f"{name} at {revision}")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_status(admin, namespace, name)}") from None


def _reason(admin: kube.Kube, namespace: str, name: str, reason: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status = _status(admin, namespace, name)
        ready = conditions.get(status.get("conditions") or [], "Ready")
        return status if ready and ready["reason"] == reason else None

    try:
        return eventually(check, timeout=30, what=f"{name} Ready reason {reason}")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_status(admin, namespace, name)}") from None


def _sync(
    admin: kube.Kube, namespace: str, name: str, source: str, source_namespace: str | None = None
) -> None:
    ref = {"namespace": source_namespace} if source_namespace else {}
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourceRef": {"kind": KIND, "name": source, **ref},
                "path": "./",
                "interval": "1m",
                "prune": True,
            },
        },
        field_manager="test",
        force=True,
    )


def _value(admin: kube.Kube, namespace: str, name: str) -> str | None:
    found = admin.get("v1", "ConfigMap", name, namespace)
    return None if found is None else str((found.get("data") or {}).get("v"))


@pytest.fixture
def tenant(
    admin: kube.Kube, tenants: Tenants, registry_secrets: SecretMaker, operator: OperatorProcess
) -> str:
    """A tenant's namespace holding the registry's Secrets."""
    name = tenants.create(tenants.name("oci"))
    tenants.ready(name)
    registry_secrets(admin, name)
    return name


def _repo(tenant: str, what: str) -> str:
    return f"{tenant}/{what}"


def test_a_tag_is_pulled_applied_and_followed(
    admin: kube.Kube, registry: Registry, tenant: str
) -> None:
    repo = _repo(tenant, "app")
    first = registry.push_artifact(
        repo, "latest", {"cm.yaml": _configmap("app", "one")}, source="git@x", revision="main@1"
    )
    _source(admin, tenant, "app", registry.url(repo))

    status = _revision(admin, tenant, "app", f"latest@{first}")

    assert status["artifact"]["digest"].startswith("sha256:")
    assert status["artifact"]["metadata"]["org.opencontainers.image.revision"] == "main@1"
    assert status["url"] == registry.url(repo)
    _sync(admin, tenant, "app", "app")
    eventually(lambda: _value(admin, tenant, "app") == "one", what="the ConfigMap applied")

    second = registry.push_artifact(repo, "latest", {"cm.yaml": _configmap("app", "two")})
    _revision(admin, tenant, "app", f"latest@{second}")
    eventually(lambda: _value(admin, tenant, "app") == "two", what="the new push applied")
    news = [
        e["message"]
        for e in events.list_for(admin, KIND, "app", tenant)
        if e["reason"] == reasons.NEW_ARTIFACT
    ]
    assert any(second in message for message in news)


def test_semver_picks_the_highest_release_in_range(
    admin: kube.Kube, registry: Registry, tenant: str
) -> None:
    repo = _repo(tenant, "semver")
    digests = {
        tag: registry.push_artifact(repo, tag, {"cm.yaml": _configmap("s", tag)})
        for tag in ("1.0.0", "1.2.0", "1.3.0-rc.1", "2.0.0", "v1.1.0", "not-a-version")
    }
    _source(admin, tenant, "stable", registry.url(repo), ref={"semver": ">=1.0.0 <2.0.0"})
    _source(admin, tenant, "pre", registry.url(repo), ref={"semver": ">=1.3.0-rc.0 <2.0.0"})
    _source(
        admin,
        tenant,
        "filtered",
        registry.url(repo),
        ref={"semver": ">=1.0.0", "semverFilter": "^v"},
    )

    _revision(admin, tenant, "stable", f"1.2.0@{digests['1.2.0']}")
    _revision(admin, tenant, "pre", f"1.3.0-rc.1@{digests['1.3.0-rc.1']}")
    _revision(admin, tenant, "filtered", f"v1.1.0@{digests['v1.1.0']}")


def test_a_digest_wins_over_semver_and_tag(
    admin: kube.Kube, registry: Registry, tenant: str
) -> None:
    repo = _repo(tenant, "pinned")
    pinned = registry.push_artifact(repo, "1.0.0", {"cm.yaml": _configmap("p", "old")})
    registry.push_artifact(repo, "1.1.0", {"cm.yaml": _configmap("p", "new")})
    _source(
        admin,
        tenant,
        "pinned",
        registry.url(repo),
        ref={"digest": pinned, "semver": ">=1.0.0", "tag": "1.1.0"},
    )

    status = _revision(admin, tenant, "pinned", pinned)

    assert "@" not in status["artifact"]["revision"]


def test_a_failed_pull_keeps_the_artifact_and_what_it_applied(
    admin: kube.Kube, registry: Registry, tenant: str
) -> None:
    repo = _repo(tenant, "kept")
    first = registry.push_artifact(repo, "v1", {"cm.yaml": _configmap("kept", "one")})
    _source(admin, tenant, "kept", registry.url(repo), ref={"tag": "v1"})
    kept = _revision(admin, tenant, "kept", f"v1@{first}")["artifact"]
    _sync(admin, tenant, "kept", "kept")
    eventually(lambda: _value(admin, tenant, "kept") == "one", what="the ConfigMap applied")

    registry.delete_tag(repo, "v1")
    status = _reason(admin, tenant, "kept", "ArtifactNotFound")

    assert status["artifact"] == kept
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    admin.merge_patch(
        api.API_VERSION,
        "Kustomization",
        "kept",
        {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
        tenant,
    )
    eventually(
        lambda: (
            (
                (admin.get(api.API_VERSION, "Kustomization", "kept", tenant) or {}).get("status")
                or {}
            ).get("lastHandledReconcileAt")
            == stamp
        ),
        what="the Kustomization to run again",
    )
    assert _value(admin, tenant, "kept") == "one"  # nothing pruned


def test_wrong_credentials_are_reported_without_them(
    admin: kube.Kube, registry: Registry, tenant: str, registry_secrets: SecretMaker
) -> None:
    repo = _repo(tenant, "creds")
    registry.push_artifact(repo, "latest", {"cm.yaml": _configmap("c", "x")})
    registry_secrets(admin, tenant, auth="wrong", certs="wrong-certs", password="wrong-pw-7731")
    _source(admin, tenant, "creds", registry.url(repo), secretRef={"name": "wrong"})

    status = _reason(admin, tenant, "creds", "AuthenticationFailed")

    shown = str(status) + str(events.list_for(admin, KIND, "creds", tenant))
    assert "wrong-pw-7731" not in shown
    assert REGISTRY_PASSWORD not in shown


def test_another_tenants_oci_repository_needs_the_policy(
    admin: kube.Kube,
    registry: Registry,
    tenants: Tenants,
    tenant: str,
    policy_files: PolicyFiles,
) -> None:
    repo = _repo(tenant, "shared")
    digest = registry.push_artifact(repo, "latest", {"cm.yaml": _configmap("shared", "x")})
    _source(admin, tenant, "shared", registry.url(repo))
    _revision(admin, tenant, "shared", f"latest@{digest}")
    other = tenants.create(tenants.name("oci-b"))
    tenants.ready(other)

    _sync(admin, other, "borrow", "shared", source_namespace=tenant)

    def denied() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "Kustomization", "borrow", other) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        return ready if ready and ready["reason"] == reasons.POLICY_DENIED else None

    ready = eventually(denied, what="the cross-tenant sourceRef denied")
    assert f"{tenant}/shared" in ready["message"]
    assert _value(admin, other, "shared") is None

    policy_files.add(f"p, tenant:{other}, source, {tenant}/shared, allow")
    eventually(lambda: _value(admin, other, "shared") == "x", what="the allowed edge applied")
