"""The sync: 100 tenants × 10 objects, applied as each tenant from the loopback Git server.

Figures: wall time from the first Tenant to every Kustomization Ready, mutating
and read requests by verb (from the apiserver's own counters), the operator's
peak memory, and the cost of reconciling the same revisions again.
"""

from __future__ import annotations

import collections
import re
import tempfile
import time
from pathlib import Path

import yaml

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.demo import GitServer
from tests.bench import _harness

TENANTS = 100
OBJECTS = 10
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def _requests(client: kube.Kube) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for line in client.raw_get("/metrics").splitlines():
        match = _SAMPLE.match(line)
        if match:
            fields = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
            dry = "(dry-run)" if fields.get("dry_run") else ""
            counts[fields.get("verb", "?") + dry] += int(float(match.group("value")))
    return counts


def _manifests(index: int) -> str:
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i}"},
            "data": {"tenant": str(index), "item": str(i)},
        }
        for i in range(OBJECTS)
    ]
    return yaml.safe_dump_all(objects, sort_keys=False)


def _all_ready(client: kube.Kube) -> int:
    items = client.list_objects(api.API_VERSION, "Kustomization")
    return sum(
        conditions.is_true((i.get("status") or {}).get("conditions") or [], "Ready") for i in items
    )


def run() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-sync-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.operator(
            plane,
            extra_env=_harness.loopback_env(Path(tmp)),
        ) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            for index in range(TENANTS):
                git.create(f"t{index:03d}")
                git.commit(f"t{index:03d}", {"deploy/objects.yaml": _manifests(index)})
            before = _requests(client)
            began = time.monotonic()
            for index in range(TENANTS):
                client.create(
                    {
                        "apiVersion": api.API_VERSION,
                        "kind": "Tenant",
                        "metadata": {"name": f"t{index:03d}"},
                        "spec": {
                            "source": {"url": git.url(f"t{index:03d}"), "interval": "10m"},
                            "sync": {"path": "./deploy", "interval": "10m"},
                        },
                    }
                )
            while _all_ready(client) < TENANTS and time.monotonic() - began < 300:
                time.sleep(0.5)
            wall = time.monotonic() - began
            after = _requests(client)
            delta = after - before
            print(
                f"{TENANTS} tenants × {OBJECTS} ConfigMaps: all Kustomizations Ready in "
                f"{wall:.1f}s ({TENANTS * OBJECTS / wall:.0f} objects/s, "
                f"{_all_ready(client)}/{TENANTS} Ready)"
            )
            print(
                "apiserver requests by verb (all clients):",
                ", ".join(f"{verb} {count}" for verb, count in delta.most_common()),
            )
            print(f"operator peak RSS: {_harness.peak_rss_mib(operator.pid):.0f} MiB")
            again_before = _requests(client)
            stamp = str(time.time())
            for index in range(TENANTS):
                client.merge_patch(
                    api.API_VERSION,
                    "Kustomization",
                    f"t{index:03d}",
                    {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
                    f"t{index:03d}",
                )
            began = time.monotonic()
            while time.monotonic() - began < 300:
                items = client.list_objects(api.API_VERSION, "Kustomization")
                if (
                    sum(
                        (i.get("status") or {}).get("lastHandledReconcileAt") == stamp
                        for i in items
                    )
                    == TENANTS
                ):
                    break
                time.sleep(0.5)
            again = _requests(client) - again_before
            writes = {
                v: c
                for v, c in again.items()
                if v.split("(")[0] in ("POST", "PUT", "PATCH", "APPLY", "DELETE")
            }
            print(
                f"same revisions again ({TENANTS} requested reconciles) in "
                f"{time.monotonic() - began:.1f}s; writes by verb: {writes} "
                "(status patches of the Kustomizations and the requests' own annotations)"
            )
        finally:
            git.stop()
