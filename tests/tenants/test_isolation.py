"""What the tenant's identities may do is decided by the apiserver's RBAC."""

from __future__ import annotations

from typing import Any

import pytest

from landlord import errors, kube
from tests.fixtures.operator import Tenants


def _deployment(namespace: str) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }


def _denied(action: Any) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as denied:
        action()
    assert denied.value.forbidden, denied.value.message
    return denied.value


def _cluster_admin_binding(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    """A (Cluster)RoleBinding granting alice cluster-admin: what no tenant may create."""
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "User", "name": "alice"}],
    }


def _acting_as(admin: kube.Kube, identity: str, tenant: str) -> kube.Kube:
    """team-a's reconciler service account, or its owner alice, as the apiserver sees them."""
    if identity == "reconciler":
        return admin.as_service_account(tenant, "landlord-reconciler")
    return admin.impersonate("alice")


@pytest.fixture
def two_tenants(tenants: Tenants) -> tuple[str, str]:
    team_a = tenants.create(
        tenants.name("a"), {"quota": {"pods": "10"}, "owners": [{"kind": "User", "name": "alice"}]}
    )
    team_b = tenants.create(tenants.name("b"))
    tenants.ready(team_a)
    tenants.ready(team_b)
    return team_a, team_b


@pytest.mark.parametrize("identity", ["reconciler", "owner"])
def test_tenant_identities_stay_in_their_namespaces(
    admin: kube.Kube, two_tenants: tuple[str, str], identity: str
) -> None:
    team_a, team_b = two_tenants
    actor = _acting_as(admin, identity, team_a)

    created = actor.apply(_deployment(team_a), field_manager="test", dry_run=True)
    assert created["metadata"]["namespace"] == team_a

    _denied(lambda: actor.apply(_deployment(team_b), field_manager="test", dry_run=True))
    _denied(
        lambda: actor.apply(
            _cluster_admin_binding("ClusterRoleBinding", f"{team_a}-takeover"),
            field_manager="test",
            dry_run=True,
        )
    )


@pytest.mark.parametrize("identity", ["reconciler", "owner"])
def test_tenants_cannot_weaken_what_the_platform_gave_them(
    admin: kube.Kube, two_tenants: tuple[str, str], identity: str
) -> None:
    team_a, _ = two_tenants
    actor = _acting_as(admin, identity, team_a)

    _denied(
        lambda: actor.merge_patch(
            "v1", "ResourceQuota", "landlord-quota", {"spec": {"hard": {"pods": "1000"}}}, team_a
        )
    )
    _denied(lambda: actor.delete("v1", "ResourceQuota", "landlord-quota", team_a))
    _denied(
        lambda: actor.merge_patch(
            "v1",
            "Namespace",
            team_a,
            {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
        )
    )
    escalation = _denied(
        lambda: actor.apply(
            _cluster_admin_binding("RoleBinding", "escalate", team_a),
            field_manager="test",
            dry_run=True,
        )
    )
    assert "escalat" in escalation.message
