"""Bench 1 — onboard N tenants (100, then 1,000 on a fresh control plane).

Each tenant has a source and a sync of 4 objects (a Deployment with 0
replicas, a ServiceAccount, a Service, a ConfigMap) in its own repository on
the loopback Git server. Figures: time until every Kustomization is Ready,
create→Ready per tenant, apiserver requests by verb, operator peak RSS and CPU.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from landlord.demo import GitServer
from tests.bench import _harness

SIZES = [int(n) for n in os.environ.get("LANDLORD_BENCH_ONBOARD", "100,1000").split(",")]


def onboard(count: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-onboard-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            names = [f"t{index:04d}" for index in range(count)]
            for index, name in enumerate(names):
                git.create(name)
                git.commit(name, {"deploy/app.yaml": _harness.dump(_harness.four_objects(index))})
            before = _harness.requests_by_verb(client)
            cpu = _harness.cpu_seconds(operator.pid)
            began = time.monotonic()
            created = {}
            for name in names:
                _harness.create_tenant(client, name, git.url(name))
                created[name] = time.monotonic()
            ready = _harness.wait_ready(client, names, timeout=60 + count * 1.5)
            wall = time.monotonic() - began
            delta = _harness.requests_by_verb(client) - before
            per_tenant = [ready[name] - created[name] for name in ready]
            print(
                f"  {count} tenants × 4 objects: {len(ready)}/{count} Ready in {wall:.1f}s "
                f"({count / wall:.1f} tenants/s, {4 * len(ready) / wall:.0f} objects/s)"
            )
            if per_tenant:
                print(f"    create→Ready per tenant: {_harness.summary(per_tenant)}")
            print(f"    apiserver requests (all clients): {_harness.verbs(delta)}")
            print(
                f"    operator: peak RSS {_harness.peak_rss_mib(operator.pid):.0f} MiB, "
                f"CPU {_harness.cpu_seconds(operator.pid) - cpu:.1f}s"
            )
        finally:
            git.stop()


def run() -> None:
    for count in SIZES:
        onboard(count)
