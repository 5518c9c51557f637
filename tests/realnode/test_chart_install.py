"""``helm install`` of Landlord's chart on the real node: the operator runs in-cluster and works."""

from __future__ import annotations

import os
import pathlib
import signal
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


def _operator_pids(pod: str) -> list[int]:
    """The host pids of `landlord run` in ``pod`` (a real node shares the host's pid space)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"HOSTNAME={pod}".encode() in environ and b"run" in cmdline:
            found.append(int(entry.name))
    return found


def test_two_replicas_one_leads_and_the_standby_takes_over_when_the_leader_is_killed(
    real_cluster: RealCluster,
    workload_image: tuple[pathlib.Path, str],
    helm: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    admin = real_cluster.admin
    namespace = "landlord-ha"
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "image": {"tag": workload_image[1].rsplit(":", 1)[1]},
                "replicas": 2,
                "api": {"enabled": False},
                "nodeSelector": {configs.NODE_KIND_LABEL: "real"},
                "tolerations": [{"key": configs.REAL_NODE_TAINT, "operator": "Exists"}],
            }
        )
    )
    _helm(
        helm,
        real_cluster,
        "install",
        "ha",
        str(CHART),
        "-n",
        namespace,
        "--create-namespace",
        "-f",
        str(values),
        "--wait",
        "--timeout",
        "180s",
    )
    try:

        def holder() -> str:
            lease = admin.get("coordination.k8s.io/v1", "Lease", "landlord-operator", namespace)
            return str((lease or {}).get("spec", {}).get("holderIdentity") or "")

        pods = [
            p.metadata.name
            for p in admin.core.list_namespaced_pod(namespace).items
            if p.status.phase == "Running"
        ]
        assert len(pods) == 2
        leader = eventually(holder, timeout=30, what="a leader")
        (standby,) = [p for p in pods if p != leader]
        # Both are Ready (/readyz: the standby is waiting, not broken) …
        for pod in pods:
            conditions = {
                c.type: c.status
                for c in admin.core.read_namespaced_pod(pod, namespace).status.conditions
            }
            assert conditions["Ready"] == "True", pod
        # … and only the leader started its controllers.
        assert "controllers started" in admin.core.read_namespaced_pod_log(leader, namespace)
        assert "controllers started" not in admin.core.read_namespaced_pod_log(standby, namespace)

        # Kill the leader without a chance to hand the Lease back.
        began = time.monotonic()
        admin.core.delete_namespaced_pod(leader, namespace, grace_period_seconds=0)
        # The standby (or the pod replacing the killed one, whichever is first) leads.
        new_leader = eventually(
            lambda: (who := holder()) not in ("", leader) and who,
            timeout=40,
            what="another pod to lead",
        )
        gap = time.monotonic() - began
        print(f"failover: leader killed -> standby leads in {gap:.1f}s")
        assert gap <= 15 + 5, f"failover took {gap:.1f}s"

        # A leader that freezes (it can neither renew nor hand the Lease back) is
        # replaced once the Lease expires; when it thaws it sees it lost and exits
        # instead of reconciling beside the new leader.
        frozen = new_leader
        successor = eventually(
            lambda: next(
                (
                    p.metadata.name
                    for p in admin.core.list_namespaced_pod(namespace).items
                    if p.metadata.name not in (leader, frozen)
                    and p.status.phase == "Running"
                    and p.metadata.deletion_timestamp is None
                ),
                None,
            ),
            timeout=60,
            what="the other running pod",
        )
        pids = _operator_pids(frozen)
        assert pids, "the leader's process is not visible on the host"
        began = time.monotonic()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            eventually(lambda: holder() == successor, timeout=40, what="the successor to lead")
            takeover = time.monotonic() - began
            print(f"failover: leader frozen -> successor leads in {takeover:.1f}s")
            assert 10 <= takeover <= 15 + 5, f"took {takeover:.1f}s"
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

        def restarted() -> bool:
            status = admin.core.read_namespaced_pod(frozen, namespace).status
            return bool(status.container_statuses and status.container_statuses[0].restart_count)

        eventually(restarted, timeout=60, what="the thawed old leader to exit")
        previous = admin.core.read_namespaced_pod_log(frozen, namespace, previous=True)
        assert "lost the lease" in previous
        assert holder() == successor

        # The new leader works: a Tenant created now is provisioned.
        admin.apply(
            {
                "apiVersion": api.API_VERSION,
                "kind": "Tenant",
                "metadata": {"name": "failover"},
                "spec": {"namespaces": ["failover-app"]},
            },
            field_manager="test",
        )
        eventually(
            lambda: admin.get("v1", "Namespace", "failover-app"),
            timeout=60,
            what="the tenant's namespace, created by the new leader",
        )
    finally:
        _helm(helm, real_cluster, "uninstall", "ha", "-n", namespace, "--wait")
