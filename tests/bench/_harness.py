"""Shared set-up for benchmarks: a fresh control plane, Landlord installed, an operator."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from landlord import api, installer, kube, settings
from landlord.api import conditions
from landlord.cluster import controlplane
from tests.sync.test_apply_and_prune import RESTRICTED_POD


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: Sequence[float]) -> str:
    """p50, p99 and max of a list of seconds."""
    return (
        f"p50 {statistics.median(values):.3f}s  p99 {percentile(values, 99):.3f}s  "
        f"max {max(values):.3f}s  (n={len(values)})"
    )


def options(state_dir: Path, nodes: int = 0) -> controlplane.Options:
    """Control-plane options from the settings, for a throwaway state dir."""
    config = settings.load()
    return controlplane.Options(
        state_dir=state_dir,
        cache_dir=config.cluster.cache_dir,
        assets_dir=config.cluster.assets_dir,
        nodes=nodes,
    )


@contextlib.contextmanager
def landlord_cluster(nodes: int = 0) -> Iterator[tuple[controlplane.ControlPlane, kube.Kube]]:
    """A control plane with Landlord's CRDs installed, torn down afterwards."""
    config = settings.load()
    with tempfile.TemporaryDirectory(prefix="landlord-bench-") as state:
        options = controlplane.Options(
            state_dir=Path(state),
            cache_dir=config.cluster.cache_dir,
            assets_dir=config.cluster.assets_dir,
            nodes=nodes,
        )
        plane = controlplane.up(options)
        try:
            client = kube.connect(plane.kubeconfig)
            installer.install(client, platform_namespace=config.platform_namespace)
            yield plane, client
        finally:
            controlplane.down(options.state_dir)


@contextlib.contextmanager
def operator(
    plane: controlplane.ControlPlane,
    extra_env: dict[str, str] | None = None,
    args: Sequence[str] = ("run",),
    log_name: str = "operator.log",
) -> Iterator[subprocess.Popen[bytes]]:
    """``landlord run`` (or ``args``) against ``plane`` (log in the state dir)."""
    log = (plane.state_dir / "logs" / log_name).open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "landlord", *args],
        env={
            **os.environ,
            "KUBECONFIG": str(plane.kubeconfig),
            "LANDLORD_TELEMETRY__LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            # A reconcile in flight (a long prune, a hanging fetch) finishes first.
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every process, every core) so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process's children it has waited for (its tools)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


# -- GitOps benches (issue 7): tenants with a source and a sync ----------------

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def requests_by_verb(
    client: kube.Kube, resources: set[str] | None = None, *, by_resource: bool = False
) -> collections.Counter[str]:
    """The apiserver's own request counters by verb (``APPLY(dry-run)`` apart), all clients.

    With ``by_resource`` the keys are ``VERB resource`` (``resource/subresource``).
    """
    counts: collections.Counter[str] = collections.Counter()
    for line in client.raw_get("/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        fields = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if resources is not None and (
            fields.get("resource") not in resources or fields.get("subresource")
        ):
            continue
        dry = "(dry-run)" if fields.get("dry_run") else ""
        key = fields.get("verb", "?") + dry
        if by_resource:
            sub = fields.get("subresource")
            key += " " + fields.get("resource", "-") + (f"/{sub}" if sub else "")
        counts[key] += int(float(match.group("value")))
    return counts


def verbs(delta: collections.Counter[str]) -> str:
    """``GET 12, APPLY 3`` (zero counts left out; WATCH is long-running, not per request)."""
    shown = [(v, c) for v, c in delta.most_common() if c and v != "WATCH"]
    return ", ".join(f"{verb} {count}" for verb, count in shown) or "none"


def four_objects(index: int, *, version: int = 1) -> list[dict[str, Any]]:
    """A Deployment with 0 replicas, a ServiceAccount, a Service and a ConfigMap."""
    labels = {"app": "app"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": RESTRICTED_POD},
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "app"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app"},
            "data": {"tenant": str(index), "version": str(version)},
        },
    ]


def dump(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def create_tenant(
    client: kube.Kube,
    name: str,
    url: str,
    *,
    source_interval: str = "1h",
    sync_interval: str = "1h",
) -> None:
    """A Tenant whose repository's ``deploy/`` is synced (intervals long unless asked)."""
    client.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {
                "source": {"url": url, "interval": source_interval},
                "sync": {"path": "./deploy", "interval": sync_interval},
            },
        }
    )


def four_object_tenants(
    client: kube.Kube, git: Any, names: Sequence[str], **intervals: str
) -> None:
    """A repository with :func:`four_objects` and a Tenant syncing it, for each name."""
    for index, name in enumerate(names):
        git.create(name)
        git.commit(name, {"deploy/app.yaml": dump(four_objects(index))})
        create_tenant(client, name, git.url(name), **intervals)


def ready_kustomizations(client: kube.Kube) -> dict[str, str]:
    """Name → lastAppliedRevision of every Ready Kustomization."""
    ready = {}
    for item in client.list_objects(api.API_VERSION, "Kustomization"):
        status = item.get("status") or {}
        if conditions.is_true(status.get("conditions") or [], conditions.READY):
            ready[item["metadata"]["name"]] = status.get("lastAppliedRevision") or ""
    return ready


def wait_ready(
    client: kube.Kube, names: Sequence[str], timeout: float, poll: float = 0.25
) -> dict[str, float]:
    """Monotonic time each named Kustomization was first seen Ready."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(names) and time.monotonic() < deadline:
        now = time.monotonic()
        for name in ready_kustomizations(client).keys() - seen.keys():
            if name in names:
                seen[name] = now
        time.sleep(poll)
    return seen


@contextlib.contextmanager
def gitops_operator(
    plane: controlplane.ControlPlane,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    args: Sequence[str] = ("run",),
) -> Iterator[subprocess.Popen[bytes]]:
    """The operator, allowed to fetch from the loopback Git server."""
    with operator(
        plane,
        args=args,
        extra_env={**loopback_env(workdir), **(extra_env or {})},
    ) as process:
        yield process


def loopback_env(workdir: Path) -> dict[str, str]:
    """Settings for an operator whose tenants fetch from the loopback Git server.

    The benches' Git server speaks plain HTTP on 127.0.0.1 (denied to tenant
    sources by default) and their tenants poll every second or two (below the
    shipped 10 s minimum interval): both are opened here, deliberately.
    """
    return {
        "LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http",
        "LANDLORD_SOURCES__ALLOWED_NETWORKS": "127.0.0.1/32",
        "LANDLORD_LIMITS__MIN_INTERVAL": "1s",
        "LANDLORD_SOURCES__STORAGE_DIR": str(workdir / "sources"),
    }


def stamp(client: kube.Kube, kind: str, name: str, namespace: str) -> str:
    """Ask for an immediate reconcile (``landlord.dev/requested-at``), as a webhook would."""
    value = f"{time.time():.6f}"
    client.merge_patch(
        api.API_VERSION,
        kind,
        name,
        {"metadata": {"annotations": {"landlord.dev/requested-at": value}}},
        namespace,
    )
    return value
