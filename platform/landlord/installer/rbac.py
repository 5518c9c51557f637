"""The operator's identity: its service account and what it may do, at three scopes.

- ``OPERATOR_RULES`` (ClusterRole ``landlord-operator``): what it needs across
  the cluster — provision tenant namespaces and their RBAC (``bind`` only the
  ClusterRoles tenants are given, by name), its own kinds, Events, token reviews,
  and reading the RBAC objects tenants apply. Every other kind it reads through
  Kubernetes' own ``view`` ClusterRole (bound by ``landlord-operator-view``),
  which leaves out Secrets.
- ``PLATFORM_RULES`` (Role in the platform namespace): its Secrets, ConfigMaps
  and leader-election Leases.
- ``TENANT_ACCESS_RULES`` (ClusterRole ``landlord-operator-tenant``), bound by
  the tenant operator in each tenant namespace and nowhere else: impersonate
  that namespace's service accounts (and request their tokens, for helm), read
  its Secrets (drift of the Secrets a sync applied, a GitRepository's credentials).

No ``impersonate`` on users or groups, no Secret outside those namespaces.
``landlord check`` asks the apiserver about the same rules; the chart renders
them from ``make chart``'s generated files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from landlord.api import labels

OPERATOR = labels.OPERATOR_ACCOUNT
TENANT_ACCESS = labels.OPERATOR_ACCESS_ROLE
READ = "view"  # Kubernetes' aggregated read-only role: everything but Secrets
RBAC = "rbac.authorization.k8s.io"

# The ClusterRoles a Tenant's ownerRole/reconcilerRole may name by default
# (the chart's `rbac.tenantRoles`): the operator may bind these and no other.
TENANT_ROLES: tuple[str, ...] = ("admin", "edit", "view")

_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
_READ = ["get", "list", "watch"]

OPERATOR_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["landlord.dev"], "resources": ["*"], "verbs": ["*"]},
    # What a Tenant provisions in its namespaces.
    {
        "apiGroups": [""],
        "resources": ["namespaces", "serviceaccounts", "resourcequotas", "limitranges"],
        "verbs": _WRITE,
    },
    {"apiGroups": [RBAC], "resources": ["rolebindings"], "verbs": _WRITE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": _WRITE},
    # Drift of the RBAC objects tenants apply (`view` does not read them).
    {"apiGroups": [RBAC], "resources": ["roles", "clusterroles"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "list", "get"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    # The onboarding API authenticates its callers' bearer tokens.
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": _READ,
    },
]

PLATFORM_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": _WRITE},
    # Leader election (LANDLORD_LEADER_ELECTION__ENABLED): a Lease per operator.
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "create", "update"],
    },
]

TENANT_ACCESS_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    # A short-lived token of a tenant's account for helm (HelmReleases): the same reach
    # as impersonating it, without handing helm the operator's own credentials.
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ},
]


# Landlord's kinds a tenant may use in its own namespaces (docs/helm.md, docs/oci.md,
# docs/image-automation.md): aggregated into
# Kubernetes' own `admin`/`edit` (write) and `view` (read) ClusterRoles, so a tenant's
# reconciler account and its owners have them wherever those roles are bound to them.
# The policy's `apply` lines still decide whether a tenant's sync may apply them.
TENANT_KINDS = [
    "helmreleases",
    "helmrepositories",
    "providers",
    "alerts",
    "receivers",
    "ocirepositories",
    "imagerepositories",
    "imagepolicies",
    "imageupdateautomations",
]
TENANT_EDIT = "landlord-tenant-edit"
TENANT_VIEW = "landlord-tenant-view"
TENANT_EDIT_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["landlord.dev"], "resources": TENANT_KINDS, "verbs": _WRITE},
]
TENANT_VIEW_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["landlord.dev"], "resources": TENANT_KINDS, "verbs": _READ},
]
_AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def bind_rule(tenant_roles: Sequence[str] = TENANT_ROLES) -> dict[str, Any]:
    """``bind`` on the tenants' ClusterRoles and the operator's own access role, by name."""
    return {
        "apiGroups": [RBAC],
        "resources": ["clusterroles"],
        "verbs": ["bind"],
        "resourceNames": sorted({*tenant_roles, TENANT_ACCESS}),
    }


def operator_rules(tenant_roles: Sequence[str] = TENANT_ROLES) -> list[dict[str, Any]]:
    """The operator's ClusterRole rules, ``bind`` included."""
    return [*OPERATOR_RULES, bind_rule(tenant_roles)]


def _binding(kind: str, name: str, role_kind: str, role: str, namespace: str) -> dict[str, Any]:
    metadata = {"name": name} | ({"namespace": namespace} if kind == "RoleBinding" else {})
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": namespace}],
    }


def manifests(
    platform_namespace: str, tenant_roles: Sequence[str] = TENANT_ROLES
) -> list[dict[str, Any]]:
    """The platform objects ``install`` applies after the CRDs."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": platform_namespace}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR, "namespace": platform_namespace},
        },
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": OPERATOR},
            "rules": operator_rules(tenant_roles),
        },
        _binding("ClusterRoleBinding", OPERATOR, "ClusterRole", OPERATOR, platform_namespace),
        _binding("ClusterRoleBinding", f"{OPERATOR}-view", "ClusterRole", READ, platform_namespace),
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": TENANT_ACCESS},
            "rules": TENANT_ACCESS_RULES,
        },
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": OPERATOR, "namespace": platform_namespace},
            "rules": PLATFORM_RULES,
        },
        _binding("RoleBinding", OPERATOR, "Role", OPERATOR, platform_namespace),
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": TENANT_EDIT,
                "labels": {f"{_AGGREGATE}admin": "true", f"{_AGGREGATE}edit": "true"},
            },
            "rules": TENANT_EDIT_RULES,
        },
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": TENANT_VIEW, "labels": {f"{_AGGREGATE}view": "true"}},
            "rules": TENANT_VIEW_RULES,
        },
    ]
