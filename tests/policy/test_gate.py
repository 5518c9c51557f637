"""The policy gate in the operator: cross-tenant edges, sources, kinds, targets, hot reload."""

from __future__ import annotations

import datetime
from typing import Any

import yaml

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.demo import GitServer
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import BASELINE_POLICY, OperatorProcess, Tenants
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map


def _tenant_with_repo(
    tenants: Tenants,
    git: GitServer,
    prefix: str,
    files: dict[str, Any],
    *,
    name: str | None = None,
    owners: list[dict[str, str]] | None = None,
    source_interval: str = "1m",
    **sync: Any,
) -> str:
    """A tenant (``name``, or a new one named after ``prefix``) syncing ``files`` from its repo."""
    name = name or tenants.name(prefix)
    git.create(name)
    git.commit(name, {path: yaml.safe_dump(body) for path, body in files.items()}, message="init")
    url = git.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {
            "source": {"url": url, "interval": source_interval},
            "sync": {"path": "./deploy", "interval": "1m", **sync},
            **({"owners": owners} if owners else {}),
        },
    )
    return name


def _ready(
    admin: kube.Kube, namespace: str, name: str, kind: str = "Kustomization"
) -> dict[str, Any]:
    body = admin.get(api.API_VERSION, kind, name, namespace) or {}
    return conditions.get((body.get("status") or {}).get("conditions") or [], "Ready") or {}


def _reason(
    admin: kube.Kube, namespace: str, name: str, reason: str, kind: str = "Kustomization"
) -> dict[str, Any]:
    return eventually(
        lambda: (r := _ready(admin, namespace, name, kind)).get("reason") == reason and r,
        timeout=45,
        what=f"{kind} {namespace}/{name} {reason}",
    )


def _events(admin: kube.Kube, namespace: str, reason: str) -> list[dict[str, Any]]:
    return [
        e
        for e in admin.list_objects("v1", "Event", namespace=namespace)
        if e.get("reason") == reason
    ]


def test_a_cross_tenant_dependency_is_decided_by_the_policy_in_force(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    policy_files: PolicyFiles,
    operator: OperatorProcess,
) -> None:
    shared = _tenant_with_repo(tenants, git_server, "infra", {"deploy/db.yaml": config_map("db")})
    app = _tenant_with_repo(
        tenants,
        git_server,
        "app",
        {"deploy/app.yaml": config_map("app")},
        dependsOn=[{"name": shared, "namespace": shared}],
    )
    _reason(admin, shared, shared, "ReconciliationSucceeded")

    # Denied by default, with the reason, the subject and what would allow it.
    denied = _reason(admin, app, app, "PolicyDenied")
    assert f"dependsOn {shared}/{shared} is denied for tenant:{app}" in denied["message"]
    assert "(default deny)" in denied["message"]
    assert f"`p, tenant:{app}, depend, {shared}/{shared}, allow`" in denied["message"]
    assert admin.get("v1", "ConfigMap", "app", app) is None
    assert any(f"{shared}/{shared}" in e["message"] for e in _events(admin, app, "PolicyDenied"))

    # One line, hot-reloaded: the dependency is honoured and the sync applies.
    line = f"p, tenant:{app}, depend, {shared}/{shared}, allow"
    policy_files.add(line)
    _reason(admin, app, app, "ReconciliationSucceeded")
    assert admin.get("v1", "ConfigMap", "app", app) is not None

    # A broken file: refused, said so, and the previous policy stays in force.
    in_force = policy_files.digest()
    typo = f"tenat:{app}"
    policy_files.write(BASELINE_POLICY + f"{line}\np, {typo}, depend, x/y, allow\n", wait=False)
    eventually(
        lambda: any(
            f"subject '{typo}' must start with" in e["message"] and "stays in force" in e["message"]
            for e in _events(admin, "default", "PolicyInvalid")
            if e["involvedObject"]["name"] == PLATFORM_NAMESPACE
        ),
        timeout=15,
        what="a PolicyInvalid Event about the platform namespace",
    )
    exposition = operator.metrics()
    assert "landlord_policy_valid 0.0" in exposition
    assert f'digest="{in_force}"' in exposition
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    admin.merge_patch(
        api.API_VERSION,
        "Kustomization",
        app,
        {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
        app,
    )
    eventually(
        lambda: (
            (admin.get(api.API_VERSION, "Kustomization", app, app) or {})
            .get("status", {})
            .get("lastHandledReconcileAt")
            == stamp
        ),
        timeout=30,
        what="the requested reconcile",
    )
    assert _ready(admin, app, app)["reason"] == "ReconciliationSucceeded"

    # Without the line the next reconcile is blocked again; what was applied stays.
    policy_files.reset()
    _reason(admin, app, app, "PolicyDenied")
    assert admin.get("v1", "ConfigMap", "app", app) is not None
    assert 'landlord_policy_decisions_total{decision="deny",point="depend"}' in operator.metrics()


def test_a_cross_namespace_source_ref_needs_a_policy_line(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, policy_files: PolicyFiles
) -> None:
    owner = _tenant_with_repo(tenants, git_server, "charts", {"deploy/c.yaml": config_map("c")})
    user = _tenant_with_repo(tenants, git_server, "user", {"deploy/u.yaml": config_map("u")})
    tenants.ready(owner)
    tenants.ready(user)
    _reason(admin, owner, owner, "ReconciliationSucceeded")
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": "borrowed", "namespace": user},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": owner, "namespace": owner},
                "path": "./deploy",
                "interval": "1m",
            },
        },
        field_manager="test",
        force=True,
    )

    denied = _reason(admin, user, "borrowed", "PolicyDenied")
    assert f"sourceRef {owner}/{owner} is denied for tenant:{user}" in denied["message"]
    assert admin.get("v1", "ConfigMap", "c", user) is None

    policy_files.add(f"p, tenant:{user}, source, {owner}/{owner}, allow")

    _reason(admin, user, "borrowed", "ReconciliationSucceeded")
    assert admin.get("v1", "ConfigMap", "c", user) is not None


def test_a_source_url_outside_the_allowed_patterns_is_never_fetched(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, policy_files: PolicyFiles
) -> None:
    shipped = "p, role:tenant, source, *://**, allow"
    assert shipped in BASELINE_POLICY
    policy_files.write(
        BASELINE_POLICY.replace(
            shipped, "p, role:tenant, source, https://git.example.com/**, allow"
        )
    )

    name = _tenant_with_repo(tenants, git_server, "url", {"deploy/a.yaml": config_map("a")})

    denied = _reason(admin, name, name, "PolicyDenied", kind="GitRepository")
    assert f"tenant:{name} may not use the source {git_server.url(name)}" in denied["message"]
    assert PASSWORD not in denied["message"]
    assert git_server.requests(name, "info-refs") == 0
    assert git_server.requests(name, "ls-refs") == 0
    assert git_server.requests(name, "fetch") == 0

    policy_files.reset()  # the next reload decides again, at once
    body = eventually(
        lambda: (
            (s := admin.get(api.API_VERSION, "GitRepository", name, name) or {})
            .get("status", {})
            .get("artifact")
            and s
        ),
        timeout=30,
        what="the source fetched once allowed",
    )
    assert body["status"]["artifact"]["revision"].startswith("main@sha1:")


def test_kinds_the_platform_reserves_are_never_applied(tenant_repo: TenantRepo) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "mine"},
        "spec": {"hard": {"pods": "1000"}},
    }
    sha = tenant_repo.push({"deploy/cm.yaml": config_map("fine"), "deploy/quota.yaml": quota})

    denied = tenant_repo.failed("PolicyDenied", sha)

    assert "core/ResourceQuota: denied by policy.csv:" in denied["message"]
    assert "nothing was applied" in denied["message"]
    assert tenant_repo.get("ConfigMap", "fine") is None
    assert tenant_repo.get("ResourceQuota", "mine") is None


def test_a_remote_target_needs_a_policy_line_and_is_never_applied_locally(
    admin: kube.Kube, tenant_repo: TenantRepo, policy_files: PolicyFiles
) -> None:
    namespace = tenant_repo.name

    def aim(**target: Any) -> None:
        admin.apply(
            {
                "apiVersion": api.API_VERSION,
                "kind": "Kustomization",
                "metadata": {"name": "remote", "namespace": namespace},
                "spec": {
                    "sourceRef": {"kind": "GitRepository", "name": namespace},
                    "path": "./",
                    "interval": "1m",
                    "retryInterval": "1s",
                    **target,
                },
            },
            field_manager="test",
            force=True,
        )

    aim(cluster="staging")
    denied = _reason(admin, namespace, "remote", "PolicyDenied")
    assert "target cluster 'staging' is denied" in denied["message"]
    assert f"p, tenant:{namespace}, target, clusters/staging, allow" in denied["message"]

    policy_files.add(f"p, tenant:{namespace}, target, clusters/staging, allow")
    refused = _reason(admin, namespace, "remote", "ClusterNotProvisioned")
    assert "nothing was applied" in refused["message"]

    # Flux's field names a registered Cluster's kubeconfig Secret, never one of the tenant's.
    aim(kubeConfig={"secretRef": {"name": "staging"}})
    unknown = _reason(admin, namespace, "remote", "ClusterNotFound")
    assert "never is" in unknown["message"]
    assert (admin.get(api.API_VERSION, "Kustomization", "remote", namespace) or {}).get(
        "status", {}
    ).get("inventory") is None
