"""Bench 2 — a cold apply of one revision with 1,000 objects, against the machine's limit.

Landlord: one tenant pushes a revision of 1,000 objects (250 each of
Deployment, ServiceAccount, Service, ConfigMap); wall time from the push (with
``requested-at``, as a webhook would) to the Kustomization Ready at it.
Limit: in the same run, a tight loop server-side applies the same 1,000 objects
straight to the apiserver with 8 threads. The ratio says where we stand.
"""

from __future__ import annotations

import concurrent.futures
import tempfile
import time
from pathlib import Path
from typing import Any

from landlord import api, kube
from landlord.demo import GitServer
from tests.bench import _harness

GROUPS = 250
THREADS = 8


def _objects() -> list[dict[str, Any]]:
    objects = []
    for group in range(GROUPS):
        for obj in _harness.four_objects(group):
            obj["metadata"]["name"] = f"{obj['metadata']['name']}-{group:03d}"
            if obj["kind"] == "Deployment":
                match = {"app": f"app-{group:03d}"}
                obj["spec"]["selector"]["matchLabels"] = match
                obj["spec"]["template"]["metadata"]["labels"] = match
            objects.append(obj)
    return objects


def _tight_loop(client: kube.Kube, objects: list[dict[str, Any]], namespace: str) -> float:
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(
            pool.map(
                lambda o: client.apply(o, field_manager="bench", force=True),
                objects,
            )
        )
    return time.monotonic() - began


def run() -> None:
    objects = _objects()
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-cold-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            git.create("big")
            git.commit("big", {"deploy/.keep": ""})
            _harness.create_tenant(client, "big", git.url("big"))
            _harness.wait_ready(client, ["big"], timeout=60)
            files = {
                f"deploy/part-{i:02d}.yaml": _harness.dump(objects[i * 100 : (i + 1) * 100])
                for i in range(len(objects) // 100)
            }
            before = _harness.requests_by_verb(client)
            began = time.monotonic()
            sha = git.commit("big", files, message="1,000 objects")
            _harness.stamp(client, "GitRepository", "big", "big")
            revision = f"main@sha1:{sha}"
            while _harness.ready_kustomizations(client).get("big") != revision:
                if time.monotonic() - began > 600:
                    break
                time.sleep(0.1)
            landlord = time.monotonic() - began
            delta = _harness.requests_by_verb(client) - before
            ks = client.get(api.API_VERSION, "Kustomization", "big", "big") or {}
            entries = len(((ks.get("status") or {}).get("inventory") or {}).get("entries") or [])
            print(
                f"  Landlord: push → Ready with {entries} objects in {landlord:.1f}s "
                f"({entries / landlord:.0f} objects/s; fetch, build, validate, dry-run, "
                "staged apply, inventory)"
            )
            print(f"    apiserver requests: {_harness.verbs(delta)}")
            print(f"    operator peak RSS {_harness.peak_rss_mib(operator.pid):.0f} MiB")
            limit = _tight_loop(client, objects, "tight-loop")
            print(
                f"  tight loop: {len(objects)} server-side applies with {THREADS} threads in "
                f"{limit:.1f}s ({len(objects) / limit:.0f} objects/s)"
            )
            print(f"  Landlord takes {landlord / limit:.1f}× the machine's limit")
        finally:
            git.stop()
