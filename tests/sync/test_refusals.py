"""A revision with anything invalid or forbidden applies nothing; the previous state stays."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.operator import Tenants
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map, deployment


@pytest.fixture
def applied(tenant_repo: TenantRepo) -> TenantRepo:
    sha = tenant_repo.push({"deploy/base.yaml": config_map("base", v="1")})
    tenant_repo.ready_at(sha)
    return tenant_repo


def _cluster_role_binding() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "takeover"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "User", "name": "mallory"}],
    }


def _escalating_role_binding() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "escalate"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "User", "name": "mallory"}],
    }


def _assert_nothing_applied(repo: TenantRepo) -> None:
    assert repo.get("ConfigMap", "newcomer") is None
    base = repo.get("ConfigMap", "base")
    assert base is not None
    assert base["data"] == {"v": "1"}


def test_an_object_in_another_tenants_namespace(applied: TenantRepo, tenants: Tenants) -> None:
    other = tenants.create(tenants.name("victim"))
    tenants.ready(other)
    sha = applied.push(
        {
            "deploy/base.yaml": config_map("base", v="2"),
            "deploy/new.yaml": config_map("newcomer"),
            "deploy/evil.yaml": deployment("evil", namespace=other),
        }
    )

    ready = applied.failed("ValidationFailed", sha)

    assert f"namespace '{other}' is not one of the tenant's namespaces" in ready["message"]
    assert "evil" in ready["message"]
    _assert_nothing_applied(applied)
    assert applied.get("Deployment", "evil", "apps/v1", namespace=other) is None


def test_a_cluster_role_binding(applied: TenantRepo) -> None:
    sha = applied.push(
        {
            "deploy/base.yaml": config_map("base", v="2"),
            "deploy/new.yaml": config_map("newcomer"),
            "deploy/crb.yaml": _cluster_role_binding(),
        }
    )

    ready = applied.failed("ValidationFailed", sha)

    assert "ClusterRoleBinding is cluster-scoped" in ready["message"]
    _assert_nothing_applied(applied)


def test_a_role_binding_to_cluster_admin_is_refused_by_the_apiserver(applied: TenantRepo) -> None:
    sha = applied.push(
        {
            "deploy/base.yaml": config_map("base", v="2"),
            "deploy/new.yaml": config_map("newcomer"),
            "deploy/rb.yaml": _escalating_role_binding(),
        }
    )

    ready = applied.failed("ApplyFailed", sha)

    assert "RoleBinding" in ready["message"]
    assert "escalat" in ready["message"] or "forbidden" in ready["message"]
    _assert_nothing_applied(applied)
    assert applied.get("RoleBinding", "escalate", "rbac.authorization.k8s.io/v1") is None


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\n", "deploy/bad.yaml"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
            "  a: &a [x,x,x,x,x,x,x,x,x,x]\n  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            "  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            "YAML bomb",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\ndata: {a: '1', a: '2'}\n",
            "duplicate key",
        ),
        ("kind: ConfigMap\nmetadata: {name: nover}\n", "has no apiVersion"),
    ],
)
def test_broken_yaml_applies_nothing(applied: TenantRepo, content: str, complaint: str) -> None:
    sha = applied.push(
        {
            "deploy/base.yaml": config_map("base", v="2"),
            "deploy/new.yaml": config_map("newcomer"),
            "deploy/bad.yaml": content,
        }
    )

    ready = applied.failed("BuildFailed", sha)

    assert complaint in ready["message"]
    _assert_nothing_applied(applied)
