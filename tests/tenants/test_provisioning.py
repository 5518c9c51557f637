"""A Tenant becomes Ready with everything it should have; spec changes converge."""

from __future__ import annotations

from landlord import kube
from landlord.api import labels
from tests.fixtures.operator import Tenants
from tests.helpers import eventually


def _labelled(admin: kube.Kube, api_version: str, kind: str, tenant: str) -> list[str]:
    items = admin.list_objects(api_version, kind, label_selector=f"{labels.TENANT}={tenant}")
    return sorted(
        f"{item['metadata'].get('namespace', '')}/{item['metadata']['name']}".lstrip("/")
        for item in items
    )


def test_tenant_becomes_ready_with_all_its_objects(admin: kube.Kube, tenants: Tenants) -> None:
    name = tenants.name("team")
    ns1, ns2 = f"{name}-dev", f"{name}-prod"
    tenants.create(
        name,
        {
            "namespaces": [ns1, ns2],
            "owners": [{"kind": "User", "name": "alice"}],
            "quota": {"pods": "10", "requests.cpu": "2"},
            "limitRange": [{"type": "Container", "default": {"cpu": "500m"}}],
        },
    )

    body = tenants.ready(name)

    status = body["status"]
    assert status["namespaces"] == [ns1, ns2]
    assert status["serviceAccount"] == f"system:serviceaccount:{ns1}:landlord-reconciler"
    assert labels.FINALIZER in body["metadata"]["finalizers"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True",
        "Reconciling": "False",
        "Stalled": "False",
    }
    assert _labelled(admin, "v1", "Namespace", name) == [ns1, ns2]
    assert _labelled(admin, "v1", "ServiceAccount", name) == [
        f"{ns1}/landlord-reconciler",
        f"{ns2}/landlord-reconciler",
    ]
    # landlord-operator: the operator's own access there (impersonate, read Secrets).
    assert _labelled(admin, "rbac.authorization.k8s.io/v1", "RoleBinding", name) == [
        f"{ns1}/landlord-operator",
        f"{ns1}/landlord-owners",
        f"{ns1}/landlord-reconciler",
        f"{ns2}/landlord-operator",
        f"{ns2}/landlord-owners",
        f"{ns2}/landlord-reconciler",
    ]
    assert _labelled(admin, "v1", "ResourceQuota", name) == [
        f"{ns1}/landlord-quota",
        f"{ns2}/landlord-quota",
    ]
    assert _labelled(admin, "v1", "LimitRange", name) == [
        f"{ns1}/landlord-limits",
        f"{ns2}/landlord-limits",
    ]
    assert _labelled(admin, "networking.k8s.io/v1", "NetworkPolicy", name) == [
        f"{ns1}/landlord-isolation",
        f"{ns2}/landlord-isolation",
    ]
    namespace = admin.get("v1", "Namespace", ns1)
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    quota = admin.get("v1", "ResourceQuota", "landlord-quota", ns1)
    assert quota is not None
    managers = {entry["manager"] for entry in quota["metadata"]["managedFields"]}
    assert "landlord" in managers


def test_source_and_sync_create_the_tenants_git_repository_and_kustomization(
    admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.create(
        tenants.name("gitops"),
        {
            "source": {"url": "https://git.example/team.git", "ref": {"branch": "main"}},
            "sync": {"path": "./deploy"},
        },
    )
    tenants.ready(name)

    repo = admin.get("landlord.dev/v1alpha1", "GitRepository", name, name)
    sync = admin.get("landlord.dev/v1alpha1", "Kustomization", name, name)

    assert repo is not None
    assert repo["spec"]["url"] == "https://git.example/team.git"
    assert sync is not None
    assert sync["spec"]["sourceRef"] == {"kind": "GitRepository", "name": name}
    assert sync["spec"]["serviceAccountName"] == "landlord-reconciler"


def test_a_dependency_removed_from_the_tenant_leaves_its_kustomization(
    admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.create(
        tenants.name("deps"),
        {
            "source": {"url": "https://git.example/team.git"},
            "sync": {"path": "./deploy", "dependsOn": [{"name": "db", "namespace": "shared"}]},
        },
    )
    tenants.ready(name)
    sync = admin.get("landlord.dev/v1alpha1", "Kustomization", name, name) or {}
    assert sync["spec"]["dependsOn"] == [{"name": "db", "namespace": "shared"}]

    tenants.update(name, {"sync": {"dependsOn": None}})  # a merge patch: removed
    eventually(
        lambda: (
            (admin.get("landlord.dev/v1alpha1", "Kustomization", name, name) or {})
            .get("spec", {})
            .get("dependsOn")
            == []
        ),
        what="the dependsOn removed from the Tenant to leave its Kustomization",
    )


def test_spec_changes_converge(admin: kube.Kube, tenants: Tenants) -> None:
    name = tenants.name("grow")
    ns1, ns2 = f"{name}-a", f"{name}-b"
    tenants.create(
        name,
        {
            "namespaces": [ns1, ns2],
            "quota": {"pods": "5"},
            "owners": [{"kind": "User", "name": "alice"}],
        },
    )
    tenants.ready(name)

    tenants.update(
        name,
        {"namespaces": [ns1], "quota": {"pods": "7"}, "owners": [{"kind": "User", "name": "bob"}]},
    )
    tenants.ready(name)

    quota = admin.get("v1", "ResourceQuota", "landlord-quota", ns1)
    assert quota is not None
    assert quota["spec"]["hard"] == {"pods": "7"}
    owners = admin.get("rbac.authorization.k8s.io/v1", "RoleBinding", "landlord-owners", ns1)
    assert owners is not None
    assert [s["name"] for s in owners["subjects"]] == ["bob"]

    def offboarded() -> bool:
        gone = admin.get("v1", "Namespace", ns2)
        return gone is None or bool(gone["metadata"].get("deletionTimestamp"))

    eventually(offboarded, what=f"namespace {ns2} to be offboarded")


def test_an_invalid_spec_stalls_with_the_reason(tenants: Tenants) -> None:
    name = tenants.create(tenants.name("bad"), {"sync": {"path": "./"}})

    ready = tenants.condition(name, "InvalidSpec")

    assert ready["status"] == "False"
    assert "needs spec.source" in ready["message"]
