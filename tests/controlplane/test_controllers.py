"""The controller-manager, scheduler and kwok run: namespaces finalize, Deployments roll out."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException

from landlord import kube
from tests.helpers import eventually


def test_deleting_a_namespace_completes(admin: kube.Kube) -> None:
    name = "t-finalize-me"
    admin.core.create_namespace({"metadata": {"name": name}})
    admin.core.create_namespaced_config_map(name, {"metadata": {"name": "cargo"}})
    admin.core.delete_namespace(name)

    def gone() -> bool:
        try:
            admin.core.read_namespace(name)
        except ApiException as error:
            return error.status == 404
        return False

    eventually(gone, timeout=90, what=f"namespace {name} to be finalized")


def test_service_account_controller_creates_default_account(
    admin: kube.Kube, namespace: str
) -> None:
    account = eventually(
        lambda: admin.core.read_namespaced_service_account("default", namespace),
        what="the default ServiceAccount",
    )
    assert account.metadata.namespace == namespace


def test_deployment_becomes_available_on_kwok_nodes(admin: kube.Kube, namespace: str) -> None:
    labels = {"app": "web"}
    admin.apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
                },
            },
        },
    )

    def available() -> bool:
        status = admin.apps.read_namespaced_deployment_status("web", namespace).status
        return bool(status.available_replicas == 2)

    eventually(available, timeout=90, what="Deployment web to be Available")
    pods = admin.core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert {pod.spec.node_name for pod in pods} <= {
        node.metadata.name for node in admin.core.list_node().items
    }
    assert all(pod.status.phase == "Running" for pod in pods)


def test_garbage_collector_deletes_dependents(admin: kube.Kube, namespace: str) -> None:
    owner = admin.core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    admin.core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {
                "name": "dependent",
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "owner",
                        "uid": owner.metadata.uid,
                    }
                ],
            }
        },
    )
    admin.core.delete_namespaced_config_map("owner", namespace)

    def collected() -> bool:
        try:
            admin.core.read_namespaced_config_map("dependent", namespace)
        except ApiException as error:
            return error.status == 404
        return False

    eventually(collected, timeout=60, what="the dependent to be garbage-collected")
