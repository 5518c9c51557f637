"""The operator's identity: its service account, ClusterRole and binding.

``OPERATOR_RULES`` is the one list of what the operator may do; ``landlord
check`` asks the apiserver about the same rules.
"""

from __future__ import annotations

from typing import Any

OPERATOR = "landlord-operator"

# What the operator itself may do. It provisions tenant namespaces and their
# RBAC (binding ClusterRoles such as `admin` needs `bind`), impersonates
# tenants' service accounts to apply their manifests, and reads (never writes)
# every kind, to watch what tenants' syncs applied for drift.
OPERATOR_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["landlord.dev"], "resources": ["*"], "verbs": ["*"]},
    {
        "apiGroups": [""],
        "resources": [
            "namespaces",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
            "configmaps",
            "secrets",
        ],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "list", "get"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["rolebindings"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["clusterroles"],
        "verbs": ["get", "list", "watch", "bind"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    # Leader election (LANDLORD_LEADER_ELECTION__ENABLED): one Lease per operator.
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "create", "update"],
    },
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
]


def manifests(platform_namespace: str) -> list[dict[str, Any]]:
    """The platform objects ``install`` applies after the CRDs."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": platform_namespace}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR, "namespace": platform_namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": OPERATOR},
            "rules": OPERATOR_RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": OPERATOR},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": OPERATOR,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": OPERATOR, "namespace": platform_namespace}
            ],
        },
    ]
