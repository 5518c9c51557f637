"""``helm install`` of Landlord's chart on the real node: the operator runs in-cluster and works."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from landlord import api, kube, settings
from landlord.api import labels
from landlord.cluster import binaries
from landlord.cluster.realnode import configs
from landlord.demo import GitServer
from tests.fixtures.realnode import RealCluster
from tests.helpers import eventually

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "landlord"
POLICIES = CHART.parents[1] / "policies"
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


@pytest.fixture
def pod_git_server(real_cluster: RealCluster, tmp_path: pathlib.Path) -> Iterator[GitServer]:
    """A Git server the operator's pods reach: on the host's address on the node network."""
    host = urllib.parse.urlparse(real_cluster.plane.server).hostname
    assert host is not None
    server = GitServer(tmp_path / "git", host=host).start()
    yield server
    server.stop()


def _tenant(name: str, url: str, shard: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if shard:
        metadata["labels"] = {labels.SHARD: shard}
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Tenant",
        "metadata": metadata,
        "spec": {
            "source": {"url": url, "interval": "10s"},
            "sync": {"path": "./deploy", "interval": "10m"},
        },
    }


def _app(color: str) -> dict[str, str]:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app"}}
    return {
        "deploy/config.yaml": yaml.safe_dump({**config, "data": {"color": color}}),
        "deploy/secret.yaml": yaml.safe_dump({**secret, "stringData": {"token": color}}),
    }


def _holder(admin: kube.Kube, name: str) -> str:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    return str((body.get("status") or {}).get("shard") or "")


def _color(admin: kube.Kube, name: str) -> str:
    found = admin.get("v1", "ConfigMap", "app", name) or {}
    return str((found.get("data") or {}).get("color") or "")


@pytest.mark.timeout(900)
def test_helm_install_bootstraps_from_git_and_shards_tenants_with_least_privilege(
    real_cluster: RealCluster,
    workload_image: tuple[pathlib.Path, str],
    helm: pathlib.Path,
    pod_git_server: GitServer,
    tmp_path: pathlib.Path,
) -> None:
    admin = real_cluster.admin
    git = pod_git_server
    for repo in ("platform", "plain", "bluish"):
        git.create(repo)
    git.commit("plain", _app("red"), message="app")
    git.commit("bluish", _app("blue"), message="app")
    git.commit(
        "platform",
        {
            "tenants/plain.yaml": yaml.safe_dump(_tenant("plain", git.url("plain"))),
            "tenants/bluish.yaml": yaml.safe_dump(_tenant("bluish", git.url("bluish"), "blue")),
        },
        message="two tenants, one of them for the blue shard",
    )
    host = urllib.parse.urlparse(git.base_url).hostname
    values = tmp_path / "values.yaml"
    chart_values = {
        "image": {"tag": workload_image[1].rsplit(":", 1)[1]},
        "nodeSelector": {configs.NODE_KIND_LABEL: "real"},
        "tolerations": [{"key": configs.REAL_NODE_TAINT, "operator": "Exists"}],
        "bootstrap": {"url": git.url("platform"), "path": "tenants"},
        "sharding": {"shards": ["blue"]},
        # Every shard reads the policy from the ConfigMap (only the default one
        # fetches the platform repository).
        "policy": {
            "model": (POLICIES / "model.conf").read_text(),
            "csv": (POLICIES / "policy.csv").read_text(),
        },
        # The test's Git server speaks plain HTTP on the node network's host address.
        "extraEnv": [
            {"name": "LANDLORD_SOURCES__ALLOWED_SCHEMES", "value": "https,ssh,http"},
            {"name": "LANDLORD_SOURCES__ALLOWED_NETWORKS", "value": f"{host}/32"},
        ],
    }
    values.write_text(yaml.safe_dump(chart_values))
    install = [
        "-n",
        NAMESPACE,
        "--create-namespace",
        "-f",
        str(values),
        "--wait",
        "--timeout",
        "180s",
    ]
    _helm(helm, real_cluster, "install", "landlord", str(CHART), *install)

    # The pods bootstrap the platform repository; each shard provisions and syncs its
    # tenant, with the chart's RBAC (least privilege: impersonation and Secrets only in
    # tenant namespaces) — the Secret is applied as the tenant and watched for drift.
    for name, color, shard in (("plain", "red", "default"), ("bluish", "blue", "blue")):
        eventually(
            lambda n=name, c=color: _color(admin, n) == c, timeout=120, what=f"{name} synced"
        )
        assert admin.get("v1", "Secret", "app", name) is not None
        eventually(
            lambda n=name, s=shard: _holder(admin, n) == s,
            timeout=30,
            what=f"{name} held by {shard}",
        )
    pods = {p.metadata.name: p for p in admin.core.list_namespaced_pod(NAMESPACE).items}
    blue_pod = next(name for name in pods if name.startswith("landlord-operator-blue-"))
    default_pod = next(name for name in pods if not name.startswith("landlord-operator-blue-"))
    assert "tenant bluish:" in admin.core.read_namespaced_pod_log(blue_pod, NAMESPACE)
    assert "tenant bluish:" not in admin.core.read_namespaced_pod_log(default_pod, NAMESPACE)
    for lease in ("landlord-operator", "landlord-operator-blue"):
        assert admin.get("coordination.k8s.io/v1", "Lease", lease, NAMESPACE) is not None

    # Drift of the Secret, repaired by the watch of that namespace's Secrets.
    admin.delete("v1", "Secret", "app", "bluish")
    eventually(
        lambda: admin.get("v1", "Secret", "app", "bluish"), timeout=30, what="the Secret repaired"
    )

    # Move `plain` to the blue shard (through Git, as a platform team would).
    began = time.monotonic()
    git.commit(
        "platform",
        {"tenants/plain.yaml": yaml.safe_dump(_tenant("plain", git.url("plain"), "blue"))},
        message="plain moves to blue",
    )
    # Fetch now rather than at the platform source's 1-minute interval.
    admin.merge_patch(
        api.API_VERSION,
        "GitRepository",
        "platform",
        {"metadata": {"annotations": {labels.REQUESTED_AT: str(time.time())}}},
        NAMESPACE,
    )

    def relabelled() -> bool:
        tenant = admin.get(api.API_VERSION, "Tenant", "plain") or {}
        return (tenant["metadata"].get("labels") or {}).get(labels.SHARD) == "blue"

    eventually(relabelled, timeout=120, what="the platform sync to relabel plain")
    moved = time.monotonic()
    eventually(lambda: _holder(admin, "plain") == "blue", timeout=60, what="blue to take plain")
    gap = time.monotonic() - moved
    print(
        f"handover: commit -> relabelled {moved - began:.1f}s, relabelled -> blue holds {gap:.1f}s"
    )
    assert gap < 15 + 5, f"the handover took {gap:.1f}s"
    git.commit("plain", _app("green"), message="after the move")
    eventually(lambda: _color(admin, "plain") == "green", timeout=60, what="the new shard applies")

    # It hands its Lease back when it stops on SIGTERM: its successor leads well
    # within one lease duration (15 s) of the old pod's deletion, not after it expires.
    def holder() -> str:
        lease = admin.get("coordination.k8s.io/v1", "Lease", "landlord-operator", NAMESPACE)
        return str((lease or {}).get("spec", {}).get("holderIdentity") or "")

    first = holder()
    assert first.startswith("landlord-operator-")
    began = time.monotonic()
    admin.core.delete_namespaced_pod(first, NAMESPACE)
    second = eventually(
        lambda: (who := holder()) not in ("", first) and who, timeout=60, what="a new leader"
    )
    assert second.startswith("landlord-operator-")
    assert time.monotonic() - began < 15

    # An upgrade to changed values rolls the Deployment.
    generation = (admin.get("apps/v1", "Deployment", "landlord-operator", NAMESPACE) or {})[
        "metadata"
    ]["generation"]
    chart_values["resources"] = {
        "requests": {"cpu": "50m", "memory": "200Mi"},
        "limits": {"memory": "1Gi"},
    }
    values.write_text(yaml.safe_dump(chart_values))
    _helm(helm, real_cluster, "upgrade", "landlord", str(CHART), *install)
    rolled = admin.get("apps/v1", "Deployment", "landlord-operator", NAMESPACE) or {}
    assert rolled["metadata"]["generation"] > generation
    assert rolled["status"].get("updatedReplicas") == 1
    # The new pods start with empty storage (an emptyDir): they fetch again and sync.
    git.commit("bluish", _app("yellow"), message="after the upgrade")
    eventually(
        lambda: _color(admin, "bluish") == "yellow", timeout=90, what="synced after the upgrade"
    )

    _helm(helm, real_cluster, "uninstall", "landlord", "-n", NAMESPACE, "--wait")

    assert admin.get("apps/v1", "Deployment", "landlord-operator", NAMESPACE) is None
    assert admin.get("apps/v1", "Deployment", "landlord-operator-blue", NAMESPACE) is None
    assert admin.get("rbac.authorization.k8s.io/v1", "ClusterRole", "landlord-operator") is None
    # Kept: nothing would run its finalizer once the operator is gone.
    assert admin.get(api.API_VERSION, "Kustomization", "platform", NAMESPACE) is not None
    # The tenants' namespaces and workloads (and the CRDs with every Tenant) stay.
    for name in ("plain", "bluish"):
        assert admin.get("v1", "Namespace", name) is not None
        assert admin.get("v1", "ConfigMap", "app", name) is not None
        assert admin.get(api.API_VERSION, "Tenant", name) is not None


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
