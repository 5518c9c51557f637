"""Landlord's own image on a real node: it runs as a pod, in-cluster, under its own identity."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from landlord import __version__, api, installer, settings
from landlord.cluster.images import pause
from landlord.installer import rbac
from tests.fixtures.realnode import RealCluster, container, on_real_node, wait_phase, wait_ready
from tests.helpers import eventually

RESTRICTED = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _landlord(*args: str) -> subprocess.CompletedProcess[str]:
    cli = pathlib.Path(sys.executable).with_name("landlord")
    return subprocess.run([str(cli), *args], capture_output=True, text=True, check=False)


def test_load_image_imports_an_archive_into_every_real_node(real_cluster: RealCluster) -> None:
    archive, _ = pause.archive(settings.load().cluster.cache_dir)
    state_dir = real_cluster.plane.state_dir

    done = _landlord("cluster", "load-image", str(archive), "--state-dir", str(state_dir))

    assert done.returncode == 0, done.stderr
    assert "into real-node-0" in done.stdout


def test_load_image_without_real_nodes_says_how_to_start_them(tmp_path: pathlib.Path) -> None:
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"")

    done = _landlord("cluster", "load-image", str(archive), "--state-dir", str(tmp_path))

    assert done.returncode != 0
    assert "--real-nodes" in done.stdout + done.stderr


def test_the_image_runs_landlord_as_a_non_root_user(
    real_cluster: RealCluster, real_namespace: str, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    admin.core.create_namespaced_pod(
        real_namespace,
        {
            "metadata": {"name": "version"},
            "spec": on_real_node(
                {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": workload_image[1],
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["--version"],  # the image's entrypoint is `landlord`
                            "securityContext": RESTRICTED,
                        }
                    ],
                }
            ),
        },
    )
    status = wait_phase(admin, real_namespace, "version", "Succeeded", "Failed")
    log = admin.core.read_namespaced_pod_log("version", real_namespace)
    assert status.phase == "Succeeded", log
    assert __version__ in log


def test_landlord_runs_in_cluster_with_its_service_account_and_provisions_a_tenant(
    real_cluster: RealCluster, workload_image: tuple[pathlib.Path, str]
) -> None:
    admin = real_cluster.admin
    platform = settings.load().platform_namespace
    installer.install(admin, platform_namespace=platform)
    probe = {"httpGet": {"path": "/healthz", "port": 8081}, "periodSeconds": 2}
    operator = container(
        workload_image[1],
        ["landlord", "run"],
        env=[
            {"name": "LANDLORD_TELEMETRY__HEALTH_BIND", "value": "0.0.0.0:8081"},
            {"name": "HOME", "value": "/tmp"},
        ],
        readinessProbe=probe,
        livenessProbe={**probe, "failureThreshold": 10},
        securityContext=RESTRICTED,
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],
    )
    admin.core.create_namespaced_pod(
        platform,
        {
            "metadata": {"name": "landlord-operator"},
            "spec": on_real_node(
                {
                    "serviceAccountName": rbac.OPERATOR,
                    "containers": [operator],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                }
            ),
        },
    )
    try:
        wait_ready(admin, platform, "landlord-operator", timeout=120)

        tenant = "rn-landlord-team"
        admin.apply(
            {
                "apiVersion": f"{api.GROUP}/{api.VERSION}",
                "kind": "Tenant",
                "metadata": {"name": tenant},
                "spec": {"namespaces": [f"{tenant}-app"]},
            },
            field_manager="test",
        )
        # Provisioned by the operator in the pod, with its in-cluster identity.
        eventually(
            lambda: admin.get("v1", "Namespace", f"{tenant}-app"),
            timeout=60,
            what="the tenant's namespace, created by Landlord in its pod",
        )
    except BaseException:
        print(admin.core.read_namespaced_pod_log("landlord-operator", platform)[-4000:])
        raise
