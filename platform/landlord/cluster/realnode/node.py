"""Bring a cluster's real nodes up and down.

Per node, in order: its files and certificates, its cgroup, containerd started
in new mount and network namespaces (the anchor), its ``eth0`` on the host
bridge, the pause image imported, then the kubelet and kube-proxy entered into
the anchor's namespaces. ``stop`` undoes all of it, from the record in the
cluster's state, even when the processes died on their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import ipaddress
import json
import pathlib
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from landlord.cluster import kubeconfig, processes
from landlord.cluster import pki as pki_mod
from landlord.cluster.images import pause
from landlord.cluster.realnode import configs, host
from landlord.cluster.realnode import plan as plan_mod


class Starter(Protocol):
    """Starts a component and waits for it (the control plane's own starter)."""

    def start(self, name: str, argv: Sequence[str], *, program: str = "") -> processes.Record: ...

    def wait(self, record: processes.Record, what: str, check: Callable[[], bool]) -> None: ...


@dataclasses.dataclass(frozen=True)
class NodeState:
    """One running node, as recorded in the cluster's state."""

    name: str
    anchor_pid: int
    mount_namespace: str
    cgroup: str
    dir: str

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RealNodes:
    """A cluster's real nodes and the host state to restore when they stop."""

    key: str
    count: int
    node_network: str
    pod_network: str
    kernel_settings: dict[str, str]
    nodes: tuple[NodeState, ...]
    images: tuple[str, ...] = ()

    @property
    def plan(self) -> plan_mod.Plan:
        return plan_mod.Plan(
            key=self.key,
            node_network=ipaddress.IPv4Network(self.node_network),
            pod_network=ipaddress.IPv4Network(self.pod_network),
            count=self.count,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "count": self.count,
            "node_network": self.node_network,
            "pod_network": self.pod_network,
            "kernel_settings": self.kernel_settings,
            "nodes": [node.to_json() for node in self.nodes],
            "images": list(self.images),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RealNodes:
        return cls(
            key=str(data["key"]),
            count=int(data["count"]),
            node_network=str(data["node_network"]),
            pod_network=str(data["pod_network"]),
            kernel_settings={str(k): str(v) for k, v in data["kernel_settings"].items()},
            nodes=tuple(NodeState(**node) for node in data["nodes"]),
            images=tuple(str(image) for image in data.get("images", ())),
        )


def nodes_dir(state_dir: pathlib.Path) -> pathlib.Path:
    return state_dir / "nodes"


def _inside(pid: int, *argv: str) -> list[str]:
    return ["nsenter", f"--target={pid}", "--mount", "--net", "--", *argv]


def ctr(pid: int, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """``ctr`` against the node's containerd, in its namespaces (the k8s.io namespace)."""
    return subprocess.run(
        _inside(pid, "ctr", "--address", configs.CONTAINERD_SOCKET, "-n", "k8s.io", *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def import_image(pid: int, archive: pathlib.Path) -> None:
    """Import an OCI archive into the node's containerd, named as its index names it."""
    done = ctr(pid, "images", "import", "--no-unpack=false", str(archive))
    if done.returncode != 0:
        raise host.RealNodeHostError(
            f"importing {archive.name} into the node failed: {done.stderr.strip()}"
        )


def _write_files(
    plan: plan_mod.Plan,
    index: int,
    files: configs.NodeFiles,
    pki: pki_mod.Pki,
    server: str,
    sandbox_image: str,
) -> None:
    nodes_dir(files.dir.parent.parent).mkdir(mode=0o700, parents=True, exist_ok=True)
    files.dir.mkdir(mode=0o700, exist_ok=True)
    for folder in (files.var_lib, files.var_log, files.cni_dir, files.containerd_root, files.logs):
        folder.mkdir(parents=True, exist_ok=True)
    resolv = pathlib.Path("/etc/resolv.conf")
    files.resolv_conf.write_text(resolv.read_text() if resolv.is_file() else "")
    name = plan.node_name(index)
    node = pki_mod.node_identity(name)
    pki_mod.issue(pki, node)
    serving = pki_mod.ClientIdentity(f"kubelet-serving-{name}", f"system:node:{name}")
    cert, key = pki_mod.issue(pki, serving, server_names=(name,), server_ips=(plan.node_ip(index),))
    kubeconfig.write(files.kubelet_kubeconfig, server, pki, node)
    kubeconfig.write(files.proxy_kubeconfig, server, pki, pki_mod.KUBE_PROXY)
    files.containerd_config.write_text(configs.containerd_config(files, sandbox_image))
    # /var/lib is the node's own (the anchor bind-mounts files.var_lib there).
    profile = files.var_lib / "kubelet" / "seccomp" / configs.SANDBOX_PROFILE
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_bytes((configs.SECCOMP_PROFILES / "sandbox.json").read_bytes())
    (files.cni_dir / "10-landlord.conflist").write_text(
        json.dumps(configs.cni_conflist(plan, index), indent=2)
    )
    files.kubelet_config.write_text(
        configs.dump_yaml(
            configs.kubelet_config(
                plan, index, files, ca_cert=pki.ca_cert, serving_cert=cert, serving_key=key
            )
        )
    )
    files.proxy_config.write_text(configs.dump_yaml(configs.proxy_config(plan, index, files)))


def _containerd_ready(pid: int) -> bool:
    return ctr(pid, "version", timeout=5).returncode == 0


def journal_path(state_dir: pathlib.Path) -> pathlib.Path:
    """What a start changed on the host so far, kept until ``stop`` undid it all."""
    return state_dir / "real-nodes-journal.json"


def load_journal(state_dir: pathlib.Path) -> RealNodes | None:
    """The host changes an interrupted start left behind, if any."""
    try:
        return RealNodes.from_json(json.loads(journal_path(state_dir).read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise host.RealNodeHostError(
            f"{journal_path(state_dir)} is unreadable ({error})"
        ) from error


def _record(state_dir: pathlib.Path, state: RealNodes) -> None:
    pki_mod.write_private(journal_path(state_dir), json.dumps(state.to_json(), indent=2).encode())


def begin(plan: plan_mod.Plan, state_dir: pathlib.Path) -> RealNodes:
    """Journal the host's state before the first change (the bridge, the kernel settings).

    Written before anything is changed, so a start killed at any point (even by
    SIGKILL, when no clean-up runs) leaves a record ``cluster down`` undoes; the
    kernel settings are the ones found before the first start, never the
    kubelet's from an interrupted one.
    """
    host.preflight()
    earlier = load_journal(state_dir)
    state = RealNodes(
        key=plan.key,
        count=plan.count,
        node_network=str(plan.node_network),
        pod_network=str(plan.pod_network),
        kernel_settings=earlier.kernel_settings if earlier else host.read_kernel_settings(),
        nodes=earlier.nodes if earlier else (),
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    _record(state_dir, state)
    return state


def start(
    plan: plan_mod.Plan,
    begun: RealNodes,
    *,
    state_dir: pathlib.Path,
    cache_dir: pathlib.Path,
    bins: dict[str, pathlib.Path],
    pki: pki_mod.Pki,
    server: str,
    starter: Starter,
    node_ready: Callable[[str], bool],
) -> RealNodes:
    """Start ``plan.count`` real nodes joined to the apiserver at ``server``."""
    kernel_settings = begun.kernel_settings
    pki_mod.issue(pki, pki_mod.KUBE_PROXY)
    host.create_bridge(plan)
    archive, sandbox_image = pause.archive(cache_dir)
    containerd = shutil.which("containerd") or "containerd"
    nodes: list[NodeState] = []
    state = dataclasses.replace(begun, nodes=())
    try:
        for index in range(plan.count):
            name = plan.node_name(index)
            files = configs.NodeFiles(nodes_dir(state_dir) / name)
            _write_files(plan, index, files, pki, server, sandbox_image)
            host.create_cgroup(plan.cgroup_root(index))
            anchor = starter.start(
                f"{name}/containerd",
                [
                    shutil.which("unshare") or "unshare",
                    "--mount",
                    "--net",
                    "--propagation=private",
                    "--",
                    "/bin/sh",
                    "-c",
                    configs.anchor_script(files, containerd),
                ],
                program=containerd,
            )
            nodes.append(
                NodeState(
                    name=name,
                    anchor_pid=anchor.pid,
                    mount_namespace="",
                    cgroup=plan.cgroup_root(index),
                    dir=str(files.dir),
                )
            )
            host.attach_node(plan, index, anchor.pid)
            files.network_ready.touch()
            starter.wait(
                anchor, "containerd answering", functools.partial(_containerd_ready, anchor.pid)
            )
            nodes[-1] = dataclasses.replace(
                nodes[-1], mount_namespace=host.mount_namespace(anchor.pid)
            )
            _record(state_dir, dataclasses.replace(state, nodes=tuple(nodes)))
            import_image(anchor.pid, archive)
            kubelet = starter.start(
                f"{name}/kubelet",
                _inside(anchor.pid, *configs.kubelet_argv(bins["kubelet"], plan, index, files)),
                program=str(bins["kubelet"]),
            )
            starter.start(
                f"{name}/kube-proxy",
                _inside(anchor.pid, *configs.proxy_argv(bins["kube-proxy"], files)),
                program=str(bins["kube-proxy"]),
            )
            starter.wait(kubelet, f"node {name} Ready", functools.partial(node_ready, name))
            # The kubelet wrote its kernel settings at start-up, once; take back the panics.
            host.restore_kernel_settings(
                {k: v for k, v in kernel_settings.items() if k in host.PANIC_SETTINGS}
            )
        for index, node in enumerate(nodes):
            host.route_between(plan, node.anchor_pid, index)
    except BaseException:
        stop(dataclasses.replace(state, nodes=tuple(nodes)), state_dir=state_dir)
        raise
    return dataclasses.replace(state, nodes=tuple(nodes), images=(sandbox_image,))


def stop(
    state: RealNodes,
    *,
    state_dir: pathlib.Path,
    records: Sequence[processes.Record] = (),
) -> host.Leftovers:
    """Stop every node process and undo every host change ``state`` recorded."""
    node_records = [r for r in records if r.name.split("/")[0] in {n.name for n in state.nodes}]
    for record in node_records:
        if not record.name.endswith("/containerd"):
            processes.stop(record, timeout=5.0)
    for node in state.nodes:
        host.kill_all(host.cgroup_pids(node.cgroup))  # the pods' containers
    for record in node_records:
        if record.name.endswith("/containerd"):
            processes.stop(record, timeout=5.0)
    left_pids: list[int] = []
    for node in state.nodes:
        if not node.mount_namespace:
            continue
        deadline = time.monotonic() + 5.0
        while (members := list(host.namespace_members(node.mount_namespace))) and (
            time.monotonic() < deadline
        ):
            host.kill_all(members)  # containerd's shims
            time.sleep(0.05)
        left_pids += list(host.namespace_members(node.mount_namespace))
    left_cgroups: list[str] = []
    for node in state.nodes:
        left_cgroups += host.remove_cgroup(node.cgroup)
    plan = state.plan
    host.delete_bridge(plan)
    host.restore_kernel_settings(state.kernel_settings)
    if not left_pids:
        with contextlib.suppress(OSError):
            shutil.rmtree(nodes_dir(state_dir))
        journal_path(state_dir).unlink(missing_ok=True)
    return host.Leftovers(processes=left_pids, cgroups=left_cgroups)
