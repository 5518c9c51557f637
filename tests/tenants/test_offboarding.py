"""Deleting a Tenant leaves nothing behind (Delete) or keeps workloads without access (Orphan)."""

from __future__ import annotations

from landlord import api, kube
from landlord.api import labels
from landlord.demo import GitServer
from tests.fixtures.operator import Tenants
from tests.helpers import eventually


def _everything_labelled(admin: kube.Kube, tenant: str) -> list[str]:
    """Every object in the whole cluster, of every listable kind, that carries the label."""
    found = []
    for api_version, kind, _ in admin.listable_kinds():
        if kind in ("Event", "ComponentStatus"):
            continue
        for item in admin.list_objects(
            api_version, kind, label_selector=f"{labels.TENANT}={tenant}"
        ):
            meta = item["metadata"]
            found.append(f"{kind} {meta.get('namespace', '')}/{meta['name']}")
    return found


def test_deleting_a_tenant_leaves_nothing_labelled_with_it(
    admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.name("bye")
    tenants.create(
        name,
        {
            "namespaces": [name, f"{name}-2"],
            "owners": [{"kind": "Group", "name": "devs"}],
            "quota": {"pods": "4"},
            "limitRange": [{"type": "Container", "default": {"cpu": "100m"}}],
            "source": {"url": "https://git.example/bye.git"},
            "sync": {"path": "./"},
        },
    )
    tenants.ready(name)
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "workload", "namespace": name},
        }
    )
    before = _everything_labelled(admin, name)
    assert len(before) == 18, "\n".join(before)

    tenants.delete(name)

    assert _everything_labelled(admin, name) == []
    assert admin.get("v1", "Namespace", name) is None
    assert admin.get("v1", "ConfigMap", "workload", name) is None


def test_orphan_keeps_namespaces_and_workloads_but_removes_access(
    admin: kube.Kube, tenants: Tenants
) -> None:
    name = tenants.name("keep")
    tenants.create(
        name,
        {
            "deletionPolicy": "Orphan",
            "quota": {"pods": "4"},
            "owners": [{"kind": "User", "name": "carol"}],
        },
    )
    tenants.ready(name)
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "workload", "namespace": name},
        }
    )
    try:
        tenants.delete(name)

        assert _everything_labelled(admin, name) == []
        assert admin.get("v1", "ConfigMap", "workload", name) is not None
        namespace = admin.get("v1", "Namespace", name)
        assert namespace is not None
        assert not namespace["metadata"].get("deletionTimestamp")
        assert (
            admin.list_objects("rbac.authorization.k8s.io/v1", "RoleBinding", namespace=name) == []
        )
        assert admin.get("v1", "ServiceAccount", "landlord-reconciler", name) is None
    finally:
        admin.delete("v1", "Namespace", name)


def test_orphan_keeps_what_the_tenants_sync_applied(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants
) -> None:
    name = tenants.synced("keepsync", git_server, deletionPolicy="Orphan")
    try:
        tenants.delete(name)

        assert admin.get(api.API_VERSION, "Kustomization", name, name) is None
        kept = admin.get("apps/v1", "Deployment", "web", name)
        assert kept is not None, "the Kustomization's finalizer pruned an Orphan tenant's workload"
        assert not kept["metadata"].get("deletionTimestamp")
        namespace = admin.get("v1", "Namespace", name)
        assert namespace is not None
        assert not namespace["metadata"].get("deletionTimestamp")
        assert labels.TENANT not in (namespace["metadata"].get("labels") or {})
    finally:
        admin.delete("v1", "Namespace", name)


def test_offboarding_reports_progress_while_it_waits(admin: kube.Kube, tenants: Tenants) -> None:
    name = tenants.name("slow")
    tenants.create(name)
    tenants.ready(name)
    # A finalizer nobody removes keeps the namespace terminating.
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "stuck", "namespace": name, "finalizers": ["example.com/hold"]},
        }
    )

    admin.delete(api.API_VERSION, "Tenant", name)
    waiting = tenants.condition(name, "Offboarding")

    assert f"waiting for namespace(s) {name}" in waiting["message"]
    admin.merge_patch("v1", "ConfigMap", "stuck", {"metadata": {"finalizers": None}}, name)
    eventually(lambda: tenants.get(name) is None, timeout=90, what="offboarding to finish")
