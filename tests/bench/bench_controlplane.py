"""Warm start of the local control plane: time to ready, per component and in total.

Binaries come from the cache (``make bench`` builds them first), so this is the
figure a developer waits for on every ``landlord cluster up`` and every test run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from landlord.cluster import controlplane
from tests.bench import _harness

ROUNDS = 3
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kwok", "total")


def _one(nodes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="landlord-bench-") as state:
        options = _harness.options(Path(state), nodes)
        began = time.monotonic()
        plane = controlplane.up(options)
        wall = time.monotonic() - began
        stop_began = time.monotonic()
        controlplane.down(options.state_dir)
        return {**plane.timings, "wall": wall, "down": time.monotonic() - stop_began}


def run() -> None:
    print(f"{'nodes':>5} {'round':>5} " + " ".join(f"{c:>24}" for c in (*COMPONENTS, "down")))
    for nodes in (0, 1):
        walls = []
        for index in range(ROUNDS):
            timings = _one(nodes)
            walls.append(timings["wall"])
            cells = " ".join(
                f"{timings.get(c, float('nan')):>24.2f}" for c in (*COMPONENTS, "down")
            )
            print(f"{nodes:>5} {index + 1:>5} {cells}", flush=True)
        print(
            f"nodes={nodes}: warm `cluster up` median {statistics.median(walls):.2f}s "
            f"(min {min(walls):.2f}s, max {max(walls):.2f}s) over {ROUNDS} rounds"
        )
