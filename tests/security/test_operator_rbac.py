"""The operator's own identity is least privilege: what it may do, asked of the apiserver.

A compromised or confused operator is the worst case of a hostile tenant's
attack (a tenant who steers it). The RBAC ``landlord install`` and the chart give
it (``landlord.installer.rbac``) lets it impersonate service accounts and read
Secrets only in tenant namespaces, bind only the ClusterRoles tenants are given,
and nothing of the sort anywhere else. Access reviews ask the real apiserver
(impersonating the operator's service account); the last test runs the whole
operator with a token of that account and nothing more.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from landlord import api, errors, installer, kube
from landlord.api import labels
from landlord.demo import GitServer
from landlord.kube import reviews
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
from tests.sync.test_apply_and_prune import deployment

RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
def as_operator(admin: kube.Kube, installed: None) -> kube.Kube:
    return admin.as_service_account(PLATFORM_NAMESPACE, installer.OPERATOR)


@pytest.fixture
def tenant_namespace(tenants: Tenants) -> str:
    name = tenants.create(tenants.name("rbac"))
    tenants.ready(name)
    return name


def _can(
    client: kube.Kube, verb: str, resource: str, group: str = "", ns: str = "", name: str = ""
) -> bool:
    return reviews.can(client, verb, resource, group, ns, name).allowed


def test_in_a_tenant_namespace_it_impersonates_accounts_and_reads_secrets_only(
    as_operator: kube.Kube, tenant_namespace: str
) -> None:
    ns = tenant_namespace
    assert _can(
        as_operator, "impersonate", "serviceaccounts", ns=ns, name=labels.RECONCILER_SERVICE_ACCOUNT
    )
    # Any account there: a tenant's Kustomization may name its own serviceAccountName.
    assert _can(as_operator, "impersonate", "serviceaccounts", ns=ns, name="deployer")
    assert _can(as_operator, "watch", "secrets", ns=ns)
    # Reading is all: it never writes a tenant's Secrets or workloads as itself.
    for verb, resource, group in [
        ("create", "secrets", ""),
        ("delete", "secrets", ""),
        ("create", "deployments", "apps"),
        ("create", "pods", ""),
        ("create", "roles", RBAC),
    ]:
        assert not _can(as_operator, verb, resource, group, ns=ns), (verb, resource)


@pytest.mark.parametrize(
    ("verb", "resource", "group", "ns", "name"),
    [
        ("list", "secrets", "", "", ""),  # across the cluster
        ("get", "secrets", "", "kube-system", ""),
        ("get", "secrets", "", "default", ""),
        ("impersonate", "users", "", "", "alice"),
        ("impersonate", "users", "", "", "system:admin"),
        ("impersonate", "groups", "", "", "system:masters"),
        ("impersonate", "serviceaccounts", "", "kube-system", "generic-garbage-collector"),
        ("impersonate", "serviceaccounts", "", "", ""),
        ("impersonate", "uids", "authentication.k8s.io", "", "x"),
        ("bind", "clusterroles", RBAC, "", "cluster-admin"),
        ("escalate", "clusterroles", RBAC, "", ""),
        ("create", "clusterrolebindings", RBAC, "", ""),
        ("create", "clusterroles", RBAC, "", ""),
        ("update", "leases", "coordination.k8s.io", "kube-system", "kube-controller-manager"),
        ("create", "pods", "", "kube-system", ""),
        ("patch", "nodes", "", "", ""),
        ("delete", "customresourcedefinitions", "apiextensions.k8s.io", "", ""),
        ("create", "validatingadmissionpolicybindings", "admissionregistration.k8s.io", "", ""),
    ],
)
def test_it_may_not(
    as_operator: kube.Kube, verb: str, resource: str, group: str, ns: str, name: str
) -> None:
    assert not _can(as_operator, verb, resource, group, ns=ns, name=name)


def test_what_it_needs_across_the_cluster_and_in_its_namespace_is_allowed(
    as_operator: kube.Kube,
) -> None:
    for verb, resource, group, ns, name in [
        ("create", "namespaces", "", "", ""),
        ("create", "rolebindings", RBAC, "", ""),
        ("bind", "clusterroles", RBAC, "", "admin"),
        ("bind", "clusterroles", RBAC, "", labels.OPERATOR_ACCESS_ROLE),
        ("watch", "deployments", "apps", "", ""),  # drift, through `view`
        ("watch", "roles", RBAC, "", ""),
        ("get", "secrets", "", PLATFORM_NAMESPACE, ""),
        ("update", "leases", "coordination.k8s.io", PLATFORM_NAMESPACE, ""),
        ("create", "tokenreviews", "authentication.k8s.io", "", ""),
    ]:
        assert _can(as_operator, verb, resource, group, ns=ns, name=name), (verb, resource, ns)


def test_the_apiserver_refuses_its_attempts_outright(
    as_operator: kube.Kube, admin: kube.Kube
) -> None:
    # Not just reviews: the requests a steered operator would make.
    with pytest.raises(errors.ApiError) as read:
        as_operator.list_objects("v1", "Secret", namespace="kube-system")
    assert read.value.status == 403
    with pytest.raises(errors.ApiError) as escalate:
        as_operator.create(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "steered", "namespace": "default"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [
                    {
                        "kind": "ServiceAccount",
                        "name": installer.OPERATOR,
                        "namespace": PLATFORM_NAMESPACE,
                    }
                ],
            }
        )
    assert escalate.value.status == 403
    assert admin.get(f"{RBAC}/v1", "RoleBinding", "steered", "default") is None


def _refused(attempt: Any) -> str:
    with pytest.raises(errors.ApiError) as refused:
        attempt()
    assert refused.value.status in (403, 422), refused.value.message
    return refused.value.message


def test_admission_keeps_its_writes_inside_tenant_namespaces(
    as_operator: kube.Kube, admin: kube.Kube, tenant_namespace: str
) -> None:
    # RBAC lets it bind `admin` and create ServiceAccounts anywhere; the admission
    # policy (landlord-operator-scope) says where: only in tenant namespaces.
    message = _refused(
        lambda: as_operator.create(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "steered", "namespace": "kube-system"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "admin"},
                "subjects": [
                    {
                        "kind": "ServiceAccount",
                        "name": installer.OPERATOR,
                        "namespace": PLATFORM_NAMESPACE,
                    }
                ],
            }
        )
    )
    assert "only in tenant namespaces" in message
    _refused(
        lambda: as_operator.create(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "steered", "namespace": "default"},
            }
        )
    )
    # It cannot make an existing namespace a tenant's (and so adopt it) …
    message = _refused(
        lambda: as_operator.merge_patch(
            "v1", "Namespace", "kube-system", {"metadata": {"labels": {labels.TENANT: "evil"}}}
        )
    )
    assert "never adopts" in message
    # … nor hand a tenant's namespace to another tenant, nor create an unlabelled one.
    message = _refused(
        lambda: as_operator.merge_patch(
            "v1", "Namespace", tenant_namespace, {"metadata": {"labels": {labels.TENANT: "other"}}}
        )
    )
    assert "never passes to another tenant" in message
    _refused(
        lambda: as_operator.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "steered-ns"}}
        )
    )
    # Nor make itself a privileged namespace to run host pods in, or loosen a tenant's.
    privileged = {"pod-security.kubernetes.io/enforce": "privileged"}
    message = _refused(
        lambda: as_operator.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "steered-ns",
                    "labels": {labels.TENANT: "steered", **privileged},
                },
            }
        )
    )
    assert "Pod Security levels" in message
    _refused(
        lambda: as_operator.merge_patch(
            "v1", "Namespace", tenant_namespace, {"metadata": {"labels": privileged}}
        )
    )
    # Its per-namespace access role is bound to itself only, even in a tenant namespace.
    message = _refused(
        lambda: as_operator.create(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "steered", "namespace": tenant_namespace},
                "roleRef": {
                    "apiGroup": RBAC,
                    "kind": "ClusterRole",
                    "name": labels.OPERATOR_ACCESS_ROLE,
                },
                "subjects": [{"kind": "User", "name": "mallory", "apiGroup": RBAC}],
            }
        )
    )
    assert "bound to the operator only" in message
    assert admin.get(f"{RBAC}/v1", "RoleBinding", "steered", tenant_namespace) is None
    # What it does for tenants still passes (a reconciler binding in a tenant namespace).
    as_operator.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "allowed", "namespace": tenant_namespace},
        },
        field_manager="test",
    )
    admin.delete("v1", "ServiceAccount", "allowed", tenant_namespace)


def test_a_tenant_that_rebinds_the_operators_access_gets_it_replaced(
    admin: kube.Kube, tenants: Tenants, tenant_namespace: str
) -> None:
    # As the tenant (its reconciler account is `admin` there): swap the operator's
    # binding for one with another roleRef (immutable: an apply cannot fix it).
    ns = tenant_namespace
    tenant = admin.as_service_account(ns, labels.RECONCILER_SERVICE_ACCOUNT)
    tenant.delete(f"{RBAC}/v1", "RoleBinding", labels.OPERATOR_ACCESS_BINDING, ns)
    tenant.create(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {
                "name": labels.OPERATOR_ACCESS_BINDING,
                "namespace": ns,
                "labels": {labels.TENANT: ns},
            },
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": installer.OPERATOR,
                    "namespace": PLATFORM_NAMESPACE,
                }
            ],
        }
    )

    def restored() -> bool:
        found = admin.get(f"{RBAC}/v1", "RoleBinding", labels.OPERATOR_ACCESS_BINDING, ns) or {}
        return (found.get("roleRef") or {}).get("name") == labels.OPERATOR_ACCESS_ROLE

    eventually(restored, timeout=30, what="the operator's binding replaced")
    tenants.ready(ns)


def test_a_privileged_tenant_is_refused_unless_the_platform_allows_the_level(
    tenants: Tenants, admin: kube.Kube
) -> None:
    name = tenants.create(tenants.name("priv"), {"podSecurity": "privileged"})

    ready = tenants.condition(name, "PodSecurityNotAllowed")

    assert "LANDLORD_TENANTS__POD_SECURITY_LEVELS" in ready["message"]
    assert admin.get("v1", "Namespace", name) is None


def test_an_object_labelled_for_a_tenant_outside_its_namespaces_is_not_its_own(
    tenants: Tenants, admin: kube.Kube, tenant_namespace: str
) -> None:
    # Anyone who can label something elsewhere must not make the operator delete
    # it (a confused deputy) nor wedge the tenant's offboarding on it.
    stray = tenants.name("stray")
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": stray}})
    try:
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "decoy",
                    "namespace": stray,
                    "labels": {labels.TENANT: tenant_namespace},
                },
            }
        )
        tenants.update(tenant_namespace, {"quota": {"pods": "7"}})
        tenants.ready(tenant_namespace)
        tenants.delete(tenant_namespace)
        assert admin.get("v1", "ServiceAccount", "decoy", stray) is not None
    finally:
        admin.delete("v1", "Namespace", stray)


def test_a_tenant_naming_a_role_the_operator_may_not_bind_is_refused_with_the_reason(
    tenants: Tenants, admin: kube.Kube
) -> None:
    name = tenants.create(tenants.name("role"), {"reconcilerRole": "cluster-admin"})

    ready = tenants.condition(name, "RoleNotAllowed")

    assert "reconcilerRole cluster-admin" in ready["message"]
    assert "LANDLORD_TENANTS__ROLES" in ready["message"]
    assert admin.get("v1", "Namespace", name) is None  # nothing was written


def _kubeconfig_of(
    admin: kube.Kube, control_plane: pathlib.Path, path: pathlib.Path
) -> pathlib.Path:
    """A kubeconfig with a token of the operator's service account and nothing more."""
    token = admin.service_account_token(PLATFORM_NAMESPACE, installer.OPERATOR, seconds=3600)
    config: dict[str, Any] = yaml.safe_load(control_plane.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    context["context"]["user"] = "operator"
    config["users"] = [{"name": "operator", "user": {"token": token}}]
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_operator_with_only_its_own_rbac_onboards_syncs_and_repairs_a_tenant(
    admin: kube.Kube,
    installed: None,
    control_plane: pathlib.Path,
    operator_process: OperatorProcess,
    operator: OperatorProcess,
    tenants: Tenants,
    git_server: GitServer,
    tmp_path: pathlib.Path,
) -> None:
    operator_process.start(
        {"KUBECONFIG": str(_kubeconfig_of(admin, control_plane, tmp_path / "kubeconfig"))}
    )
    name = tenants.name("least")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "app-config"},
        "stringData": {"color": "blue"},
    }
    git_server.create(name)
    git_server.commit(
        name,
        {
            "deploy/web.yaml": yaml.safe_dump(deployment("web")),
            "deploy/secret.yaml": yaml.safe_dump(secret),
        },
        message="app",
    )
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        {"source": {"url": url, "interval": "1s"}, "sync": {"path": "./deploy", "interval": "10m"}},
    )
    tenants.ready(name, timeout=60)
    eventually(
        lambda: admin.get("v1", "Secret", "app-config", name), timeout=60, what="the Secret applied"
    )
    assert admin.get("apps/v1", "Deployment", "web", name) is not None

    # Drift on a Secret is seen by the watch of that namespace's Secrets (the
    # interval is 10 minutes: only the watch can repair it this soon).
    admin.delete("v1", "Secret", "app-config", name)
    eventually(
        lambda: admin.get("v1", "Secret", "app-config", name),
        timeout=30,
        what="the Secret repaired",
    )
    admin.delete("apps/v1", "Deployment", "web", name)
    eventually(
        lambda: admin.get("apps/v1", "Deployment", "web", name),
        timeout=30,
        what="the Deployment repaired",
    )

    kustomization = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    assert kustomization["status"]["inventory"]  # applied as the tenant, recorded
    refused = [
        line
        for line in operator_process.log().splitlines()
        if "refused" in line and "watch of" in line
    ]
    assert not refused
