"""Bench 3 — the steady state: 1,000 applied objects, 10 sync intervals, nothing changed.

10 tenants × 100 objects, each Kustomization on a 2 s interval (sources on 1 h).
Figures: apiserver requests by verb during 10 intervals (target: no mutating
request, no dry-run — and in fact none at all); then the same with every source
polling its repository every 2 s, which costs ls-remote on the Git server.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from landlord import api
from landlord.demo import GitServer
from tests.bench import _harness

TENANTS = 10
GROUPS = 25  # × 4 kinds = 100 objects per tenant
INTERVAL = 2.0
RESOURCES = {
    "deployments",
    "serviceaccounts",
    "services",
    "configmaps",
    "kustomizations",
    "gitrepositories",
    "namespaces",
    "tenants",
    "secrets",
}


def _objects(index: int) -> list[dict[str, Any]]:
    objects = []
    for group in range(GROUPS):
        for obj in _harness.four_objects(index):
            obj["metadata"]["name"] = f"{obj['metadata']['name']}-{group:02d}"
            if obj["kind"] == "Deployment":
                match = {"app": f"app-{group:02d}"}
                obj["spec"]["selector"]["matchLabels"] = match
                obj["spec"]["template"]["metadata"]["labels"] = match
            objects.append(obj)
    return objects


def run() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-steady-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            names = [f"s{index:02d}" for index in range(TENANTS)]
            for index, name in enumerate(names):
                git.create(name)
                git.commit(name, {"deploy/app.yaml": _harness.dump(_objects(index))})
                _harness.create_tenant(client, name, git.url(name), sync_interval="2s")
            ready = _harness.wait_ready(client, names, timeout=300)
            print(f"  {len(ready)}/{TENANTS} tenants × {GROUPS * 4} objects applied")
            time.sleep(3 * INTERVAL)  # watches listed, first ticks done
            cpu = _harness.cpu_seconds(operator.pid)
            before = _harness.requests_by_verb(client, RESOURCES)
            all_before = _harness.requests_by_verb(client, by_resource=True)
            time.sleep(10 * INTERVAL)
            delta = _harness.requests_by_verb(client, RESOURCES) - before
            everything = _harness.requests_by_verb(client, by_resource=True) - all_before
            print(
                f"  10 sync intervals ({10 * INTERVAL:.0f}s), sources idle: requests on "
                f"Landlord's and the tenants' resources: {_harness.verbs(delta)}; "
                f"all clients, all resources: {_harness.verbs(everything)}; operator CPU "
                f"{_harness.cpu_seconds(operator.pid) - cpu:.2f}s"
            )
            for name in names:
                client.merge_patch(
                    api.API_VERSION,
                    "Tenant",
                    name,
                    {"spec": {"source": {"url": git.url(name), "interval": "2s"}}},
                )
            time.sleep(3 * INTERVAL)
            before = _harness.requests_by_verb(client, RESOURCES)
            lookups = sum(git.requests(name, "ls-refs") for name in names)
            time.sleep(10 * INTERVAL)
            delta = _harness.requests_by_verb(client, RESOURCES) - before
            lookups = sum(git.requests(name, "ls-refs") for name in names) - lookups
            fetches = sum(git.requests(name, "fetch") for name in names)
            print(
                f"  10 intervals with every source polling every 2s: apiserver "
                f"{_harness.verbs(delta)}; Git: {lookups} ls-remote, "
                f"{fetches} fetches in total since the start"
            )
        finally:
            git.stop()
