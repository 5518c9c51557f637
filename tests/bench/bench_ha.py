"""High availability and sharding (issue 16): failover gaps and onboarding over 1/2/4 shards.

- **Failover**: two ``landlord run`` processes lead in turn on one Lease; the
  leader is stopped — SIGTERM (it hands the Lease back, as a deleted pod does)
  or SIGKILL (it cannot: the Lease must expire) — and a Tenant is changed at
  that moment. The gap is kill → the change reconciled by the new leader
  (Ready at the new generation), p50/p99 over ``LANDLORD_BENCH_KILLS`` (10)
  kills of each kind.
- **Shards**: ``LANDLORD_BENCH_SHARD_TENANTS`` (1,000) tenants × 4 objects,
  labelled round-robin over 1, 2 and 4 shards, each shard a ``landlord run``
  of its own, on a fresh control plane each: time to all Ready, each shard's
  CPU seconds, peak RSS and apiserver requests (its
  ``landlord_apiserver_requests_total``).

Local processes on the 2-core machine: the shards share its CPU with the
apiserver and etcd, so more shards mostly add processes, not throughput; on a
multi-node cluster each shard has a node's CPU of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.cluster import controlplane, ports
from landlord.demo import GitServer
from landlord.settings import PLATFORM_NAMESPACE
from tests.bench import _harness

POLICIES = Path(__file__).resolve().parents[2] / "policies"
KILLS = int(os.environ.get("LANDLORD_BENCH_KILLS", "10"))
SHARD_TENANTS = int(os.environ.get("LANDLORD_BENCH_SHARD_TENANTS", "1000"))
SHARD_COUNTS = [int(n) for n in os.environ.get("LANDLORD_BENCH_SHARDS", "1,2,4").split(",")]
PARTS = os.environ.get("LANDLORD_BENCH_HA", "failover,shards").split(",")


@contextlib.contextmanager
def _process(
    plane: controlplane.ControlPlane, workdir: Path, name: str, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = ports.free_ports(1)[0]
    with _harness.operator(
        plane,
        extra_env={
            **_harness.loopback_env(workdir / name),
            "LANDLORD_TELEMETRY__METRICS_BIND": f"127.0.0.1:{port}",
            **env,
        },
        log_name=f"operator-{name}.log",
    ) as process:
        yield process, port


def _lease_holder(client: kube.Kube, lease: str = "landlord-operator") -> str:
    found = client.get("coordination.k8s.io/v1", "Lease", lease, PLATFORM_NAMESPACE) or {}
    return str((found.get("spec") or {}).get("holderIdentity") or "")


def _reconciled(client: kube.Kube, name: str, generation: int) -> bool:
    body = client.get(api.API_VERSION, "Tenant", name) or {}
    status = body.get("status") or {}
    return status.get("observedGeneration", 0) >= generation and conditions.is_true(
        status.get("conditions") or [], conditions.READY
    )


def failover() -> None:
    election = {
        "LANDLORD_LEADER_ELECTION__ENABLED": "true",
        "LANDLORD_TELEMETRY__LOG_LEVEL": "INFO",
    }
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-ha-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        running: dict[str, subprocess.Popen[bytes]] = {}
        started = 0

        def start() -> None:
            nonlocal started
            started += 1
            name = f"op{started}"
            env = {**election, "LANDLORD_LEADER_ELECTION__IDENTITY": name}
            running[name] = stack.enter_context(_process(plane, workdir, name, env))[0]

        start()
        start()
        client.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": "Tenant",
                "metadata": {"name": "ha"},
                "spec": {},
            }
        )
        deadline = time.monotonic() + 60
        while not _reconciled(client, "ha", 1) and time.monotonic() < deadline:
            time.sleep(0.1)
        for how in (signal.SIGTERM, signal.SIGKILL):
            gaps = []
            for round_ in range(KILLS):
                leader = _lease_holder(client)
                while leader not in running:
                    time.sleep(0.1)
                    leader = _lease_holder(client)
                began = time.monotonic()
                running.pop(leader).send_signal(how)
                changed = client.merge_patch(
                    api.API_VERSION, "Tenant", "ha", {"spec": {"quota": {"pods": str(10 + round_)}}}
                )
                generation = int(changed["metadata"]["generation"])
                while not _reconciled(client, "ha", generation) and time.monotonic() - began < 60:
                    time.sleep(0.05)
                gaps.append(time.monotonic() - began)
                start()  # a new standby, as the Deployment would restart one
            print(
                f"  failover after {how.name} of the leader ({KILLS} kills): "
                f"kill → change reconciled by the new leader {_harness.summary(gaps)}"
            )


_REQUESTS = re.compile(r'^landlord_apiserver_requests_total\{method="(\w+)"\} (\S+)$', re.MULTILINE)


def _requests(port: int) -> int:
    deadline = time.monotonic() + 60
    while True:  # a shard just started serves its metrics after start-up
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return int(sum(float(value) for _, value in _REQUESTS.findall(text)))


def sharded(shard_count: int, tenants: int) -> None:
    names = [""] + [f"s{index}" for index in range(1, shard_count)]
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-shards-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        contextlib.ExitStack() as stack,
    ):
        git = GitServer(Path(tmp) / "git").start()
        stack.callback(git.stop)
        shards = {
            name: stack.enter_context(
                # Every shard reads the same policy (only the default one fetches the
                # platform repository): the checkout's policies/ folder.
                _process(
                    plane,
                    Path(tmp),
                    name or "default",
                    {"LANDLORD_SHARD__NAME": name, "LANDLORD_POLICY__PATH": str(POLICIES)},
                )
            )
            for name in names
        }
        tenant_names = [f"t{index:04d}" for index in range(tenants)]
        for index, name in enumerate(tenant_names):
            git.create(name)
            git.commit(name, {"deploy/app.yaml": _harness.dump(_harness.four_objects(index))})
        before = _harness.requests_by_verb(client)
        cpu = {name: _harness.cpu_seconds(process.pid) for name, (process, _) in shards.items()}
        requests = {name: _requests(port) for name, (_, port) in shards.items()}
        began = time.monotonic()
        for index, name in enumerate(tenant_names):
            shard = names[index % shard_count]
            client.create(
                {
                    "apiVersion": api.API_VERSION,
                    "kind": "Tenant",
                    "metadata": {"name": name, "labels": {labels.SHARD: shard} if shard else {}},
                    "spec": {
                        "source": {"url": git.url(name), "interval": "1h"},
                        "sync": {"path": "./deploy", "interval": "1h"},
                    },
                }
            )
        ready = _harness.wait_ready(client, tenant_names, timeout=60 + tenants * 1.5)
        wall = time.monotonic() - began
        total = _harness.requests_by_verb(client) - before
        print(
            f"  {shard_count} shard(s), {tenants} tenants × 4 objects: {len(ready)}/{tenants} "
            f"Ready in {wall:.1f}s ({tenants / wall:.1f} tenants/s); apiserver requests "
            f"(all clients): {sum(c for v, c in total.items() if v != 'WATCH')}"
        )
        for name, (process, port) in shards.items():
            used = _harness.cpu_seconds(process.pid) - cpu[name]
            print(
                f"    shard {name or 'default'}: CPU {used:.1f}s, "
                f"peak RSS {_harness.peak_rss_mib(process.pid):.0f} MiB, "
                f"requests {_requests(port) - requests[name]}"
            )


def run() -> None:
    if "failover" in PARTS:
        failover()
    if "shards" in PARTS:
        for count in SHARD_COUNTS:
            sharded(count, SHARD_TENANTS)
