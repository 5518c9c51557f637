"""Real nodes run the platform's pods, never a tenant's: an admission policy says so.

A real node has no NetworkPolicy engine (only bridge and portmap plugins) and
its containers run on the machine, so a tenant's pod there would bypass the
tenant's network isolation and, under a ``baseline`` or ``privileged`` Pod
Security level, reach the host. The node's taint keeps pods off it only when
they do not ask; this ValidatingAdmissionPolicy (built into the apiserver)
refuses pods in a tenant's namespaces that tolerate the taint (or every
taint) or name a real node outright, whoever creates them.
"""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.cluster.realnode import configs

POLICY = "landlord-real-nodes-platform-only"

_TOLERATES = (
    "has(object.spec.tolerations) && object.spec.tolerations.exists(t, "
    f"(has(t.key) && t.key == '{configs.REAL_NODE_TAINT}') || "
    "((!has(t.key) || t.key == '') && has(t.operator) && t.operator == 'Exists'))"
)
_NAMES_A_REAL_NODE = (
    f"has(object.spec.nodeName) && object.spec.nodeName.startsWith('{configs.NODE_NAME_PREFIX}')"
)


def manifests() -> list[dict[str, Any]]:
    """The policy and its binding to every tenant namespace."""
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": POLICY},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["pods"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": f"!({_TOLERATES})",
                        "reason": "Forbidden",
                        "message": "a tenant's pod may not tolerate the real nodes' taint "
                        f"({configs.REAL_NODE_TAINT}, or every taint): real nodes run the "
                        "platform's own pods; tenants' workloads run on kwok nodes",
                    },
                    {
                        "expression": f"!({_NAMES_A_REAL_NODE})",
                        "reason": "Forbidden",
                        "message": "a tenant's pod may not name a real node in spec.nodeName",
                    },
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": POLICY},
            "spec": {
                "policyName": POLICY,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": labels.TENANT, "operator": "Exists"}]
                    }
                },
            },
        },
    ]
