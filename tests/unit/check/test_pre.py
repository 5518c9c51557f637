"""``landlord check --pre``: what ``landlord install`` needs, derived from what it applies."""

from __future__ import annotations

from landlord.check import pre
from landlord.installer import rbac


def test_resources_of_the_kinds_install_applies() -> None:
    assert pre.resource_of("CustomResourceDefinition") == "customresourcedefinitions"
    assert pre.resource_of("ClusterRoleBinding") == "clusterrolebindings"
    assert pre.resource_of("ValidatingAdmissionPolicy") == "validatingadmissionpolicies"


def test_install_needs_create_and_patch_of_each_kind_where_it_lands() -> None:
    manifests = pre.install_manifests("platform")

    wanted = pre.install_permissions(manifests)

    kinds = {manifest["kind"] for manifest in manifests}
    assert {"CustomResourceDefinition", "Namespace", "ClusterRole", "RoleBinding"} <= kinds
    assert ("apiextensions.k8s.io", "customresourcedefinitions", "get", "", "") in wanted
    assert ("", "serviceaccounts", "create", "platform", "") in wanted
    assert ("", "serviceaccounts", "patch", "platform", "") in wanted
    assert ("", "namespaces", "create", "", "") in wanted
    assert ("rbac.authorization.k8s.io", "clusterroles", "patch", "", "") in wanted
    assert ("rbac.authorization.k8s.io", "roles", "create", "platform", "") in wanted
    assert len(wanted) == len(set(wanted))


def test_without_escalate_every_permission_the_roles_grant_is_asked() -> None:
    granted = pre.granted(pre.install_manifests("platform"))

    for rule in rbac.operator_rules():
        for resource in rule.get("resources") or []:
            verb = rule["verbs"][0]
            group = (rule.get("apiGroups") or [""])[0]
            assert any(p[:3] == (group, resource, verb) and p[3] == "" for p in granted), (
                group,
                resource,
                verb,
            )
    assert any(p[3] == "platform" for p in granted)  # the Role in the platform namespace
