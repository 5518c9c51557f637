"""Bench — Helm releases: 100 tenants × one release of a five-object chart.

Each tenant (no sync of its own) gets a HelmRepository on the loopback chart
server and a HelmRelease of a chart with five objects (ConfigMap, Secret,
ServiceAccount, Service, Deployment with 0 replicas), all created at once.
Figures: time from creation to every release Ready (per release: p50/p99/max),
what one release cost (helm runs, operator CPU), the operator's peak RSS; then
the steady state over 5 intervals of 5 s: apiserver requests by verb on the
kinds involved (target: no write) and Helm release versions stored (target:
no new one — no `helm upgrade` when nothing changed).
Knobs: LANDLORD_BENCH_HELM_TENANTS (100), LANDLORD_BENCH_HELM_WORKERS (the
operator's LANDLORD_HELM__WORKERS, default its own).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import yaml

from landlord import api, settings
from landlord.api import conditions
from landlord.cluster import binaries
from landlord.demo import ChartServer
from tests.bench import _harness

TENANTS = int(os.environ.get("LANDLORD_BENCH_HELM_TENANTS", "100"))
WORKERS = os.environ.get("LANDLORD_BENCH_HELM_WORKERS")
INTERVAL = 5.0
RESOURCES = {
    "helmreleases",
    "helmrepositories",
    "configmaps",
    "secrets",
    "services",
    "serviceaccounts",
    "deployments",
}

POD = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "image": "registry.invalid/app:1",
            "securityContext": {
                "runAsUser": 1000,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    ],
}


def _chart() -> dict[str, str]:
    name = "{{ .Release.Name }}"
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "stringData": {"k": "v"},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": "five"}, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "five"}},
                "template": {"metadata": {"labels": {"app": "five"}}, "spec": POD},
            },
        },
    ]
    return {"templates/all.yaml": yaml.safe_dump_all(objects, sort_keys=False)}


def _ready(client: object, names: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in client.list_objects(api.API_VERSION, "HelmRelease"):  # type: ignore[attr-defined]
        if item["metadata"]["namespace"] in names and conditions.ready_at_generation(item):
            found[item["metadata"]["namespace"]] = time.monotonic()
    return found


def _versions(client: object) -> int:
    """Helm release versions stored (one Secret each), in every namespace."""
    return len(
        client.list_objects("v1", "Secret", label_selector="owner=helm")  # type: ignore[attr-defined]
    )


def run() -> None:
    helm = binaries.find("helm", cache_dir=settings.load().cluster.cache_dir)
    assert helm is not None, "helm is built by `make binaries`"
    extra = {"LANDLORD_HELM__WORKERS": WORKERS} if WORKERS else {}
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-helm-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp), extra_env=extra) as operator,
    ):
        charts = ChartServer(Path(tmp) / "charts", helm=helm).start()
        try:
            charts.publish("bench", "five", "1.0.0", _chart())
            names = [f"h{index:03d}" for index in range(TENANTS)]
            for name in names:
                client.create(
                    {"apiVersion": api.API_VERSION, "kind": "Tenant", "metadata": {"name": name}}
                )
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                tenants = client.list_objects(api.API_VERSION, "Tenant")
                if sum(conditions.ready_at_generation(t) for t in tenants) >= len(names):
                    break
                time.sleep(1)
            cpu = _harness.cpu_seconds(operator.pid)
            tools = _harness.children_cpu_seconds(operator.pid)
            machine = _harness.machine_cpu_seconds()
            began = time.monotonic()
            for name in names:
                client.create(
                    {
                        "apiVersion": api.API_VERSION,
                        "kind": "HelmRepository",
                        "metadata": {"name": "bench", "namespace": name},
                        "spec": {"url": charts.url("bench"), "interval": "1h"},
                    }
                )
                client.create(
                    {
                        "apiVersion": api.API_VERSION,
                        "kind": "HelmRelease",
                        "metadata": {"name": "five", "namespace": name},
                        "spec": {
                            "chart": {
                                "spec": {
                                    "chart": "five",
                                    "sourceRef": {"kind": "HelmRepository", "name": "bench"},
                                }
                            },
                            "interval": f"{INTERVAL:.0f}s",
                        },
                    }
                )
            ready: dict[str, float] = {}
            deadline = began + 900
            while len(ready) < len(names) and time.monotonic() < deadline:
                for name, at in _ready(client, names).items():
                    ready.setdefault(name, at)
                time.sleep(0.5)
            took = [at - began for at in ready.values()]
            spent = _harness.cpu_seconds(operator.pid) - cpu
            helm_cpu = _harness.children_cpu_seconds(operator.pid) - tools
            busy = _harness.machine_cpu_seconds() - machine
            print(
                f"  {len(ready)}/{TENANTS} releases Ready in {max(took):.1f}s "
                f"({_harness.summary(took)}); operator CPU {spent:.1f}s, helm and its "
                f"sandbox {helm_cpu:.1f}s ({helm_cpu / max(len(ready), 1):.2f}s per release), "
                f"operator peak RSS {_harness.peak_rss_mib(operator.pid):.0f} MiB; the whole "
                f"machine (apiserver, etcd, chart server, bench too) {busy:.1f} CPU-s"
            )
            time.sleep(2 * INTERVAL)  # the first ticks after install: watches listed
            stored = _versions(client)
            before = _harness.requests_by_verb(client, RESOURCES, by_resource=True)
            cpu = _harness.cpu_seconds(operator.pid)
            tools = _harness.children_cpu_seconds(operator.pid)
            time.sleep(5 * INTERVAL)
            delta = _harness.requests_by_verb(client, RESOURCES, by_resource=True) - before
            print(
                f"  steady state, 5 intervals of {INTERVAL:.0f}s: apiserver requests "
                f"{_harness.verbs(delta)}; Helm release versions stored {stored} → "
                f"{_versions(client)}; operator CPU "
                f"{_harness.cpu_seconds(operator.pid) - cpu:.2f}s, helm "
                f"{_harness.children_cpu_seconds(operator.pid) - tools:.2f}s"
            )
        finally:
            charts.stop()
