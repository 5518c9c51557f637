"""Bench 6 — a noisy neighbour: one tenant with a huge or failing repository, 99 behaving.

The 99 each have 4 objects; for each measurement 30 pushes (with
``requested-at``) go to random behaving tenants, and the time from push to the
new ConfigMap is taken. Three runs: alone; while the noisy tenant applies a
20,000-object revision; while it has 8 sources that hang until their 20 s
timeout, over and over.
"""

from __future__ import annotations

import contextlib
import random
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from landlord import api, kube
from landlord.demo import GitServer
from tests.bench import _harness
from tests.bench.bench_push import _push_and_wait

BEHAVING = 99
SAMPLES = 30
HUGE = 20_000


@contextlib.contextmanager
def _stalled_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.5)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def _measure(
    client: kube.Kube, git: GitServer, names: list[str], rng: random.Random, start: int
) -> list[float]:
    return [
        _push_and_wait(client, git, rng.choice(names), start + i, webhook=True)
        for i in range(SAMPLES)
    ]


def run() -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible benchmark data
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-fair-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)),
        _stalled_server() as stalled,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            names = [f"p{index:03d}" for index in range(BEHAVING)]
            _harness.four_object_tenants(client, git, names)
            _harness.wait_ready(client, names, timeout=300)
            time.sleep(2)
            alone = _measure(client, git, names, rng, 100)
            print(f"  99 tenants alone:               {_harness.summary(alone)}")

            git.create("noisy")
            parts = {}
            for part in range(HUGE // 1000):
                objects = [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": f"cm-{part:02d}-{i:04d}"},
                        "data": {"i": str(i)},
                    }
                    for i in range(1000)
                ]
                parts[f"deploy/part-{part:02d}.yaml"] = _harness.dump(objects)
            git.commit("noisy", parts, message="20,000 objects")
            _harness.create_tenant(client, "noisy", git.url("noisy"))
            began = time.monotonic()
            while (
                not (client.get(api.API_VERSION, "GitRepository", "noisy", "noisy") or {})
                .get("status", {})
                .get("artifact")
            ):
                time.sleep(0.5)
            time.sleep(2)  # the 20,000-object apply is under way
            busy = _measure(client, git, names, rng, 200)
            print(
                f"  while one tenant applies {HUGE:,} objects: {_harness.summary(busy)} "
                f"(noisy fetched after {time.monotonic() - began:.0f}s, still applying)"
            )
            ks = client.get(api.API_VERSION, "Kustomization", "noisy", "noisy") or {}
            applied = len(((ks.get("status") or {}).get("inventory") or {}).get("entries") or [])
            print(f"  (the noisy tenant's inventory holds {applied:,} objects at this point)")
            began = time.monotonic()
            client.delete(api.API_VERSION, "Tenant", "noisy")
            offboarding = _measure(client, git, names, rng, 250)
            print(f"  while it is offboarded:         {_harness.summary(offboarding)}")
            while client.get(api.API_VERSION, "Tenant", "noisy") is not None:
                time.sleep(1)
            print(f"  (offboarding the noisy tenant took {time.monotonic() - began:.0f}s)")

            git.create("failing")
            git.commit("failing", {"deploy/.keep": ""})
            _harness.create_tenant(client, "failing", git.url("failing"))
            _harness.wait_ready(client, ["failing"], timeout=60)
            for i in range(8):
                client.create(
                    {
                        "apiVersion": api.API_VERSION,
                        "kind": "GitRepository",
                        "metadata": {"name": f"hang-{i}", "namespace": "failing"},
                        "spec": {
                            "url": f"http://127.0.0.1:{stalled}/hang-{i}.git",
                            "interval": "1s",
                            "timeout": "20s",
                        },
                    }
                )
            time.sleep(3)
            failing = _measure(client, git, names, rng, 300)
            print(f"  while 8 sources of one tenant hang: {_harness.summary(failing)}")
        finally:
            git.stop()
