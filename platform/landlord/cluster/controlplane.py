"""``landlord cluster up | down | status``: bring the local control plane up and down.

Order of bring-up: PKI → etcd → kube-apiserver (``/readyz``) →
kube-controller-manager (service accounts and aggregated roles appear) →
with nodes: kube-scheduler and kwok (the fake nodes report Ready). Teardown
runs in reverse. Everything a later ``down`` or ``status`` needs is recorded
in ``STATE_DIR/state.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import time
from collections.abc import Callable

from landlord import errors, telemetry
from landlord.cluster import (
    apiclient,
    binaries,
    components,
    gobuild,
    kubeconfig,
    processes,
    startup,
)
from landlord.cluster import (
    pki as pki_mod,
)
from landlord.cluster import (
    ports as ports_mod,
)
from landlord.cluster.realnode import host as realnode_host
from landlord.cluster.realnode import join as realnode_join
from landlord.cluster.realnode import node as realnode
from landlord.cluster.realnode import plan as realnode_plan

STATE_VERSION = 1
PORT_ATTEMPTS = 3
# A status line: (component, message).
StepFn = Callable[[str, str], None]


@dataclasses.dataclass(frozen=True)
class Options:
    """How to bring the control plane up."""

    state_dir: pathlib.Path
    cache_dir: pathlib.Path
    assets_dir: pathlib.Path | None = None
    nodes: int = 0
    real_nodes: int = 0
    timeout: float = 120.0


@dataclasses.dataclass(frozen=True)
class ControlPlane:
    """A running control plane, as recorded in its state directory."""

    state_dir: pathlib.Path
    server: str
    kubeconfig: pathlib.Path
    components: tuple[processes.Record, ...]
    versions: dict[str, str]
    etcd_data: pathlib.Path
    nodes: int
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    real_nodes: realnode.RealNodes | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "version": STATE_VERSION,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "components": [record.to_json() for record in self.components],
            "versions": self.versions,
            "etcd_data": str(self.etcd_data),
            "nodes": self.nodes,
            "timings": self.timings,
            "real_nodes": self.real_nodes.to_json() if self.real_nodes else None,
        }

    @classmethod
    def load(cls, state_dir: pathlib.Path) -> ControlPlane | None:
        """The control plane recorded in ``state_dir``, or None if there is none."""
        state_file = state_dir / "state.json"
        try:
            data = json.loads(state_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise errors.StateDirError(
                f"{state_file} is unreadable ({error})",
                hint=f"remove {state_dir} if no control plane runs from it",
            ) from error
        return cls(
            state_dir=state_dir,
            server=data["server"],
            kubeconfig=pathlib.Path(data["kubeconfig"]),
            components=tuple(processes.Record.from_json(item) for item in data["components"]),
            versions=dict(data.get("versions", {})),
            etcd_data=pathlib.Path(data["etcd_data"]),
            nodes=int(data.get("nodes", 0)),
            timings=dict(data.get("timings", {})),
            real_nodes=realnode.RealNodes.from_json(data["real_nodes"])
            if data.get("real_nodes")
            else None,
        )

    def save(self) -> None:
        path = self.state_dir / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2))
        tmp.replace(path)


@dataclasses.dataclass(frozen=True)
class ComponentStatus:
    """One line of ``landlord cluster status``."""

    name: str
    pid: int
    running: bool
    log: str


def _etcd_data_dir(state_dir: pathlib.Path) -> pathlib.Path:
    """Etcd's data on tmpfs when the machine has one (fast, and gone at reboot)."""
    shm = pathlib.Path("/dev/shm")  # noqa: S108 - a per-state-dir name, owner-only
    if shm.is_dir() and os.access(shm, os.W_OK):
        key = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
        return shm / f"landlord-etcd-{key}"
    return state_dir / "etcd"


def _check_state_dir(state_dir: pathlib.Path) -> None:
    existing = ControlPlane.load(state_dir)
    if existing is None:
        if realnode.journal_path(state_dir).exists():
            raise errors.StateDirError(
                f"an interrupted start left real nodes' changes on this host ({state_dir})",
                hint=f"undo them with `landlord cluster down --state-dir {state_dir}`",
            )
        return
    running = [record for record in existing.components if processes.alive(record)]
    if running:
        raise errors.StateDirError(
            f"a control plane already runs from {state_dir} "
            f"({', '.join(f'{r.name} pid {r.pid}' for r in running)})",
            hint=f"use it with KUBECONFIG={existing.kubeconfig}, or stop it with "
            f"`landlord cluster down --state-dir {state_dir}`",
        )
    raise errors.StateDirError(
        f"{state_dir} holds the state of a control plane that is no longer running",
        hint=f"clear it with `landlord cluster down --state-dir {state_dir}`",
    )


def _version(binary: pathlib.Path) -> str:
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r"v?\d+\.\d+\.\d+\S*", out.stdout or out.stderr)
    return match.group(0) if match else "unknown"


def _start_once(
    options: Options,
    bins: dict[str, pathlib.Path],
    layout: components.Layout,
    pki: pki_mod.Pki,
    step: StepFn,
) -> ControlPlane:
    ports = components.Ports(*ports_mod.free_ports(4))
    plan = (
        realnode_plan.Plan.for_state_dir(options.state_dir, options.real_nodes)
        if options.real_nodes
        else None
    )
    real_flags = None
    server = f"https://127.0.0.1:{ports.apiserver}"
    begun: realnode.RealNodes | None = None
    if plan is not None:
        # Refused before anything is changed or journaled when another cluster has it.
        realnode_host.check_network_free(plan)
        begun = realnode.begin(plan, options.state_dir)
        # The apiserver listens on the host's address on the node network only (not on
        # every interface): pods and kubelets reach it there, and so does everyone here.
        server = f"https://{plan.host_ip}:{ports.apiserver}"
        cert, key = pki_mod.issue(pki, pki_mod.APISERVER_KUBELET_CLIENT)
        real_flags = components.RealNodeFlags(plan.host_ip, cert, key)
    real_nodes: realnode.RealNodes | None = None
    kubeconfig.write(layout.kubeconfig, server, pki, pki_mod.ADMIN)
    for who in (pki_mod.CONTROLLER_MANAGER, pki_mod.SCHEDULER):
        kubeconfig.write(layout.component_kubeconfig(who.file_stem), server, pki, who)
    client = apiclient.ApiClient(server, pki)
    starter = startup.Starter(layout, time.monotonic() + options.timeout, step)
    try:
        if plan is not None:
            realnode_host.create_bridge(plan)
        shutil.rmtree(layout.etcd_data, ignore_errors=True)
        etcd = starter.start("etcd", components.etcd(bins["etcd"], ports, layout))
        starter.wait(etcd, "/health", lambda: startup.etcd_healthy(ports.etcd_client))

        api = starter.start(
            "kube-apiserver", components.apiserver(bins["kube-apiserver"], ports, pki, real_flags)
        )
        starter.wait(api, "/readyz", lambda: startup.ready_text(client, "/readyz", b"ok"))

        cm = starter.start(
            "kube-controller-manager",
            components.controller_manager(
                bins["kube-controller-manager"],
                layout.component_kubeconfig(pki_mod.CONTROLLER_MANAGER.file_stem),
                pki,
                real_nodes=plan is not None,
            ),
        )
        starter.wait(cm, "controllers running", lambda: startup.controllers_running(client))

        if options.nodes > 0 or plan is not None:
            starter.start(
                "kube-scheduler",
                components.scheduler(
                    bins["kube-scheduler"],
                    layout.component_kubeconfig(pki_mod.SCHEDULER.file_stem),
                ),
            )
        if options.nodes > 0:
            kwok = starter.start(
                "kwok",
                components.kwok(bins["kwok"], layout.kubeconfig, ports, bins[gobuild.KWOK_STAGES]),
            )
            startup.create_nodes(client, options.nodes)
            starter.wait(
                kwok,
                f"{options.nodes} node(s) Ready",
                lambda: startup.nodes_ready(client, options.nodes),
            )
        if plan is not None and begun is not None:
            realnode_join.prepare(client)
            real_nodes = realnode.start(
                plan,
                begun,
                state_dir=options.state_dir,
                cache_dir=options.cache_dir,
                bins=bins,
                pki=pki,
                server=server,
                starter=starter,
                node_ready=lambda name: realnode_join.node_ready(client, name),
            )
    except BaseException:
        starter.stop_all()
        if begun is not None and real_nodes is None:
            realnode.stop(begun, state_dir=options.state_dir)
        raise
    return ControlPlane(
        state_dir=options.state_dir,
        server=server,
        kubeconfig=layout.kubeconfig,
        components=tuple(starter.records),
        versions={},
        etcd_data=layout.etcd_data,
        nodes=options.nodes,
        timings=starter.timings,
        real_nodes=real_nodes,
    )


def needed_binaries(node_count: int, real_nodes: int = 0) -> list[str]:
    """The binaries a control plane with ``node_count`` fake nodes runs."""
    names = ["etcd", "kube-apiserver", "kube-controller-manager"]
    if node_count > 0 or real_nodes > 0:
        names += ["kube-scheduler"]
    if node_count > 0:
        names += ["kwok"]
    if real_nodes > 0:
        names += ["kubelet", "kube-proxy"]
    return names


def up(
    options: Options,
    *,
    step: StepFn | None = None,
    build_progress: binaries.ProgressFactory | None = None,
    metrics: telemetry.Metrics | None = None,
) -> ControlPlane:
    """Start a control plane from ``options.state_dir``; return once it is ready."""
    report = step or (lambda component, message: None)
    state_dir = options.state_dir.resolve()
    options = dataclasses.replace(options, state_dir=state_dir)
    _check_state_dir(state_dir)
    bins = binaries.resolve(
        needed_binaries(options.nodes, options.real_nodes),
        cache_dir=options.cache_dir,
        assets_dir=options.assets_dir,
        progress=build_progress,
    )
    began = time.monotonic()
    layout = components.Layout(state_dir=state_dir, etcd_data=_etcd_data_dir(state_dir))
    state_dir.mkdir(parents=True, exist_ok=True)
    report("pki", "generating certificates")
    if options.real_nodes:
        realnode_host.preflight()
        serving_ips: tuple[str, ...] = (
            realnode_plan.Plan.for_state_dir(state_dir, options.real_nodes).host_ip,
        )
    else:
        serving_ips = ()
    pki = pki_mod.generate(layout.pki_dir, serving_ips=serving_ips)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            plane = _start_once(options, bins, layout, pki, report)
            break
        except errors.PortInUseError:
            if attempt == PORT_ATTEMPTS:
                raise
            report("ports", f"port taken during start-up, retrying ({attempt}/{PORT_ATTEMPTS})")
    versions = {
        name: _version(bins[name]) for name in needed_binaries(options.nodes, options.real_nodes)
    }
    timings = {**plane.timings, "total": round(time.monotonic() - began, 2)}
    plane = dataclasses.replace(plane, versions=versions, timings=timings)
    plane.save()
    if metrics is not None:
        for component, seconds in timings.items():
            metrics.controlplane_start_seconds.labels(component=component).observe(seconds)
    return plane


def down(state_dir: pathlib.Path, *, step: StepFn | None = None) -> list[str]:
    """Stop every component recorded in ``state_dir`` (reverse order) and clear its state.

    Returns the names of the components that were still running.
    """
    report = step or (lambda component, message: None)
    state_dir = state_dir.resolve()
    plane = ControlPlane.load(state_dir)
    if plane is None:
        interrupted = realnode.load_journal(state_dir)
        if interrupted is not None:
            report("real nodes", "undoing what an interrupted start left on the host")
            realnode.stop(interrupted, state_dir=state_dir)
            # The killed start's control plane runs on too, unrecorded: find it by the
            # folders only it names on its command lines.
            for pid in processes.naming(str(state_dir), str(_etcd_data_dir(state_dir))):
                report("control plane", f"stopping orphaned pid {pid}")
                processes.kill_orphan(pid)
            shutil.rmtree(_etcd_data_dir(state_dir), ignore_errors=True)
            return [node.name for node in interrupted.nodes]
        return []
    stopped: list[str] = []
    if plane.real_nodes is not None:
        report("real nodes", f"stopping {plane.real_nodes.count} node(s), restoring the host")
        stopped += [r.name for r in plane.components if "/" in r.name and processes.alive(r)]
        leftovers = realnode.stop(plane.real_nodes, state_dir=state_dir, records=plane.components)
        if leftovers:
            report("real nodes", f"could not remove: {leftovers}")
    for record in reversed(plane.components):
        if processes.alive(record):
            report(record.name, f"stopping pid {record.pid}")
            # With real nodes the apiserver stops listening on SIGTERM but does not
            # exit (seen with v1.36.3 and the lease endpoint reconciler): no point waiting.
            hurried = plane.real_nodes is not None and record.name == "kube-apiserver"
            processes.stop(record, timeout=2.0 if hurried else 10.0)
            stopped.append(record.name)
    if plane.etcd_data != state_dir / "etcd":
        shutil.rmtree(plane.etcd_data, ignore_errors=True)
    for leftover in ("state.json", "kubeconfig"):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / leftover).unlink()
    shutil.rmtree(state_dir / "etcd", ignore_errors=True)
    shutil.rmtree(state_dir / "pki", ignore_errors=True)
    shutil.rmtree(state_dir / "components", ignore_errors=True)
    return stopped


def load_image(state_dir: pathlib.Path, archive: pathlib.Path) -> list[str]:
    """Import an OCI (or Docker) image archive into every real node; return the nodes."""
    plane = ControlPlane.load(state_dir.resolve())
    if plane is None or plane.real_nodes is None:
        raise errors.StateDirError(
            f"no control plane with real nodes runs from {state_dir}",
            hint="start one with `landlord cluster up --real-nodes 1`",
        )
    if not archive.is_file():
        raise errors.StateDirError(f"{archive} is not a file", hint="build one with `make image`")
    loaded: list[str] = []
    anchors = {record.name: record for record in plane.components}
    for node in plane.real_nodes.nodes:
        anchor = anchors.get(f"{node.name}/containerd")
        if anchor is None or not processes.alive(anchor):
            raise errors.StateDirError(
                f"real node {node.name}'s containerd is not running",
                hint=f"restart it: `landlord cluster down --state-dir {state_dir}`, then up",
            )
        realnode.import_image(node.anchor_pid, archive.resolve())
        loaded.append(node.name)
    return loaded


def status(state_dir: pathlib.Path) -> tuple[ControlPlane | None, list[ComponentStatus]]:
    """The recorded control plane and whether each of its processes runs."""
    plane = ControlPlane.load(state_dir.resolve())
    if plane is None:
        return None, []
    return plane, [
        ComponentStatus(record.name, record.pid, processes.alive(record), record.log)
        for record in plane.components
    ]


def stop_component(state_dir: pathlib.Path, name: str) -> processes.Record:
    """Stop one running component (its data stays): a cluster that is down, for drills."""
    plane = ControlPlane.load(state_dir.resolve())
    if plane is None:
        raise errors.StateDirError(f"no control plane is recorded in {state_dir}")
    record = next((r for r in plane.components if r.name == name), None)
    if record is None:
        raise errors.StateDirError(f"{state_dir} records no component {name!r}")
    processes.stop(record)
    return record


def start_component(state_dir: pathlib.Path, name: str) -> processes.Record:
    """Start a stopped component again with its recorded command line (and record its pid)."""
    plane = ControlPlane.load(state_dir.resolve())
    if plane is None:
        raise errors.StateDirError(f"no control plane is recorded in {state_dir}")
    records = list(plane.components)
    index = next((i for i, r in enumerate(records) if r.name == name), None)
    if index is None:
        raise errors.StateDirError(f"{state_dir} records no component {name!r}")
    old = records[index]
    if processes.alive(old):
        return old
    records[index] = processes.start(old.name, old.argv, pathlib.Path(old.log), program=old.program)
    dataclasses.replace(plane, components=tuple(records)).save()
    return records[index]
