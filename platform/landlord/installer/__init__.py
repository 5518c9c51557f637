"""``landlord install``: CRDs, the platform namespace and the operator's RBAC.

Everything is server-side applied with the ``landlord`` field manager, so a
second install is a no-op and an upgrade changes only what changed.
"""

from __future__ import annotations

import time
from typing import Any

from landlord import errors
from landlord.api import crds, labels
from landlord.kube import Kube

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


def install(kube: Kube, *, platform_namespace: str, timeout: float = 30.0) -> list[str]:
    """Apply the CRDs (and wait until they are served), then the platform objects."""
    applied = []
    definitions = crds.load()
    for crd in definitions:
        kube.apply(crd, field_manager=labels.FIELD_MANAGER, force=True)
        applied.append(f"CustomResourceDefinition {crd['metadata']['name']}")
    deadline = time.monotonic() + timeout
    for crd in definitions:
        name = crd["metadata"]["name"]
        while not _established(kube, name):
            if time.monotonic() > deadline:
                raise errors.RetryableError(f"CRD {name} was not Established in {timeout}s")
            time.sleep(0.1)
    for manifest in manifests(platform_namespace):
        kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
        applied.append(f"{manifest['kind']} {manifest['metadata']['name']}")
    return applied


def _established(kube: Kube, name: str) -> bool:
    crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    for condition in ((crd or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Established" and condition.get("status") == "True":
            return True
    return False
