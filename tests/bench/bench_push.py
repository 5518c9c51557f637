"""Bench 5 — push to applied: a commit to one of 100 tenants' repositories.

Measured from the commit to the moment the tenant's ConfigMap has a new
resourceVersion (polled every 10 ms): with ``requested-at`` on the
GitRepository right after the push (what a push webhook does), and with plain
polling of the sources every 10 s.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from landlord import kube
from landlord.demo import GitServer
from tests.bench import _harness

TENANTS = 100
SAMPLES = 20
POLL_SAMPLES = 10
POLL_INTERVAL = "10s"


def _push_and_wait(
    client: kube.Kube, git: GitServer, name: str, version: int, *, webhook: bool
) -> float:
    old = (client.get("v1", "ConfigMap", "app", name) or {})["metadata"]["resourceVersion"]
    objects = _harness.four_objects(int(name[1:]), version=version)
    began = time.monotonic()
    git.commit(name, {"deploy/app.yaml": _harness.dump(objects)}, message=f"v{version}")
    if webhook:
        _harness.stamp(client, "GitRepository", name, name)
    while (client.get("v1", "ConfigMap", "app", name) or {})["metadata"]["resourceVersion"] == old:
        if time.monotonic() - began > 120:
            break
        time.sleep(0.01)
    return time.monotonic() - began


def run() -> None:
    rng = random.Random(5)  # noqa: S311 - reproducible benchmark data
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-push-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)),
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            names = [f"p{index:03d}" for index in range(TENANTS)]
            _harness.four_object_tenants(client, git, names, source_interval=POLL_INTERVAL)
            ready = _harness.wait_ready(client, names, timeout=300)
            print(f"  {len(ready)}/{TENANTS} tenants Ready; sources poll every {POLL_INTERVAL}")
            time.sleep(2)
            version = 1
            webhook = []
            for _ in range(SAMPLES):
                version += 1
                webhook.append(
                    _push_and_wait(client, git, rng.choice(names), version, webhook=True)
                )
            print(f"  push + requested-at → applied: {_harness.summary(webhook)}")
            polled = []
            for _ in range(POLL_SAMPLES):
                version += 1
                polled.append(
                    _push_and_wait(client, git, rng.choice(names), version, webhook=False)
                )
            print(f"  push, polling only → applied:  {_harness.summary(polled)}")
        finally:
            git.stop()
