"""A hostile tenant's pod on a real node: what it can reach from there, and what stops it.

Tenants' namespaces enforce Pod Security ``restricted`` (the Tenant's default),
the real node is tainted, and the kubelet and apiserver authenticate everything.
These cases run on a real node because that is where a container escape or a
kubelet API would matter.
"""

from __future__ import annotations

import pathlib
import textwrap

import pytest
from kubernetes.client.exceptions import ApiException

from landlord.api import labels
from landlord.cluster.realnode import configs
from tests.fixtures.realnode import RealCluster, container, on_real_node, wait_phase
from tests.helpers import eventually

PROBE = textwrap.dedent(
    """
    import json, os, socket, ssl, urllib.error, urllib.request
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    token = open(sa + "/token").read()
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    def status(url, auth):
        headers = {"Authorization": "Bearer " + token} if auth else {}
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), context=insecure, timeout=5
            ) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError as error:
            return type(error).__name__
    def port_open(host, port):
        with socket.socket() as sock:
            sock.settimeout(3)
            return sock.connect_ex((host, port)) == 0
    node = os.environ["NODE_IP"]
    api = "https://%s:%s" % (
        os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
    )
    print("RESULT", json.dumps({
        "kubelet_anonymous": status("https://%s:10250/pods" % node, False),
        "kubelet_with_token": status("https://%s:10250/pods" % node, True),
        "kubelet_exec_with_token": status("https://%s:10250/run/kube-system/x/y" % node, True),
        "read_only_port_open": port_open(node, 10255),
        "api_anonymous_secrets": status(api + "/api/v1/secrets", False),
        "api_nodes_with_token": status(api + "/api/v1/nodes", True),
    }), flush=True)
    """
)


PSA = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn")}


@pytest.fixture
def restricted_namespace(real_cluster: RealCluster, real_namespace: str) -> str:
    """A platform namespace under Pod Security restricted (pods there may use real nodes)."""
    real_cluster.admin.core.patch_namespace(real_namespace, {"metadata": {"labels": PSA}})
    return real_namespace


@pytest.fixture
def tenant_namespace(real_cluster: RealCluster, real_namespace: str) -> str:
    """A namespace labelled as the tenant operator labels a tenant's."""
    tenant = {labels.TENANT: "mallory", **PSA}
    real_cluster.admin.core.patch_namespace(real_namespace, {"metadata": {"labels": tenant}})
    return real_namespace


RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_a_pod_on_the_real_node_cannot_use_the_kubelet_api_or_read_what_it_was_not_granted(
    real_cluster: RealCluster, restricted_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    node_ip = real_cluster.plane.real_nodes.plan.node_ip(0) if real_cluster.plane.real_nodes else ""
    admin.core.create_namespaced_pod(
        restricted_namespace,
        {
            "metadata": {"name": "prober"},
            "spec": on_real_node(
                {
                    "restartPolicy": "Never",
                    "containers": [
                        container(
                            workload_image[1],
                            ["python3", "-c", PROBE],
                            env=[{"name": "NODE_IP", "value": node_ip}],
                            securityContext=RESTRICTED,
                        )
                    ],
                }
            ),
        },
    )
    status = wait_phase(admin, restricted_namespace, "prober", "Succeeded", "Failed")
    log = admin.core.read_namespaced_pod_log("prober", restricted_namespace)
    assert status.phase == "Succeeded", log
    result = log.split("RESULT", 1)[1].strip()

    # The kubelet authenticates every caller (anonymous off) and asks the apiserver
    # whether a pod's service account may use it (it may not); no read-only port.
    assert '"kubelet_anonymous": 401' in result
    assert '"kubelet_with_token": 403' in result
    assert '"kubelet_exec_with_token": 403' in result
    assert '"read_only_port_open": false' in result
    # The apiserver the node network exposes answers only what RBAC grants.
    assert '"api_anonymous_secrets": 403' in result
    assert '"api_nodes_with_token": 403' in result


@pytest.mark.parametrize(
    ("name", "spec_patch"),
    [
        ("privileged", {"securityContext": {"privileged": True}}),
        ("root", {"securityContext": {**RESTRICTED, "runAsNonRoot": False, "runAsUser": 0}}),
    ],
)
def test_a_restricted_pod_that_tolerates_the_real_node_cannot_run_privileged_or_as_root(
    real_cluster: RealCluster,
    restricted_namespace: str,
    workload_image: tuple[pathlib.Path, str],
    name: str,
    spec_patch: dict[str, object],
) -> None:
    host_volume = {"name": "host", "hostPath": {"path": "/"}}
    pod = {
        "metadata": {"name": name},
        "spec": on_real_node(
            {
                "containers": [container(workload_image[1], ["sleep", "60"], **spec_patch)],
                "volumes": [host_volume] if name == "privileged" else [],
                "hostPID": name == "privileged",
            }
        ),
    }
    with pytest.raises(ApiException) as refused:
        real_cluster.admin.core.create_namespaced_pod(restricted_namespace, pod)
    assert refused.value.status == 403
    assert "violates PodSecurity" in str(refused.value.body)


def test_the_real_node_is_tainted_so_workloads_without_a_toleration_never_land_on_it(
    real_cluster: RealCluster,
) -> None:
    node = real_cluster.admin.core.read_node("real-node-0")
    taints = [(t.key, t.effect) for t in node.spec.taints or []]
    assert (configs.REAL_NODE_TAINT, "NoSchedule") in taints


@pytest.mark.parametrize(
    ("case", "placement"),
    [
        ("toleration", {"tolerations": [{"key": configs.REAL_NODE_TAINT, "operator": "Exists"}]}),
        ("tolerates-everything", {"tolerations": [{"operator": "Exists"}]}),
        ("node-name", {"nodeName": "real-node-0"}),
    ],
)
def test_a_tenants_pod_may_not_ask_for_a_real_node_in_any_way(
    real_cluster: RealCluster,
    tenant_namespace: str,
    workload_image: tuple[pathlib.Path, str],
    case: str,
    placement: dict[str, object],
) -> None:
    """Real nodes enforce no NetworkPolicy and run containers on the machine: no tenant there."""
    spec = {
        "containers": [container(workload_image[1], ["sleep", "60"], securityContext=RESTRICTED)],
        **placement,
    }

    def refused() -> str:
        try:
            real_cluster.admin.core.create_namespaced_pod(
                tenant_namespace, {"metadata": {"name": case}, "spec": spec}, dry_run="All"
            )
        except ApiException as error:
            return str(error.body) if error.status == 403 else ""
        return ""

    body = eventually(refused, timeout=20, what="the admission policy to refuse the pod")
    assert "platform's own pods" in body or "may not name a real node" in body
    # Without asking for a real node the same pod is admitted (the policy is no blanket deny).
    plain = {"containers": spec["containers"]}
    real_cluster.admin.core.create_namespaced_pod(
        tenant_namespace, {"metadata": {"name": f"{case}-plain"}, "spec": plain}, dry_run="All"
    )
