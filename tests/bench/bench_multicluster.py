"""Bench — many clusters: one workload on 1 cluster vs spread over 3, a migration, the steady state.

Three control planes on this machine: the operator's own (``local``) and two
registered ones. Figures:

1. 100 tenants × 10 ConfigMaps, every tenant on ``local`` only, syncing there;
   then 100 more, each provisioned on all three clusters and syncing to one of
   them in turn: time to all Ready, operator CPU, requests per cluster.
2. Migration: each of the second 100 Tenants' sync moves to the next cluster
   (local → east → west → local): time until every inventory names its new
   cluster with nothing pending, and the old clusters hold none of those objects.
3. Steady state: 10 sync intervals (2 s) with nothing changed: requests per
   cluster on the tenants' resources (target: none).
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from landlord import api, kube, settings
from landlord.cluster import controlplane
from landlord.clusters import register
from landlord.demo import GitServer
from tests.bench import _harness

TENANTS = int(os.environ.get("LANDLORD_BENCH_MC_TENANTS", "100"))
OBJECTS = 10
INTERVAL = 2.0
CLUSTERS = ("local", "east", "west")
RESOURCES = {"configmaps", "namespaces", "serviceaccounts", "rolebindings", "networkpolicies"}
POLICIES = Path(__file__).parents[2] / "policies"


def _objects(index: int) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{n:02d}"},
            "data": {"tenant": str(index), "n": str(n)},
        }
        for n in range(OBJECTS)
    ]


@contextlib.contextmanager
def _remote(name: str) -> Iterator[tuple[controlplane.ControlPlane, kube.Kube]]:
    with tempfile.TemporaryDirectory(prefix=f"landlord-bench-{name}-") as state:
        options = _harness.options(Path(state))
        plane = controlplane.up(options)
        try:
            yield plane, kube.connect(plane.kubeconfig)
        finally:
            controlplane.down(options.state_dir)


def _tenant(name: str, url: str, clusters: list[str], target: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {
            "clusters": clusters,
            "source": {"url": url, "interval": "1h"},
            "sync": {"path": "./deploy", "interval": f"{INTERVAL:.0f}s", "cluster": target},
        },
    }


def _inventories(client: kube.Kube) -> dict[str, dict[str, Any]]:
    return {
        item["metadata"]["name"]: (item.get("status") or {}).get("inventory") or {}
        for item in client.list_objects(api.API_VERSION, "Kustomization")
    }


def _counts(clients: dict[str, kube.Kube]) -> dict[str, collections.Counter[str]]:
    return {name: _harness.requests_by_verb(c, RESOURCES) for name, c in clients.items()}


def _delta(before: dict[str, collections.Counter[str]], clients: dict[str, kube.Kube]) -> str:
    after = _counts(clients)
    return "; ".join(f"{name}: {_harness.verbs(after[name] - before[name])}" for name in clients)


def _onboard(
    client: kube.Kube,
    clients: dict[str, kube.Kube],
    git: GitServer,
    operator_pid: int,
    names: list[str],
    spread: bool,
) -> None:
    before, cpu, began = _counts(clients), _harness.cpu_seconds(operator_pid), time.monotonic()
    for index, name in enumerate(names):
        git.create(name)
        git.commit(name, {"deploy/app.yaml": _harness.dump(_objects(index))})
        clusters = list(CLUSTERS) if spread else ["local"]
        client.create(_tenant(name, git.url(name), clusters, clusters[index % len(clusters)]))
    seen = _harness.wait_ready(client, names, timeout=900)
    took = max(seen.values(), default=began) - began
    where = "spread over 3 clusters" if spread else "on 1 cluster"
    print(
        f"  {len(seen)}/{len(names)} tenants × {OBJECTS} objects {where}: all Ready in "
        f"{took:.1f}s; operator CPU {_harness.cpu_seconds(operator_pid) - cpu:.1f}s; "
        f"requests {_delta(before, clients)}",
        flush=True,
    )


def _migrate(
    client: kube.Kube, clients: dict[str, kube.Kube], operator_pid: int, names: list[str]
) -> None:
    moves = {}
    for index, name in enumerate(names):
        old = CLUSTERS[index % len(CLUSTERS)]
        new = CLUSTERS[(index + 1) % len(CLUSTERS)]
        moves[name] = (old, new)
    before, cpu, began = _counts(clients), _harness.cpu_seconds(operator_pid), time.monotonic()
    for name, (_, new) in moves.items():
        client.merge_patch(api.API_VERSION, "Tenant", name, {"spec": {"sync": {"cluster": new}}})
    done: dict[str, float] = {}
    while len(done) < len(moves) and time.monotonic() - began < 900:
        inventories = _inventories(client)
        for name, (_, new) in moves.items():
            found = inventories.get(name) or {}
            if name not in done and found.get("clusterName") == new and not found.get("pending"):
                done[name] = time.monotonic()
        time.sleep(0.25)
    moved = max(done.values(), default=began) - began
    left = 0
    for name, (old, _) in moves.items():
        selector = f"landlord.dev/kustomization-name={name}"
        left += len(
            clients[old].list_objects("v1", "ConfigMap", namespace=name, label_selector=selector)
        )
    print(
        f"  migration of {len(moves)} Kustomizations to the next cluster: every inventory on "
        f"its new cluster with nothing pending in {moved:.1f}s ({len(done)}/{len(moves)}); "
        f"objects left on the old clusters: {left}; operator CPU "
        f"{_harness.cpu_seconds(operator_pid) - cpu:.1f}s; requests {_delta(before, clients)}",
        flush=True,
    )


def _settle(clients: dict[str, kube.Kube], limit: float = 120.0) -> float:
    """Seconds until two sync intervals pass with no request on any cluster (at most ``limit``)."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        before = _counts(clients)
        time.sleep(2 * INTERVAL)
        after = _counts(clients)
        if all(not +(after[name] - before[name]) for name in clients):
            break
    return time.monotonic() - began


def run() -> None:
    config = settings.load()
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-mc-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _remote("east") as (east_plane, east),
        _remote("west") as (west_plane, west),
    ):
        work = Path(tmp)
        policies = work / "policies"
        shutil.copytree(POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
        with (policies / "policy.csv").open("a") as policy:
            policy.write("\np, role:tenant, target, clusters/*, allow\n")
        clients = {"local": client, "east": east, "west": west}
        git = GitServer(work / "git").start()
        try:
            for name, remote in (("east", east_plane), ("west", west_plane)):
                register.register(
                    client, name, remote.kubeconfig, platform_namespace=config.platform_namespace
                )
            env = {"LANDLORD_POLICY__PATH": str(policies)}
            if os.environ.get("LANDLORD_BENCH_MC_LOG"):  # keep the operator's INFO log there
                env["LANDLORD_TELEMETRY__LOG_LEVEL"] = "INFO"
            with _harness.gitops_operator(plane, work, extra_env=env) as operator:
                time.sleep(3)
                alone = [f"one{i:03d}" for i in range(TENANTS)]
                _onboard(client, clients, git, operator.pid, alone, spread=False)
                spread = [f"three{i:03d}" for i in range(TENANTS)]
                _onboard(client, clients, git, operator.pid, spread, spread=True)
                _migrate(client, clients, operator.pid, spread)
                settled = _settle(clients)
                print(f"  quiet again {settled:.0f}s after the migration", flush=True)
                before = _counts(clients)
                time.sleep(10 * INTERVAL)
                print(
                    f"  steady state, 10 sync intervals ({10 * INTERVAL:.0f}s), "
                    f"{2 * TENANTS} tenants: requests on the tenants' resources per cluster: "
                    f"{_delta(before, clients)}; operator peak RSS "
                    f"{_harness.peak_rss_mib(operator.pid):.0f} MiB",
                    flush=True,
                )
        finally:
            git.stop()
            kept = os.environ.get("LANDLORD_BENCH_MC_LOG")
            if kept:
                shutil.copy(plane.state_dir / "logs" / "operator.log", kept)
