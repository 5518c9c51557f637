"""Real nodes: build, image, start-up and pod start figures (printed, never asserted).

- the kubelet and kube-proxy build: warm (the cache) always; cold (an empty
  build cache and output folder, modules already downloaded) with
  ``LANDLORD_BENCH_COLD=1``, since it takes minutes;
- ``make image``: warm always, cold (no cached base or image) with
  ``LANDLORD_BENCH_COLD=1``; the archive's size;
- ``cluster up --real-nodes 1`` warm, three rounds, and ``cluster down``;
- pod create → Running on the real node, p50/p99 over 20 pods (pause image).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import statistics
import tempfile
import time

from landlord import kube, settings
from landlord.cluster import binaries, controlplane
from landlord.cluster.images import app, pause
from landlord.cluster.images import landlord as landlord_image
from landlord.cluster.realnode import configs
from tests.bench import _harness

ROOT = pathlib.Path(__file__).resolve().parents[2]
PODS = 20
ROUNDS = 3


def _cold() -> bool:
    return os.environ.get("LANDLORD_BENCH_COLD") == "1"


def _build(cache_dir: pathlib.Path) -> float:
    began = time.monotonic()
    binaries.build_all(cache_dir=cache_dir, groups=["kubernetes-node"])
    return time.monotonic() - began


def _image(cache_dir: pathlib.Path, wheel: pathlib.Path) -> tuple[float, pathlib.Path]:
    began = time.monotonic()
    lock = ROOT / "requirements" / "runtime.txt"
    archive, _ = landlord_image.build(cache_dir, wheel=wheel, lock=lock)
    return time.monotonic() - began, archive


def _pod(name: str, image: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {configs.NODE_KIND_LABEL: "real"},
            "tolerations": [{"key": configs.REAL_NODE_TAINT, "operator": "Exists"}],
            "dnsPolicy": "Default",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/pause", "-P"],
                }
            ],
        },
    }


def _pod_starts(client: kube.Kube, image: str) -> list[float]:
    client.core.create_namespace({"metadata": {"name": "bench-pods"}})
    seconds: list[float] = []
    for index in range(PODS):
        name = f"p{index}"
        began = time.monotonic()
        client.core.create_namespaced_pod("bench-pods", _pod(name, image))
        while client.core.read_namespaced_pod(name, "bench-pods").status.phase != "Running":
            time.sleep(0.02)
        seconds.append(time.monotonic() - began)
    return seconds


def _rss(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _node_rss(plane: controlplane.ControlPlane) -> dict[str, float]:
    """RSS of the node's daemons, and of all containerd shims together."""
    rss = {
        record.name.split("/")[1]: _rss(record.pid)
        for record in plane.components
        if "/" in record.name
    }
    shims = 0.0
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                exe = os.readlink(entry / "exe")
            except OSError:
                continue
            if exe.endswith("containerd-shim-runc-v2"):
                shims += _rss(int(entry.name))
    rss["shims"] = shims
    return rss


def run() -> None:
    config = settings.load()
    cache_dir = config.cluster.cache_dir
    if _cold():
        with tempfile.TemporaryDirectory(prefix="landlord-bench-gocache-") as gocache:
            os.environ["GOCACHE"] = gocache
            with tempfile.TemporaryDirectory(prefix="landlord-bench-cache-") as cold_cache:
                seconds = _build(pathlib.Path(cold_cache))
            del os.environ["GOCACHE"]
        print(f"kubelet + kube-proxy build, cold (empty Go build cache): {seconds:.1f}s")
    print(f"kubelet + kube-proxy build, warm (cached): {_build(cache_dir):.2f}s")

    with tempfile.TemporaryDirectory(prefix="landlord-bench-wheel-") as out:
        wheel = app.build_wheel(ROOT, pathlib.Path(out))
        if _cold():
            with tempfile.TemporaryDirectory(prefix="landlord-bench-images-") as cold_cache:
                # The kustomize binary comes from the real cache; the images start empty.
                os.symlink(cache_dir / "bin", pathlib.Path(cold_cache) / "bin")
                seconds, _ = _image(pathlib.Path(cold_cache), wheel)
            print(f"make image, cold (no cached base): {seconds:.1f}s")
        _image(cache_dir, wheel)  # make sure it is there
        seconds, archive = _image(cache_dir, wheel)
    print(f"make image, warm: {seconds:.2f}s; archive {archive.stat().st_size / 2**20:.1f} MiB")

    walls, downs = [], []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory(prefix="landlord-bench-") as state:
            options = dataclasses.replace(_harness.options(pathlib.Path(state)), real_nodes=1)
            began = time.monotonic()
            plane = controlplane.up(options)
            walls.append(time.monotonic() - began)
            client = kube.connect(plane.kubeconfig)
            try:
                if len(walls) == ROUNDS:
                    idle = _node_rss(plane)
                    starts = _pod_starts(client, pause.image_name())
                    busy = _node_rss(plane)
            finally:
                client.close()
                began = time.monotonic()
                controlplane.down(options.state_dir)
                downs.append(time.monotonic() - began)
    print(
        f"cluster up --real-nodes 1, warm: median {statistics.median(walls):.2f}s "
        f"(min {min(walls):.2f}s, max {max(walls):.2f}s) over {ROUNDS}; "
        f"down median {statistics.median(downs):.2f}s"
    )
    print(
        "real node memory (RSS MiB) idle: "
        + ", ".join(f"{name} {mib:.0f}" for name, mib in idle.items())
        + f"; with {PODS} pause pods: "
        + ", ".join(f"{name} {mib:.0f}" for name, mib in busy.items())
    )
    print(
        f"pod create -> Running on the real node over {PODS} pods: "
        f"p50 {_harness.percentile(starts, 50):.2f}s, p99 {_harness.percentile(starts, 99):.2f}s, "
        f"max {max(starts):.2f}s"
    )
