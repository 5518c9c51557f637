"""What the control plane does for real nodes to join: kubelet access, admission, readiness."""

from __future__ import annotations

from landlord import errors
from landlord.cluster import apiclient, nodes
from landlord.cluster import pki as pki_mod
from landlord.cluster.realnode import admission as realnode_admission


def prepare(client: apiclient.ApiClient) -> None:
    """Let the apiserver reach kubelets (logs, exec); keep tenants' pods off real nodes."""
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "landlord:apiserver-kubelet-client"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "system:kubelet-api-admin",
        },
        "subjects": [
            {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "User",
                "name": pki_mod.APISERVER_KUBELET_CLIENT.user,
            }
        ],
    }
    path = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    status, body = client.request("POST", path, binding)
    _created_or_exists(status, body, "the kubelet client's binding")
    for manifest in realnode_admission.manifests():
        plural = "validatingadmissionpolicies"
        if manifest["kind"].endswith("Binding"):
            plural = "validatingadmissionpolicybindings"
        status, body = client.request(
            "POST", f"/apis/admissionregistration.k8s.io/v1/{plural}", manifest
        )
        _created_or_exists(status, body, manifest["kind"])


def _created_or_exists(status: int, body: bytes, what: str) -> None:
    if status not in (201, 409):
        raise errors.ComponentFailedError(f"creating {what} failed: HTTP {status} {body[:300]!r}")


def node_ready(client: apiclient.ApiClient, name: str) -> bool:
    node = client.get_json(f"/api/v1/nodes/{name}")
    return bool(node and nodes.is_ready(node))
