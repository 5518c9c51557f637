"""A Kustomization's ``deletionPolicy``, with a synced Deployment: Flux's meaning of each value."""

from __future__ import annotations

from typing import Any

import pytest

from landlord import api, kube
from landlord.api import conditions, labels, reasons
from landlord.kube import events
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import deployment

HOLD = "test.landlord.dev/hold"  # a finalizer of someone else's, keeping the Deployment


def _synced(admin: kube.Kube, tenant_repo: TenantRepo, name: str, **spec: Any) -> None:
    """Kustomization ``name`` applying Deployment ``name`` from ``./<name>``."""
    sha = tenant_repo.push({f"{name}/web.yaml": deployment(name)})
    tenant_repo.ready_at(sha)
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": tenant_repo.name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": tenant_repo.name},
                "path": f"./{name}",
                "interval": "1m",
                **spec,
            },
        },
        field_manager="test",
    )
    eventually(
        lambda: tenant_repo.get("Deployment", name, "apps/v1") is not None,
        what=f"Deployment {name} applied",
    )


def _delete(admin: kube.Kube, tenant_repo: TenantRepo, name: str) -> None:
    admin.delete(api.API_VERSION, "Kustomization", name, tenant_repo.name)
    eventually(
        lambda: admin.get(api.API_VERSION, "Kustomization", name, tenant_repo.name) is None,
        what=f"Kustomization {name} released",
    )


def _hold(admin: kube.Kube, tenant_repo: TenantRepo, name: str, held: bool) -> None:
    admin.merge_patch(
        "apps/v1",
        "Deployment",
        name,
        {"metadata": {"finalizers": [HOLD] if held else None}},
        tenant_repo.name,
    )


@pytest.mark.parametrize(
    ("policy", "prune", "kept"),
    [
        ("MirrorPrune", True, False),
        ("MirrorPrune", False, True),
        ("Delete", False, False),
        ("Orphan", True, True),
    ],
)
def test_deleting_a_kustomization_follows_its_deletion_policy(
    admin: kube.Kube, tenant_repo: TenantRepo, policy: str, prune: bool, kept: bool
) -> None:
    name = f"{policy.lower()}-{str(prune).lower()}"
    _synced(admin, tenant_repo, name, deletionPolicy=policy, prune=prune)

    _delete(admin, tenant_repo, name)

    live = tenant_repo.get("Deployment", name, "apps/v1")
    if kept:
        assert live is not None
        assert not live["metadata"].get("deletionTimestamp")
    else:
        eventually(
            lambda: tenant_repo.get("Deployment", name, "apps/v1") is None,
            what=f"Deployment {name} pruned",
        )


def test_wait_for_termination_holds_the_kustomization_until_its_objects_are_gone(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    name = "waits"
    _synced(admin, tenant_repo, name, deletionPolicy="WaitForTermination", prune=False)
    _hold(admin, tenant_repo, name, held=True)

    admin.delete(api.API_VERSION, "Kustomization", name, tenant_repo.name)

    def waiting() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "Kustomization", name, tenant_repo.name) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        return ready if (ready or {}).get("reason") == reasons.WAITING_FOR_TERMINATION else None

    ready = eventually(waiting, what="the Kustomization waiting for termination")
    assert f"Deployment {tenant_repo.name}/{name}" in ready["message"]
    terminating = tenant_repo.get("Deployment", name, "apps/v1") or {}
    assert terminating["metadata"].get("deletionTimestamp")  # deleted although prune: false

    _hold(admin, tenant_repo, name, held=False)

    _delete(admin, tenant_repo, name)
    assert tenant_repo.get("Deployment", name, "apps/v1") is None


def test_wait_for_termination_gives_up_after_the_timeout(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    name = "gives-up"
    _synced(admin, tenant_repo, name, deletionPolicy="WaitForTermination", timeout="3s")
    _hold(admin, tenant_repo, name, held=True)
    try:
        _delete(admin, tenant_repo, name)

        reasons_seen = [
            e.get("reason") for e in events.list_for(admin, "Kustomization", name, tenant_repo.name)
        ]
        assert reasons.WAITING_FOR_TERMINATION in reasons_seen
        assert reasons.TERMINATION_TIMEOUT in reasons_seen
        assert tenant_repo.get("Deployment", name, "apps/v1") is not None  # still held
    finally:
        _hold(admin, tenant_repo, name, held=False)


def _own_account(admin: kube.Kube, tenant_repo: TenantRepo, name: str) -> None:
    """ServiceAccount ``name`` with the reconciler's role (no controller recreates it)."""
    namespace = tenant_repo.name
    bindings = admin.list_objects(
        "rbac.authorization.k8s.io/v1", "RoleBinding", namespace=namespace
    )
    reconciler = next(
        b
        for b in bindings
        if any(s.get("name") == labels.RECONCILER_SERVICE_ACCOUNT for s in b.get("subjects") or [])
    )
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
        field_manager="test",
    )
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": reconciler["roleRef"],
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
        field_manager="test",
    )


@pytest.mark.parametrize(
    ("removed", "reason"),
    [("ServiceAccount", reasons.SERVICE_ACCOUNT_NOT_FOUND), ("RoleBinding", reasons.PRUNE_FAILED)],
)
def test_a_prune_the_tenant_made_impossible_gives_up_after_the_timeout(
    admin: kube.Kube, tenant_repo: TenantRepo, removed: str, reason: str
) -> None:
    """The finalizer goes with a Warning; the operator never prunes with its own identity."""
    name = f"no-{removed.lower()}"
    _own_account(admin, tenant_repo, name)
    _synced(admin, tenant_repo, name, serviceAccountName=name, timeout="3s")
    api_version = "v1" if removed == "ServiceAccount" else "rbac.authorization.k8s.io/v1"
    admin.delete(api_version, removed, name, tenant_repo.name)

    _delete(admin, tenant_repo, name)

    abandoned = [
        e
        for e in events.list_for(admin, "Kustomization", name, tenant_repo.name)
        if e.get("reason") == reasons.PRUNE_ABANDONED
    ]
    assert [e["type"] for e in abandoned] == ["Warning"]
    assert reason in abandoned[0]["message"]
    assert f"Deployment {tenant_repo.name}/{name}" in abandoned[0]["message"]
    live = tenant_repo.get("Deployment", name, "apps/v1")
    assert live is not None
    assert not live["metadata"].get("deletionTimestamp")  # not deleted as anyone else
