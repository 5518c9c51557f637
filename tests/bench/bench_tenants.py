"""The tenant operator: provisioning N tenants, drift repair latency, offboarding.

Figures: time until all N Tenants are Ready (and per tenant from create to
Ready), drift-repair latency from a deleted RoleBinding/NetworkPolicy to its
replacement, and the time to offboard all of them.
"""

from __future__ import annotations

import time

from landlord import api, kube
from landlord.api import conditions
from tests.bench import _harness

TENANTS = 100
DRIFT_SAMPLES = 50


def _spec(index: int) -> dict[str, object]:
    return {
        "owners": [{"kind": "User", "name": f"owner-{index}"}],
        "quota": {"pods": "10"},
        "limitRange": [{"type": "Container", "default": {"cpu": "100m"}}],
    }


def _ready_names(client: kube.Kube) -> set[str]:
    ready = set()
    for item in client.list_objects(api.API_VERSION, "Tenant"):
        status = item.get("status") or {}
        if conditions.is_true(status.get("conditions") or [], conditions.READY):
            ready.add(item["metadata"]["name"])
    return ready


def _provision(client: kube.Kube) -> tuple[float, list[float]]:
    created: dict[str, float] = {}
    ready_at: dict[str, float] = {}
    began = time.monotonic()
    for index in range(TENANTS):
        name = f"bench-{index:04d}"
        client.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": "Tenant",
                "metadata": {"name": name},
                "spec": _spec(index),
            }
        )
        created[name] = time.monotonic()
    while len(ready_at) < TENANTS and time.monotonic() - began < 600:
        now = time.monotonic()
        for name in _ready_names(client) - ready_at.keys():
            ready_at[name] = now
        time.sleep(0.1)
    total = time.monotonic() - began
    return total, [ready_at[name] - created[name] for name in ready_at]


def _drift(client: kube.Kube, api_version: str, kind: str, name: str) -> list[float]:
    latencies = []
    for index in range(DRIFT_SAMPLES):
        namespace = f"bench-{index:04d}"
        before = client.get(api_version, kind, name, namespace)
        assert before is not None
        began = time.monotonic()
        client.delete(api_version, kind, name, namespace)
        while True:
            found = client.get(api_version, kind, name, namespace)
            if found is not None and found["metadata"]["uid"] != before["metadata"]["uid"]:
                break
            time.sleep(0.01)
        latencies.append(time.monotonic() - began)
    return latencies


def _offboard(client: kube.Kube) -> float:
    began = time.monotonic()
    for index in range(TENANTS):
        client.delete(api.API_VERSION, "Tenant", f"bench-{index:04d}")
    while client.list_objects(api.API_VERSION, "Tenant") and time.monotonic() - began < 600:
        time.sleep(0.2)
    return time.monotonic() - began


def run() -> None:
    with _harness.landlord_cluster() as (plane, client), _harness.operator(plane) as operator:
        cpu_before = _harness.cpu_seconds(operator.pid)
        total, per_tenant = _provision(client)
        print(
            f"provision {TENANTS} tenants (1 namespace, SA, 2 RoleBindings, quota, limits, "
            f"NetworkPolicy each): all Ready in {total:.2f}s "
            f"({TENANTS / total:.1f} tenants/s); create→Ready {_harness.summary(per_tenant)}"
        )
        print(
            f"operator CPU during provisioning: "
            f"{_harness.cpu_seconds(operator.pid) - cpu_before:.1f}s"
        )
        time.sleep(2)  # let the last watch events settle
        for api_version, kind, name in (
            ("rbac.authorization.k8s.io/v1", "RoleBinding", "landlord-reconciler"),
            ("networking.k8s.io/v1", "NetworkPolicy", "landlord-isolation"),
        ):
            latencies = _drift(client, api_version, kind, name)
            print(f"drift repair, deleted {kind}: {_harness.summary(latencies)}")
        offboard = _offboard(client)
        print(f"offboard {TENANTS} tenants (namespaces deleted and gone): {offboard:.2f}s")
        print(f"operator peak RSS: {_harness.peak_rss_mib(operator.pid):.0f} MiB")
