"""Bench 4 — drift: 50 managed objects deleted or scaled by hand, one at a time.

25 tenants with 4 objects each, syncs on a 1 h interval (so only the watches
can explain a repair). For each tenant its ConfigMap is deleted, then its
Deployment scaled to 3 by another field manager; the time until the object is
back (a new uid) or scaled back to 0 is measured by polling every 10 ms.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from landlord.demo import GitServer
from tests.bench import _harness

TENANTS = 25


def run() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-drift-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            names = [f"d{index:02d}" for index in range(TENANTS)]
            _harness.four_object_tenants(client, git, names)
            _harness.wait_ready(client, names, timeout=120)
            time.sleep(2)
            deleted, scaled = [], []
            for name in names:
                old = client.get("v1", "ConfigMap", "app", name)
                assert old is not None
                began = time.monotonic()
                client.delete("v1", "ConfigMap", "app", name)
                while True:
                    now = client.get("v1", "ConfigMap", "app", name)
                    if now is not None and now["metadata"]["uid"] != old["metadata"]["uid"]:
                        break
                    time.sleep(0.01)
                deleted.append(time.monotonic() - began)
                began = time.monotonic()
                client.apply(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": "app", "namespace": name},
                        "spec": {"replicas": 3},
                    },
                    field_manager="bench-scaler",
                    force=True,
                )
                while (client.get("apps/v1", "Deployment", "app", name) or {}).get("spec", {}).get(
                    "replicas"
                ) != 0:
                    time.sleep(0.01)
                scaled.append(time.monotonic() - began)
            print(f"  deleted ConfigMap → back:      {_harness.summary(deleted)}")
            print(f"  scaled Deployment → 0 again:   {_harness.summary(scaled)}")
            print(f"  all 50 repairs:                {_harness.summary(deleted + scaled)}")
            print(f"  operator peak RSS {_harness.peak_rss_mib(operator.pid):.0f} MiB")
        finally:
            git.stop()
