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


def test_an_identity_sharing_the_connection_carries_impersonation_on_every_verb(
    admin: kube.Kube, namespace: str
) -> None:
    """Impersonated clients share the operator's connection (issue 18): none of their
    requests may go out as the operator — each verb is refused to an unbound account."""
    import threading

    from landlord import errors
    from landlord.kube import watch

    _service_account(admin, namespace, "robot")
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "probe", "namespace": namespace},
        "data": {"a": "1"},
    }
    admin.apply(config_map, field_manager="test")
    robot = admin.as_service_account(namespace, "robot")
    assert robot.dynamic is admin.dynamic  # one pool and one discovery

    attempts = {
        "get": lambda: robot.get("v1", "ConfigMap", "probe", namespace),
        "list": lambda: robot.list_objects("v1", "ConfigMap", namespace=namespace),
        "create": lambda: robot.create(
            {**config_map, "metadata": {"name": "new", "namespace": namespace}}
        ),
        "apply": lambda: robot.apply(config_map, field_manager="robot", force=True),
        "dry-run apply": lambda: robot.apply(config_map, field_manager="robot", dry_run=True),
        "merge patch": lambda: robot.merge_patch(
            "v1", "ConfigMap", "probe", {"data": {"a": "2"}}, namespace
        ),
        "delete": lambda: robot.delete("v1", "ConfigMap", "probe", namespace),
    }
    for verb, attempt in attempts.items():
        with pytest.raises(errors.ApiError) as denied:
            attempt()
        assert denied.value.status == 403, verb
        assert f"system:serviceaccount:{namespace}:robot" in denied.value.message, verb
    with pytest.raises(ApiException) as typed:
        robot.core.read_namespaced_config_map("probe", namespace)
    assert typed.value.status == 403

    refused: list[str] = []
    stop = threading.Event()

    def listed(_items: list[dict[str, object]]) -> None:
        stop.set()  # a list that went out as the operator would get here

    watcher = threading.Thread(
        target=watch.watch_kind,
        args=(robot, "v1", "ConfigMap"),
        kwargs={
            "label_selector": "a",
            "on_list": listed,
            "on_event": lambda *_: None,
            "on_broken": lambda: refused.append("broken"),
            "stop": stop,
            "namespace": namespace,
        },
        daemon=True,
    )
    watcher.start()
    eventually(lambda: refused, what="the robot's watch to be refused")
    stop.set()
    watcher.join(timeout=70)
    assert not watcher.is_alive()
    # The operator's own identity is untouched by all this.
    assert (admin.get("v1", "ConfigMap", "probe", namespace) or {})["data"] == {"a": "1"}
