"""``helm install`` of Landlord's chart on the real node: the operator runs in-cluster and works."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time

import pytest
import yaml

from landlord import api, settings
from landlord.cluster import binaries
from landlord.cluster.realnode import configs
from tests.fixtures.realnode import RealCluster
from tests.helpers import eventually

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "landlord"
NAMESPACE = "landlord-system"


@pytest.fixture(scope="module")
def helm() -> pathlib.Path:
    return binaries.resolve(["helm"], cache_dir=settings.load().cluster.cache_dir)["helm"]


def _helm(helm: pathlib.Path, cluster: RealCluster, *args: str) -> str:
    home = cluster.plane.state_dir / "helm"
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        **{f"HELM_{kind}_HOME": str(home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")},
    }
    done = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, check=False, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_helm_install_runs_the_operator_in_cluster_and_uninstall_leaves_tenants_alone(
    real_cluster: RealCluster,
    workload_image: tuple[pathlib.Path, str],
    helm: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    admin = real_cluster.admin
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "image": {"tag": workload_image[1].rsplit(":", 1)[1]},
                "nodeSelector": {configs.NODE_KIND_LABEL: "real"},
                "tolerations": [{"key": configs.REAL_NODE_TAINT, "operator": "Exists"}],
            }
        )
    )
    _helm(
        helm,
        real_cluster,
        "install",
        "landlord",
        str(CHART),
        "-n",
        NAMESPACE,
        "--create-namespace",
        "-f",
        str(values),
        "--wait",
        "--timeout",
        "180s",
    )
    tenant = "charted"
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Tenant",
            "metadata": {"name": tenant},
            "spec": {"namespaces": [f"{tenant}-app"]},
        },
        field_manager="test",
    )
    # Provisioned by the operator in its pod, with the chart's service account.
    eventually(
        lambda: admin.get("v1", "Namespace", f"{tenant}-app"),
        timeout=60,
        what="the tenant's namespace, created by the operator the chart installed",
    )

    # It leads on its Lease (leader election is on in the chart) …
    def holder() -> str:
        lease = admin.get("coordination.k8s.io/v1", "Lease", "landlord-operator", NAMESPACE)
        return str((lease or {}).get("spec", {}).get("holderIdentity") or "")

    first = holder()
    assert first.startswith("landlord-operator-")
    # … and hands it back when it stops on SIGTERM: its successor leads well within
    # one lease duration (15 s) of the old pod's deletion, not after it expires.
    began = time.monotonic()
    admin.core.delete_namespaced_pod(first, NAMESPACE)
    second = eventually(
        lambda: (who := holder()) not in ("", first) and who, timeout=60, what="a new leader"
    )
    assert second.startswith("landlord-operator-")
    assert time.monotonic() - began < 15

    _helm(helm, real_cluster, "uninstall", "landlord", "-n", NAMESPACE, "--wait")

    assert admin.get("apps/v1", "Deployment", "landlord-operator", NAMESPACE) is None
    assert admin.get("rbac.authorization.k8s.io/v1", "ClusterRole", "landlord-operator") is None
    # The tenants' namespaces (and the CRDs with every Tenant) stay.
    assert admin.get("v1", "Namespace", f"{tenant}-app") is not None
    assert admin.get(api.API_VERSION, "Tenant", tenant) is not None
