"""Shared set-up for benchmarks: a fresh control plane, Landlord installed, an operator."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from landlord import installer, kube, settings
from landlord.cluster import controlplane


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
    plane: controlplane.ControlPlane, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``landlord run`` against ``plane`` (log in the state dir)."""
    log = (plane.state_dir / "logs" / "operator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "landlord", "run"],
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
        process.wait(timeout=30)
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
