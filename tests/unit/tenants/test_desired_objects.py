"""A Tenant's desired objects, computed without a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from landlord.api import labels
from landlord.api.tenant import Tenant
from landlord.tenants import desired
from landlord.tenants.features import Features

PLATFORM = "landlord-system"


def _tenant(name: str = "team-a", **spec: Any) -> Tenant:
    return Tenant.from_object({"metadata": {"name": name, "generation": 3}, "spec": spec})


def _objects(tenant: Tenant, features: Features | None = None) -> list[dict[str, Any]]:
    return desired.desired_objects(tenant, features or Features(), platform_namespace=PLATFORM)


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def test_a_minimal_tenant_gets_its_own_namespace_and_reconciler() -> None:
    objects = _objects(_tenant())

    assert [obj["metadata"]["name"] for obj in _by_kind(objects, "Namespace")] == ["team-a"]
    (account,) = _by_kind(objects, "ServiceAccount")
    assert account["metadata"] == {
        "name": "landlord-reconciler",
        "namespace": "team-a",
        "labels": {labels.TENANT: "team-a"},
    }
    access, binding = _by_kind(objects, "RoleBinding")
    # The operator's own access: impersonate and read Secrets here, and nowhere else.
    assert access["metadata"]["name"] == labels.OPERATOR_ACCESS_BINDING
    assert access["roleRef"]["name"] == labels.OPERATOR_ACCESS_ROLE
    assert access["subjects"] == [
        {"kind": "ServiceAccount", "name": "landlord-operator", "namespace": "landlord-system"}
    ]
    assert binding["roleRef"]["name"] == "admin"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "landlord-reconciler", "namespace": "team-a"}
    ]


def test_every_object_carries_the_tenant_label() -> None:
    tenant = _tenant(
        namespaces=["a1", "a2"],
        owners=[{"kind": "User", "name": "alice"}],
        quota={"pods": "10"},
        limitRange=[{"type": "Container", "default": {"cpu": "500m"}}],
        source={"url": "https://git.example/team-a.git"},
        sync={"path": "./app"},
    )

    objects = _objects(tenant)

    assert len(objects) == 2 + 2 + 4 + 2 + 2 + 2 + 2 + 2
    assert all(obj["metadata"]["labels"][labels.TENANT] == "team-a" for obj in objects)


def test_namespaces_enforce_the_pod_security_level() -> None:
    (restricted,) = _by_kind(_objects(_tenant()), "Namespace")
    (baseline,) = _by_kind(_objects(_tenant(podSecurity="baseline")), "Namespace")

    assert restricted["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert baseline["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert baseline["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "baseline"


def test_each_namespace_binds_the_reconcilers_of_all_tenant_namespaces() -> None:
    objects = _objects(_tenant(namespaces=["a1", "a2"], reconcilerRole="edit"))

    bindings = [
        b
        for b in _by_kind(objects, "RoleBinding")
        if b["metadata"]["name"] == labels.RECONCILER_BINDING
    ]
    assert [b["metadata"]["namespace"] for b in bindings] == ["a1", "a2"]
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "edit",
        }
        assert {s["namespace"] for s in binding["subjects"]} == {"a1", "a2"}


def test_owners_are_bound_to_the_owner_role() -> None:
    tenant = _tenant(
        namespaces=["a1", "a2"],
        ownerRole="edit",
        owners=[
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "team-a-devs"},
            {"kind": "ServiceAccount", "name": "ci"},
            {"kind": "ServiceAccount", "name": "deployer", "namespace": "tools"},
        ],
    )

    owners = [
        b
        for b in _by_kind(_objects(tenant), "RoleBinding")
        if b["metadata"]["name"] == labels.OWNERS_BINDING
    ]

    assert len(owners) == 2
    assert owners[0]["roleRef"]["name"] == "edit"
    assert owners[0]["subjects"] == [
        {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "Group", "name": "team-a-devs", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "ServiceAccount", "name": "ci", "namespace": "a1"},
        {"kind": "ServiceAccount", "name": "deployer", "namespace": "tools"},
    ]


def test_quota_and_limits_follow_the_spec() -> None:
    tenant = _tenant(
        quota={"pods": 10, "requests.cpu": "2"},
        limitRange=[{"type": "Container", "max": {"cpu": "1"}}],
    )
    objects = _objects(tenant)

    (quota,) = _by_kind(objects, "ResourceQuota")
    assert quota["spec"] == {"hard": {"pods": "10", "requests.cpu": "2"}}
    (limits,) = _by_kind(objects, "LimitRange")
    assert limits["spec"] == {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}
    assert not _by_kind(_objects(_tenant()), "ResourceQuota")
    assert not _by_kind(_objects(_tenant()), "LimitRange")


def test_isolation_allows_own_namespaces_and_the_platform_only() -> None:
    (policy,) = _by_kind(_objects(_tenant()), "NetworkPolicy")

    assert policy["spec"]["podSelector"] == {}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    peers = policy["spec"]["ingress"][0]["from"]
    assert {"podSelector": {}} in peers
    assert {"namespaceSelector": {"matchLabels": {labels.TENANT: "team-a"}}} in peers
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": PLATFORM}}} in (
        peers
    )
    assert not _by_kind(_objects(_tenant(networkIsolation=False)), "NetworkPolicy")


def test_disabled_features_produce_nothing() -> None:
    tenant = _tenant(quota={"pods": "1"}, limitRange=[{"type": "Container"}])
    off = Features(network_isolation=False, quotas=False, limit_ranges=False)

    kinds = {obj["kind"] for obj in _objects(tenant, off)}

    assert kinds == {"Namespace", "ServiceAccount", "RoleBinding"}


def test_source_and_sync_become_a_git_repository_and_kustomization() -> None:
    tenant = _tenant(
        namespaces=["a1", "a2"],
        source={
            "url": "https://git.example/a.git",
            "ref": {"branch": "main"},
            "secretRef": {"name": "git-auth"},
            "interval": "5m",
        },
        sync={
            "path": "./deploy",
            "prune": False,
            "dependsOn": [{"name": "db", "namespace": "shared"}],
            "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
        },
    )
    objects = _objects(tenant)

    (repo,) = _by_kind(objects, "GitRepository")
    assert repo["metadata"]["namespace"] == "a1"
    assert repo["metadata"]["name"] == "team-a"
    assert repo["spec"] == {
        "url": "https://git.example/a.git",
        "interval": "5m",
        "ref": {"branch": "main"},
        "secretRef": {"name": "git-auth"},
    }
    (sync,) = _by_kind(objects, "Kustomization")
    assert sync["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "team-a"}
    assert sync["spec"]["serviceAccountName"] == "landlord-reconciler"
    assert sync["spec"]["prune"] is False
    assert sync["spec"]["dependsOn"] == [{"name": "db", "namespace": "shared"}]
    assert sync["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}


@pytest.mark.parametrize(
    ("tenant_policy", "sync_policy"), [("Orphan", "Orphan"), ("Delete", "MirrorPrune")]
)
def test_the_kustomization_keeps_the_tenants_deletion_promise(
    tenant_policy: str, sync_policy: str
) -> None:
    tenant = _tenant(
        deletionPolicy=tenant_policy, source={"url": "https://git.example/a.git"}, sync={}
    )

    (sync,) = _by_kind(_objects(tenant), "Kustomization")

    # Orphan: deleting the Kustomization (offboarding, or spec.sync removed) prunes nothing.
    assert sync["spec"]["deletionPolicy"] == sync_policy


def test_apply_order_puts_namespaces_first() -> None:
    tenant = _tenant(
        namespaces=["a1", "a2"],
        quota={"pods": "1"},
        source={"url": "https://git.example/a.git"},
        sync={},
    )
    kinds = [obj["kind"] for obj in _objects(tenant)]

    order = [kind for _, kind in desired.MANAGED_KINDS]
    assert kinds == sorted(kinds, key=order.index)
