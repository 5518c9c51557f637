"""RBAC is enforced by the apiserver, and impersonation carries a service account's rights."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from landlord import kube
from tests.helpers import eventually


def _service_account(admin: kube.Kube, namespace: str, name: str) -> None:
    admin.core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})


def test_unbound_service_account_is_denied(admin: kube.Kube, namespace: str) -> None:
    _service_account(admin, namespace, "robot")
    robot = admin.as_service_account(namespace, "robot")

    with pytest.raises(ApiException) as denied:
        robot.core.list_namespaced_config_map(namespace)

    assert denied.value.status == 403
    assert f"system:serviceaccount:{namespace}:robot" in denied.value.body


def test_role_binding_grants_exactly_its_namespace(admin: kube.Kube, namespace: str) -> None:
    _service_account(admin, namespace, "robot")
    admin.rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "robot-view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": namespace}],
        },
    )
    robot = admin.as_service_account(namespace, "robot")

    # The aggregated `view` role is filled in by the clusterrole-aggregation controller.
    listed = eventually(
        lambda: robot.core.list_namespaced_config_map(namespace),
        what="view access after the RoleBinding",
    )
    assert listed.items is not None
    with pytest.raises(ApiException) as other_namespace:
        robot.core.list_namespaced_config_map("default")
    assert other_namespace.value.status == 403
    with pytest.raises(ApiException) as write:
        robot.core.create_namespaced_config_map(namespace, {"metadata": {"name": "nope"}})
    assert write.value.status == 403


def test_self_subject_review_reports_the_impersonated_identity(
    admin: kube.Kube, namespace: str
) -> None:
    _service_account(admin, namespace, "robot")
    robot = admin.as_service_account(namespace, "robot")

    review = robot.authentication.create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )

    info = review.status.user_info
    assert info.username == f"system:serviceaccount:{namespace}:robot"
    assert f"system:serviceaccounts:{namespace}" in info.groups
