"""dependsOn ordering and denial, a missing service account, postBuild, health and kustomize."""

from __future__ import annotations

from typing import Any

from landlord import api, kube
from landlord.api import conditions
from tests.fixtures.operator import Tenants
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map, deployment


def _kustomization(admin: kube.Kube, repo: TenantRepo, name: str, **spec: Any) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": repo.name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": repo.name},
                "interval": "1m",
                "retryInterval": "1s",
                **spec,
            },
        },
        field_manager="test",
        force=True,
    )


def _ready(admin: kube.Kube, repo: TenantRepo, name: str) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, "Kustomization", name, repo.name) or {}
    return conditions.get((body.get("status") or {}).get("conditions") or [], "Ready") or {}


def _reason(
    admin: kube.Kube, repo: TenantRepo, name: str, reason: str, timeout: float = 30
) -> dict[str, Any]:
    return eventually(
        lambda: (r := _ready(admin, repo, name)).get("reason") == reason and r,
        timeout=timeout,
        what=f"{name} {reason}",
    )


def test_depends_on_waits_for_the_dependency(admin: kube.Kube, tenant_repo: TenantRepo) -> None:
    sha = tenant_repo.push({"deploy/a.yaml": config_map("a"), "db/db.yaml": config_map("db")})
    tenant_repo.ready_at(sha)
    _kustomization(admin, tenant_repo, "app", path="./deploy", dependsOn=[{"name": "db"}])

    waiting = _reason(admin, tenant_repo, "app", "DependencyNotReady")
    assert "db" in waiting["message"]

    _kustomization(admin, tenant_repo, "db", path="./db")
    _reason(admin, tenant_repo, "db", "ReconciliationSucceeded")
    _reason(admin, tenant_repo, "app", "ReconciliationSucceeded")


def test_dependency_cycles_are_reported(admin: kube.Kube, tenant_repo: TenantRepo) -> None:
    _kustomization(admin, tenant_repo, "one", path="./", dependsOn=[{"name": "two"}])
    _kustomization(admin, tenant_repo, "two", path="./", dependsOn=[{"name": "one"}])

    cycle = _reason(admin, tenant_repo, "one", "DependencyCycle")

    assert "one → two → one" in cycle["message"]


def test_cross_namespace_dependencies_are_denied(
    admin: kube.Kube, tenant_repo: TenantRepo, tenants: Tenants
) -> None:
    _kustomization(
        admin,
        tenant_repo,
        "app",
        path="./",
        dependsOn=[{"name": "shared-db", "namespace": "team-b"}],
    )

    denied = _reason(admin, tenant_repo, "app", "PolicyDenied")

    assert "team-b/shared-db" in denied["message"]
    assert tenants  # the denial holds while another tenant exists too


def test_a_missing_service_account_fails_clearly(admin: kube.Kube, tenant_repo: TenantRepo) -> None:
    _kustomization(admin, tenant_repo, "ghost", path="./", serviceAccountName="nobody")

    missing = _reason(admin, tenant_repo, "ghost", "ServiceAccountNotFound")

    assert f"{tenant_repo.name}/nobody does not exist" in missing["message"]


def test_post_build_substitution_reads_the_tenants_config_map(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "vars", "namespace": tenant_repo.name},
            "data": {"color": "green"},
        }
    )
    sha = tenant_repo.push(
        {
            "subst/cm.yaml": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "painted"},
                "data": {"color": "${color}", "size": "${size:=XL}", "env": "${cluster_env}"},
            }
        }
    )
    tenant_repo.ready_at(sha)
    _kustomization(
        admin,
        tenant_repo,
        "subst",
        path="./subst",
        postBuild={
            "substitute": {"cluster_env": "prod"},
            "substituteFrom": [{"kind": "ConfigMap", "name": "vars"}],
        },
    )

    _reason(admin, tenant_repo, "subst", "ReconciliationSucceeded")

    painted = tenant_repo.get("ConfigMap", "painted")
    assert painted is not None
    assert painted["data"] == {"color": "green", "size": "XL", "env": "prod"}


def test_wait_reports_health_of_a_deployment(admin: kube.Kube, tenant_repo: TenantRepo) -> None:
    sha = tenant_repo.push({"health/web.yaml": deployment("web")})
    tenant_repo.ready_at(sha)
    _kustomization(admin, tenant_repo, "healthy", path="./health", wait=True, timeout="60s")

    _reason(admin, tenant_repo, "healthy", "ReconciliationSucceeded", timeout=90)

    body = admin.get(api.API_VERSION, "Kustomization", "healthy", tenant_repo.name) or {}
    assert conditions.is_true(body["status"]["conditions"], "Healthy")


def test_kustomize_overlays_build_and_remote_bases_are_refused(
    admin: kube.Kube, tenant_repo: TenantRepo
) -> None:
    sha = tenant_repo.push(
        {
            "base/kustomization.yaml": "resources: [cm.yaml]\n",
            "base/cm.yaml": config_map("from-base", tier="base"),
            "overlay/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\n",
            "remote/kustomization.yaml": "resources:\n- https://github.com/example/evil//config?ref=main\n",
        }
    )
    tenant_repo.ready_at(sha)
    _kustomization(admin, tenant_repo, "overlay", path="./overlay")
    _kustomization(admin, tenant_repo, "remote", path="./remote")

    _reason(admin, tenant_repo, "overlay", "ReconciliationSucceeded")
    refused = _reason(admin, tenant_repo, "remote", "BuildFailed")

    assert tenant_repo.get("ConfigMap", "prod-from-base") is not None
    assert "remote base" in refused["message"]
