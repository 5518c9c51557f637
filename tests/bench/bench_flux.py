"""Bench — Landlord against Flux, side by side on the same machine, apiserver and workload.

Flux's source-controller and kustomize-controller are built from their pinned Go
modules (``landlord cluster build --flux``; versions in ``landlord.cluster.versions``)
and run as local processes; each tool runs alone on a fresh control plane.

Workload per tenant, for both tools: a repository on the loopback Git server with
the four objects of ``_harness.four_objects`` in ``deploy/``, applied into the
tenant's own namespace by an identity that may only write there.

- Flux: a Namespace, a RoleBinding of the namespace's ``default`` ServiceAccount to
  ``admin``, a GitRepository and a Kustomization (``targetNamespace``, ``prune``),
  with the multi-tenancy lockdown flags (``--no-cross-namespace-refs``,
  ``--no-remote-bases``, ``--default-service-account=default``). Two
  configurations: its documented defaults, and ``tuned`` with Landlord's
  concurrency (sources 4, syncs 4, 16 applies at once) and no client-side rate limit
  worth the name (Landlord has none).
- Landlord: one Tenant (source + sync), which also provisions the service account,
  RoleBindings, quota, LimitRange and NetworkPolicy.

Figures per tool: (1) onboarding N tenants (time to all Ready, create→Ready p50/p99,
controller CPU seconds including child processes, peak RSS, apiserver requests by
verb, the bench's own requests shown apart); (2) push → applied with each tool's
"reconcile now" annotation; (3) the steady state over 10 intervals; (4) drift: a
deleted ConfigMap and a scaled Deployment, back as the tool repairs them; (5) a
cold apply of one revision of 1,000 objects. Environment:

- ``LANDLORD_BENCH_FLUX_TOOLS`` (default ``flux,flux-tuned,landlord``)
- ``LANDLORD_BENCH_FLUX_TENANTS`` (default ``100,1000``): the first size runs every
  workload, the others onboarding only.
- ``LANDLORD_BENCH_FLUX_FULL=0``: onboarding only, at every size.
- ``LANDLORD_BENCH_FLUX_PROFILE=DIR``: record Landlord's onboarding with py-spy.
- ``LANDLORD_BENCH_FLUX_DETAIL=1``: requests by resource, too.
- ``LANDLORD_BENCH_FLUX_INTERVAL`` (default ``10s``): the interval of the steady and
  drift phases (both tools' sources and syncs).
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from landlord import api, kube, settings
from landlord.cluster import binaries, controlplane, gobuild, ports, versions
from landlord.demo import GitServer
from tests.bench import _harness
from tests.bench.bench_cold_apply import _objects as thousand_objects
from tests.bench.bench_cold_apply import _tight_loop

TOOLS = os.environ.get("LANDLORD_BENCH_FLUX_TOOLS", "flux,flux-tuned,landlord").split(",")
SIZES = [int(n) for n in os.environ.get("LANDLORD_BENCH_FLUX_TENANTS", "100,1000").split(",")]
INTERVAL = os.environ.get("LANDLORD_BENCH_FLUX_INTERVAL", "10s")
DETAIL = os.environ.get("LANDLORD_BENCH_FLUX_DETAIL", "") not in ("", "0")
# A folder: Landlord's onboarding is recorded with py-spy there (a flame graph and the
# collapsed stacks), and the frames that took the most samples are printed.
PROFILE = os.environ.get("LANDLORD_BENCH_FLUX_PROFILE", "")
# "0": every size runs the onboarding alone (for profiling), none the other workloads.
FULL = os.environ.get("LANDLORD_BENCH_FLUX_FULL", "1") != "0"
STEADY_INTERVALS = 10
PUSH_SAMPLES = 10
DRIFT_SAMPLES = 5

SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
FLUX_NAMESPACE = "flux-system"
# Landlord's own defaults (settings: sources.workers, sync.workers, sync.apply_workers).
LANDLORD_CONCURRENCY = {"sources": 4, "syncs": 4, "applies": 16}

# Each tool's flags, printed with the results.
FLUX_FLAGS: dict[str, dict[str, list[str]]] = {
    "flux": {
        "source": [],
        "kustomize": [],
    },
    "flux-tuned": {
        "source": [
            f"--concurrent={LANDLORD_CONCURRENCY['sources']}",
            "--kube-api-qps=1000",
            "--kube-api-burst=2000",
        ],
        "kustomize": [
            f"--concurrent={LANDLORD_CONCURRENCY['syncs']}",
            f"--concurrent-ssa={LANDLORD_CONCURRENCY['applies']}",
            "--kube-api-qps=1000",
            "--kube-api-burst=2000",
        ],
    },
}
LOCKDOWN = [
    "--no-cross-namespace-refs=true",
    "--no-remote-bases=true",
    "--default-service-account=default",
]


@dataclass
class Figures:
    """What one tool did in one phase."""

    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    by_resource: collections.Counter[str] = field(default_factory=collections.Counter)
    bench: collections.Counter[str] = field(default_factory=collections.Counter)
    cpu: float = 0.0


class BenchRequests:
    """The bench's own requests (HTTP methods), to tell them from the tool's."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        kube.count_requests(self._count)

    def _count(self, method: str) -> None:
        self.counts[method] += 1

    def snapshot(self) -> collections.Counter[str]:
        return collections.Counter(self.counts)


BENCH = BenchRequests()

# (figure, tenants) → tool → value, for the comparison printed at the end.
RESULTS: dict[tuple[str, int], dict[str, float]] = collections.defaultdict(dict)


def record(tool: Tool, count: int, figure: str, value: float) -> None:
    RESULTS[(figure, count)][tool.name] = value


def tool_requests(figures: Figures) -> int:
    """Requests by everyone but the bench (the tool, and the controllers acting on its writes)."""
    total = sum(c for v, c in figures.requests.items() if v != "WATCH")
    return total - sum(figures.bench.values())


# -- the two tools -------------------------------------------------------------


class Tool:
    """How the bench drives one tool: start it, onboard, ask for a reconcile."""

    name = ""
    processes: list[subprocess.Popen[bytes]]

    def start(
        self, plane: controlplane.ControlPlane, client: kube.Kube, workdir: Path
    ) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def onboard(self, client: kube.Kube, name: str, url: str, interval: str = "1h") -> None:
        raise NotImplementedError

    def ready(self, client: kube.Kube) -> dict[str, str]:
        """Tenant → applied revision of each Ready sync."""
        raise NotImplementedError

    def set_interval(self, client: kube.Kube, name: str, interval: str) -> None:
        raise NotImplementedError

    def reconcile_now(self, client: kube.Kube, name: str) -> None:
        raise NotImplementedError

    def cpu(self) -> float:
        return sum(cpu_with_children(p.pid) for p in self.processes)

    def peak_rss(self) -> float:
        return sum(_harness.peak_rss_mib(p.pid) for p in self.processes)

    def rss(self) -> str:
        peaks = [_harness.peak_rss_mib(p.pid) for p in self.processes]
        parts = " + ".join(f"{peak:.0f}" for peak in peaks)
        return f"{sum(peaks):.0f} MiB" + (f" ({parts})" if len(peaks) > 1 else "")


class Landlord(Tool):
    name = "landlord"

    @contextlib.contextmanager
    def start(
        self, plane: controlplane.ControlPlane, client: kube.Kube, workdir: Path
    ) -> Iterator[None]:
        with _harness.gitops_operator(plane, workdir) as process:
            self.processes = [process]
            yield

    def onboard(self, client: kube.Kube, name: str, url: str, interval: str = "1h") -> None:
        _harness.create_tenant(client, name, url, source_interval=interval, sync_interval=interval)

    def ready(self, client: kube.Kube) -> dict[str, str]:
        return _harness.ready_kustomizations(client)

    def set_interval(self, client: kube.Kube, name: str, interval: str) -> None:
        client.merge_patch(
            api.API_VERSION,
            "Tenant",
            name,
            {"spec": {"source": {"interval": interval}, "sync": {"interval": interval}}},
        )

    def reconcile_now(self, client: kube.Kube, name: str) -> None:
        _harness.stamp(client, "GitRepository", name, name)


class Flux(Tool):
    def __init__(self, name: str) -> None:
        self.name = name

    @contextlib.contextmanager
    def start(
        self, plane: controlplane.ControlPlane, client: kube.Kube, workdir: Path
    ) -> Iterator[None]:
        found = flux_binaries()
        install_flux_crds(client, found)
        client.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FLUX_NAMESPACE}}
        )
        storage = workdir / "flux-storage"
        shutil.rmtree(storage, ignore_errors=True)
        storage.mkdir(parents=True)
        (storage_port, s_metrics, s_health, k_metrics, k_health) = ports.free_ports(5)
        env = {
            **os.environ,
            "KUBECONFIG": str(plane.kubeconfig),
            "RUNTIME_NAMESPACE": FLUX_NAMESPACE,
        }
        common = ["--enable-leader-election=false", "--log-level=error"]
        source_argv = [
            str(found["source-controller"]),
            f"--storage-path={storage}",
            f"--storage-addr=127.0.0.1:{storage_port}",
            f"--storage-adv-addr=127.0.0.1:{storage_port}",
            f"--metrics-addr=127.0.0.1:{s_metrics}",
            f"--health-addr=127.0.0.1:{s_health}",
            *common,
            *FLUX_FLAGS[self.name]["source"],
        ]
        kustomize_argv = [
            str(found["kustomize-controller"]),
            f"--metrics-addr=127.0.0.1:{k_metrics}",
            f"--health-addr=127.0.0.1:{k_health}",
            *common,
            *LOCKDOWN,
            *FLUX_FLAGS[self.name]["kustomize"],
        ]
        logs = plane.state_dir / "logs"
        with (
            _process(source_argv, env, logs / "source-controller.log") as source,
            _process(kustomize_argv, env, logs / "kustomize-controller.log") as kustomize,
        ):
            self.processes = [source, kustomize]
            yield

    def onboard(self, client: kube.Kube, name: str, url: str, interval: str = "1h") -> None:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        client.create(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "flux-tenant", "namespace": name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "admin",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": name}],
            }
        )
        client.create(
            {
                "apiVersion": SOURCE_API,
                "kind": "GitRepository",
                "metadata": {"name": name, "namespace": name},
                "spec": {"interval": interval, "url": url, "ref": {"branch": "main"}},
            }
        )
        client.create(
            {
                "apiVersion": KUSTOMIZE_API,
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": name},
                "spec": {
                    "interval": interval,
                    "sourceRef": {"kind": "GitRepository", "name": name},
                    "path": "./deploy",
                    "prune": True,
                    "targetNamespace": name,
                },
            }
        )

    def ready(self, client: kube.Kube) -> dict[str, str]:
        found = {}
        for item in client.list_objects(KUSTOMIZE_API, "Kustomization"):
            status = item.get("status") or {}
            for condition in status.get("conditions") or []:
                if condition.get("type") == "Ready" and condition.get("status") == "True":
                    found[item["metadata"]["name"]] = status.get("lastAppliedRevision") or ""
        return found

    def set_interval(self, client: kube.Kube, name: str, interval: str) -> None:
        for api_version, kind in ((SOURCE_API, "GitRepository"), (KUSTOMIZE_API, "Kustomization")):
            client.merge_patch(api_version, kind, name, {"spec": {"interval": interval}}, name)

    def reconcile_now(self, client: kube.Kube, name: str) -> None:
        client.merge_patch(
            SOURCE_API,
            "GitRepository",
            name,
            {
                "metadata": {
                    "annotations": {"reconcile.fluxcd.io/requestedAt": f"{time.time():.6f}"}
                }
            },
            name,
        )


def flux_binaries() -> dict[str, Path]:
    """Flux's two controllers and their CRDs, built from the pinned modules the first time."""
    config = settings.load()
    names = ["source-controller", "kustomize-controller"]
    missing = [n for n in names if binaries.find(n, cache_dir=config.cluster.cache_dir) is None]
    if missing:
        print(
            f"  building Flux source-controller {versions.FLUX_SOURCE} and kustomize-controller "
            f"{versions.FLUX_KUSTOMIZE} from Go modules (about 2 minutes each, once)…",
            flush=True,
        )
    return binaries.resolve(names, cache_dir=config.cluster.cache_dir)


def install_flux_crds(client: kube.Kube, found: dict[str, Path]) -> None:
    names = []
    for asset in (gobuild.FLUX_SOURCE_CRDS, gobuild.FLUX_KUSTOMIZE_CRDS):
        for crd in yaml.safe_load_all(found[asset].read_text()):
            if crd:
                client.apply(crd, field_manager="bench", force=True)
                names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + 30
    for name in names:
        while not _established(client, name):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Flux CRD {name} not Established in 30 s")
            time.sleep(0.1)


def _established(client: kube.Kube, name: str) -> bool:
    crd = client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name) or {}
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or []
    )


@contextlib.contextmanager
def _process(
    argv: Sequence[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_with_children(pid: int) -> float:
    """User + system CPU seconds of the process and its waited-for children (git, builds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[index]) for index in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def fresh_plane(tool: Tool) -> Iterator[tuple[controlplane.ControlPlane, kube.Kube]]:
    if isinstance(tool, Landlord):
        with _harness.landlord_cluster() as pair:
            yield pair
        return
    with tempfile.TemporaryDirectory(prefix="landlord-bench-flux-") as state:
        options = _harness.options(Path(state))
        plane = controlplane.up(options)
        try:
            yield plane, kube.connect(plane.kubeconfig)
        finally:
            controlplane.down(options.state_dir)


# -- measuring -----------------------------------------------------------------


class Meter:
    """Requests (all clients, and the bench's own) and the tool's CPU over a phase."""

    def __init__(self, client: kube.Kube, tool: Tool) -> None:
        self.client, self.tool = client, tool
        self.requests = _harness.requests_by_verb(client)
        self.by_resource = _harness.requests_by_verb(client, by_resource=True)
        self.bench = BENCH.snapshot()
        self.cpu = tool.cpu()

    def stop(self) -> Figures:
        return Figures(
            requests=_harness.requests_by_verb(self.client) - self.requests,
            by_resource=_harness.requests_by_verb(self.client, by_resource=True) - self.by_resource,
            bench=BENCH.snapshot() - self.bench,
            cpu=self.tool.cpu() - self.cpu,
        )


def requests_line(figures: Figures) -> str:
    total = sum(c for v, c in figures.requests.items() if v != "WATCH")
    own = sum(figures.bench.values())
    detail = ""
    if DETAIL:
        top = [(k, c) for k, c in figures.by_resource.most_common(14) if not k.startswith("WATCH")]
        detail = "\n        by resource: " + ", ".join(f"{k} {c}" for k, c in top)
    return (
        f"{total - own} by the tool ({_harness.verbs(figures.requests)}; "
        f"the bench's own {own}: {dict(figures.bench)})"
    ) + detail


def wait_ready(
    client: kube.Kube, tool: Tool, names: Sequence[str], timeout: float, revision: str | None = None
) -> dict[str, float]:
    seen: dict[str, float] = {}
    wanted = set(names)
    deadline = time.monotonic() + timeout
    while len(seen) < len(wanted) and time.monotonic() < deadline:
        now = time.monotonic()
        for name, applied in tool.ready(client).items():
            if name in wanted and name not in seen and (revision is None or applied == revision):
                seen[name] = now
        time.sleep(0.5)
    return seen


def configmap_version(client: kube.Kube, name: str) -> str:
    data = (client.get("v1", "ConfigMap", "app", name) or {}).get("data") or {}
    return str(data.get("version", ""))


# -- profiling -----------------------------------------------------------------


@dataclass
class Profiler:
    process: subprocess.Popen[bytes]
    collapsed: Path


def _profile(tool: Tool, count: int) -> Profiler | None:
    if not PROFILE or not isinstance(tool, Landlord):
        return None
    folder = Path(PROFILE)
    folder.mkdir(parents=True, exist_ok=True)
    collapsed = folder / f"landlord-onboard-{count}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    process = subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(tool.processes[0].pid),
            "--rate",
            "50",
            "--format",
            "raw",
            "--output",
            str(collapsed),
            "--nonblocking",
            "--threads",
            "--gil",  # only the thread holding the GIL: where Python spends CPU
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Profiler(process, collapsed)


def _top_frames(profiler: Profiler, shown: int = 25) -> None:
    """Stop the recording; print the functions with the most samples (inclusive, self)."""
    profiler.process.send_signal(2)  # SIGINT: py-spy writes its output and exits
    profiler.process.wait(timeout=60)
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in profiler.collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("thread", "process"))]
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        if frames:
            own[frames[-1]] += samples
    print(
        f"      py-spy (the thread holding the GIL, i.e. Python CPU): {total} samples in "
        f"{profiler.collapsed}; top frames by inclusive share (inclusive, self):"
    )
    for frame, samples in inclusive.most_common(shown):
        print(f"        {100 * samples / total:5.1f}% {100 * own[frame] / total:5.1f}%  {frame}")
    print("      top frames by self share:")
    for frame, samples in own.most_common(shown):
        print(f"        {100 * samples / total:5.1f}%  {frame}")


# -- workloads -----------------------------------------------------------------


def onboarding(client: kube.Kube, tool: Tool, git: GitServer, names: Sequence[str]) -> None:
    for index, name in enumerate(names):
        git.create(name)
        git.commit(name, {"deploy/app.yaml": _harness.dump(_harness.four_objects(index))})
    meter = Meter(client, tool)
    profiler = _profile(tool, len(names))
    began = time.monotonic()
    created = {}
    for name in names:
        tool.onboard(client, name, git.url(name))
        created[name] = time.monotonic()
    ready = wait_ready(client, tool, names, timeout=120 + len(names) * 1.5)
    wall = time.monotonic() - began
    figures = meter.stop()
    if profiler is not None:
        _top_frames(profiler)
    per_tenant = [ready[name] - created[name] for name in ready]
    print(f"  (1) onboard {len(names)}: {len(ready)}/{len(names)} Ready in {wall:.1f}s")
    if per_tenant:
        print(f"      create→Ready per tenant: {_harness.summary(per_tenant)}")
    print(f"      controllers: CPU {figures.cpu:.1f}s, peak RSS {tool.rss()}")
    print(f"      apiserver requests: {requests_line(figures)}")
    count = len(names)
    record(tool, count, "onboard: all Ready (s)", wall)
    if per_tenant:
        record(tool, count, "onboard: create→Ready p50 (s)", statistics.median(per_tenant))
        record(tool, count, "onboard: create→Ready p99 (s)", _harness.percentile(per_tenant, 99))
    record(tool, count, "onboard: controllers' CPU (s)", figures.cpu)
    record(tool, count, "onboard: peak RSS (MiB)", tool.peak_rss())
    record(tool, count, "onboard: apiserver requests", tool_requests(figures))
    for verb in ("LIST", "GET"):
        record(tool, count, f"onboard: {verb} requests", figures.requests.get(verb, 0))


def push(client: kube.Kube, tool: Tool, git: GitServer, names: Sequence[str]) -> None:
    samples = []
    for version, name in enumerate(names[:PUSH_SAMPLES], start=2):
        objects = _harness.four_objects(int(name[1:]), version=version)
        began = time.monotonic()
        git.commit(name, {"deploy/app.yaml": _harness.dump(objects)}, message=f"v{version}")
        tool.reconcile_now(client, name)
        while configmap_version(client, name) != str(version) and time.monotonic() - began < 120:
            time.sleep(0.01)
        samples.append(time.monotonic() - began)
    print(f"  (2) push + reconcile-now annotation → applied: {_harness.summary(samples)}")
    record(tool, len(names), "push → applied p50 (s)", statistics.median(samples))


def steady(client: kube.Kube, tool: Tool, names: Sequence[str]) -> None:
    for name in names:
        tool.set_interval(client, name, INTERVAL)
    seconds = float(INTERVAL.removesuffix("s"))
    time.sleep(2 * seconds)  # every object has passed one interval at the new setting
    meter = Meter(client, tool)
    time.sleep(STEADY_INTERVALS * seconds)
    figures = meter.stop()
    mutating = sum(
        c
        for v, c in figures.requests.items()
        if v.split("(")[0] in {"POST", "PUT", "PATCH", "APPLY", "DELETE"}
    )
    dry = sum(c for v, c in figures.requests.items() if "dry-run" in v)
    print(
        f"  (3) steady state, {len(names)} tenants, {STEADY_INTERVALS} intervals of {INTERVAL}: "
        f"{requests_line(figures)}"
    )
    print(
        f"      mutating {mutating}, dry-run {dry}; controllers' CPU "
        f"{figures.cpu / STEADY_INTERVALS:.2f}s per interval"
    )
    count = len(names)
    record(tool, count, "steady: requests per interval", tool_requests(figures) / STEADY_INTERVALS)
    record(tool, count, "steady: mutating requests", mutating)
    record(tool, count, "steady: dry-run requests", dry)
    record(tool, count, "steady: CPU per interval (s)", figures.cpu / STEADY_INTERVALS)


def drift(client: kube.Kube, tool: Tool, names: Sequence[str]) -> None:
    deleted, scaled = [], []
    for name in names[:DRIFT_SAMPLES]:
        uid = (client.get("v1", "ConfigMap", "app", name) or {})["metadata"]["uid"]
        began = time.monotonic()
        client.delete("v1", "ConfigMap", "app", name)
        while time.monotonic() - began < 120:
            back = client.get("v1", "ConfigMap", "app", name)
            if back and back["metadata"]["uid"] != uid:
                break
            time.sleep(0.01)
        deleted.append(time.monotonic() - began)
    for name in names[:DRIFT_SAMPLES]:
        began = time.monotonic()
        client.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "app", "namespace": name},
                "spec": {"replicas": 3},
            },
            field_manager="someone",
            force=True,
        )
        while time.monotonic() - began < 120:
            deployment = client.get("apps/v1", "Deployment", "app", name) or {}
            if (deployment.get("spec") or {}).get("replicas") == 0:
                break
            time.sleep(0.01)
        scaled.append(time.monotonic() - began)
    print(f"  (4) drift, intervals {INTERVAL}: deleted ConfigMap back {_harness.summary(deleted)}")
    print(f"      Deployment scaled by hand back to 0 {_harness.summary(scaled)}")
    record(tool, len(names), "drift: deleted object back p50 (s)", statistics.median(deleted))
    record(tool, len(names), "drift: scaled object back p50 (s)", statistics.median(scaled))


def cold_apply(client: kube.Kube, tool: Tool, git: GitServer) -> float:
    git.create("big")
    git.commit("big", {"deploy/keep.yaml": _harness.dump(_harness.four_objects(0)[3:])})
    tool.onboard(client, "big", git.url("big"))
    wait_ready(client, tool, ["big"], timeout=120)
    objects = thousand_objects()
    files: dict[str, str | bytes | None] = {
        f"deploy/part-{i:02d}.yaml": _harness.dump(objects[i * 100 : (i + 1) * 100])
        for i in range(len(objects) // 100)
    }
    meter = Meter(client, tool)
    began = time.monotonic()
    sha = git.commit("big", files, message="1,000 objects")
    tool.reconcile_now(client, "big")
    wait_ready(client, tool, ["big"], timeout=600, revision=f"main@sha1:{sha}")
    took = time.monotonic() - began
    figures = meter.stop()
    print(
        f"  (5) cold apply of 1,000 objects: push → Ready in {took:.1f}s; "
        f"CPU {figures.cpu:.1f}s; requests {requests_line(figures)}"
    )
    return took


# -- the run -------------------------------------------------------------------


def tool_of(name: str) -> Tool:
    return Landlord() if name == "landlord" else Flux(name)


def describe(tool: Tool) -> str:
    if isinstance(tool, Landlord):
        return (
            f"Landlord (defaults: sources.workers {LANDLORD_CONCURRENCY['sources']}, "
            f"sync.workers {LANDLORD_CONCURRENCY['syncs']}, "
            f"sync.apply_workers {LANDLORD_CONCURRENCY['applies']})"
        )
    flags = FLUX_FLAGS[tool.name]
    source = " ".join(flags["source"]) or "(defaults)"
    return (
        f"Flux source-controller {versions.FLUX_SOURCE} {source}; "
        f"kustomize-controller {versions.FLUX_KUSTOMIZE} "
        f"{' '.join([*LOCKDOWN, *flags['kustomize']])}"
    )


def full_run(tool: Tool, count: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-flux-work-") as tmp,
        fresh_plane(tool) as (plane, client),
        tool.start(plane, client, Path(tmp)),
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            names = [f"t{index:04d}" for index in range(count)]
            onboarding(client, tool, git, names)
            push(client, tool, git, names)
            steady(client, tool, names)
            drift(client, tool, names)
            for name in names:
                tool.set_interval(client, name, "1h")
            took = cold_apply(client, tool, git)
            limit = _tight_loop(client, thousand_objects(), "tight-loop")
            print(
                f"      raw server-side-apply loop ({len(thousand_objects())} objects, 8 threads): "
                f"{limit:.1f}s → {took / limit:.1f}× the machine's limit"
            )
            record(tool, count, "cold apply of 1,000 objects (s)", took)
            record(tool, count, "cold apply ÷ raw SSA loop", took / limit)
        finally:
            git.stop()


def onboarding_run(tool: Tool, count: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-flux-work-") as tmp,
        fresh_plane(tool) as (plane, client),
        tool.start(plane, client, Path(tmp)),
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            onboarding(client, tool, git, [f"t{index:04d}" for index in range(count)])
        finally:
            git.stop()


def run() -> None:
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for index, count in enumerate(SIZES):
        for name in TOOLS:
            tool = tool_of(name)
            print(f"\n  -- {count} tenants: {describe(tool)}", flush=True)
            if index == 0 and FULL:
                full_run(tool, count)
            else:
                onboarding_run(tool, count)
    comparison()


def comparison() -> None:
    """Every figure side by side, with Landlord's ratio to each Flux configuration."""
    tools = [name for name in TOOLS if any(name in row for row in RESULTS.values())]
    fluxes = [name for name in tools if name != "landlord"]
    if "landlord" not in tools or not fluxes:
        return
    header = ["figure", "tenants", *tools, *(f"landlord ÷ {f}" for f in fluxes)]
    print("\n  Landlord vs Flux (lower is better everywhere):\n")
    print("  | " + " | ".join(header) + " |")
    print("  |" + " --- |" * len(header))
    for (figure, count), row in RESULTS.items():
        cells = [_cell(row.get(name)) for name in tools]
        ratios = [
            f"{row['landlord'] / row[f]:.2f}" if row.get(f) and "landlord" in row else "—"
            for f in fluxes
        ]
        print(f"  | {figure} | {count} | " + " | ".join([*cells, *ratios]) + " |")


def _cell(value: float | None) -> str:
    if value is None:
        return "—"
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"
