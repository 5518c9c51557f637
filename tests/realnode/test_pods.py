"""Pods on a real node: run, probe, log, exec, OOM kill, reach the apiserver and Services."""

from __future__ import annotations

import pathlib
import textwrap

from kubernetes import stream

from landlord import kube
from tests.fixtures.realnode import (
    RealCluster,
    container,
    on_real_node,
    wait_phase,
    wait_ready,
)
from tests.helpers import eventually

SERVE = textwrap.dedent(
    """
    import http.server, socket, sys
    print("serving-from", socket.gethostname(), flush=True)
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("hello from " + socket.gethostname()).encode()
            self.send_response(200); self.end_headers(); self.wfile.write(body)
    http.server.HTTPServer(("", 8080), Hello).serve_forever()
    """
)


def _pod(name: str, spec: dict[str, object]) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": {"app": name}}, "spec": on_real_node(spec)}


def _logs(admin: kube.Kube, namespace: str, name: str) -> str:
    return str(admin.core.read_namespaced_pod_log(name, namespace))


def test_pod_becomes_ready_through_an_http_probe_and_its_logs_are_readable(
    real_cluster: RealCluster, real_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    admin.core.create_namespaced_pod(
        real_namespace,
        _pod(
            "web",
            {
                "containers": [
                    container(workload_image[1], ["python3", "-c", SERVE], readinessProbe=probe)
                ]
            },
        ),
    )
    status = wait_ready(admin, real_namespace, "web")
    assert status.pod_ip.startswith("10.244.")
    assert "serving-from web" in eventually(
        lambda: _logs(admin, real_namespace, "web"), what="the pod's log"
    )


def test_exec_runs_a_command_in_the_container(
    real_cluster: RealCluster, real_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    admin.core.create_namespaced_pod(
        real_namespace,
        _pod("shell", {"containers": [container(workload_image[1], ["sleep", "3600"])]}),
    )
    wait_phase(admin, real_namespace, "shell", "Running")
    session = stream.stream(
        admin.core.connect_get_namespaced_pod_exec,
        "shell",
        real_namespace,
        command=["sh", "-c", "echo exec-ok $(id -u)"],
        stderr=True,
        stdout=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    try:
        session.run_forever(timeout=30)
        output = session.read_stdout()
    finally:
        session.close()
        # websocket-client's close() skips a socket the server already closed.
        session.sock.shutdown()
    assert "exec-ok 65532" in output


def test_a_container_over_its_memory_limit_is_oom_killed_and_restarted(
    real_cluster: RealCluster, real_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    hog = (
        "import time; b = bytearray(256 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)"
    )
    limits = {"limits": {"memory": "64Mi", "cpu": "500m"}}
    admin.core.create_namespaced_pod(
        real_namespace,
        _pod(
            "hog",
            {
                "restartPolicy": "Always",
                "containers": [
                    container(workload_image[1], ["python3", "-c", hog], resources=limits)
                ],
            },
        ),
    )

    def oom_restarted() -> object:
        statuses = admin.core.read_namespaced_pod("hog", real_namespace).status.container_statuses
        state = statuses[0] if statuses else None
        last = state.last_state.terminated if state and state.last_state else None
        return state and state.restart_count >= 1 and last and last.reason == "OOMKilled" and last

    last = eventually(oom_restarted, timeout=90, what="an OOMKilled restart")
    assert last.exit_code == 137


APISERVER_CHECK = textwrap.dedent(
    """
    import json, os, ssl, urllib.error, urllib.request
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    token = open(sa + "/token").read()
    namespace = open(sa + "/namespace").read()
    context = ssl.create_default_context(cafile=sa + "/ca.crt")
    base = "https://%s:%s" % (
        os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
    )
    def get(path):
        request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
    print("RESULT", json.dumps({
        "own": get("/api/v1/namespaces/%s/configmaps" % namespace),
        "secrets": get("/api/v1/secrets"),
    }), flush=True)
    """
)


def test_a_pod_reaches_the_apiserver_through_the_kubernetes_service_with_its_own_token(
    real_cluster: RealCluster, real_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    admin.core.create_namespaced_service_account(real_namespace, {"metadata": {"name": "reader"}})
    admin.rbac.create_namespaced_role(
        real_namespace,
        {
            "metadata": {"name": "read-configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}],
        },
    )
    admin.rbac.create_namespaced_role_binding(
        real_namespace,
        {
            "metadata": {"name": "reader"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "read-configmaps",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": real_namespace}],
        },
    )
    admin.core.create_namespaced_pod(
        real_namespace,
        _pod(
            "caller",
            {
                "restartPolicy": "Never",
                "serviceAccountName": "reader",
                "containers": [container(workload_image[1], ["python3", "-c", APISERVER_CHECK])],
            },
        ),
    )
    status = wait_phase(admin, real_namespace, "caller", "Succeeded", "Failed")
    log = _logs(admin, real_namespace, "caller")
    assert status.phase == "Succeeded", log
    # TLS verified against the cluster CA; the token authenticated; RBAC decided both.
    assert 'RESULT {"own": 200, "secrets": 403}' in log


def test_a_service_in_front_of_a_deployment_answers_another_pod_through_its_cluster_ip(
    real_cluster: RealCluster, real_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    admin.apps.create_namespaced_deployment(
        real_namespace,
        {
            "metadata": {"name": "backend"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "backend"}},
                "template": {
                    "metadata": {"labels": {"app": "backend"}},
                    "spec": on_real_node(
                        {
                            "containers": [
                                container(
                                    workload_image[1],
                                    ["python3", "-c", SERVE],
                                    readinessProbe=probe,
                                )
                            ]
                        }
                    ),
                },
            },
        },
    )
    service = admin.core.create_namespaced_service(
        real_namespace,
        {
            "metadata": {"name": "backend"},
            "spec": {"selector": {"app": "backend"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    eventually(
        lambda: (
            admin.apps.read_namespaced_deployment("backend", real_namespace).status.ready_replicas
            == 2
        ),
        timeout=90,
        what="both backends Ready",
    )
    url = f"http://{service.spec.cluster_ip}/"
    fetch = (
        f"import urllib.request as u; print('GOT', u.urlopen({url!r}, timeout=10).read().decode())"
    )
    admin.core.create_namespaced_pod(
        real_namespace,
        _pod(
            "client",
            {
                "restartPolicy": "Never",
                "containers": [container(workload_image[1], ["python3", "-c", fetch])],
            },
        ),
    )
    status = wait_phase(admin, real_namespace, "client", "Succeeded", "Failed")
    log = _logs(admin, real_namespace, "client")
    assert status.phase == "Succeeded", log
    assert "GOT hello from backend-" in log
