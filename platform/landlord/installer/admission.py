"""Where the operator may write as itself: tenant namespaces only, enforced by the apiserver.

RBAC cannot scope a permission to "namespaces labelled as a tenant's": the
operator's ClusterRole lets it create RoleBindings, ServiceAccounts, quotas,
limit ranges and NetworkPolicies anywhere, and bind ``admin`` — enough, for an
operator steered by a hostile platform-repository commit or a bug, to bind
itself ``admin`` in ``kube-system``. This ValidatingAdmissionPolicy (built into
the apiserver, GA since 1.30) refuses the operator's own writes of those kinds
outside namespaces labelled ``landlord.dev/tenant``, any namespace it did not
make a tenant's (adding or changing that label), and a binding of its
per-namespace access role to anyone but itself. Tenants' syncs are not
concerned: they run as the tenants' accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from landlord.api import labels

POLICY = "landlord-operator-scope"
NAMESPACE_PLACEHOLDER = "__PLATFORM_NAMESPACE__"
LEVELS_PLACEHOLDER = "__POD_SECURITY_LEVELS__"
# The Pod Security levels the operator may give a tenant namespace (the chart's
# rbac.podSecurityLevels): `privileged` only if the platform team says so.
POD_SECURITY_LEVELS: tuple[str, ...] = ("restricted", "baseline")
ENFORCE = "pod-security.kubernetes.io/enforce"

_TENANT = labels.TENANT
_IS_TENANT_NAMESPACE = (
    "namespaceObject != null && has(namespaceObject.metadata.labels) && "
    f"'{_TENANT}' in namespaceObject.metadata.labels"
)
_NAMESPACES = "request.resource.resource == 'namespaces'"


def _validations(platform_namespace: str, levels: Sequence[str]) -> list[dict[str, str]]:
    allowed = "[" + ", ".join(f"'{level}'" for level in levels) + "]"
    return [
        {
            "expression": f"{_NAMESPACES} || ({_IS_TENANT_NAMESPACE})",
            "message": "the operator writes RoleBindings, ServiceAccounts, quotas, limit ranges "
            f"and NetworkPolicies only in tenant namespaces (labelled {_TENANT})",
        },
        {
            "expression": f"!({_NAMESPACES}) || request.operation != 'CREATE' || "
            f"(has(object.metadata.labels) && '{_TENANT}' in object.metadata.labels)",
            "message": f"a namespace the operator creates is a tenant's ({_TENANT})",
        },
        {
            "expression": f"!({_NAMESPACES}) || request.operation == 'CREATE' || "
            f"(has(oldObject.metadata.labels) && '{_TENANT}' in oldObject.metadata.labels)",
            "message": "the operator changes or deletes only tenant namespaces; it never adopts "
            "another namespace",
        },
        {
            "expression": f"!({_NAMESPACES}) || request.operation != 'UPDATE' || "
            f"!(has(object.metadata.labels) && '{_TENANT}' in object.metadata.labels) || "
            f"object.metadata.labels['{_TENANT}'] == oldObject.metadata.labels['{_TENANT}']",
            "message": "a tenant namespace never passes to another tenant",
        },
        {
            "expression": f"!({_NAMESPACES}) || request.operation == 'DELETE' || "
            f"(has(object.metadata.labels) && '{ENFORCE}' in object.metadata.labels && "
            f"object.metadata.labels['{ENFORCE}'] in {allowed})",
            "message": f"a tenant namespace enforces one of the Pod Security levels {allowed} "
            "(the chart's rbac.podSecurityLevels)",
        },
        {
            "expression": "request.resource.resource != 'rolebindings' || "
            "request.operation == 'DELETE' || "
            f"object.roleRef.name != '{labels.OPERATOR_ACCESS_ROLE}' || "
            "object.subjects.all(s, s.kind == 'ServiceAccount' && "
            f"s.name == '{labels.OPERATOR_ACCOUNT}' && has(s.namespace) && "
            f"s.namespace == '{platform_namespace}')",
            "message": f"{labels.OPERATOR_ACCESS_ROLE} is bound to the operator only",
        },
    ]


def manifests(
    platform_namespace: str, pod_security_levels: Sequence[str] = POD_SECURITY_LEVELS
) -> list[dict[str, Any]]:
    """The policy and its binding, for the operator of ``platform_namespace``."""
    operator = f"system:serviceaccount:{platform_namespace}:{labels.OPERATOR_ACCOUNT}"

    def rule(group: str, resources: list[str], operations: list[str]) -> dict[str, Any]:
        return {
            "apiGroups": [group],
            "apiVersions": ["v1"],
            "operations": operations,
            "resources": resources,
        }

    writes = ["CREATE", "UPDATE", "DELETE"]
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": POLICY},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        rule("", ["namespaces", "serviceaccounts"], writes),
                        rule("", ["resourcequotas", "limitranges"], writes),
                        rule("rbac.authorization.k8s.io", ["rolebindings"], writes),
                        rule("networking.k8s.io", ["networkpolicies"], writes),
                    ]
                },
                "matchConditions": [
                    {
                        "name": "the-operator",
                        "expression": f"request.userInfo.username == '{operator}'",
                    }
                ],
                "validations": [
                    {**validation, "reason": "Forbidden"}
                    for validation in _validations(platform_namespace, pod_security_levels)
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": POLICY},
            "spec": {"policyName": POLICY, "validationActions": ["Deny"]},
        },
    ]
